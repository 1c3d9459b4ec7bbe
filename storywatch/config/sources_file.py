"""Adding sources to sources.yaml in place, keeping the file as the user wrote it.

A YAML round trip (ruamel.yaml, which Prefect already installs) keeps the file's comments, key
order, quoting and indentation; the new sources go at the end of ``sources:``, and a comment
that followed the last source (the next section's heading) stays after the new ones. The
edited text is validated as a config before it replaces the file (written beside it, then
renamed), so an import never leaves a broken or half-written sources.yaml.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from storywatch.config.config import (
    Config,
    ConfigError,
    ConfigProblem,
    SourceConfig,
    load_config,
)


@dataclass(frozen=True)
class NewSource:
    name: str
    url: str


@dataclass
class SourcesAdded:
    """What an import did: sources added (as named in the file) and feeds skipped, with why."""

    added: list[NewSource] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name or URL, why)


def feed_key(url: str) -> str:
    """A URL as compared for "already present": scheme and host in lower case, no trailing /."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


def plan_sources(config: Config, candidates: Sequence[NewSource]) -> SourcesAdded:
    """Decide (pure) which candidates to add: not already present by URL (nor twice in the
    list), a valid source; a name already taken gets " (2)", " (3)" ..."""
    seen = {feed_key(s.url) for s in config.sources}
    names = {s.name for s in config.sources}
    plan = SourcesAdded()
    for candidate in candidates:
        key = feed_key(candidate.url)
        if key in seen:
            plan.skipped.append((f"{candidate.name} ({candidate.url})", "already in the sources"))
            continue
        name = candidate.name
        number = 2
        while name in names:
            name = f"{candidate.name} ({number})"
            number += 1
        try:
            SourceConfig.model_validate({"name": name, "url": candidate.url})
        except ValidationError as exc:
            plan.skipped.append((f"{candidate.name} ({candidate.url})", exc.errors()[0]["msg"]))
            continue
        seen.add(key)
        names.add(name)
        plan.added.append(NewSource(name=name, url=candidate.url.strip()))
    return plan


def add_sources(path: Path, candidates: Sequence[NewSource]) -> SourcesAdded:
    """Append the new candidates to ``path``'s ``sources:``; ConfigError when the file (as it
    is, or as edited) is not a valid config, leaving it untouched."""
    config = load_config(path)
    plan = plan_sources(config, candidates)
    if not plan.added:
        return plan
    text = path.read_text(encoding="utf-8")
    edited = append_to_sources(text, plan.added, str(path))
    _replace_validated(path, edited)
    return plan


def append_to_sources(text: str, sources: Sequence[NewSource], name: str) -> str:
    """The YAML ``text`` with ``sources`` appended to its ``sources:`` sequence."""
    try:
        _, indent, offset = load_yaml_guess_indent(text)
        yaml = _round_trip(indent or 2, offset or 0)
        data = yaml.load(text)
    except YAMLError as exc:
        raise ConfigError([ConfigProblem(name, None, f"invalid YAML: {exc}")]) from None
    listed = data.get("sources") if isinstance(data, CommentedMap) else None
    if not isinstance(listed, CommentedSeq):
        message = "sources: is not a list written in block style (one '- name:' per source)"
        raise ConfigError([ConfigProblem(name, None, message)])
    if listed.fa.flow_style():
        listed.fa.set_block_style()
    last = listed[-1] if listed else None
    for source in sources:
        listed.append(CommentedMap([("name", source.name), ("url", source.url)]))
    if last is not None:
        _move_trailing_comment(last, listed[-1])
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _round_trip(indent: int, offset: int) -> YAML:
    yaml = YAML()  # round trip: comments, order and quoting kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line the user wrote on one
    mapping = indent - offset if offset else indent
    yaml.indent(mapping=max(mapping, 2), sequence=indent, offset=offset)
    return yaml


def _move_trailing_comment(old_last: Any, new_last: CommentedMap) -> None:
    """The comment lines after the old last source (e.g. the next section's heading) belong
    after the new last one; an end-of-line comment on the old source's own line stays there."""
    holder = _last_holder(old_last)
    if holder is None:
        return
    container, key = holder
    token = container.ca.items[key][2]
    inline, newline, rest = token.value.partition("\n")
    if not newline or not rest:
        return
    if inline.strip().startswith("#"):
        token.value = inline + "\n"
    else:
        container.ca.items[key][2] = None
    moved = type(token)("\n" + rest, token.start_mark, None)
    new_last.ca.items["url"] = [None, None, moved, None]


def _last_holder(node: Any) -> tuple[Any, Any] | None:
    """(container, key) of the deepest last entry under ``node`` that holds a comment after it."""
    found = None
    while isinstance(node, CommentedMap | CommentedSeq) and len(node):
        key = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
        entry = node.ca.items.get(key)
        if entry and len(entry) > 2 and entry[2] is not None:
            found = (node, key)
        node = node[key]
    return found


def _replace_validated(path: Path, text: str) -> None:
    """Write ``text`` beside ``path``, check it loads as a config, then rename it over."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        load_config(temporary)  # the seeds resolve from the same folder
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
