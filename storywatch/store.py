"""Store stage: the repository over SQLite (default) or PostgreSQL.

Only this module talks SQL. Writes are idempotent by the schema's unique constraints
(INSERT ... ON CONFLICT DO NOTHING), so reruns and overlapping runs never duplicate rows.
Migrations (Alembic) run on first use; `storywatch db upgrade` runs them on demand.
"""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:  # type-only: keeps httpx out of commands that only read the database
    from storywatch.dedupe import Assignment, Candidate, Fingerprint, StoredSignature
    from storywatch.fetch import FetchRequest, FetchResult
    from storywatch.normalise import Article

from storywatch.schema import (
    ArticleRow,
    AssessmentRow,
    BackfillStorylineRow,
    BandRow,
    ClusterRow,
    DevelopmentArticleRow,
    DevelopmentRow,
    FetchRow,
    FingerprintRow,
    MemoryRow,
    RunRow,
    SourceRow,
    StorylineRow,
    utcnow,
)

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MAX_URL_LENGTH = 2048  # longer URLs cannot be indexed portably; such entries are skipped
_PG_MIGRATION_LOCK = 4_242_001  # advisory lock id serialising concurrent upgrades
_MIGRATION_THREAD_LOCK = threading.Lock()

# Core tables for the hot write path (the ORM's bulk machinery costs more than the SQL).
ARTICLES = cast(Table, ArticleRow.__table__)
RUNS = cast(Table, RunRow.__table__)
BACKFILL_STORYLINES = cast(Table, BackfillStorylineRow.__table__)
# A detection at work beats its storyline's lease at least this often; a lease silent for
# longer was left by a process that died, and the next detection takes it.
LEASE_QUIET = timedelta(minutes=2)
# A backfill not heard from for this long (and not released) has stopped: live detection
# stops leaving its articles to it and replays them itself (replay.judge_stopped_backfills).
BACKFILL_QUIET = timedelta(minutes=10)
FETCHES = cast(Table, FetchRow.__table__)
SOURCES = cast(Table, SourceRow.__table__)


class StorylineMoved(Exception):
    """The storyline was written after the snapshot a detection computed from: compute again."""


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
    last_note: str | None = None  # e.g. "feed not well-formed (entries kept): ..."


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


