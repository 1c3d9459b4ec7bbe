"""Seed documents: Markdown with optional YAML front matter describing a storyline.

The front matter (all keys optional) names the storyline's actors with aliases and sides, its
places and topic terms, and the development types of interest. The storyline stage turns a
``Seed`` into its initial memory; this module only reads and validates the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEVELOPMENT_TYPES = (
    "meeting",
    "concession",
    "ceasefire",
    "agreement",
    "proposal",
    "prisoner_exchange",
    "sanctions",
    "aid",
)


SEED_MAX_BYTES = 1024 * 1024  # a seed is a page of prose: a bigger file is a mistake (/dev/zero)
# YAML aliases may repeat a node; past this many nodes beyond the file's own (10x, at least
# 10,000) an alias chain is a "billion laughs" bomb, rejected before anything expands it.
YAML_ALIAS_FACTOR = 10
YAML_ALIAS_SLACK = 10_000
YAML_MAX_DEPTH = 100


def yaml_alias_problem(root: yaml.Node | None) -> tuple[int, str] | None:
    """(1-based line, message) when the composed YAML ``root`` holds an alias that contains
    itself, expands past the bound above, or nests deeper than YAML_MAX_DEPTH; else None."""
    if root is None:
        return None
    distinct: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:  # the file's own nodes, each once
        node = stack.pop()
        if id(node) in distinct:
            continue
        distinct.add(id(node))
        stack.extend(_children(node))
    budget = [YAML_ALIAS_FACTOR * len(distinct) + YAML_ALIAS_SLACK]
    return _expand(root, set(), 0, budget)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _expand(
    node: yaml.Node, open_nodes: set[int], depth: int, budget: list[int]
) -> tuple[int, str] | None:
    line = node.start_mark.line + 1
    if id(node) in open_nodes:
        return line, "a YAML alias refers to a node that contains it (recursive alias)"
    if depth > YAML_MAX_DEPTH:
        return line, f"YAML nested more than {YAML_MAX_DEPTH} levels deep"
    budget[0] -= 1
    if budget[0] < 0:
        return line, "YAML aliases expand too far (an alias bomb?): repeat the values instead"
    open_nodes.add(id(node))
    for child in _children(node):
        if problem := _expand(child, open_nodes, depth + 1, budget):
            return problem
    open_nodes.discard(id(node))
    return None


class SeedError(Exception):
    """The seed file is missing or malformed. ``problems`` lists every one found, each as
    "<seed path>:<line>: <what>" when the line is known; the message joins them."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class SeedActor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    side: str | None = None  # e.g. "russia", "ukraine", "us", "europe", "mediator"


class SeedFrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = None
    title: str | None = None
    date: str | None = None  # the seed's own date (YYYY-MM-DD): what the reader knew then
    actors: list[SeedActor] = Field(default_factory=list)
    places: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=lambda: list(DEVELOPMENT_TYPES))
    # Optional, used by the storyline stage: the sides in conflict (their presence anchors
    # relevance; default: the two countries the seed names most) and theatre terms (regions,
    # front-line places) that place an article in this storyline's war.
    parties: list[str] = Field(default_factory=list)
    theatre: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Seed:
    path: Path
    meta: SeedFrontMatter
    text: str  # the body without front matter
    raw_front_matter: dict[str, Any] = field(default_factory=dict)


def split_front_matter(document: str) -> tuple[str | None, str]:
    """Return (front matter YAML or None, body). Front matter is the block between '---' lines."""
    lines = document.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, document
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    raise SeedError("front matter starts with '---' but has no closing '---' line")


def load_seed(path: Path) -> Seed:
    """Read and validate a seed; SeedError lists every problem with its line in the seed."""
    try:
        with path.open("rb") as file:
            data = file.read(SEED_MAX_BYTES + 1)  # never more: the path may be /dev/zero
        if len(data) > SEED_MAX_BYTES:
            raise SeedError(f"seed file {path} is larger than {SEED_MAX_BYTES // 1024} kB")
        document = data.decode("utf-8")
    except FileNotFoundError:
        raise SeedError(f"seed file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from None
    try:
        front, body = split_front_matter(document)
    except SeedError as exc:
        raise SeedError(f"{path}:1: {exc}") from None
    raw: dict[str, Any] = {}
    node: yaml.Node | None = None
    if front is not None:
        try:
            node = yaml.compose(front, Loader=yaml.SafeLoader)
            if aliased := yaml_alias_problem(node):
                raise SeedError(f"{path}:{aliased[0] + 1}: front matter: {aliased[1]}")
            loaded = yaml.safe_load(front)
        except RecursionError:
            raise SeedError(f"{path}:2: front matter is nested too deeply") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path}:{mark.line + 2}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or str(exc)
            raise SeedError(f"{where}: front matter is not valid YAML: {problem}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise SeedError(f"{path}:2: front matter must be a mapping")
        raw = loaded or {}
    problems: list[str] = []
    meta = SeedFrontMatter()
    try:
        meta = SeedFrontMatter.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            where = ".".join(str(part) for part in loc)
            problems.append(f"{path}:{_line(node, loc)}: front matter: {where}: {error['msg']}")
    types = raw.get("types")
    unknown = (
        sorted(set(map(str, types)) - set(DEVELOPMENT_TYPES)) if isinstance(types, list) else []
    )
    if unknown:
        problems.append(
            f"{path}:{_line(node, ('types',))}: unknown development types {unknown}"
            f" (known: {', '.join(DEVELOPMENT_TYPES)})"
        )
    if not body.strip():
        problems.append(f"{path}: the seed has no text")
    if problems:
        raise SeedError(*problems)
    return Seed(path=path, meta=meta, text=body.strip(), raw_front_matter=raw)


def seed_warnings(seed: Seed, storyline_id: str) -> list[str]:
    """What is valid but probably a mistake in a storyline's seed: no front matter (the engine
    then guesses actors and places from the text alone), or a front-matter ``id`` that is not
    the storyline's (the seed was copied from another story and not edited)."""
    if not seed.raw_front_matter:
        return [
            f"{seed.path}: the seed has no front matter: the storyline's actors, places and "
            "types are guessed from its text (README: Follow another story)"
        ]
    if seed.meta.id is not None and seed.meta.id != storyline_id:
        return [
            f"{seed.path}: the seed's id {seed.meta.id!r} is not its storyline's id "
            f"{storyline_id!r} (copied from another story?)"
        ]
    return []


def _line(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """Line in the seed file of the front-matter value at ``loc`` (the nearest enclosing one
    found); the front matter starts on the file's line 2."""
    line = node.start_mark.line if node is not None else 0
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, _ in node.value if k.value == str(part)), None)
            if key is not None:
                line = key.start_mark.line
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line
        if child is None:
            break
        node = child
    return line + 2
