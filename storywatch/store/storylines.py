"""The store's storylines: the detection transaction, what it reads, and the detection lease."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Table,
    delete,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError

from storywatch.store.database import StorePart
from storywatch.store.developments import in_backfill_window
from storywatch.store.schema import (
    utcnow,
)
from storywatch.store.tables import (
    ARTICLES,
    ASSESSMENTS,
    DEVELOPMENT_ARTICLES,
    DEVELOPMENTS,
    MEMORY,
    SOURCES,
    STORYLINES,
    insert_ignore,
)

log = logging.getLogger(__name__)


# A detection at work beats its storyline's lease at least this often; a lease silent for
# longer was left by a process that died, and the next detection takes it.
LEASE_QUIET = timedelta(minutes=2)


class StorylineMoved(Exception):
    """The storyline was written after the snapshot a detection computed from: compute again."""


@dataclass(frozen=True)
class PendingArticle:
    """A stored article as the storyline engine reads it."""

    id: int
    source: str
    url: str
    link: str
    guid: str | None
    title: str
    summary: str
    content: str
    author: str | None
    published: datetime
    date_missing: bool


class StorylineTransaction:
    """Reads and writes of one storyline's detection, all in one transaction under its lock.
    Every insert ignores conflicts: the unique constraints keep a repeat from duplicating."""

    RETIRED = "retired"  # the origin of memory rows that are no memory (see ``retired``)

    def __init__(self, conn: Connection, storyline_id: str) -> None:
        self.conn = conn
        self.storyline = storyline_id

    def memory(self) -> list[dict[str, Any]]:
        """The remembered developments (engine JSON), in memory order; [] before first use."""
        query = (
            select(MEMORY.c.data)
            .where(MEMORY.c.storyline == self.storyline, MEMORY.c.origin != self.RETIRED)
            .order_by(MEMORY.c.position)
        )
        return [dict(data) for data in self.conn.scalars(query)]

    def retired(self) -> list[dict[str, Any]]:
        """Developments a re-detection did not find again (engine JSON): kept so their ids are
        never given to another development, and given back if one finds them again."""
        query = (
            select(MEMORY.c.data)
            .where(MEMORY.c.storyline == self.storyline, MEMORY.c.origin == self.RETIRED)
            .order_by(MEMORY.c.development_id)
        )
        return [dict(data) for data in self.conn.scalars(query)]

    def retire(self, developments: Sequence[dict[str, Any]]) -> None:
        """Keep developments out of the memory under their ids (see ``retired``)."""
        self.save_memory([(-1, {**data, "origin": self.RETIRED}) for data in developments])

    def used_ids(self) -> set[str]:
        """Every development id the storyline gave that no new development may take: retired,
        stored, and placed in a digest (the ledger outlives any re-detection)."""
        from storywatch.store.schema import DigestDevelopmentRow, DigestRow

        digests = cast(Table, DigestRow.__table__)
        placed = cast(Table, DigestDevelopmentRow.__table__)
        queries = [
            select(MEMORY.c.development_id).where(
                MEMORY.c.storyline == self.storyline, MEMORY.c.origin == self.RETIRED
            ),
            select(DEVELOPMENTS.c.id).where(DEVELOPMENTS.c.storyline == self.storyline),
            select(placed.c.development_id)
            .join(digests, digests.c.id == placed.c.digest_id)
            .where(digests.c.storyline == self.storyline),
        ]
        return {dev_id for query in queries for dev_id in self.conn.scalars(query)}

    def pending_articles(
        self,
        since: datetime | None = None,
        *,
        hold_backfills: bool = True,
        include_assessed: bool = False,
        own_backfill: str | None = None,
    ) -> list[PendingArticle]:
        """Articles this storyline has not assessed yet (published >= since), oldest first.

        ``hold_backfills``: leave out what was published in a window a backfill owns for this
        storyline (``in_backfill_window``), but ``own_backfill``'s: it judges that as of its
        time (a replay); a live run judging it first would take today's memory for the
        window's. ``include_assessed``: those assessed already too (a re-detection, which
        forgets their assessments when it writes: ``clear_window``)."""
        query = (
            select(ARTICLES, SOURCES.c.name.label("source_name"))
            .join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id)
            .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
        )
        if not include_assessed:
            assessed = select(ASSESSMENTS.c.article_id).where(
                ASSESSMENTS.c.storyline == self.storyline
            )
            query = query.where(ARTICLES.c.id.not_in(assessed))
        if since is not None:
            query = query.where(ARTICLES.c.published_at >= since)
        if hold_backfills:
            held = in_backfill_window(self.storyline, ARTICLES.c.published_at, own_backfill)
            query = query.where(~held)
        return [
            PendingArticle(
                id=r.id,
                source=r.source_name,
                url=r.url,
                link=r.link,
                guid=r.guid,
                title=r.title,
                summary=r.summary,
                content=r.content or "",
                author=r.author,
                published=r.published_at,
                date_missing=bool(r.date_missing),
            )
            for r in self.conn.execute(query)
        ]

    def clear_window(self, since: datetime | None) -> None:
        """Forget what detection made of articles published since ``since`` (all when None):
        their assessments, their links, and the developments first seen in the window
        (dismissed ones stay: the user's word outlives a re-detection)."""
        window = select(ARTICLES.c.id)
        if since is not None:
            window = window.where(ARTICLES.c.published_at >= since)
        mine = select(DEVELOPMENTS.c.id).where(DEVELOPMENTS.c.storyline == self.storyline)
        self.conn.execute(
            delete(ASSESSMENTS).where(
                ASSESSMENTS.c.storyline == self.storyline, ASSESSMENTS.c.article_id.in_(window)
            )
        )
        # The window as a per-link check, not an IN list: SQLite would otherwise probe every
        # (development, article) pair of its unique index, developments x articles lookups
        # (2.8 s of a replay's 3.9 s write at 8,000 articles, growing with the square).
        links = delete(DEVELOPMENT_ARTICLES).where(DEVELOPMENT_ARTICLES.c.development_id.in_(mine))
        if since is not None:
            in_window = select(ARTICLES.c.id).where(
                ARTICLES.c.id == DEVELOPMENT_ARTICLES.c.article_id,
                ARTICLES.c.published_at >= since,
            )
            links = links.where(in_window.exists())
        self.conn.execute(links)
        stale = select(DEVELOPMENTS.c.id).where(
            DEVELOPMENTS.c.storyline == self.storyline, DEVELOPMENTS.c.dismissed.is_(False)
        )
        if since is not None:
            stale = stale.where(DEVELOPMENTS.c.first_seen >= since)
        stale_ids = list(self.conn.scalars(stale))
        if stale_ids:
            self.conn.execute(
                delete(DEVELOPMENT_ARTICLES).where(
                    DEVELOPMENT_ARTICLES.c.development_id.in_(stale_ids)
                )
            )
            self.conn.execute(delete(DEVELOPMENTS).where(DEVELOPMENTS.c.id.in_(stale_ids)))

    def save_memory(self, entries: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Write (position, development JSON) rows: insert new ones, replace changed ones."""
        ids = [data["id"] for _, data in entries]
        if not ids:
            return
        self.conn.execute(
            delete(MEMORY).where(
                MEMORY.c.storyline == self.storyline, MEMORY.c.development_id.in_(ids)
            )
        )
        self.conn.execute(
            insert(MEMORY),
            [
                {
                    "storyline": self.storyline,
                    "development_id": data["id"],
                    "position": position,
                    "origin": data["origin"],
                    "data": data,
                }
                for position, data in entries
            ],
        )

    def replace_memory(self, entries: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Replace the memory (retired developments stay)."""
        self.conn.execute(
            delete(MEMORY).where(
                MEMORY.c.storyline == self.storyline, MEMORY.c.origin != self.RETIRED
            )
        )
        self.save_memory(entries)

    def add_developments(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            values = [{"storyline": self.storyline, "dismissed": False, **r} for r in rows]
            self.conn.execute(insert_ignore(self.conn, DEVELOPMENTS), values)

    def add_links(self, pairs: Iterable[tuple[str, int]]) -> None:
        rows = [{"development_id": d, "article_id": a, "added_at": utcnow()} for d, a in pairs]
        if rows:
            self.conn.execute(insert_ignore(self.conn, DEVELOPMENT_ARTICLES), rows)

    def add_assessments(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            values = [{"storyline": self.storyline, "assessed_at": utcnow(), **r} for r in rows]
            self.conn.execute(insert_ignore(self.conn, ASSESSMENTS), values)

    def mark_dismissed(self, development_id: str) -> None:
        self.conn.execute(
            update(DEVELOPMENTS)
            .where(DEVELOPMENTS.c.id == development_id)
            .values(dismissed=True, dismissed_at=utcnow())
        )


class StorylinesMixin(StorePart):
    """Store methods over storylines: the detection transaction and the lease."""

    def ensure_storyline(self, storyline_id: str, seed_date: str) -> str:
        """Register a storyline on first use; return the seed date fixed then (YYYY-MM-DD)."""
        with self.engine.begin() as conn:
            conn.execute(
                insert_ignore(self.engine, STORYLINES).values(
                    id=storyline_id,
                    seed_date=seed_date,
                    revision=0,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
            stored = conn.scalar(
                select(STORYLINES.c.seed_date).where(STORYLINES.c.id == storyline_id)
            )
        return str(stored)

    @contextmanager
    def storyline_transaction(
        self, storyline_id: str, *, revision: int | None = None
    ) -> Iterator[StorylineTransaction]:
        """One transaction holding the storyline's lock (``ensure_storyline`` first). With
        ``revision`` (a ``storyline_snapshot``'s), raise ``StorylineMoved`` unless the
        storyline is still at it: nothing was written since the snapshot was read."""
        with self.engine.begin() as conn:
            # The first statement writes: PostgreSQL locks the row, SQLite takes its write
            # lock before any read, so a concurrent writer waits here (busy_timeout).
            locking = (
                update(STORYLINES)
                .where(STORYLINES.c.id == storyline_id)
                .values(revision=STORYLINES.c.revision + 1, updated_at=utcnow())
            )
            if revision is not None:
                locking = locking.where(STORYLINES.c.revision == revision)
            if conn.execute(locking).rowcount != 1:
                if revision is not None and self._storyline_exists(conn, storyline_id):
                    raise StorylineMoved(storyline_id)
                raise KeyError(f"storyline {storyline_id!r} is not registered")
            yield StorylineTransaction(conn, storyline_id)

    @contextmanager
    def storyline_snapshot(self, storyline_id: str) -> Iterator[tuple[int, StorylineTransaction]]:
        """(revision, reads) of a storyline without any lock: read the revision first, so any
        write after the reads shows in it (``storyline_transaction(revision=...)``)."""
        with self.engine.connect() as conn:
            revision = conn.scalar(
                select(STORYLINES.c.revision).where(STORYLINES.c.id == storyline_id)
            )
            if revision is None:
                raise KeyError(f"storyline {storyline_id!r} is not registered")
            yield revision, StorylineTransaction(conn, storyline_id)

    @staticmethod
    def _storyline_exists(conn: Connection, storyline_id: str) -> bool:
        query = select(STORYLINES.c.id).where(STORYLINES.c.id == storyline_id)
        return conn.scalar(query) is not None

    def take_lease(self, storyline_id: str, owner: str) -> bool:
        """Become the storyline's one detection at work, unless another is (and has beaten
        within LEASE_QUIET). Short: no lock is held after it. False too when the storyline's
        row is locked by a detection writing (its lease is taken, or about to be free)."""
        try:
            return self._take_lease(storyline_id, owner)
        except OperationalError as exc:  # SQLite busy, PostgreSQL lock_timeout: try again
            log.debug("%s: lease not taken: %s", storyline_id, exc)
            return False

    def _take_lease(self, storyline_id: str, owner: str) -> bool:
        now = utcnow()
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # a writing detection holds the row
                conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            taken = conn.execute(
                update(STORYLINES)
                .where(
                    STORYLINES.c.id == storyline_id,
                    or_(
                        STORYLINES.c.lease_owner.is_(None),
                        STORYLINES.c.lease_owner == owner,
                        STORYLINES.c.lease_beat < now - LEASE_QUIET,
                    ),
                )
                .values(lease_owner=owner, lease_beat=now)
            )
        return taken.rowcount == 1

    def beat_lease(self, storyline_id: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(STORYLINES)
                .where(STORYLINES.c.id == storyline_id, STORYLINES.c.lease_owner == owner)
                .values(lease_beat=utcnow())
            )

    def drop_lease(self, storyline_id: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(STORYLINES)
                .where(STORYLINES.c.id == storyline_id, STORYLINES.c.lease_owner == owner)
                .values(lease_owner=None, lease_beat=None)
            )
