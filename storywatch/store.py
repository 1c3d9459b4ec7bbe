"""Store stage: the repository over SQLite (default) or PostgreSQL.

Only this module talks SQL. Writes are idempotent by the schema's unique constraints
(INSERT ... ON CONFLICT DO NOTHING), so reruns and overlapping runs never duplicate rows.
Migrations (Alembic) run on first use; `storywatch db upgrade` runs them on demand.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storywatch.fetch import FetchRequest, FetchResult
from storywatch.normalise import Article
from storywatch.schema import ArticleRow, FetchRow, RunRow, SourceRow, utcnow

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MAX_URL_LENGTH = 2048  # longer URLs cannot be indexed portably; such entries are skipped
_PG_MIGRATION_LOCK = 4_242_001  # advisory lock id serialising concurrent upgrades
_MIGRATION_THREAD_LOCK = threading.Lock()

# Core tables for the hot write path (the ORM's bulk machinery costs more than the SQL).
ARTICLES = cast(Table, ArticleRow.__table__)
FETCHES = cast(Table, FetchRow.__table__)
SOURCES = cast(Table, SourceRow.__table__)


class StoreError(Exception):
    """The database cannot be opened or migrated (the message says which database and why)."""


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


@dataclass(frozen=True)
class StoredArticle:
    id: int
    url: str
    title: str
    summary: str
    source: str
    published: datetime
    date_missing: bool
    cluster: int | None


def create_db_engine(url: str) -> Engine:
    """An engine with the per-backend settings storywatch relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        try:
            import psycopg  # noqa: F401  (psycopg 3 is the driver we ship in the postgres extra)

            url = str(parsed.set(drivername="postgresql+psycopg"))
        except ImportError:
            pass
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (export, status) run while a run writes; busy_timeout waits out a writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _alembic_config() -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(bind: Engine | Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    if isinstance(bind, Connection):
        return MigrationContext.configure(bind).get_current_revision()
    with bind.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_database(engine: Engine) -> bool:
    """Apply pending migrations; return True when something was applied.

    Concurrent first runs are serialised: an advisory lock on PostgreSQL, a lock file beside
    the database on SQLite (pysqlite runs DDL outside transactions, so two processes could
    otherwise interleave their CREATE TABLEs).
    """
    head = head_revision()
    if current_revision(engine) == head:
        return False
    with _MIGRATION_THREAD_LOCK, _sqlite_file_lock(engine):  # Alembic's context is global
        return _upgrade_locked(engine, head)


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _upgrade_locked(engine: Engine, head: str | None) -> bool:
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting on a fresh database must not both create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        if current_revision(conn) == head:  # another process migrated while we waited
            return False
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    log.info("database migrated to revision %s", head)
    return True


class Store:
    """The repository: every read and write storywatch makes, as plain method calls."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Store:
        """Open the database at ``url``, migrating it on first use."""
        engine = create_db_engine(url)
        try:
            if migrate:
                upgrade_database(engine)
            elif current_revision(engine) != head_revision():
                raise StoreError(
                    f"database {_safe(url)} is not migrated: run `storywatch db upgrade`"
                )
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot open database {_safe(url)}: {exc}") from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._sessions()

    # -- sources --------------------------------------------------------------------------

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
                session.execute(self._insert_ignore(SourceRow).values(missing))
            for name, url in wanted.items():
                row = rows.get(name)
                if row is not None and row.url != url:
                    row.url, row.etag, row.last_modified = url, None, None
            ids = session.execute(select(SourceRow.name, SourceRow.id)).all()
        return {name: id_ for name, id_ in ids if name in wanted}

    def fetch_requests(self, names: Sequence[str]) -> list[FetchRequest]:
        """One request per source, carrying the validators for a conditional GET."""
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
    ) -> None:
        """Many sources in one transaction: for records with no articles (304s, failures),
        where a transaction per source would cost more than the writes."""
        with self.engine.begin() as conn:
            for record in records:
                self._save(conn, record, source_ids, run_id)

    def _save(
        self, conn: Connection, record: FetchRecord, source_ids: dict[str, int], run_id: str | None
    ) -> list[int]:
        result = record.result
        failed = result.status == "error" or record.error is not None
        kind = record.error_kind or result.error_kind
        message = record.error or result.error
        source_id = source_ids[result.source]
        new_ids = self._insert_articles(
            conn, record.articles, source_ids, run_id, result.started_at
        )
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
            .values(**_health_changes(result, failed, kind, message))
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
                )
                for s, n in session.execute(query).all()
            ]

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, run_id: str, kind: str, started_at: datetime) -> None:
        with self.session() as session, session.begin():
            session.execute(
                self._insert_ignore(RunRow).values(
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

    # -- articles -------------------------------------------------------------------------

    def _insert_articles(
        self,
        conn: Connection,
        articles: Sequence[Article],
        source_ids: dict[str, int],
        run_id: str | None,
        fetched_at: datetime,
    ) -> list[int]:
        """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the unique constraints decide what
        is new, so a rerun, or a concurrent writer storing the same article, inserts nothing."""
        rows = [
            {
                "source_id": source_ids[a.source],
                "url": a.url,
                "link": a.link,
                "guid": a.guid,
                "title": a.title,
                "summary": a.summary,
                "content": a.content,
                "author": a.author,
                "published_at": a.published,
                "date_missing": a.date_missing,
                "fetched_at": fetched_at,
                "run_id": run_id,
            }
            for a in _storable(articles)
        ]
        if not rows:
            return []
        statement = self._insert_ignore(ARTICLES).returning(ARTICLES.c.id)
        return list(conn.scalars(statement, rows))

    def iter_articles(self) -> Iterator[StoredArticle]:
        """Every stored article, oldest first, streamed (exports print every row)."""
        query = (
            select(ArticleRow, SourceRow.name)
            .join(SourceRow, SourceRow.id == ArticleRow.source_id)
            .order_by(ArticleRow.published_at, ArticleRow.id)
            .execution_options(yield_per=1000)
        )
        with self.session() as session:
            for row, source in session.execute(query):
                yield StoredArticle(
                    id=row.id,
                    url=row.url,
                    title=row.title,
                    summary=row.summary,
                    source=source,
                    published=row.published_at,
                    date_missing=row.date_missing,
                    cluster=row.cluster_id,
                )

    def article_ids_for_run(self, run_id: str) -> list[int]:
        with self.session() as session:
            query = select(ArticleRow.id).where(ArticleRow.run_id == run_id).order_by(ArticleRow.id)
            return list(session.scalars(query))

    def count_articles(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(ArticleRow)) or 0

    def _insert_ignore(self, table: Any) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING for the engine's dialect."""
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        return insert(table).prefix_with("IGNORE")  # MySQL/MariaDB spelling


def _storable(articles: Sequence[Article]) -> list[Article]:
    """Drop what cannot be stored portably (over-long URLs) and repeats inside the batch."""
    kept: list[Article] = []
    urls: set[str] = set()
    guids: set[tuple[str, str]] = set()
    for a in articles:
        if len(a.url) > MAX_URL_LENGTH:
            log.warning(
                "%s: skipped an entry whose URL is over %d characters", a.source, MAX_URL_LENGTH
            )
            continue
        if a.url in urls or (a.guid is not None and (a.source, a.guid) in guids):
            continue
        kept.append(a)
        urls.add(a.url)
        if a.guid is not None:
            guids.add((a.source, a.guid))
    return kept


def _health_changes(
    result: FetchResult, failed: bool, kind: str | None, message: str | None
) -> dict[str, Any]:
    """The source columns one fetch changes (a 304 keeps the validators we sent)."""
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
        )
        return changes
    changes.update(
        consecutive_failures=0,
        last_success_at=result.started_at,
        last_error_kind=None,
        last_error=None,
    )
    if result.status == "ok":
        changes.update(etag=result.etag, last_modified=result.last_modified)
    return changes


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