def database_url_problem(url: str) -> str | None:
    """Why storywatch cannot use the SQLAlchemy URL ``url`` (None: it can try), found before
    any work rather than as a driver's traceback mid-run."""
    try:
        parsed = make_url(url)
    except Exception:
        return "not a database URL (e.g. postgresql://user@host/db or sqlite:////abs/path.db)"
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        return f"{backend!r}: storywatch runs on SQLite or PostgreSQL"
    # postgresql:// and +psycopg2 take psycopg 3 when it is there (create_db_engine).
    drivers = {"": ("psycopg", "psycopg2"), "psycopg2": ("psycopg", "psycopg2")}
    modules = drivers.get(parsed.get_driver_name(), (parsed.get_driver_name(),))
    if backend == "postgresql" and not any(importlib.util.find_spec(m) for m in modules):
        return "PostgreSQL needs its driver: pip install 'storywatch[postgres]'"
    return None


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

            # Keep the URL object: str() of a URL masks its password as "***".
            parsed = parsed.set(drivername="postgresql+psycopg")
        except ImportError:
            pass
    return create_engine(parsed, pool_pre_ping=True)


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
    if engine.dialect.name == "sqlite":
        # Even the first look is serialised: the first connection to a new file switches it
        # to WAL, which needs the file to itself (seen once as three threads opened it).
        with _MIGRATION_THREAD_LOCK, _sqlite_file_lock(engine):
            return current_revision(engine) != head and _upgrade_locked(engine, head)
    if current_revision(engine) == head:
        return False
    with _MIGRATION_THREAD_LOCK:  # Alembic's context is global
        return _upgrade_locked(engine, head)


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    path = f"{database}.migrate-lock"
    while True:
        handle = open(path, "a+b")  # noqa: SIM115 (closed below: closing releases the lock)
        fcntl.flock(handle, fcntl.LOCK_EX)
        # The holder before us may have removed the file we waited on: then our lock guards
        # nothing, and we lock the file now at the path instead.
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        held = os.fstat(handle.fileno())
        if current and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
            break
        handle.close()
    try:
        yield
    finally:
        # Removed while still locked, so no stale file is left beside the database; a process
        # waiting on it sees it gone (above) and retries.
        with suppress(OSError):
            os.unlink(path)
        handle.close()


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
        if problem := database_url_problem(url):
            raise StoreError(f"cannot open database {_safe(url)}: {problem}")
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
        from storywatch.fetch import FetchRequest

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
        return saved

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

    # -- runs -----------------------------------------------------------------------------

    def start_run(self, run_id: str, kind: str, started_at: datetime) -> None:
        """Record a run (a retry's repeat is ignored)."""
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

    # -- storyline (issue 3): assessments, developments, memory ----------------------------
    # Detection (detection.py) holds the storyline's lease, computes from a snapshot, then
    # writes in ``storyline_transaction``, which locks the storyline's row and checks nothing
    # was written since the snapshot: two overlapping runs detect one after the other.

    def ensure_storyline(self, storyline_id: str, seed_date: str) -> str:
        """Register a storyline on first use; return the seed date fixed then (YYYY-MM-DD)."""
        with self.engine.begin() as conn:
            conn.execute(
                self._insert_ignore(STORYLINES).values(
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
            yield StorylineTransaction(conn, storyline_id, self._insert_ignore)

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
            yield revision, StorylineTransaction(conn, storyline_id, self._insert_ignore)

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

    def development_storyline(self, development_id: str) -> tuple[str, bool] | None:
        """(storyline, dismissed) of a stored development, or None for an unknown id."""
        query = select(DEVELOPMENTS.c.storyline, DEVELOPMENTS.c.dismissed).where(
            DEVELOPMENTS.c.id == development_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return (row[0], bool(row[1])) if row else None

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
            yield StoredDevelopment(
                id=r.id,
                storyline=r.storyline,
                types=list(r.types),
                novelty=r.novelty,
                title=r.title,
                summary=r.summary,
                first_seen=r.first_seen,
                evidence=list(r.evidence),
                updates=r.updates,
                dismissed=bool(r.dismissed),
                articles=articles.get(r.id, []),
            )

    def article_relevance(self) -> dict[int, tuple[bool, float]]:
        """article id -> (relevant to any storyline, best score), for assessed articles."""
        query = select(
            ASSESSMENTS.c.article_id,
            func.max(case((ASSESSMENTS.c.relevant.is_(True), 1), else_=0)),
            func.max(ASSESSMENTS.c.score),
        ).group_by(ASSESSMENTS.c.article_id)
        with self.engine.connect() as conn:
            return {a: (bool(r), float(s)) for a, r, s in conn.execute(query)}

    # -- clusters (issue 4): near-duplicate story clusters and their LSH index ---------------
    # Clustering runs inside ``cluster_transaction``, which takes one lock first, so two
    # overlapping runs cluster one after the other and the second sees the first's bands.

    @contextmanager
    def cluster_transaction(self) -> Iterator[ClusterTransaction]:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CLUSTER_LOCK})
            else:  # a write first: SQLite takes its write lock before any read (busy_timeout)
                conn.execute(update(CLUSTERS).where(CLUSTERS.c.id.is_(None)).values(id=None))
            yield ClusterTransaction(conn, self._insert_ignore)

    def cluster_members(self, cluster_id: int) -> list[int]:
        """Article ids of one cluster, representative first, then by publication."""
        query = (
            select(ARTICLES.c.id)
            .where(ARTICLES.c.cluster_id == cluster_id)
            .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
        )
        with self.engine.connect() as conn:
            return list(conn.scalars(query))

    def cluster_representatives(self) -> dict[int, int]:
        """cluster id -> its representative (earliest-published) article id."""
        with self.engine.connect() as conn:
            return dict(conn.execute(select(CLUSTERS.c.id, CLUSTERS.c.representative_id)).all())

    def _insert_ignore(self, table: Any) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING for the engine's dialect."""
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing()
        if dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing()
        return insert(table).prefix_with("IGNORE")  # MySQL/MariaDB spelling


# -- storyline (issue 3): the detection transaction and what it reads -------------------------

STORYLINES = cast(Table, StorylineRow.__table__)
MEMORY = cast(Table, MemoryRow.__table__)
DEVELOPMENTS = cast(Table, DevelopmentRow.__table__)
DEVELOPMENT_ARTICLES = cast(Table, DevelopmentArticleRow.__table__)
ASSESSMENTS = cast(Table, AssessmentRow.__table__)


@dataclass(frozen=True)
class ArticleText:
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
    ``storyline``: one it has not settled there yet (store_backfill.open_backfill)."""
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


class StorylineTransaction:
    """Reads and writes of one storyline's detection, all in one transaction under its lock.
    Every insert ignores conflicts: the unique constraints keep a repeat from duplicating."""

    RETIRED = "retired"  # the origin of memory rows that are no memory (see ``retired``)

    def __init__(self, conn: Connection, storyline_id: str, insert_ignore: Any) -> None:
        self.conn = conn
        self.storyline = storyline_id
        self._insert_ignore = insert_ignore

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
        from storywatch.schema import DigestDevelopmentRow, DigestRow

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
    ) -> list[ArticleText]:
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
            ArticleText(
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
            self.conn.execute(self._insert_ignore(DEVELOPMENTS), values)

    def add_links(self, pairs: Iterable[tuple[str, int]]) -> None:
        rows = [{"development_id": d, "article_id": a, "added_at": utcnow()} for d, a in pairs]
        if rows:
            self.conn.execute(self._insert_ignore(DEVELOPMENT_ARTICLES), rows)

    def add_assessments(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            values = [{"storyline": self.storyline, "assessed_at": utcnow(), **r} for r in rows]
            self.conn.execute(self._insert_ignore(ASSESSMENTS), values)

    def mark_dismissed(self, development_id: str) -> None:
        self.conn.execute(
            update(DEVELOPMENTS)
            .where(DEVELOPMENTS.c.id == development_id)
            .values(dismissed=True, dismissed_at=utcnow())
        )


# -- clusters (issue 4): the clustering transaction ------------------------------------------

CLUSTERS = cast(Table, ClusterRow.__table__)
FINGERPRINTS = cast(Table, FingerprintRow.__table__)
BANDS = cast(Table, BandRow.__table__)
_PG_CLUSTER_LOCK = 4_242_004  # advisory lock id serialising clustering
_IN_CHUNK = 900  # bound parameters per IN (...) query: under SQLite's limit


@dataclass(frozen=True)
class UnclusteredArticle:
    """A stored article not yet in a cluster, as dedupe reads it."""

    id: int
    source: str
    title: str
    summary: str
    content: str
    published: datetime


class ClusterTransaction:
    """Reads and writes of one clustering batch, in one transaction under the cluster lock."""

    def __init__(self, conn: Connection, insert_ignore: Any) -> None:
        self.conn = conn
        self._insert_ignore = insert_ignore

    def unclustered(self, limit: int) -> list[UnclusteredArticle]:
        """Up to ``limit`` articles with no cluster yet, oldest first."""
        query = (
            select(
                ARTICLES.c.id,
                SOURCES.c.name,
                ARTICLES.c.title,
                ARTICLES.c.summary,
                ARTICLES.c.content,
                ARTICLES.c.published_at,
            )
            .join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id)
            .where(ARTICLES.c.cluster_id.is_(None))
            .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
            .limit(limit)
        )
        return [UnclusteredArticle(*row) for row in self.conn.execute(query)]

    def sharing(self, probes: Mapping[int, Iterable[int]]) -> dict[int, StoredSignature]:
        """Stored signatures sharing a key with ``probes`` (period -> band keys, as
        ``dedupe.index_probes`` gives them), with the keys they share: the index alone answers
        the keys (most miss; a period with no rows is skipped after one seek), then one read per
        article found."""
        from storywatch.dedupe import StoredSignature  # numpy: only when clustering

        shared: dict[int, tuple[int, list[int]]] = {}
        for bucket in sorted(probes):
            occupied = select(BANDS.c.bucket).where(BANDS.c.bucket == bucket).limit(1)
            if self.conn.execute(occupied).first() is None:
                continue
            keys = sorted(set(probes[bucket]))
            for start in range(0, len(keys), _IN_CHUNK):
                query = select(BANDS.c.band_key, BANDS.c.article_id).where(
                    BANDS.c.bucket == bucket, BANDS.c.band_key.in_(keys[start : start + _IN_CHUNK])
                )
                for key, article_id in self.conn.execute(query):
                    shared.setdefault(article_id, (bucket, []))[1].append(key)
        found: dict[int, StoredSignature] = {}
        ids = sorted(shared)
        for start in range(0, len(ids), _IN_CHUNK):
            query = select(
                FINGERPRINTS.c.article_id, FINGERPRINTS.c.shingles, FINGERPRINTS.c.signature
            ).where(FINGERPRINTS.c.article_id.in_(ids[start : start + _IN_CHUNK]))
            for row in self.conn.execute(query):
                bucket, keys = shared[row.article_id]
                found[row.article_id] = StoredSignature(
                    row.article_id, row.shingles, bytes(row.signature), tuple(keys), bucket
                )
        return found

    def candidates(
        self, stored: Mapping[int, StoredSignature], ids: Iterable[int]
    ) -> dict[int, Candidate]:
        """The stored articles ``ids`` (of ``stored``) with their publication and cluster."""
        from storywatch.dedupe import Candidate, Fingerprint  # numpy: only when clustering

        wanted = sorted(set(ids))
        result: dict[int, Candidate] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            query = select(ARTICLES.c.id, ARTICLES.c.published_at, ARTICLES.c.cluster_id).where(
                ARTICLES.c.id.in_(wanted[start : start + _IN_CHUNK])
            )
            for article_id, published, cluster_id in self.conn.execute(query):
                s = stored[article_id]
                fingerprint = Fingerprint(article_id, published, s.shingles, s.signature, s.bands)
                result[article_id] = Candidate(fingerprint, cluster_id=cluster_id)
        return result

    def save(self, fingerprints: Sequence[Fingerprint], assignments: Sequence[Assignment]) -> None:
        """Store fingerprints, band keys, new clusters and each article's cluster; move a
        cluster's representative when an earlier-published copy joins it."""
        from storywatch.dedupe import SIGNATURE_VERSION

        by_id = {f.article_id: f for f in fingerprints}
        if fingerprints:
            self.conn.execute(
                self._insert_ignore(FINGERPRINTS),
                [
                    {
                        "article_id": f.article_id,
                        "version": SIGNATURE_VERSION,
                        "shingles": f.shingles,
                        "signature": f.signature,
                    }
                    for f in fingerprints
                ],
            )
        bands = [
            {"bucket": b, "band_key": k, "article_id": a}
            for b, k, a in sorted(
                (f.bucket, k, f.article_id) for f in fingerprints for k in f.bands
            )
        ]  # in key order: the B-tree is walked once, left to right, in the recent periods
        if bands:
            self.conn.execute(self._insert_ignore(BANDS), bands)
        founded = [a for a in assignments if a.matched is None]
        if founded:
            self.conn.execute(
                self._insert_ignore(CLUSTERS),
                [
                    {
                        "id": a.cluster_id,
                        "representative_id": a.article_id,
                        "representative_published": by_id[a.article_id].published,
                        "created_at": utcnow(),
                    }
                    for a in founded
                ],
            )
        self.conn.execute(
            update(ARTICLES)
            .where(ARTICLES.c.id == bindparam("a_id"), ARTICLES.c.cluster_id.is_(None))
            .values(cluster_id=bindparam("c_id")),
            [{"a_id": a.article_id, "c_id": a.cluster_id} for a in assignments],
        )
        for a in assignments:
            if a.matched is not None:
                self._promote_if_earlier(a.cluster_id, a.article_id, by_id[a.article_id].published)

    def rebuild_index(self, chunk: int = 100_000) -> int:
        """Replace the LSH index with the band keys of every stored signature in its period,
        written in key order one period at a time (after a change of band layout or of
        ``dedupe.BUCKET_DAYS``, and for bulk loads); return the rows written."""
        from storywatch.dedupe import MIN_SHINGLES, time_bucket  # numpy: only here

        self.conn.execute(delete(BANDS))
        query = (
            select(FINGERPRINTS.c.article_id, FINGERPRINTS.c.signature, ARTICLES.c.published_at)
            .join(ARTICLES, ARTICLES.c.id == FINGERPRINTS.c.article_id)
            .where(FINGERPRINTS.c.shingles >= MIN_SHINGLES)
            .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
            .execution_options(stream_results=True, yield_per=chunk)
        )  # by publication: the periods come one after the other
        written, bucket = 0, 0
        pending: list[Any] = []
        for row in self.conn.execute(query):
            period = time_bucket(row.published_at)
            if period != bucket and pending:
                written += self._write_period(bucket, pending, chunk)
                pending = []
            bucket = period
            pending.append(row)
        if pending:
            written += self._write_period(bucket, pending, chunk)
        return written

    def _write_period(self, bucket: int, rows: Sequence[Any], chunk: int) -> int:
        """Insert one period's band rows, sorted by (band key, article id)."""
        import numpy as np

        from storywatch.dedupe import band_key_matrix

        matrix = band_key_matrix([bytes(row.signature) for row in rows])
        keys = matrix.ravel()
        ids = np.repeat(np.array([row.article_id for row in rows], dtype=np.int64), matrix.shape[1])
        order = np.lexsort((ids, keys))
        keys, ids = keys[order].tolist(), ids[order].tolist()
        for start in range(0, len(keys), chunk):
            part = zip(keys[start : start + chunk], ids[start : start + chunk], strict=True)
            self.conn.execute(
                insert(BANDS), [{"bucket": bucket, "band_key": k, "article_id": a} for k, a in part]
            )
        return len(keys)

    def _promote_if_earlier(self, cluster_id: int, article_id: int, published: datetime) -> None:
        current = CLUSTERS.c.representative_published
        self.conn.execute(
            update(CLUSTERS)
            .where(
                CLUSTERS.c.id == cluster_id,
                or_(
                    current > published,
                    and_(current == published, CLUSTERS.c.representative_id > article_id),
                ),
            )
            .values(representative_id=article_id, representative_published=published)
        )


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


def masked_url(url: str) -> str:
    """The database URL with its password masked, for anything printed or logged."""
    return _safe(url)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
