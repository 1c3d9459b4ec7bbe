"""Store stage: the repository over SQLite (default) or PostgreSQL.

Only the store package talks SQL. ``Store`` is one object built from per-domain parts:

    sources.SourcesMixin        sources, fetch health, runs
    articles.ArticlesMixin      articles (the batch insert is ``articles.insert_articles``)
    clusters.ClustersMixin      near-duplicate clusters and their index
    storylines.StorylinesMixin  storylines, the detection transaction, leases
    developments.DevelopmentsMixin  developments as export and digests read them
    digests.DigestsMixin        digests and their deliveries
    backfill.BackfillMixin      a backfill's window articles, claim, heartbeat, settling

Each part's module also holds its records and transactions (``StorylineTransaction``,
``ClusterTransaction``, ``DigestTransaction``) and, for backfill, the questions a replay asks
inside a storyline's transaction. ``tables`` holds the Core tables and ``insert_ignore``,
``database`` the engine and migrations, ``schema`` the ORM models.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    Engine,
)
from sqlalchemy.orm import sessionmaker

from storywatch.store.articles import ArticlesMixin
from storywatch.store.backfill import BackfillMixin
from storywatch.store.clusters import ClustersMixin
from storywatch.store.database import (
    StoreError,
    create_db_engine,
    current_revision,
    database_url_problem,
    head_revision,
    safe_url,
    upgrade_database,
)
from storywatch.store.developments import DevelopmentsMixin
from storywatch.store.digests import DigestsMixin
from storywatch.store.sources import SourcesMixin
from storywatch.store.storylines import StorylinesMixin


class Store(
    SourcesMixin,
    ArticlesMixin,
    ClustersMixin,
    StorylinesMixin,
    DevelopmentsMixin,
    DigestsMixin,
    BackfillMixin,
):
    """The repository: every read and write storywatch makes, as plain method calls."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Store:
        """Open the database at ``url``, migrating it on first use."""
        if problem := database_url_problem(url):
            raise StoreError(f"cannot open database {safe_url(url)}: {problem}")
        engine = create_db_engine(url)
        try:
            if migrate:
                upgrade_database(engine)
            elif current_revision(engine) != head_revision():
                raise StoreError(
                    f"database {safe_url(url)} is not migrated: run `storywatch db upgrade`"
                )
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot open database {safe_url(url)}: {exc}") from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def open_store(database_url: str) -> Iterator[Store]:
    """The store at ``database_url``, open for the block and closed after it, whatever happens
    in it (what the flows' tasks and ``pipeline.tasks`` open a store with)."""
    store = Store.open(database_url)
    try:
        yield store
    finally:
        store.close()
