"""The store's tables as SQLAlchemy Core objects, and the one insert-ignore statement.

The hot write paths use Core (the ORM's bulk machinery costs more than the SQL). Every write
relies on the schema's unique constraints through ``insert_ignore`` (INSERT ... ON CONFLICT DO
NOTHING), so reruns and overlapping runs never duplicate rows.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    insert,
)
from sqlalchemy.dialects import postgresql, sqlite

from storywatch.store.schema import (
    ArticleRow,
    AssessmentRow,
    BackfillStorylineRow,
    BandRow,
    ClusterRow,
    DeliveryRow,
    DevelopmentArticleRow,
    DevelopmentRow,
    DigestDevelopmentRow,
    DigestRow,
    FetchRow,
    FingerprintRow,
    MemoryRow,
    RunRow,
    SourceRow,
    StorylineRow,
)

ARTICLES = cast(Table, ArticleRow.__table__)
RUNS = cast(Table, RunRow.__table__)
BACKFILL_STORYLINES = cast(Table, BackfillStorylineRow.__table__)
FETCHES = cast(Table, FetchRow.__table__)
SOURCES = cast(Table, SourceRow.__table__)
STORYLINES = cast(Table, StorylineRow.__table__)
MEMORY = cast(Table, MemoryRow.__table__)
DEVELOPMENTS = cast(Table, DevelopmentRow.__table__)
DEVELOPMENT_ARTICLES = cast(Table, DevelopmentArticleRow.__table__)
ASSESSMENTS = cast(Table, AssessmentRow.__table__)
CLUSTERS = cast(Table, ClusterRow.__table__)
FINGERPRINTS = cast(Table, FingerprintRow.__table__)
BANDS = cast(Table, BandRow.__table__)
DIGESTS = cast(Table, DigestRow.__table__)
DIGEST_DEVELOPMENTS = cast(Table, DigestDevelopmentRow.__table__)
DELIVERIES = cast(Table, DeliveryRow.__table__)
IN_CHUNK = 900  # bound parameters per IN (...) query: under SQLite's limit


def insert_ignore(bind: Engine | Connection, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the dialect of ``bind`` (an engine or connection)."""
    dialect = bind.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return insert(table).prefix_with("IGNORE")  # MySQL/MariaDB spelling
