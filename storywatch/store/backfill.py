"""The store's side of a backfill: window articles without touching feed health, and the
questions the replay asks (what was assessed after a moment, what the window produced).

``BackfillMixin`` holds the Store's methods; the module functions taking a connection are the
questions a replay asks inside a storyline's transaction. Every write ignores conflicts, so a
repeated or interrupted backfill never duplicates a row.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, func, or_, select, update

from storywatch.parse.normalise import Article
from storywatch.store.articles import insert_articles
from storywatch.store.database import StorePart
from storywatch.store.digests import QUIET_KIND, lock_digests
from storywatch.store.liveness import beating
from storywatch.store.schema import utcnow
from storywatch.store.tables import (
    ARTICLES,
    ASSESSMENTS,
    BACKFILL_STORYLINES,
    DEVELOPMENT_ARTICLES,
    DEVELOPMENTS,
    DIGEST_DEVELOPMENTS,
    DIGESTS,
    RUNS,
    SOURCES,
    insert_ignore,
)

# A backfill not heard from for this long (and not released) has stopped: live detection
# stops leaving its articles to it, and the step before detection replays them
# (pipeline.backfill.finish).
BACKFILL_QUIET = timedelta(minutes=10)
BEAT_SECONDS = 60.0  # a running backfill's heartbeat; BACKFILL_QUIET is ten of them


def _beat(conn: Connection, run_id: str) -> None:
    conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(heartbeat_at=utcnow()))


@dataclass(frozen=True)
class StoppedBackfill:
    """A backfill that ended or went quiet without settling its window for a storyline."""

    run_id: str
    email: bool  # its --email, for a storyline it was run for (``asked``)
    asked: bool
    started_at: datetime
    start: datetime  # its window, [start, end)
    end: datetime


def assessed_after(conn: Connection, storyline: str, moment: datetime) -> bool:
    """Has the storyline already judged an article published after ``moment``? Then a window
    starting at ``moment`` must be replayed, not just appended to the memory."""
    query = (
        select(ASSESSMENTS.c.article_id)
        .join(ARTICLES, ARTICLES.c.id == ASSESSMENTS.c.article_id)
        .where(ASSESSMENTS.c.storyline == storyline, ARTICLES.c.published_at > moment)
        .limit(1)
    )
    return conn.scalar(query) is not None


def earliest_unassessed(conn: Connection, storyline: str, start: datetime) -> datetime | None:
    """The publication time of the first article from ``start`` on not judged yet."""
    assessed = select(ASSESSMENTS.c.article_id).where(ASSESSMENTS.c.storyline == storyline)
    query = select(ARTICLES.c.published_at).where(
        ARTICLES.c.published_at >= start, ARTICLES.c.id.not_in(assessed)
    )
    return conn.scalar(query.order_by(ARTICLES.c.published_at).limit(1))


def quiet_digest_id(storyline: str, recipient: str, development_ids: Sequence[str]) -> str:
    parts = (QUIET_KIND, recipient, *development_ids)
    return f"{storyline}-quiet-{hashlib.sha256(chr(10).join(parts).encode()).hexdigest()[:16]}"


def told_articles(conn: Connection, storyline: str) -> dict[str, set[int]]:
    """recipient -> the articles of every development already in one of their digests: what
    each reader was told, whichever development ids a replay gives those articles later."""
    query = (
        select(DIGEST_DEVELOPMENTS.c.recipient, DEVELOPMENT_ARTICLES.c.article_id)
        .join(
            DEVELOPMENT_ARTICLES,
            DEVELOPMENT_ARTICLES.c.development_id == DIGEST_DEVELOPMENTS.c.development_id,
        )
        .join(DEVELOPMENTS, DEVELOPMENTS.c.id == DIGEST_DEVELOPMENTS.c.development_id)
        .where(DEVELOPMENTS.c.storyline == storyline)
    )
    told: dict[str, set[int]] = {}
    for recipient, article_id in conn.execute(query):
        told.setdefault(recipient, set()).add(article_id)
    return told


def developments_with_articles(
    conn: Connection, storyline: str, since: datetime, article_ids: set[int]
) -> list[str]:
    """Developments first seen from ``since`` on that list any of ``article_ids``."""
    if not article_ids:
        return []
    query = (
        select(DEVELOPMENTS.c.id, DEVELOPMENT_ARTICLES.c.article_id)
        .join(DEVELOPMENT_ARTICLES, DEVELOPMENT_ARTICLES.c.development_id == DEVELOPMENTS.c.id)
        .where(DEVELOPMENTS.c.storyline == storyline, DEVELOPMENTS.c.first_seen >= since)
    )
    found = {dev for dev, article in conn.execute(query) if article in article_ids}
    return sorted(found)


class BackfillMixin(StorePart):
    """Store methods over backfills: their window articles, claims, heartbeats and settling."""

    if TYPE_CHECKING:  # from SourcesMixin: a backfill's run row is a run like any other

        def start_run(self, run_id: str, kind: str, started_at: datetime) -> None: ...

    def save_window_articles(
        self,
        articles: Sequence[Article],
        source_ids: dict[str, int],
        run_id: str,
        fetched_at: datetime,
    ) -> list[int]:
        """Store a page's in-window articles; return the ids of those that were new. Archive pages
        say nothing about the live feed, so its validators and health stay as they were. Each
        page is a sign of life: live runs keep leaving the window to this backfill."""
        with self.engine.begin() as conn:
            _beat(conn, run_id)
            return insert_articles(conn, articles, source_ids, run_id, fetched_at)

    def open_backfill(
        self,
        run_id: str,
        start: datetime,
        end: datetime,
        email: bool,
        storylines: Sequence[str],
        others: Sequence[str] = (),
    ) -> None:
        """Record the backfill ``run_id`` as at work on [start, end) for ``storylines`` (its
        window is theirs until it settles it: ``in_backfill_window``). Again for a retried run:
        at work again. ``others``: the storylines it was not run for, which read the articles it
        stores too; it holds their window until it ends, then a live run judges it as of the
        time and records it without mailing (``BackfillStorylineRow.asked``)."""
        now = utcnow()
        self.start_run(run_id, "backfill", now)  # ignored for a retry: the row is there
        with self.engine.begin() as conn:
            conn.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(
                    window_start=start,
                    window_end=end,
                    email=email,
                    heartbeat_at=now,
                    released_at=None,
                )
            )
            rows = [{"run_id": run_id, "storyline": s, "asked": True} for s in storylines]
            rows += [{"run_id": run_id, "storyline": s, "asked": False} for s in others]
            if rows:
                conn.execute(insert_ignore(conn, BACKFILL_STORYLINES), rows)

    @contextmanager
    def keep_backfill_alive(self, run_id: str) -> Iterator[None]:
        """Beat the backfill from a thread while the block runs (pages, clustering, a replay
        waiting for the storyline or computing for minutes), then release it, done or not."""
        try:
            with beating(
                functools.partial(self.beat_backfill, run_id), BEAT_SECONDS, f"backfill {run_id}"
            ):
                yield
        finally:
            self.release_backfill(run_id)

    def beat_backfill(self, run_id: str) -> None:
        """The backfill is at work: live runs keep leaving its window to it."""
        with self.engine.begin() as conn:
            _beat(conn, run_id)

    def release_backfill(self, run_id: str) -> None:
        """The backfill has ended, done or not: what it left unsettled, live runs finish."""
        with self.engine.begin() as conn:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(released_at=utcnow()))

    def mark_settled(self, run_id: str, storylines: Sequence[str]) -> None:
        """The backfill's window is mailed or recorded for ``storylines``: theirs no longer."""
        with self.engine.begin() as conn:
            conn.execute(
                update(BACKFILL_STORYLINES)
                .where(
                    BACKFILL_STORYLINES.c.run_id == run_id,
                    BACKFILL_STORYLINES.c.storyline.in_(list(storylines)),
                    BACKFILL_STORYLINES.c.settled_at.is_(None),
                )
                .values(settled_at=utcnow())
            )

    def stopped_backfills(self, storyline: str) -> list[StoppedBackfill]:
        """Backfills that own a window for ``storyline`` (not settled there) and are no longer at
        work: released, or not heard from within ``BACKFILL_QUIET``. Oldest window first."""
        at_work = and_(
            RUNS.c.released_at.is_(None), RUNS.c.heartbeat_at > utcnow() - BACKFILL_QUIET
        )
        query = (
            select(
                RUNS.c.id,
                RUNS.c.email,
                BACKFILL_STORYLINES.c.asked,
                RUNS.c.started_at,
                RUNS.c.window_start,
                RUNS.c.window_end,
            )
            .join(BACKFILL_STORYLINES, BACKFILL_STORYLINES.c.run_id == RUNS.c.id)
            .where(
                BACKFILL_STORYLINES.c.storyline == storyline,
                BACKFILL_STORYLINES.c.settled_at.is_(None),
                ~at_work,
            )
            .order_by(RUNS.c.window_start, RUNS.c.started_at)
        )
        with self.engine.connect() as conn:
            return [
                StoppedBackfill(run_id, bool(email and asked), bool(asked), started, start, end)
                for run_id, email, asked, started, start, end in conn.execute(query)
            ]

    def place_quietly(
        self,
        storyline: str,
        recipient: str,
        development_ids: Sequence[str],
        reason: str,
        run_id: str | None,
        conn: Connection | None = None,
    ) -> int:
        """Record developments as handled for ``recipient`` without mailing them (a backfill run
        without --email): a digest row of kind "quiet" with no delivery. Returns how many were
        placed (those already in one of the recipient's digests are left where they are). In
        ``conn``'s transaction when given, else in one of its own."""
        if conn is None:
            with self.engine.begin() as own:
                lock_digests(own)  # a digest composed meanwhile cannot take the same developments
                return self.place_quietly(
                    storyline, recipient, development_ids, reason, run_id, own
                )
        placed = select(DIGEST_DEVELOPMENTS.c.development_id).where(
            DIGEST_DEVELOPMENTS.c.recipient == recipient,
            DIGEST_DEVELOPMENTS.c.development_id.in_(list(development_ids)),
        )
        already = set(conn.scalars(placed))
        todo = [d for d in development_ids if d not in already]
        if not todo:
            return 0
        digest_id = quiet_digest_id(storyline, recipient, todo)
        conn.execute(
            insert_ignore(conn, DIGESTS).values(
                id=digest_id,
                storyline=storyline,
                recipient=recipient,
                kind=QUIET_KIND,
                subject=reason,
                message="",
                markdown="",
                development_count=len(todo),
                run_id=run_id,
                created_at=utcnow(),
            )
        )
        conn.execute(
            insert_ignore(conn, DIGEST_DEVELOPMENTS),
            [{"digest_id": digest_id, "recipient": recipient, "development_id": d} for d in todo],
        )
        return len(todo)

    def backfilled_developments(self, storyline: str, start: datetime, end: datetime) -> list[str]:
        """Developments first seen in [start, end) made only of articles that backfills stored.
        One with any article from a live run is news a live digest still owes its readers."""
        live_article = (
            select(DEVELOPMENT_ARTICLES.c.development_id)
            .join(ARTICLES, ARTICLES.c.id == DEVELOPMENT_ARTICLES.c.article_id)
            .outerjoin(RUNS, RUNS.c.id == ARTICLES.c.run_id)
            .where(or_(RUNS.c.kind.is_(None), RUNS.c.kind != "backfill"))
        )
        query = select(DEVELOPMENTS.c.id).where(
            DEVELOPMENTS.c.storyline == storyline,
            DEVELOPMENTS.c.dismissed.is_(False),
            DEVELOPMENTS.c.first_seen >= start,
            DEVELOPMENTS.c.first_seen < end,
            DEVELOPMENTS.c.id.not_in(live_article),
        )
        with self.engine.connect() as conn:
            return list(conn.scalars(query.order_by(DEVELOPMENTS.c.first_seen, DEVELOPMENTS.c.id)))

    def new_per_source(self, run_id: str) -> dict[str, int]:
        """source name -> articles stored under ``run_id``: a retried collect task counts what
        its first attempt stored too (the store kept it; the retry found nothing new)."""
        query = (
            select(SOURCES.c.name, func.count())
            .join(ARTICLES, ARTICLES.c.source_id == SOURCES.c.id)
            .where(ARTICLES.c.run_id == run_id)
            .group_by(SOURCES.c.name)
        )
        with self.engine.connect() as conn:
            return {name: count for name, count in conn.execute(query)}
