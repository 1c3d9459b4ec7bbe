"""Migrations: one head, and the migrated schema is exactly the models' (SQLite and
PostgreSQL), so a model change without its migration fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storywatch.schema import Base
from storywatch.store import Store, _alembic_config


def test_migrations_have_a_single_head() -> None:
    assert len(ScriptDirectory.from_config(_alembic_config()).get_heads()) == 1


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        store.close()
