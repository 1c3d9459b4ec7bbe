"""Judging a backfilled window as of its time, and what of it is mailed.

``detect_window`` replays in publication order against the memory as it stood at the
window's start. When nothing after the window was judged yet (a fresh database, or a window
newer than everything stored) that is plain detection of the pending articles; otherwise the
storyline is re-detected from the window's start (``pipeline.detect.redetect_storyline``), so a
development first reported inside the window is ``new`` there and later reports fold in.

Re-detection keeps a development's id when the replay finds it again (pipeline/detect.py), but a
story may still come out of a replay in another shape (split, or first seen earlier now);
developments listing an article a recipient was told about, and a window's developments
when the backfill runs without --email, are recorded as handled
(``Store.place_quietly``) so no later run mails them. A replay computes from a
snapshot, then reads what readers were told, writes and places in ONE transaction holding the
storyline's lock and the digest lock, so no digest composed meanwhile can mail a shape the
replay replaces. Settling the window (mailing it, or recording it) is ``settle``.
"""

from __future__ import annotations

import logging

from storywatch.config.config import Config
from storywatch.pipeline.backfill.window import Window
from storywatch.pipeline.detect import (
    StorylineDetection,
    Writer,
    compile_storyline,
    log_detection,
    plan_pending,
    plan_redetection,
    run_detection,
)
from storywatch.store import backfill as store_backfill
from storywatch.store.digests import lock_digests
from storywatch.store.repository import Store
from storywatch.store.storylines import StorylineTransaction

log = logging.getLogger(__name__)


def detect_window(
    config: Config,
    storyline_id: str,
    store: Store,
    window: Window,
    run_id: str | None,
    wait: float | None = None,
    owner: str | None = None,
) -> StorylineDetection:
    """Detect the window's articles as of their time (see the module docstring).

    ``owner``: the backfill whose window this is (default ``run_id``; a backfill-by-day
    driver's for its day runs): windows other backfills own are left to them. With neither,
    nothing is left out (a direct library call). ``wait``: how long to wait for another
    detection at work on the storyline (None: as long as it takes)."""
    storyline = compile_storyline(config, storyline_id, store)
    mine = owner or run_id
    hold = mine is not None

    def plan(view: StorylineTransaction) -> Writer:
        # Decided on the snapshot: a live run that judged later articles while this waited
        # for the storyline turns plain detection into a replay (the write checks it).
        first = store_backfill.earliest_unassessed(view.conn, storyline_id, window.start)
        if first is None or not store_backfill.assessed_after(view.conn, storyline_id, first):
            return plan_pending(view, storyline, run_id, hold_backfills=hold, own_backfill=mine)
        log.info("%s: replaying from %s (later articles were judged already)", storyline_id, window)
        write = plan_redetection(view, storyline, window.start, run_id, hold, own_backfill=mine)
        return lambda tx: _write_keeping_told(store, tx, write, storyline_id, window, run_id)

    report = run_detection(store, storyline_id, plan, wait=wait)
    log_detection(report, "detected as of the time")
    return report


def _write_keeping_told(
    store: Store,
    tx: StorylineTransaction,
    write: Writer,
    storyline_id: str,
    window: Window,
    run_id: str | None,
) -> StorylineDetection:
    """Write a replay; what lists an article a reader was told about is theirs already."""
    # No digest is composed until this commits: what each reader was told, read here (before
    # the replay's writes forget the window's links), holds until the placements are in.
    lock_digests(tx.conn)
    told = store_backfill.told_articles(tx.conn, storyline_id)
    report = write(tx)
    for recipient, articles in told.items():
        # The replay may give a story the reader was mailed a new id (first seen earlier now).
        again = store_backfill.developments_with_articles(
            tx.conn, storyline_id, window.start, articles
        )
        reason = f"replay of {window}: reported to {recipient} before, not mailed again"
        store.place_quietly(storyline_id, recipient, again, reason, run_id, tx.conn)
    return report
