"""Database schema (SQLAlchemy 2.x). Changes here need an Alembic migration in migrations/versions.

Unique constraints carry the idempotency promises: one row per source name, one article per
canonical URL, one article per (source, guid). Every write relies on them, so a rerun, two
overlapping runs or a crash-and-retry can never create a duplicate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class SourceRow(Base):
    """A configured feed and its health (what `storywatch sources status` shows)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error_kind: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_note: Mapped[str | None] = mapped_column(Text)  # the last fetch's warning, if any
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RunRow(Base):
    """One ingest pass (run, backfill or demo), for the record and for `since` queries."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sources_fetched: Mapped[int] = mapped_column(Integer, default=0)
    sources_failed: Mapped[int] = mapped_column(Integer, default=0)
    articles_new: Mapped[int] = mapped_column(Integer, default=0)
    # Backfills only (migration 0006): the window [window_start, window_end) the run owns until
    # it settles (``backfill_storylines``), its --email, and its liveness: at work while not
    # released and beaten within backfill.BACKFILL_QUIET; else a live run finishes it.
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email: Mapped[bool | None] = mapped_column(Boolean)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BackfillStorylineRow(Base):
    """A storyline a backfill replays and settles. Until ``settled_at``, the window is the
    backfill's for that storyline: live detection and live digests leave it alone.

    ``asked``: the backfill was run for this storyline (its --storyline, or none given). A
    backfill for one storyline stores articles every storyline reads: the others get a row
    with ``asked`` false, and the first live run after it judges the window for them as of
    the time and records it without mailing (nobody asked for their past)."""

    __tablename__ = "backfill_storylines"

    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    storyline: Mapped[str] = mapped_column(String(100), primary_key=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    asked: Mapped[bool] = mapped_column(Boolean, server_default=true())


class FetchRow(Base):
    """One fetch of one source in one run: the history behind the health columns."""

    __tablename__ = "fetches"
    __table_args__ = (Index("ix_fetches_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("runs.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    bytes: Mapped[int | None] = mapped_column(Integer)
    entries_total: Mapped[int] = mapped_column(Integer, default=0)
    entries_new: Mapped[int] = mapped_column(Integer, default=0)
    error_kind: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # e.g. why a readable feed was not well-formed


class ArticleRow(Base):
    """One entry of one source: every copy is kept, it is the development's provenance."""

    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("url", name="uq_articles_url"),
        UniqueConstraint("source_id", "guid", name="uq_articles_source_guid"),
        Index("ix_articles_published", "published_at"),
        Index("ix_articles_cluster", "cluster_id"),
        Index("ix_articles_run", "run_id"),  # a backfill's articles (store.backfill)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)  # canonical URL
    link: Mapped[str] = mapped_column(Text)  # as the feed gave it
    guid: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    date_missing: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[str | None] = mapped_column(String(36))
    cluster_id: Mapped[int | None] = mapped_column(Integer)  # near-duplicate story cluster


# -- storyline stage: assessments, developments, their articles, the memory ---------
#
# A development's id is the engine's (``<storyline>-<YYYYMMDD>-<NN>``): stable, exported, the
# handle for `developments dismiss`. The memory is one row per remembered development (seed,
# detected or dismissed) holding the engine's JSON, so a run rewrites only what it changed.
# ``storylines`` holds one row per storyline: the lock every detection takes first (two
# overlapping runs detect one after the other) and the seed date fixed on first use.


