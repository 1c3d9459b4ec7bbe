"""The digest step: the store's unsent developments -> recorded digests with pending deliveries.

Deciding (``digest.compose``) and rendering (``digest.render``) are pure; this runner reads
the store and records each digest, under the digest lock, with its pending delivery (sending
is ``digest.send``).

    compose_digests(config, store, run_id=...)     # after detection: one digest per
                                                   # storyline and recipient, all unsent
    preview_digest(config, store, "ukraine-peace-talks")   # what would be sent, unrecorded
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from storywatch.config.config import Config, DigestConfig, StorylineConfig
from storywatch.digest.compose import build_digest, build_heartbeat, check_feeds
from storywatch.digest.render import RenderedDigest, build_message, render_digest
from storywatch.store.digests import DigestTransaction, NewDigest
from storywatch.store.repository import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComposedDigest:
    digest_id: str
    storyline: str
    recipient: str
    kind: str
    developments: int


@dataclass(frozen=True)
class DigestWindow:
    """A backfill's digest: only developments first seen in [start, end), marked with
    ``label`` ("12–18 Feb 2025"), and no heartbeat when there are none."""

    start: datetime
    end: datetime
    label: str


def compose_digests(
    config: Config,
    store: Store,
    *,
    storylines: Sequence[str] | None = None,
    run_id: str | None = None,
    now: datetime | None = None,
    window: DigestWindow | None = None,
) -> list[ComposedDigest]:
    """Record one digest per storyline and recipient holding every development not yet in
    one of theirs (a heartbeat when there is none and the storyline asks for it); with
    ``window``, those first seen in it, as a backfill's digest."""
    wanted = [s for s in config.storylines if storylines is None or s.id in storylines]
    created_at = now or datetime.now(UTC)
    composed: list[ComposedDigest] = []
    for storyline in wanted:
        settings = config.digest_for(storyline)
        for recipient in settings.to:
            with store.digest_transaction() as tx:
                digest = _next_digest(
                    tx, config, storyline, settings, recipient, created_at, window
                )
                if digest is not None and tx.add_digest(_to_row(digest, run_id)):
                    composed.append(_composed(digest))
    for c in composed:
        log.info(
            "%s: digest %s for %s (%d developments)",
            c.storyline,
            c.digest_id,
            c.recipient,
            c.developments,
        )
    return composed


def _next_digest(
    tx: DigestTransaction,
    config: Config,
    storyline: StorylineConfig,
    settings: DigestConfig,
    recipient: str,
    created_at: datetime,
    window: DigestWindow | None = None,
) -> RenderedDigest | None:
    # A backfill's own digest takes its window; a live one leaves backfills' windows to them.
    unsent = tx.unsent_developments(storyline.id, recipient, hold_backfills=window is None)
    if window is not None:
        unsent = [d for d in unsent if window.start <= d.first_seen < window.end]
    last = tx.last_digest_at(storyline.id, recipient)
    if unsent:
        earlier = tx.earlier_developments(storyline.id, {d.updates for d in unsent if d.updates})
        label = window.label if window else None
        feeds = check_feeds(config, tx.fetches_since(last))
        digest = build_digest(
            storyline, settings, recipient, unsent, earlier, created_at, label, feeds
        )
        return render_digest(digest)
    if not settings.heartbeat or window is not None:
        return None
    feeds = check_feeds(config, tx.fetches_since(last))
    heartbeat = build_heartbeat(storyline, settings, recipient, last, created_at, feeds)
    if tx.digest_exists(heartbeat.digest_id):  # one heartbeat a day at most
        return None
    return render_digest(heartbeat)


def _to_row(rendered: RenderedDigest, run_id: str | None) -> NewDigest:
    digest = rendered.digest
    return NewDigest(
        id=digest.digest_id,
        storyline=digest.storyline_id,
        recipient=digest.recipient,
        kind=digest.kind,
        subject=digest.subject,
        message=build_message(rendered).as_string(),
        markdown=rendered.markdown,
        development_ids=digest.development_ids,
        run_id=run_id,
        created_at=digest.created_at,
    )


def _composed(rendered: RenderedDigest) -> ComposedDigest:
    d = rendered.digest
    return ComposedDigest(d.digest_id, d.storyline_id, d.recipient, d.kind, d.count)


def preview_digest(
    config: Config, store: Store, storyline_id: str | None = None, now: datetime | None = None
) -> RenderedDigest:
    """What the next digest of a storyline would be for its first recipient; nothing recorded
    (with nothing unsent: the heartbeat form)."""
    storyline = next((s for s in config.storylines if storyline_id in (None, s.id)), None)
    if storyline is None:
        raise KeyError(f"no storyline {storyline_id!r} in {config.path}")
    settings = config.digest_for(storyline)
    recipient = settings.to[0] if settings.to else "you@localhost"
    created_at = now or datetime.now(UTC)
    with store.digest_transaction() as tx:
        unsent = tx.unsent_developments(storyline.id, recipient)
        earlier = tx.earlier_developments(storyline.id, {d.updates for d in unsent if d.updates})
        last = tx.last_digest_at(storyline.id, recipient)
        feeds = check_feeds(config, tx.fetches_since(last))
    if unsent:
        return render_digest(
            build_digest(storyline, settings, recipient, unsent, earlier, created_at, None, feeds)
        )
    heartbeat = build_heartbeat(storyline, settings, recipient, last, created_at, feeds)
    return render_digest(heartbeat)
