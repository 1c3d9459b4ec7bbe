"""Config stage: sources.yaml -> validated models, or every problem at once with file and line.

Validation is strict (unknown keys are errors) so a typo never silently disables a setting.
Line numbers come from the YAML node tree, so pydantic's error locations can point at the file.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import os
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from storywatch.config.seeds import SeedError, load_seed, yaml_alias_problem
from storywatch.fetch.model import FetchLimits  # the data only: no httpx

DEFAULT_CONFIG_NAME = "sources.yaml"
CONFIG_MAX_BYTES = 16 * 1024 * 1024  # ~200,000 sources: a bigger "config" is the wrong file
# An archive template's placeholders (backfill): {page} counts from 1; {since} and {until} are
# one day (YYYY-MM-DD), {before} the day after it (for exclusive date operators).
ARCHIVE_PLACEHOLDERS = ("{page}", "{since}", "{until}", "{before}")
_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
USER_AGENT_MAX = 512  # a header far longer is refused by servers (431) on every source
# Bidirectional controls (marks, embeddings, overrides, isolates), as a regex class body:
# normalise strips them from feed text, and a source name may not hold them.
BIDI_CONTROLS = "\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c"
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used. ``problems`` lists every problem found, not just one."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigNotFound(ConfigError):
    """No file at the config path: the command line can say how to name one."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_http_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{value!r} is not an http(s) URL")
    if not parts.hostname:
        raise ValueError(f"{value!r} has no host")
    return value.strip()


class IngestSettings(_Strict):
    """How feeds are fetched. Every field has a safe default; the section is optional."""

    timeout: float = Field(30.0, gt=0, description="seconds per source, retries included")
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(15.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    concurrency: int = Field(16, ge=1, le=256)
    per_host: int = Field(2, ge=1, le=32)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_age_days: float | None = Field(None, gt=0, description="skip entries older than this")
    every_minutes: int = Field(30, ge=1, description="ingest schedule for `storywatch serve`")
    user_agent: str | None = None
    # Past one machine: the sources split into `chunks` tasks, each fetching, parsing
    # and storing its share; run by the flow's task runner (threads) or on a Dask cluster.
    task_runner: Literal["default", "dask"] = "default"
    chunks: int | None = Field(None, ge=1, le=1024, description="default: 1, or dask_workers")
    dask_address: str | None = Field(None, pattern=r"^(tcp|tls|ws|wss)://[^\s/]+:\d+$")
    dask_workers: int = Field(2, ge=1, le=256, description="LocalCluster workers")
    dask_processes: bool = True  # LocalCluster workers as processes (false: threads)

    @field_validator("user_agent")
    @classmethod
    def _check_user_agent(cls, value: str | None) -> str | None:
        """A header value every server takes: printable ASCII (no CR, LF or NUL), bounded."""
        if value is None:
            return None
        if len(value) > USER_AGENT_MAX:
            raise ValueError(f"longer than {USER_AGENT_MAX} characters ({len(value)})")
        bad = sorted({c for c in value if not " " <= c <= "~"})
        if bad:
            shown = ", ".join(repr(c) for c in bad[:5])
            raise ValueError(f"only printable ASCII is allowed in a User-Agent, not {shown}")
        if not value.strip():
            raise ValueError("is empty (leave it out for the default)")
        return value

    @model_validator(mode="after")
    def _check_runner(self) -> IngestSettings:
        dask_keys = sorted(k for k in self.model_fields_set if k.startswith("dask_"))
        if self.task_runner != "dask" and dask_keys:
            raise ValueError(f"{', '.join(dask_keys)} needs task_runner: dask")
        if self.dask_address and {"dask_workers", "dask_processes"} & self.model_fields_set:
            raise ValueError(
                "dask_workers and dask_processes are for a LocalCluster, not with dask_address"
            )
        if self.task_runner == "dask" and importlib.util.find_spec("distributed") is None:
            raise ValueError(
                "task_runner: dask needs the dask extra: pip install 'storywatch[dask]'"
            )
        return self

    @property
    def chunk_count(self) -> int:
        """How many tasks the sources are split into (at most one per source)."""
        if self.chunks is not None:
            return self.chunks
        return self.dask_workers if self.task_runner == "dask" else 1

    @property
    def local_worker_processes(self) -> bool:
        """Whether a run starts a LocalCluster of worker processes (Dask, no dask_address)."""
        return self.task_runner == "dask" and not self.dask_address and self.dask_processes

    def fetch_limits(self) -> FetchLimits:
        return FetchLimits(
            deadline=self.timeout,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries=self.retries,
            max_bytes=self.max_bytes,
            concurrency=self.concurrency,
            per_host=self.per_host,
            user_agent=self.user_agent or "",
        )


class SourceConfig(_Strict):
    name: str = Field(min_length=1)
    url: str
    archive: str | None = None  # URL template with {page}, {since}, {until} for backfill
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        # The name labels the source in digests: no control that could reorder what they show.
        if re.search(f"[\x00-\x1f\x7f{BIDI_CONTROLS}]", value):
            raise ValueError(f"{value!r} holds a control or bidirectional-control character")
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("archive")
    @classmethod
    def _check_archive(cls, value: str | None) -> str | None:
        if value is None:
            return None
        unknown = set(re.findall(r"\{[^}]*\}", value)) - set(ARCHIVE_PLACEHOLDERS)
        if unknown:
            known = ", ".join(ARCHIVE_PLACEHOLDERS)
            raise ValueError(f"unknown placeholder {', '.join(sorted(unknown))} (known: {known})")
        _check_http_url(value.replace("{", "").replace("}", ""))
        return value


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# minute, hour, day of month, month, day of week: (name, lowest, highest, names)
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _WEEKDAYS),
)
_CRON_ITEM = re.compile(r"^(\*|\w+(?:-\w+)?)(?:/(\d+))?$")


