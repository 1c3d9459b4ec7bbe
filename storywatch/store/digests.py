"""The store's digest half: SQL for digests, their developments and deliveries.

``DigestsMixin`` (the Store's methods) and the digest transaction. Two promises live here:

- a development joins at most one digest per recipient: composing runs under one lock (an
  advisory lock on PostgreSQL, the write lock on SQLite) and the unique
  (recipient, development) constraint backs it up;
- a delivery is sent by one run only: ``claim_delivery`` is a conditional UPDATE that one
  caller wins (status pending -> sending); ``confirm_delivery`` and ``release_delivery`` only
  touch a claim they own;
- a delivery is never mailed twice: the owner marks it ``handing`` just before the SMTP
  exchange, and a claim that went stale in that state (its run died while the server may
  have accepted the mail) is never resent by itself: it waits, reported, for `digest --resend`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, text, update

from storywatch.store.database import StorePart
from storywatch.store.developments import (
    LinkedArticle,
    StoredDevelopment,
    in_backfill_window,
    stored_development,
)
from storywatch.store.schema import utcnow
from storywatch.store.tables import (
    ARTICLES,
    DELIVERIES,
    DEVELOPMENT_ARTICLES,
    DEVELOPMENTS,
    DIGEST_DEVELOPMENTS,
    DIGESTS,
    FETCHES,
    IN_CHUNK,
    MEMORY,
    RUNS,
    SOURCES,
    insert_ignore,
)

_PG_DIGEST_LOCK = 4_242_005  # advisory lock id serialising digest composition
QUIET_KIND = "quiet"  # a digest row that records developments as handled (backfill), unmailed


@dataclass(frozen=True)
class EarlierDevelopment:
    """The development an update advances, as the digest names it."""

    id: str
    title: str
    first_seen: str  # ISO 8601, as the memory keeps it


@dataclass(frozen=True)
class NewDigest:
    """A composed digest to store (``pipeline.digests.compose_digests`` makes them)."""

    id: str
    storyline: str
    recipient: str
    kind: str
    subject: str
    message: str
    markdown: str
    development_ids: tuple[str, ...]
    run_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class PendingDelivery:
    """A delivery not yet confirmed, with the exact message to send."""

    id: int
    digest_id: str
    storyline: str
    recipient: str
    subject: str
    message: str
    markdown: str
    development_count: int
    attempts: int
    last_error: str | None


@dataclass
class FetchesSince:
    """Fetch history for a digest: ``checked`` sources were fetched in the period, ``failed``
    maps each one that failed to its latest failure's (error kind, HTTP status)."""

    checked: set[str] = field(default_factory=set)
    failed: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)
    since_last_mail: bool = True  # False: the period is the latest run (no mail before)


