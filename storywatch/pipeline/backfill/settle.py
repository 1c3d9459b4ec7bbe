"""Settling a backfilled window: mail its developments (--email: one digest per recipient,
marked as a backfill) or record them as handled, then the backfill lets the window go."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from storywatch.config.config import Config
from storywatch.pipeline.backfill.window import Window, window_label
from storywatch.pipeline.detect import storyline_config
from storywatch.pipeline.digests import ComposedDigest, DigestWindow, compose_digests
from storywatch.store.repository import Store

log = logging.getLogger(__name__)


def settle_window(
    config: Config,
    store: Store,
    window: Window,
    storylines: Sequence[str],
    email: bool,
    run_id: str | None,
) -> list[ComposedDigest]:
    """With ``email``: compose the window's digests (sent by the send stage); without: record
    the window's developments as handled. Then the backfill ``run_id`` no longer owns the
    window for ``storylines``. Returns what was composed. Idempotent: settling again composes
    and records nothing more."""
    if email:
        composed = compose_window_digests(config, store, window, storylines, run_id)
    else:
        composed = []
        placed = record_window_quietly(config, store, window, storylines, run_id)
        log.info("backfill of %s: %d developments recorded without mail", window, placed)
    if run_id is not None:
        store.mark_settled(run_id, storylines)
    return composed


def compose_window_digests(
    config: Config,
    store: Store,
    window: Window,
    storylines: Sequence[str],
    run_id: str | None,
    now: datetime | None = None,
) -> list[ComposedDigest]:
    """One digest per storyline and recipient with the window's developments not yet sent to
    them, marked as a backfill. Nothing to send: no digest (a backfill has no heartbeat)."""
    marked = DigestWindow(window.start, window.end, window_label(window))
    return compose_digests(
        config, store, storylines=storylines, run_id=run_id, now=now, window=marked
    )


def record_window_quietly(
    config: Config, store: Store, window: Window, storylines: Sequence[str], run_id: str | None
) -> int:
    """A backfill without --email: the window's developments made only of backfilled articles
    are history, never mailed (one a live run also reported is left to the live digest)."""
    placed = 0
    for storyline_id in storylines:
        ids = store.backfilled_developments(storyline_id, window.start, window.end)
        if ids:
            reason = f"backfill of {window} without --email: recorded, not mailed"
            placed += _place_for_all(config, store, storyline_id, ids, reason, run_id)
    return placed


def _place_for_all(
    config: Config,
    store: Store,
    storyline_id: str,
    ids: Sequence[str],
    reason: str,
    run_id: str | None,
) -> int:
    settings = config.digest_for(storyline_config(config, storyline_id))
    return sum(
        store.place_quietly(storyline_id, recipient, ids, reason, run_id)
        for recipient in settings.to
    )
