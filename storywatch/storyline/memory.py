"""Storyline memory: every development the reader already knows, as plain serialisable data.

A ``Development`` is one real-world happening (a call, a summit, a signed deal) with the
``Signature``s of the sentences that reported it, every article that reported it and the
evidence shown in the digest. Memory starts with the seed's own developments (origin "seed")
and grows with each run; a development the user dismisses (origin "dismissed") is remembered
as known. ``Memory.to_dict`` / ``Memory.from_dict`` round-trip through JSON-able dicts.

Ids are ``<storyline>-<YYYYMMDD>-NN`` and name one development for good (digests and
`developments dismiss ID` refer to them): ``Memory.reserved`` holds ids given before that are
no longer in the memory, which ``next_id`` never gives again, and ``carry_ids`` lets a
re-detected development keep the id of the earlier one it is (by its articles).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storywatch.storyline.extract import Candidate, Evidence

ORIGINS = ("seed", "detected", "dismissed")


@dataclass
class Signature:
    """What happened, who, where, when and in which state (held, planned ...)."""

    types: frozenset[str]
    actors: frozenset[str]
    persons: frozenset[str]
    sides: frozenset[str]
    place: str | None
    country: str | None
    date: dt.date | None  # event date named by the text
    reported: dt.date  # when it was reported
    modality: str
    objects: frozenset[str] = frozenset()

    @property
    def when(self) -> dt.date:
        return self.date or self.reported

    @classmethod
    def of(cls, candidate: Candidate) -> Signature:
        return cls(
            types=candidate.types,
            actors=candidate.actors,
            persons=candidate.persons,
            sides=candidate.sides,
            place=candidate.place,
            country=candidate.country,
            date=candidate.date,
            reported=candidate.reported,
            modality=candidate.modality,
            objects=candidate.objects,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "types": sorted(self.types),
            "actors": sorted(self.actors),
            "persons": sorted(self.persons),
            "sides": sorted(self.sides),
            "place": self.place,
            "country": self.country,
            "date": self.date.isoformat() if self.date else None,
            "reported": self.reported.isoformat(),
            "modality": self.modality,
            "objects": sorted(self.objects),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            types=frozenset(data["types"]),
            actors=frozenset(data["actors"]),
            persons=frozenset(data.get("persons", ())),
            sides=frozenset(data["sides"]),
            place=data.get("place"),
            country=data.get("country"),
            date=dt.date.fromisoformat(data["date"]) if data.get("date") else None,
            reported=dt.date.fromisoformat(data["reported"]),
            modality=data["modality"],
            objects=frozenset(data.get("objects", ())),
        )


@dataclass
class ArticleRef:
    url: str
    title: str = ""
    source: str = ""
    published: str = ""  # ISO 8601

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "published": self.published,
        }


@dataclass
class Development:
    """One development of the storyline and everything known about it."""

    id: str
    origin: str  # seed | detected | dismissed
    novelty: str  # new | update | known (seed and dismissed developments are known)
    types: set[str]
    title: str
    summary: str
    first_seen: str  # ISO 8601: publication time of its first article
    signatures: list[Signature] = field(default_factory=list)
    articles: list[ArticleRef] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    updates: str | None = None  # id of the development this one advances

    @property
    def alertable(self) -> bool:
        return self.origin == "detected" and self.novelty in ("new", "update")

    def add_article(self, ref: ArticleRef) -> None:
        if all(a.url != ref.url for a in self.articles):
            self.articles.append(ref)

    def export(self, storyline_id: str) -> dict[str, Any]:
        """The shape of `export developments`."""
        return {
            "id": self.id,
            "storyline": storyline_id,
            "types": sorted(self.types),
            "novelty": self.novelty,
            "title": self.title,
            "summary": self.summary,
            "first_seen": self.first_seen,
            "articles": [a.to_dict() for a in self.articles],
            "outlets": len({a.source for a in self.articles}),
            "evidence": [
                {"sentence": e.sentence, "terms": list(e.terms), "actors": list(e.actors)}
                for e in self.evidence
            ],
            "updates": self.updates,
        }

    def to_dict(self) -> dict[str, Any]:
        """The stored memory format (``from_dict`` reads it back). Written out on its own, not
        derived from ``export``: a change to the public export must not change what the
        database holds, nor the other way round."""
        return {
            "id": self.id,
            "types": sorted(self.types),
            "novelty": self.novelty,
            "title": self.title,
            "summary": self.summary,
            "first_seen": self.first_seen,
            "articles": [a.to_dict() for a in self.articles],
            "evidence": [
                {"sentence": e.sentence, "terms": list(e.terms), "actors": list(e.actors)}
                for e in self.evidence
            ],
            "updates": self.updates,
            "origin": self.origin,
            "signatures": [s.to_dict() for s in self.signatures],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Development:
        return cls(
            id=data["id"],
            origin=data["origin"],
            novelty=data["novelty"],
            types=set(data["types"]),
            title=data.get("title", ""),
            summary=data.get("summary", ""),
            first_seen=data.get("first_seen", ""),
            signatures=[Signature.from_dict(s) for s in data.get("signatures", [])],
            articles=[ArticleRef(**a) for a in data.get("articles", [])],
            evidence=[
                Evidence(e["sentence"], tuple(e["terms"]), tuple(e["actors"]))
                for e in data.get("evidence", [])
            ],
            updates=data.get("updates"),
        )


@dataclass
class Memory:
    """All developments of one storyline, seed first, in the order they were learnt, and the
    ids given before that no development holds now (never given again)."""

    developments: list[Development] = field(default_factory=list)
    reserved: set[str] = field(default_factory=set)

    def get(self, development_id: str) -> Development:
        for development in self.developments:
            if development.id == development_id:
                return development
        raise KeyError(development_id)

    def add(self, development: Development) -> None:
        self.developments.append(development)

    def dismiss(self, development_id: str) -> Development:
        """The user says "not new": keep it as known so it and its repeats never alert."""
        development = self.get(development_id)
        development.origin = "dismissed"
        development.novelty = "known"
        return development

    def next_id(self, prefix: str, when: datetime | dt.date) -> str:
        """The first number of the day that no development holds or ever held."""
        stamp = when.strftime("%Y%m%d")
        used = {d.id for d in self.developments} | self.reserved
        number = 1
        while f"{prefix}-{stamp}-{number:02d}" in used:
            number += 1
        return f"{prefix}-{stamp}-{number:02d}"

    def rename(self, renames: dict[str, str]) -> None:
        """Give developments other ids (``carry_ids``), and the updates that name them."""
        for development in self.developments:
            development.id = renames.get(development.id, development.id)
            if development.updates is not None:
                development.updates = renames.get(development.updates, development.updates)
        self.reserved -= set(renames.values())

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": 1,
            "developments": [d.to_dict() for d in self.developments],
        }
        if self.reserved:
            data["reserved"] = sorted(self.reserved)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Memory:
        return cls(
            [Development.from_dict(d) for d in data.get("developments", [])],
            set(data.get("reserved", ())),
        )

    def copy(self) -> Memory:
        return Memory.from_dict(self.to_dict())


def carry_ids(earlier: Sequence[Development], again: Sequence[Development]) -> dict[str, str]:
    """{id in ``again``: id in ``earlier``} for re-detected developments that are earlier ones
    found again: the pair sharing the most articles first (a tie goes to the same first
    article, then to the order of ``again``); each earlier id goes to one development at most.
    A development sharing no article with any earlier one is new and keeps its id."""
    holders: dict[str, list[int]] = {}  # article URL -> the earlier developments listing it
    for j, old in enumerate(earlier):
        for ref in old.articles:
            holders.setdefault(ref.url, []).append(j)
    pairs = []
    for i, new in enumerate(again):
        first = new.articles[0].url if new.articles else None
        shared = Counter(j for ref in new.articles for j in holders.get(ref.url, ()))
        for j, count in shared.items():
            pairs.append((-count, earlier[j].articles[0].url != first, i, j))
    renames: dict[str, str] = {}
    taken: set[int] = set()
    for _, _, i, j in sorted(pairs):
        if again[i].id not in renames and j not in taken:
            renames[again[i].id] = earlier[j].id
            taken.add(j)
    return renames
