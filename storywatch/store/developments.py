"""The store's developments as readers see them (export, digests), and the backfill-window
test live detection and digests share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    select,
)

from storywatch.store.database import StorePart
from storywatch.store.tables import (
    ARTICLES,
    BACKFILL_STORYLINES,
    DEVELOPMENT_ARTICLES,
    DEVELOPMENTS,
    IN_CHUNK,
    MEMORY,
    RUNS,
    SOURCES,
)


@dataclass(frozen=True)
class RememberedDevelopment:
    """A development as the storyline's memory holds it: one an update advances."""

    id: str
    title: str
    first_seen: str  # ISO date or time, as the engine recorded it
    origin: str  # seed | detected | dismissed


@dataclass(frozen=True)
class LinkedArticle:
    url: str
    title: str
    source: str
    published: datetime


@dataclass(frozen=True)
class StoredDevelopment:
    id: str
    storyline: str
    types: list[str]
    novelty: str
    title: str
    summary: str
    first_seen: datetime
    evidence: list[dict[str, Any]]
    updates: str | None
    dismissed: bool
    articles: list[LinkedArticle]


def in_backfill_window(
    storyline: str, moment: ColumnElement[Any], except_run: str | None = None
) -> ColumnElement[bool]:
    """SQL: ``moment`` lies in a window a backfill (other than ``except_run``) owns for
    ``storyline``: one it has not settled there yet (Store.open_backfill)."""
    owner = (
        select(BACKFILL_STORYLINES.c.run_id)
        .join(RUNS, RUNS.c.id == BACKFILL_STORYLINES.c.run_id)
        .where(
            BACKFILL_STORYLINES.c.storyline == storyline,
            BACKFILL_STORYLINES.c.settled_at.is_(None),
            RUNS.c.window_start <= moment,
            RUNS.c.window_end > moment,
        )
    )
    if except_run is not None:
        owner = owner.where(RUNS.c.id != except_run)
    return owner.exists()


class DevelopmentsMixin(StorePart):
    """Store methods over developments, as export and the CLI read them."""

    def development_storyline(self, development_id: str) -> tuple[str, bool] | None:
        """(storyline, dismissed) of a stored development, or None for an unknown id."""
        query = select(DEVELOPMENTS.c.storyline, DEVELOPMENTS.c.dismissed).where(
            DEVELOPMENTS.c.id == development_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row[0], bool(row[1])) if row else None

    def remembered_developments(self) -> dict[tuple[str, str], RememberedDevelopment]:
        """(storyline, development id) -> the memory's record of every development some
        alerted development updates (the seed's included: "seed-18" names one of them)."""
        updated = select(DEVELOPMENTS.c.storyline, DEVELOPMENTS.c.updates).where(
            DEVELOPMENTS.c.updates.is_not(None)
        )
        with self.engine.connect() as conn:
            wanted = {(storyline, dev_id) for storyline, dev_id in conn.execute(updated)}
            if not wanted:
                return {}
            ids = sorted({d for _, d in wanted})
            found: dict[tuple[str, str], RememberedDevelopment] = {}
            for start in range(0, len(ids), IN_CHUNK):
                query = select(
                    MEMORY.c.storyline, MEMORY.c.development_id, MEMORY.c.origin, MEMORY.c.data
                ).where(MEMORY.c.development_id.in_(ids[start : start + IN_CHUNK]))
                for storyline, dev_id, origin, data in conn.execute(query):
                    if (storyline, dev_id) in wanted:
                        title, first_seen = data.get("title", ""), data.get("first_seen", "")
                        found[storyline, dev_id] = RememberedDevelopment(
                            dev_id, str(title), str(first_seen), origin
                        )
            return found

    def iter_developments(
        self, *, include_dismissed: bool = False, run_id: str | None = None
    ) -> Iterator[StoredDevelopment]:
        """Developments alerted on (oldest first), each with every article folded into it."""
        query = select(DEVELOPMENTS).order_by(DEVELOPMENTS.c.first_seen, DEVELOPMENTS.c.id)
        if not include_dismissed:
            query = query.where(DEVELOPMENTS.c.dismissed.is_(False))
        if run_id is not None:
            query = query.where(DEVELOPMENTS.c.run_id == run_id)
        links = (
            select(
                DEVELOPMENT_ARTICLES.c.development_id,
                ARTICLES.c.url,
                ARTICLES.c.title,
                SOURCES.c.name,
                ARTICLES.c.published_at,
            )
            .join(ARTICLES, ARTICLES.c.id == DEVELOPMENT_ARTICLES.c.article_id)
            .join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id)
            .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            wanted = {r.id for r in rows}
            articles: dict[str, list[LinkedArticle]] = {}
            for dev_id, url, title, source, published in conn.execute(links):
                if dev_id in wanted:
                    articles.setdefault(dev_id, []).append(
                        LinkedArticle(url, title, source, published)
                    )
        for r in rows:
            yield stored_development(r, articles.get(r.id, []))


def stored_development(row: Any, articles: list[LinkedArticle]) -> StoredDevelopment:
    """A developments row (and its linked articles) as the record callers read."""
    return StoredDevelopment(
        id=row.id,
        storyline=row.storyline,
        types=list(row.types),
        novelty=row.novelty,
        title=row.title,
        summary=row.summary,
        first_seen=row.first_seen,
        evidence=list(row.evidence),
        updates=row.updates,
        dismissed=bool(row.dismissed),
        articles=articles,
    )