def _check_cron(value: str | None) -> str | None:
    """A standard 5-field cron ("0 7 * * 1-5"); each field is checked against its range, so
    a typo is caught by `check`, not at the first scheduled run."""
    if value is None:
        return None
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"{value!r} is not a 5-field cron expression (minute hour day month dow)")
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in text.split(","):
            if not _cron_item_ok(item.lower(), low, high, names):
                raise ValueError(f"{value!r}: bad {name} field {text!r} (allowed {low}-{high})")
    return value


def _cron_item_ok(item: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    match = _CRON_ITEM.match(item)
    if match is None or match.group(2) == "0":
        return False
    if match.group(1) == "*":
        return True
    offset = 1 if low == 1 else 0  # month names count from 1, weekday names from 0

    def number(part: str) -> int | None:
        if part.isdigit():
            return int(part)
        return names.index(part) + offset if part in names else None

    bounds = [number(p) for p in match.group(1).split("-")]
    if any(b is None or not low <= b <= high for b in bounds):
        return False
    return len(bounds) == 1 or bounds[0] <= bounds[1]  # type: ignore[operator]


def _check_emails(values: list[str]) -> list[str]:
    bad = [v for v in values if not _EMAIL.match(v)]
    if bad:
        raise ValueError(f"not an email address: {', '.join(bad)}")
    return values


class DigestOverride(_Strict):
    """Per-storyline digest settings: any field left out comes from the top-level digest."""

    sender: str | None = Field(None, alias="from")
    to: list[str] | None = None
    mode: Literal["immediate", "scheduled"] | None = None
    schedule: str | None = None
    timezone: str | None = None
    heartbeat: bool | None = None
    smtp_block: str | None = None  # name of a prefect-email EmailServerCredentials block

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str | None) -> str | None:
        return _check_timezone(value)

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str | None) -> str | None:
        return _check_cron(value)

    @field_validator("to", mode="before")
    @classmethod
    def _one_address(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # `to: desk@x` means one reader

    @field_validator("to")
    @classmethod
    def _check_to(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_emails(value)

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, value: str | None) -> str | None:
        return None if value is None else _check_emails([value])[0]


class DigestConfig(DigestOverride):
    sender: str = Field("storywatch@localhost", alias="from")
    to: list[str] = Field(default_factory=list)
    mode: Literal["immediate", "scheduled"] = "immediate"
    timezone: str = "UTC"
    heartbeat: bool = False

    def merged(self, override: DigestOverride | None) -> DigestConfig:
        if override is None:
            return self
        changes = override.model_dump(exclude_none=True)
        return self.model_copy(update=changes)


class StorylineConfig(_Strict):
    id: str = Field(pattern=_ID_PATTERN)
    title: str = Field(min_length=1)
    seed: str
    digest: DigestOverride | None = None


class Config(_Strict):
    storylines: list[StorylineConfig] = Field(min_length=1)
    sources: list[SourceConfig] = Field(min_length=1)
    digest: DigestConfig = Field(default_factory=DigestConfig)  # type: ignore[arg-type]
    ingest: IngestSettings = Field(default_factory=IngestSettings)  # type: ignore[arg-type]

    # Not from YAML: where the file was loaded from (paths in it are relative to its folder).
    path: Path = Field(default=Path(DEFAULT_CONFIG_NAME), exclude=True)

    @property
    def base_dir(self) -> Path:
        return self.path.resolve().parent

    def seed_path(self, storyline: StorylineConfig) -> Path:
        return (self.base_dir / storyline.seed).resolve()

    def digest_for(self, storyline: StorylineConfig) -> DigestConfig:
        return self.digest.merged(storyline.digest)

    def unmailed_storylines(self) -> list[str]:
        """Storylines with no digest recipients: valid (developments are stored and exported)
        but never mailed, so the command line warns about them."""
        return [s.id for s in self.storylines if not self.digest_for(s).to]

    @property
    def enabled_sources(self) -> list[SourceConfig]:
        return [s for s in self.sources if s.enabled]

    @property
    def database_url(self) -> str:
        return os.environ.get("STORYWATCH_DATABASE_URL") or (
            f"sqlite:///{self.base_dir / 'storywatch.db'}"
        )

    @property
    def outbox_dir(self) -> Path:
        return Path(os.environ.get("STORYWATCH_OUTBOX") or self.base_dir / "outbox")


# libyaml's safe loader when PyYAML has it: the pure-Python one took 0.42 s of a 0.49 s load of
# a 2,000-source file, paid by every flow and task that opens the config.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def resolve_config_path(given: str | Path | None) -> Path:
    """--config, then $STORYWATCH_CONFIG, then ./sources.yaml."""
    return Path(given or os.environ.get("STORYWATCH_CONFIG") or DEFAULT_CONFIG_NAME)


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate a config file; raise ``ConfigError`` listing every problem."""
    file = resolve_config_path(path)
    name = str(file)
    try:
        with file.open("rb") as handle:
            raw = handle.read(CONFIG_MAX_BYTES + 1)  # never more: the path may be /dev/zero
        if len(raw) > CONFIG_MAX_BYTES:
            message = f"config file is larger than {CONFIG_MAX_BYTES // 1024 // 1024} MB"
            raise ConfigError([ConfigProblem(name, None, message)])
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigNotFound([ConfigProblem(name, None, "config file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(name, None, f"cannot read config: {exc}")]) from None
    try:
        root = yaml.compose(text, Loader=_YAML_LOADER)
        if aliased := yaml_alias_problem(root):  # before anything expands the aliases
            raise ConfigError([ConfigProblem(name, aliased[0], f"invalid YAML: {aliased[1]}")])
        data = yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or Python
    except RecursionError:
        raise ConfigError([ConfigProblem(name, None, "invalid YAML: nested too deeply")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(name, line, f"invalid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(name, 1, "expected a mapping with storylines and sources")]
        )

    lines = dict(_key_lines(root, ()))
    problems = [ConfigProblem(name, line, msg) for line, msg in _duplicate_keys(root, ())]
    try:
        config = Config.model_validate({**data, "path": file})
    except ValidationError as exc:
        problems += [_problem_from_error(name, lines, err) for err in exc.errors()]
        # Every problem at once: names and seeds are checked even when the schema is not met.
        problems += _raw_problems(data, file, name, lines)
        raise ConfigError(problems) from None
    problems += _semantic_problems(config, name, lines)
    problems += _environment_problems()
    if problems:
        raise ConfigError(problems)
    return config


def _environment_problems() -> list[ConfigProblem]:
    """The settings the environment overrides, checked with the file (nothing runs on a bad one)."""
    url = os.environ.get("STORYWATCH_DATABASE_URL")
    if not url:
        return []
    from storywatch.store.database import (
        database_url_problem,  # SQLAlchemy: only when it is asked for
    )

    problem = database_url_problem(url)
    return [ConfigProblem("STORYWATCH_DATABASE_URL", None, problem)] if problem else []


def _semantic_problems(config: Config, name: str, lines: dict[tuple, int]) -> list[ConfigProblem]:
    """Checks pydantic cannot express: unique names and ids, seeds that exist and parse."""
    problems = _duplicate_problems(
        name,
        lines,
        [s.name for s in config.sources],
        [s.id for s in config.storylines],
    )
    problems += _digest_problems(config, name, lines)
    for index, storyline in enumerate(config.storylines):
        problems += _seed_problems(config.seed_path(storyline), index, name, lines)
    return problems


def _raw_problems(
    data: dict, file: Path, name: str, lines: dict[tuple, int]
) -> list[ConfigProblem]:
    """The semantic checks on the raw YAML, for a file that failed the schema."""

    def entries(section: str) -> list[Any]:
        value = data.get(section)
        return value if isinstance(value, list) else []

    def field(section: str, key: str) -> list[str | None]:
        return [e.get(key) if isinstance(e, dict) else None for e in entries(section)]

    problems = _duplicate_problems(name, lines, field("sources", "name"), field("storylines", "id"))
    for index, seed in enumerate(field("storylines", "seed")):
        if isinstance(seed, str):
            path = (file.resolve().parent / seed).resolve()
            problems += _seed_problems(path, index, name, lines)
    return problems


def _duplicate_problems(
    name: str, lines: dict[tuple, int], source_names: list[Any], storyline_ids: list[Any]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for section, key, values in (
        ("sources", "name", source_names),
        ("storylines", "id", storyline_ids),
    ):
        seen: set[str] = set()
        for index, value in enumerate(values):
            if not isinstance(value, str):
                continue
            if value in seen:
                line = lines.get((section, index, key))
                problems.append(
                    ConfigProblem(name, line, f"duplicate {section[:-1]} {key} {value!r}")
                )
            seen.add(value)
    return problems


def _seed_problems(
    path: Path, index: int, name: str, lines: dict[tuple, int]
) -> list[ConfigProblem]:
    try:
        load_seed(path)
    except SeedError as exc:
        line = lines.get(("storylines", index, "seed"))
        return [
            ConfigProblem(name, line, f"storylines[{index}].seed: {problem}")
            for problem in exc.problems
        ]
    return []


def _digest_problems(config: Config, name: str, lines: dict[tuple, int]) -> list[ConfigProblem]:
    """A scheduled digest needs a schedule, wherever mode and schedule were set."""
    problems: list[ConfigProblem] = []
    for index, storyline in enumerate(config.storylines):
        settings = config.digest_for(storyline)
        if settings.mode == "scheduled" and not settings.schedule:
            own = ("storylines", index, "digest", "mode")
            line = lines.get(own) or lines.get(("digest", "mode"))
            problems.append(
                ConfigProblem(
                    name,
                    line,
                    f"storylines[{index}] ({storyline.id}): digest mode is scheduled but no "
                    'schedule is set (a cron such as "0 7 * * *")',
                )
            )
    return problems


def _problem_from_error(name: str, lines: dict[tuple, int], err: Any) -> ConfigProblem:
    loc = tuple(part for part in err["loc"] if not str(part).startswith("function-after"))
    line = None
    for cut in range(len(loc), -1, -1):  # the deepest location the YAML has a line for
        if loc[:cut] in lines:
            line = lines[loc[:cut]]
            break
    where = _format_loc(loc)
    if err["type"] == "extra_forbidden":
        message = f"unknown key {where!r}{_did_you_mean(str(loc[-1]))}"
    elif err["type"] == "missing":
        message = f"{where}: required key is missing"
    elif err["type"] == "string_pattern_mismatch" and err["ctx"]["pattern"] == _ID_PATTERN:
        # The regex alone does not tell a user what to type.
        message = (
            f"{where}: {err['input']!r} is not a valid id: use lowercase letters, digits, "
            "'-' and '_', starting with a letter or digit"
        )
    else:
        message = f"{where}: {err['msg'].removeprefix('Value error, ')}"
    return ConfigProblem(name, line, message)


def _did_you_mean(key: str) -> str:
    if key in _known_keys():  # a real key, in the wrong place (e.g. `to` outside `digest`)
        return f" ({key!r} is a key of another section)"
    close = difflib.get_close_matches(key, sorted(_known_keys()), n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


@functools.cache
def _known_keys() -> frozenset[str]:
    """Every key the config's models accept (field names and their YAML aliases)."""
    keys: set[str] = set()
    todo: list[type[BaseModel]] = [Config]
    while todo:
        model = todo.pop()
        for name, info in model.model_fields.items():
            keys.add(info.alias or name)
            for arg in typing.get_args(info.annotation) or (info.annotation,):
                for inner in typing.get_args(arg) or (arg,):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        todo.append(inner)
    keys.discard("path")
    return frozenset(keys)


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _key_lines(node: yaml.Node | None, path: tuple) -> Iterator[tuple[tuple, int]]:
    """Yield (path, 1-based line) for every key and list item in the YAML node tree."""
    if node is None:
        return
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = getattr(key_node, "value", None)
            yield from _key_lines(value_node, (*path, key))
            yield (*path, key), key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _key_lines(item, (*path, index))


def _duplicate_keys(node: yaml.Node | None, path: tuple) -> Iterator[tuple[int, str]]:
    """YAML silently keeps the last of two equal keys; report them instead."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = getattr(key_node, "value", None)
            if key in seen:
                yield key_node.start_mark.line + 1, f"duplicate key {_format_loc((*path, key))!r}"
            seen.add(key)
            yield from _duplicate_keys(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))