class DigestTransaction:
    """Reads and writes of one composition, in one transaction under the digest lock."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def unsent_developments(
        self, storyline: str, recipient: str, *, hold_backfills: bool = True
    ) -> list[StoredDevelopment]:
        """The storyline's developments (not dismissed) in no digest for ``recipient`` yet,
        oldest first, each with every article folded into it (the export's shape).
        ``hold_backfills``: not those first seen in a window a backfill owns (it mails or
        records them when it settles: ``developments.in_backfill_window``)."""
        placed = select(DIGEST_DEVELOPMENTS.c.development_id).where(
            DIGEST_DEVELOPMENTS.c.recipient == recipient
        )
        query = (
            select(DEVELOPMENTS)
            .where(
                DEVELOPMENTS.c.storyline == storyline,
                DEVELOPMENTS.c.dismissed.is_(False),
                DEVELOPMENTS.c.id.not_in(placed),
            )
            .order_by(DEVELOPMENTS.c.first_seen, DEVELOPMENTS.c.id)
        )
        if hold_backfills:
            query = query.where(~in_backfill_window(storyline, DEVELOPMENTS.c.first_seen))
        rows = self.conn.execute(query).all()
        articles = self._linked_articles([r.id for r in rows])
        return [stored_development(r, articles.get(r.id, [])) for r in rows]

    def _linked_articles(self, development_ids: list[str]) -> dict[str, list[LinkedArticle]]:
        found: dict[str, list[LinkedArticle]] = {}
        for start in range(0, len(development_ids), IN_CHUNK):
            query = (
                select(
                    DEVELOPMENT_ARTICLES.c.development_id,
                    ARTICLES.c.url,
                    ARTICLES.c.title,
                    SOURCES.c.name,
                    ARTICLES.c.published_at,
                )
                .join(ARTICLES, ARTICLES.c.id == DEVELOPMENT_ARTICLES.c.article_id)
                .join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id)
                .where(
                    DEVELOPMENT_ARTICLES.c.development_id.in_(
                        development_ids[start : start + IN_CHUNK]
                    )
                )
                .order_by(ARTICLES.c.published_at, ARTICLES.c.id)
            )
            for dev_id, url, title, source, published in self.conn.execute(query):
                found.setdefault(dev_id, []).append(LinkedArticle(url, title, source, published))
        return found

    def earlier_developments(self, storyline: str, ids: set[str]) -> dict[str, EarlierDevelopment]:
        """Title and date of developments that updates advance (the seed's ones included)."""
        if not ids:
            return {}
        query = select(MEMORY.c.development_id, MEMORY.c.data).where(
            MEMORY.c.storyline == storyline, MEMORY.c.development_id.in_(sorted(ids))
        )
        return {
            dev_id: EarlierDevelopment(dev_id, data.get("title", ""), data.get("first_seen", ""))
            for dev_id, data in self.conn.execute(query)
        }

    def last_digest_at(self, storyline: str, recipient: str) -> datetime | None:
        return self.conn.scalar(
            select(func.max(DIGESTS.c.created_at)).where(
                DIGESTS.c.storyline == storyline,
                DIGESTS.c.recipient == recipient,
                DIGESTS.c.kind != QUIET_KIND,  # recorded by a backfill, never mailed
            )
        )

    def fetches_since(self, since: datetime | None) -> FetchesSince:
        """The fetch history since ``since`` (the recipient's last mail); None: since the
        latest run started (no mail yet). Which sources were fetched, and each failed one's
        latest failure."""
        if since is None:
            since = self.conn.scalar(select(func.max(RUNS.c.started_at)))
            if since is None:
                return FetchesSince(since_last_mail=False)
            mail = False
        else:
            mail = True
        recent = FETCHES.c.started_at >= since
        checked = self.conn.scalars(
            select(SOURCES.c.name).where(
                SOURCES.c.id.in_(select(FETCHES.c.source_id).where(recent))
            )
        )
        latest = (
            select(FETCHES.c.source_id, func.max(FETCHES.c.id).label("id"))
            .where(recent, FETCHES.c.status == "error")
            .group_by(FETCHES.c.source_id)
            .subquery()
        )
        failures = self.conn.execute(
            select(SOURCES.c.name, FETCHES.c.error_kind, FETCHES.c.http_status)
            .join(latest, latest.c.id == FETCHES.c.id)
            .join(SOURCES, SOURCES.c.id == FETCHES.c.source_id)
        )
        return FetchesSince(
            set(checked), {name: (kind, status) for name, kind, status in failures}, mail
        )

    def digest_exists(self, digest_id: str) -> bool:
        found = self.conn.scalar(select(DIGESTS.c.id).where(DIGESTS.c.id == digest_id))
        return found is not None

    def add_digest(self, digest: NewDigest) -> bool:
        """Store a digest, its developments and its pending delivery; False when a digest with
        this id exists already (its delivery is then the one to send)."""
        inserted = self.conn.scalar(
            insert_ignore(self.conn, DIGESTS)
            .values(
                id=digest.id,
                storyline=digest.storyline,
                recipient=digest.recipient,
                kind=digest.kind,
                subject=digest.subject,
                message=digest.message,
                markdown=digest.markdown,
                development_count=len(digest.development_ids),
                run_id=digest.run_id,
                created_at=digest.created_at,
            )
            .returning(DIGESTS.c.id)
        )
        if inserted is None:  # RETURNING, not rowcount: portable for ON CONFLICT DO NOTHING
            return False
        if digest.development_ids:
            self.conn.execute(
                DIGEST_DEVELOPMENTS.insert(),
                [
                    {"digest_id": digest.id, "recipient": digest.recipient, "development_id": d}
                    for d in digest.development_ids
                ],
            )
        self.conn.execute(
            DELIVERIES.insert().values(
                digest_id=digest.id, recipient=digest.recipient, status="pending", attempts=0
            )
        )
        return True


def lock_digests(conn: Connection) -> None:
    """Take the digest lock for the rest of ``conn``'s transaction: no digest is composed
    until it ends (a replay takes it too, so what readers were told holds still meanwhile)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_DIGEST_LOCK})
    else:  # a write first: SQLite takes its write lock before any read (busy_timeout)
        conn.execute(update(DIGESTS).where(DIGESTS.c.id.is_(None)).values(id=None))


def _unsure(stale_before: datetime) -> Any:
    return and_(DELIVERIES.c.status == "handing", DELIVERIES.c.claimed_at < stale_before)


def _claimable(stale_before: datetime) -> Any:
    return or_(
        DELIVERIES.c.status == "pending",
        and_(DELIVERIES.c.status == "sending", DELIVERIES.c.claimed_at < stale_before),
    )


class DigestsMixin(StorePart):
    """Store methods over digests and their deliveries (claimed, confirmed, released)."""

    @contextmanager
    def digest_transaction(self) -> Iterator[DigestTransaction]:
        """One transaction holding the digest lock: compositions run one after the other."""
        with self.engine.begin() as conn:
            lock_digests(conn)
            yield DigestTransaction(conn)

    def pending_deliveries(self, stale_after: timedelta) -> list[PendingDelivery]:
        """Deliveries to (re)try: pending ones, and claims older than ``stale_after`` that were
        never handed to the SMTP server (a run that died before sending: nothing went out)."""
        return self._deliveries(_claimable(utcnow() - stale_after))

    def unsure_deliveries(self, stale_after: timedelta) -> list[PendingDelivery]:
        """Deliveries whose run died while handing them to the SMTP server (the claim older
        than ``stale_after``): they may have arrived."""
        return self._deliveries(_unsure(utcnow() - stale_after))

    def hand_over_delivery(self, delivery_id: int, token: str) -> bool:
        """Mark an owned claim as being handed to the SMTP server, as of now: from here on, a
        crash leaves the delivery's fate unknown, so a stale claim in this state is not resent
        by itself. False when the claim is no longer ours (it went stale and another run took
        it): then this run must not send."""
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(DELIVERIES)
                .where(
                    DELIVERIES.c.id == delivery_id,
                    DELIVERIES.c.claim_token == token,
                    DELIVERIES.c.status == "sending",
                )
                .values(status="handing", claimed_at=utcnow(), last_error=None)
            )
        return taken.rowcount == 1

    def resend_unsure(self, digest_id: str, stale_after: timedelta) -> int:
        """Give a digest's unsure deliveries back as pending (the operator checked they did not
        arrive); how many. Fresh ``handing`` claims (a run sending right now) are left alone."""
        with self.engine.begin() as conn:
            resent = conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.digest_id == digest_id, _unsure(utcnow() - stale_after))
                .values(status="pending", claim_token=None)
            )
        return int(resent.rowcount)

    def _deliveries(self, where: Any) -> list[PendingDelivery]:
        query = (
            select(DELIVERIES, DIGESTS.c.storyline, DIGESTS.c.subject, DIGESTS.c.message)
            .add_columns(DIGESTS.c.markdown, DIGESTS.c.development_count)
            .join(DIGESTS, DIGESTS.c.id == DELIVERIES.c.digest_id)
            .where(where)
            .order_by(DIGESTS.c.created_at, DELIVERIES.c.id)
        )
        with self.engine.connect() as conn:
            return [
                PendingDelivery(
                    id=r.id,
                    digest_id=r.digest_id,
                    storyline=r.storyline,
                    recipient=r.recipient,
                    subject=r.subject,
                    message=r.message,
                    markdown=r.markdown,
                    development_count=r.development_count,
                    attempts=r.attempts,
                    last_error=r.last_error,
                )
                for r in conn.execute(query)
            ]

    def claim_delivery(self, delivery_id: int, token: str, stale_after: timedelta) -> bool:
        """Take a delivery for sending; True for exactly one of any number of concurrent callers
        (the UPDATE's WHERE re-checks the status under the row's write lock)."""
        now = utcnow()
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id, _claimable(now - stale_after))
                .values(
                    status="sending",
                    claim_token=token,
                    claimed_at=now,
                    attempts=DELIVERIES.c.attempts + 1,
                )
            )
        return claimed.rowcount == 1

    def confirm_delivery(self, delivery_id: int, token: str, transport: str) -> None:
        """Record a delivery as sent (only the claim's owner can)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id, DELIVERIES.c.claim_token == token)
                .values(status="sent", sent_at=utcnow(), transport=transport, last_error=None)
            )

    def release_delivery(self, delivery_id: int, token: str, error: str) -> None:
        """Give a failed delivery back (pending, the error recorded): the next run retries it."""
        with self.engine.begin() as conn:
            conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id, DELIVERIES.c.claim_token == token)
                .values(status="pending", claim_token=None, last_error=error[:2000])
            )

    def note_delivery_error(self, delivery_id: int, error: str) -> bool:
        """Record why a pending delivery was not tried (its server failed earlier in the pass); it
        stays pending, unclaimed. False when it is no longer pending (another run claimed it)."""
        with self.engine.begin() as conn:
            noted = conn.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id, DELIVERIES.c.status == "pending")
                .values(last_error=error[:2000])
            )
        return noted.rowcount == 1

    def delivery_statuses(self) -> list[dict[str, Any]]:
        """Every delivery with its digest, oldest first (tests and `storywatch digest`)."""
        query = (
            select(
                DELIVERIES.c.digest_id,
                DELIVERIES.c.recipient,
                DELIVERIES.c.status,
                DELIVERIES.c.attempts,
                DELIVERIES.c.transport,
                DELIVERIES.c.last_error,
                DELIVERIES.c.sent_at,
                DIGESTS.c.storyline,
                DIGESTS.c.subject,
                DIGESTS.c.development_count,
                DIGESTS.c.run_id,
            )
            .join(DIGESTS, DIGESTS.c.id == DELIVERIES.c.digest_id)
            .order_by(DIGESTS.c.created_at, DELIVERIES.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def run_deliveries(self, run_id: str) -> list[dict[str, Any]]:
        """Deliveries of the digests composed by ``run_id`` (what `storywatch run` reports)."""
        return [r for r in self.delivery_statuses() if r["run_id"] == run_id]