class StorylineRow(Base):
    """One storyline's state: the row detection locks, and the seed date its memory uses."""

    __tablename__ = "storylines"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    seed_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    revision: Mapped[int] = mapped_column(Integer, default=0)  # +1 per detection/dismiss
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The detection at work on it (storylines.LEASE_QUIET): it computes outside any database lock,
    # others wait or defer meanwhile (migration 0006).
    lease_owner: Mapped[str | None] = mapped_column(String(36))
    lease_beat: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MemoryRow(Base):
    """One development the storyline remembers (the engine's ``Development.to_dict()``)."""

    __tablename__ = "storyline_memory"
    __table_args__ = (
        UniqueConstraint("storyline", "development_id", name="uq_memory_storyline_development"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    storyline: Mapped[str] = mapped_column(
        String(100), ForeignKey("storylines.id", ondelete="CASCADE")
    )
    development_id: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)  # memory order (seed first)
    origin: Mapped[str] = mapped_column(String(20))  # seed | detected | dismissed
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class DevelopmentRow(Base):
    """A development alerted on (new or update): what `export developments` lists."""

    __tablename__ = "developments"
    __table_args__ = (Index("ix_developments_storyline_first_seen", "storyline", "first_seen"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    storyline: Mapped[str] = mapped_column(String(100))
    types: Mapped[list[str]] = mapped_column(JSON)
    novelty: Mapped[str] = mapped_column(String(10))  # new | update
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updates: Mapped[str | None] = mapped_column(String(200))  # the development it advances
    dismissed: Mapped[bool] = mapped_column(Boolean, default=False)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DevelopmentArticleRow(Base):
    """An article folded into a development (every outlet's copy is listed)."""

    __tablename__ = "development_articles"
    __table_args__ = (
        UniqueConstraint("development_id", "article_id", name="uq_development_articles_pair"),
        Index("ix_development_articles_article", "article_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    development_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("developments.id", ondelete="CASCADE")
    )
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssessmentRow(Base):
    """One article against one storyline: relevance, score and what the engine made of it."""

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("article_id", "storyline", name="uq_assessments_article_storyline"),
        Index("ix_assessments_storyline", "storyline"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    storyline: Mapped[str] = mapped_column(String(100))
    relevant: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    novelty: Mapped[str] = mapped_column(String(10))  # new | update | known | none
    development_id: Mapped[str | None] = mapped_column(String(200))  # may name a seed one
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- near-duplicate clusters ---------------------------------------------------------------
#
# ``articles.cluster_id`` names the story cluster (NULL until clustered: the pending queue).
# A cluster's id is its founding article's id and never changes; its representative is its
# earliest-published article. The LSH index is ``lsh_bands``: one row per (publication period,
# band key, article), its primary key doubling as the lookup index, so a run hashes only its
# new articles and, the period leading, reads and writes only the recent part of the index.


class ClusterRow(Base):
    """A story cluster: syndicated copies and light rewrites of one article."""

    __tablename__ = "clusters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    representative_id: Mapped[int] = mapped_column(Integer)  # earliest-published member
    representative_published: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FingerprintRow(Base):
    """An article's MinHash signature (dedupe.NUM_PERM little-endian uint32)."""

    __tablename__ = "article_fingerprints"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    version: Mapped[int] = mapped_column(Integer)  # dedupe.SIGNATURE_VERSION
    shingles: Mapped[int] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class BandRow(Base):
    """The persisted LSH index. No foreign key: 40 rows per article, kept cheap to insert."""

    __tablename__ = "lsh_bands"
    __table_args__ = ({"sqlite_with_rowid": False},)

    bucket: Mapped[int] = mapped_column(  # dedupe.time_bucket of the article's publication
        Integer, primary_key=True, autoincrement=False
    )
    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


# -- digests: what was composed for whom, and its delivery -------------------------
#
# A digest is one storyline's unsent developments for one recipient, rendered once and stored
# as the exact message (.eml text), so a retry sends the same bytes and the same Message-ID.
# ``digest_developments`` holds (recipient, development) once: a development joins at most
# one digest per recipient, whatever runs overlap. ``deliveries`` is the exactly-once ledger:
# a row is claimed (a conditional UPDATE) before SMTP and confirmed after.


class DigestRow(Base):
    """One composed digest: its message, ready to send (or resend) byte for byte."""

    __tablename__ = "digests"
    __table_args__ = (Index("ix_digests_storyline_recipient", "storyline", "recipient"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    storyline: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(20))  # developments | heartbeat
    subject: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)  # RFC 5322 text, 7-bit (quoted-printable)
    markdown: Mapped[str] = mapped_column(Text)  # the Prefect artifact's body
    development_count: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestDevelopmentRow(Base):
    """A development placed in a digest for one recipient (never in two of theirs)."""

    __tablename__ = "digest_developments"
    __table_args__ = (
        UniqueConstraint(
            "recipient", "development_id", name="uq_digest_developments_recipient_development"
        ),
        Index("ix_digest_developments_digest", "digest_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("digests.id", ondelete="CASCADE")
    )
    recipient: Mapped[str] = mapped_column(String(320))
    development_id: Mapped[str] = mapped_column(String(200))


class DeliveryRow(Base):
    """The exactly-once ledger of one digest to one recipient.

    status: pending (never tried, or the last try failed: ``last_error`` says why) ->
    sending (claimed by ``claim_token`` at ``claimed_at``) -> handing (the SMTP exchange under
    way; left stale, the mail may have arrived: resent only when the operator says) -> sent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("digest_id", "recipient", name="uq_deliveries_digest_recipient"),
        Index("ix_deliveries_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("digests.id", ondelete="CASCADE")
    )
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transport: Mapped[str | None] = mapped_column(String(10))  # smtp | outbox
    last_error: Mapped[str | None] = mapped_column(Text)
