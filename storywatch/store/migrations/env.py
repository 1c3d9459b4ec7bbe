"""Alembic environment: runs on the connection storywatch hands over.

That is ``storywatch.store.database.upgrade_database``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from storywatch.store.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)


def _run(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("storywatch migrations run online only: use `storywatch db upgrade`")
run_migrations_online()
