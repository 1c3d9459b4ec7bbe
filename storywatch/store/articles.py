"""The store's articles: the batch insert every writer shares, and what readers ask of them."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Connection,
    case,
    func,
    select,
)

if TYPE_CHECKING:  # type-only: keeps httpx out of commands that only read the database
    from storywatch.parse.normalise import Article

from storywatch.store.database import StorePart
from storywatch.store.schema import (
    ArticleRow,
    SourceRow,
)
from storywatch.store.tables import ARTICLES, ASSESSMENTS, insert_ignore

log = logging.getLogger(__name__)


MAX_URL_LENGTH = 2048  # longer URLs cannot be indexed portably; such entries are skipped


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


class ArticlesMixin(StorePart):
    """Store methods over articles."""

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
                yield _stored(row, source)

    def article_by_url(self, url: str) -> StoredArticle | None:
        """The stored article with this canonical URL (the first source that stored it)."""
        query = (
            select(ArticleRow, SourceRow.name)
            .join(SourceRow, SourceRow.id == ArticleRow.source_id)
            .where(ArticleRow.url == url)
            .order_by(ArticleRow.id)
            .limit(1)
        )
        with self.session() as session:
            found = session.execute(query).first()
        return None if found is None else _stored(*found)

    def article_ids_for_run(self, run_id: str) -> list[int]:
        with self.session() as session:
            query = select(ArticleRow.id).where(ArticleRow.run_id == run_id).order_by(ArticleRow.id)
            return list(session.scalars(query))

    def count_articles(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count()).select_from(ArticleRow)) or 0

    def article_relevance(self) -> dict[int, tuple[bool, float]]:
        """article id -> (relevant to any storyline, best score), for assessed articles."""
        query = select(
            ASSESSMENTS.c.article_id,
            func.max(case((ASSESSMENTS.c.relevant.is_(True), 1), else_=0)),
            func.max(ASSESSMENTS.c.score),
        ).group_by(ASSESSMENTS.c.article_id)
        with self.engine.connect() as conn:
            return {a: (bool(r), float(s)) for a, r, s in conn.execute(query)}

    def article_assessments(self) -> dict[int, dict[str, StorylineVerdict]]:
        """article id -> {storyline id -> its verdict}, for assessed articles."""
        query = select(
            ASSESSMENTS.c.article_id,
            ASSESSMENTS.c.storyline,
            ASSESSMENTS.c.relevant,
            ASSESSMENTS.c.score,
            ASSESSMENTS.c.novelty,
        ).order_by(ASSESSMENTS.c.article_id, ASSESSMENTS.c.storyline)
        verdicts: dict[int, dict[str, StorylineVerdict]] = {}
        with self.engine.connect() as conn:
            for article_id, storyline, relevant, score, novelty in conn.execute(query):
                verdict = StorylineVerdict(bool(relevant), float(score), novelty)
                verdicts.setdefault(article_id, {})[storyline] = verdict
        return verdicts


@dataclass(frozen=True)
class StorylineVerdict:
    """The storyline stage's word on one article for one storyline."""

    relevant: bool
    score: float
    novelty: str  # new | update | known | none


def insert_articles(
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
    statement = insert_ignore(conn, ARTICLES).returning(ARTICLES.c.id)
    return list(conn.scalars(statement, rows))


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


def _stored(row: ArticleRow, source: str) -> StoredArticle:
    return StoredArticle(
        id=row.id,
        url=row.url,
        title=row.title,
        summary=row.summary,
        source=source,
        published=row.published_at,
        date_missing=row.date_missing,
        cluster=row.cluster_id,
    )
