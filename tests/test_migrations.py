"""Migrations: one head, and the migrated schema is exactly the models' (SQLite and
PostgreSQL), so a model change without its migration fails here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storywatch.store.database import _alembic_config
from storywatch.store.repository import Store
from storywatch.store.schema import Base


def test_migrations_have_a_single_head() -> None:
    assert len(ScriptDirectory.from_config(_alembic_config()).get_heads()) == 1


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        store.close()


def test_band_periods_migration_gives_each_row_its_articles_period(database_url: str) -> None:
    """0005 copies the index with each article's publication period, computed in SQL exactly
    as dedupe.time_bucket does (negative times, a period's first instant and the microsecond
    before it included); the downgrade gives the old index back."""
    from alembic import command
    from sqlalchemy import insert, select, text

    from storywatch import dedupe
    from storywatch.store.database import create_db_engine
    from storywatch.store.tables import ARTICLES, BANDS, SOURCES

    start = datetime(1970, 1, 1, tzinfo=UTC) + 2891 * timedelta(days=dedupe.BUCKET_DAYS)
    published = [
        datetime(1969, 12, 25, 12, 0, 0, 500_000, tzinfo=UTC),
        start,
        start - timedelta(microseconds=1),
        datetime(2025, 8, 3, 8, 15, 42, 123_456, tzinfo=UTC),
    ]
    old_rows = [(key, n + 1) for n in range(len(published)) for key in (-(2**63), 7, 2**63 - 1)]
    engine = create_db_engine(database_url)
    try:
        with engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0004")
            conn.execute(insert(SOURCES), [{"id": 1, "name": "wire", "url": "https://w.test/"}])
            conn.execute(
                insert(ARTICLES),
                [
                    {"id": n + 1, "source_id": 1, "url": f"https://w.test/{n}", "link": "x",
                     "title": "t", "summary": "s", "published_at": p, "fetched_at": p}
                    for n, p in enumerate(published)
                ],
            )  # fmt: skip
            conn.execute(
                text("INSERT INTO lsh_bands (band_key, article_id) VALUES (:k, :a)"),
                [{"k": k, "a": a} for k, a in old_rows],
            )
            command.upgrade(cfg, "head")
            got = set(conn.execute(select(BANDS.c.bucket, BANDS.c.band_key, BANDS.c.article_id)))
            assert got == {(dedupe.time_bucket(published[a - 1]), k, a) for k, a in old_rows}
            assert len({b for b, _, _ in got}) == 4
            command.downgrade(cfg, "0004")
            back = set(conn.execute(text("SELECT band_key, article_id FROM lsh_bands")))
            assert back == set(old_rows)
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()
