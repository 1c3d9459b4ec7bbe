"""Opening the database: URL checks, the engine's per-backend settings, Alembic migrations.

Migrations run on first use (``upgrade_database``, serialised between processes);
`storywatch db upgrade` runs them on demand.
"""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


MIGRATIONS_DIR = Path(__file__).parent / "migrations"


_PG_MIGRATION_LOCK = 4_242_001  # advisory lock id serialising concurrent upgrades


_MIGRATION_THREAD_LOCK = threading.Lock()


class StorePart:
    """What every part of ``Store`` shares: the engine, and ORM sessions over it."""

    engine: Engine
    _sessions: sessionmaker[Session]

    def session(self) -> Session:
        return self._sessions()


class StoreError(Exception):
    """The database cannot be opened or migrated (the message says which database and why)."""


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


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"
