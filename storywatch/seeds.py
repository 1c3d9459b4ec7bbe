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


class SeedError(Exception):
    """The seed file is missing or malformed (the message says which and why)."""


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
    try:
        document = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SeedError(f"seed file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from None
    front, body = split_front_matter(document)
    raw: dict[str, Any] = {}
    if front is not None:
        try:
            loaded = yaml.safe_load(front)
        except yaml.YAMLError as exc:
            raise SeedError(f"{path}: front matter is not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise SeedError(f"{path}: front matter must be a mapping")
        raw = loaded or {}
    try:
        meta = SeedFrontMatter.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SeedError(f"{path}: front matter: {problems}") from None
    unknown = sorted(set(meta.types) - set(DEVELOPMENT_TYPES))
    if unknown:
        raise SeedError(f"{path}: unknown development types {unknown}")
    if not body.strip():
        raise SeedError(f"{path}: the seed has no text")
    return Seed(path=path, meta=meta, text=body.strip(), raw_front_matter=raw)
