"""The store's sources and runs: feed health (validators, failures, notes) and run records.

``save_fetches`` stores a batch of fetches and their articles in source order (two writers
storing the same feeds at once cannot deadlock on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    func,
    insert,
    select,
    update,
)

if TYPE_CHECKING:  # type-only: keeps httpx out of commands that only read the database
    from storywatch.fetch.model import FetchRequest, FetchResult
    from storywatch.parse.normalise import Article

from storywatch import failpoints
from storywatch.store.articles import insert_articles
from storywatch.store.database import StorePart
from storywatch.store.schema import (
    ArticleRow,
    FetchRow,
    RunRow,
    SourceRow,
    utcnow,
)
from storywatch.store.tables import FETCHES, SOURCES, insert_ignore


@dataclass
class FetchRecord:
    """What to store for one source's fetch. ``error`` overrides a fetch success: a 200 whose
    body is not a feed is still a failure to the user."""

    result: FetchResult
    articles: Sequence[Article] = ()
    entries_total: int = 0
    error_kind: str | None = None
    error: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class SourceHealth:
    name: str
    url: str
    last_status: str | None
    last_http_status: int | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    articles: int
    last_note: str | None = None  # e.g. "feed not well-formed (entries kept): ..."


class SourcesMixin(StorePart):
    """Store methods over sources, their fetches and runs."""

    def sync_sources(self, sources: Iterable[tuple[str, str]]) -> dict[str, int]:
        """Make sure each (name, url) has a row; return name -> id.

        A changed URL resets the stored validators: they belonged to the old feed."""
        wanted = dict(sources)
        with self.session() as session, session.begin():
            rows = {r.name: r for r in session.scalars(select(SourceRow)).all()}
            missing = [
                {"name": n, "url": u, "created_at": utcnow(), "consecutive_failures": 0}
                for n, u in wanted.items()
                if n not in rows
            ]
            if missing:
                session.execute(insert_ignore(self.engine, SourceRow).values(missing))
            for name, url in wanted.items():
                row = rows.get(name)
                if row is not None and row.url != url:
                    row.url, row.etag, row.last_modified = url, None, None
            ids = session.execute(select(SourceRow.name, SourceRow.id)).all()
        return {name: id_ for name, id_ in ids if name in wanted}

    def fetch_requests(self, names: Sequence[str]) -> list[FetchRequest]:
        """One request per source, carrying the validators for a conditional GET."""
        from storywatch.fetch.model import FetchRequest

        with self.session() as session:
            rows = {
                r.name: r
                for r in session.scalars(select(SourceRow).where(SourceRow.name.in_(names)))
            }
        return [
            FetchRequest(
                source=n, url=rows[n].url, etag=rows[n].etag, last_modified=rows[n].last_modified
            )
            for n in names
            if n in rows
        ]

    def save_fetch(
        self, record: FetchRecord, source_ids: dict[str, int], run_id: str | None
    ) -> list[int]:
        """Store one source's new articles, fetch record and health in ONE transaction;
        return the ids of the articles that were new."""
        with self.engine.begin() as conn:
            return self._save(conn, record, source_ids, run_id)

    def save_fetches(
        self, records: Sequence[FetchRecord], source_ids: dict[str, int], run_id: str | None
    ) -> list[list[int]]:
        """Several sources in one transaction (a group commit: one commit costs more than a
        source's writes); per record, the ids of the articles that were new.

        Written in source order, whatever order the fetches finished in: two runs storing the
        same feeds at once then take their row locks in the same order, where opposite orders
        deadlocked on PostgreSQL."""
        saved: list[list[int]] = [[] for _ in records]
        by_source = sorted(range(len(records)), key=lambda i: source_ids[records[i].result.source])
        with self.engine.begin() as conn:
            for i in by_source:
                saved[i] = self._save(conn, records[i], source_ids, run_id)
                failpoints.reach("storing")
        return saved

    def _save(
        self, conn: Connection, record: FetchRecord, source_ids: dict[str, int], run_id: str | None
    ) -> list[int]:
        result = record.result
        failed = result.status == "error" or record.error is not None
        kind = record.error_kind or result.error_kind
        message = record.error or result.error
        source_id = source_ids[result.source]
        new_ids = insert_articles(conn, record.articles, source_ids, run_id, result.started_at)
        conn.execute(
            insert(FETCHES).values(
                run_id=run_id,
                source_id=source_id,
                started_at=result.started_at,
                duration_ms=round(result.duration * 1000),
                status="error" if failed else result.status,
                http_status=result.http_status,
                attempts=result.attempts,
                bytes=len(result.content) if result.content is not None else None,
                entries_total=record.entries_total,
                entries_new=len(new_ids),
                error_kind=kind if failed else None,
                error=message if failed else None,
                note=record.note,
            )
        )
        conn.execute(
            update(SOURCES)
            .where(SOURCES.c.id == source_id)
            .values(**_health_changes(result, failed, kind, message, record.note))
        )
        return new_ids

    def recorded_sources(self, run_id: str) -> dict[str, FetchRow]:
        """Sources already saved for ``run_id`` (a retried task skips them)."""
        query = (
            select(SourceRow.name, FetchRow)
            .join(FetchRow, FetchRow.source_id == SourceRow.id)
            .where(FetchRow.run_id == run_id)
        )
        with self.session() as session:
            return {name: row for name, row in session.execute(query).all()}

    def source_health(self) -> list[SourceHealth]:
        counts = (
            select(ArticleRow.source_id, func.count().label("n"))
            .group_by(ArticleRow.source_id)
            .subquery()
        )
        query = (
            select(SourceRow, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.source_id == SourceRow.id)
            .order_by(SourceRow.name)
        )
        with self.session() as session:
            return [
                SourceHealth(
                    name=s.name,
                    url=s.url,
                    last_status=s.last_status,
                    last_http_status=s.last_http_status,
                    last_fetch_at=s.last_fetch_at,
                    last_success_at=s.last_success_at,
                    consecutive_failures=s.consecutive_failures or 0,
                    last_error=s.last_error,
                    articles=n,
                    last_note=s.last_note,
                )
                for s, n in session.execute(query).all()
            ]

    def start_run(self, run_id: str, kind: str, started_at: datetime) -> None:
        """Record a run (a retry's repeat is ignored)."""
        with self.session() as session, session.begin():
            session.execute(
                insert_ignore(self.engine, RunRow).values(
                    id=run_id,
                    kind=kind,
                    started_at=started_at,
                    sources_fetched=0,
                    sources_failed=0,
                    articles_new=0,
                )
            )

    def finish_run(self, run_id: str, *, fetched: int, failed: int, new: int) -> None:
        with self.session() as session, session.begin():
            session.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(
                    finished_at=utcnow(),
                    sources_fetched=fetched,
                    sources_failed=failed,
                    articles_new=new,
                )
            )


def _health_changes(
    result: FetchResult, failed: bool, kind: str | None, message: str | None, note: str | None
) -> dict[str, Any]:
    """The source columns one fetch changes (a 304 keeps the validators we sent, and the note
    on the body they stand for)."""
    changes: dict[str, Any] = {
        "last_fetch_at": result.started_at,
        "last_http_status": result.http_status,
        "last_status": "error" if failed else result.status,
    }
    if failed:
        changes.update(
            consecutive_failures=SOURCES.c.consecutive_failures + 1,
            last_error_kind=kind,
            last_error=message,
            last_note=None,
        )
        return changes
    changes.update(
        consecutive_failures=0,
        last_success_at=result.started_at,
        last_error_kind=None,
        last_error=None,
    )
    if result.status == "ok":
        changes.update(etag=result.etag, last_modified=result.last_modified, last_note=note)
    return changes
