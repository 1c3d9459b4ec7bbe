"""Judging a backfilled window as of its time, and what of it is mailed.

``detect_window`` replays in publication order against the memory as it stood at the
window's start. When nothing after the window was judged yet (a fresh database, or a window
newer than everything stored) that is plain detection of the pending articles; otherwise the
storyline is re-detected from the window's start (``detection.redetect_storyline``), so a
development first reported inside the window is ``new`` there and later reports fold in.

Re-detection keeps a development's id when the replay finds it again (detection.py), but a
story may still come out of a replay in another shape (split, or first seen earlier now);
developments listing an article a recipient was told about, and a window's developments
when the backfill runs without --email, are recorded as handled
(``store_backfill.place_quietly``) so no later run mails them. A replay computes from a
snapshot, then reads what readers were told, writes and places in ONE transaction holding the
storyline's lock and the digest lock, so no digest composed meanwhile can mail a shape the
replay replaces. With
--email, each recipient gets one digest of the window's developments, marked as a backfill.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

from storywatch.backfill import BackfillReport, Window, backfill_collect, unasked_storylines
from storywatch.config.config import Config
from storywatch.detection import (
    LIVE_WAIT_SECONDS,
    StorylineDetection,
    Writer,
    compile_storyline,
    log_detection,
    plan_pending,
    plan_redetection,
    run_detection,
    storyline_config,
)
from storywatch.pipeline.digests import ComposedDigest, DigestWindow, compose_digests
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
        store_backfill.place_quietly(store, storyline_id, recipient, again, reason, run_id, tx.conn)
    return report


def judge_stopped_backfills(
    config: Config, storyline_id: str, store: Store
) -> list[StorylineDetection]:
    """Finish what stopped backfills left: a backfill that died or failed owns its window
    until it settles it, so live detection and digests leave the window alone; this replays
    the window as of the time, as the backfill would have, and settles it as it would have
    (its --email: one digest marked as a backfill; without: recorded, not mailed). A window a
    backfill held for a storyline it was not run for is judged the same way and recorded."""
    reports = []
    for stopped in store_backfill.stopped_backfills(store, storyline_id):
        window = Window(stopped.start.date(), (stopped.end - timedelta(days=1)).date())
        what = (storyline_id, stopped.run_id, f"{stopped.started_at:%Y-%m-%d %H:%M} UTC", window)
        if stopped.asked:
            log.warning(
                "%s: backfill %s (started %s) stopped before settling %s: finishing it", *what
            )
        else:
            log.info(
                "%s: backfill %s (started %s) for other storylines stored articles of %s: "
                "judging them as of the time, recorded without mailing",
                *what,
            )
        report = detect_window(
            config, storyline_id, store, window, stopped.run_id, LIVE_WAIT_SECONDS
        )
        reports.append(report)
        if report.deferred:  # the storyline is busy: the window stays the backfill's
            break
        settle_window(config, store, window, [storyline_id], stopped.email, stopped.run_id)
    return reports


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
        store_backfill.mark_settled(store, run_id, storylines)
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
        ids = store_backfill.backfilled_developments(store, storyline_id, window.start, window.end)
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
        store_backfill.place_quietly(store, storyline_id, recipient, ids, reason, run_id)
        for recipient in settings.to
    )


def window_label(window: Window) -> str:
    """ "12 Feb 2025", "12–18 Feb 2025", "28 Feb–3 Mar 2025", "30 Dec 2024–2 Jan 2025"."""
    since, until = window.since, window.until
    if since == until:
        return f"{since.day} {since:%b %Y}"
    if (since.year, since.month) == (until.year, until.month):
        return f"{since.day}–{until.day} {until:%b %Y}"
    if since.year == until.year:
        return f"{since.day} {since:%b}–{until.day} {until:%b %Y}"
    return f"{since.day} {since:%b %Y}–{until.day} {until:%b %Y}"


# -- one call per flow task (each opens the config and store itself) --------------------------


def collect_configured(
    config_path: str,
    since: str,
    until: str,
    run_id: str,
    sources: Sequence[str] | None,
    email: bool = False,
    storylines: Sequence[str] | None = None,
) -> BackfillReport:
    """``backfill_collect`` from a config path: fetch and store the window's entries."""
    from storywatch.config.config import load_config

    config = load_config(config_path)
    store = Store.open(config.database_url)
    try:
        window = Window.parse(since, until)
        return backfill_collect(config, store, window, run_id, sources, email, storylines)
    finally:
        store.close()


def detect_window_configured(
    config_path: str,
    storyline_id: str,
    since: str,
    until: str,
    run_id: str | None,
    owner: str | None = None,
) -> StorylineDetection:
    """``detect_window`` from a config path."""
    from storywatch.config.config import load_config

    config = load_config(config_path)
    store = Store.open(config.database_url)
    try:
        window = Window.parse(since, until)
        return detect_window(config, storyline_id, store, window, run_id, owner=owner)
    finally:
        store.close()


def settle_window_configured(
    config_path: str,
    since: str,
    until: str,
    storylines: Sequence[str],
    email: bool,
    run_id: str | None,
) -> list[ComposedDigest]:
    """``settle_window`` from a config path."""
    from storywatch.config.config import load_config

    config = load_config(config_path)
    store = Store.open(config.database_url)
    try:
        return settle_window(config, store, Window.parse(since, until), storylines, email, run_id)
    finally:
        store.close()


@contextmanager
def backfill_at_work(config_path: str, run_id: str) -> Iterator[None]:
    """The backfill ``run_id`` is at work while the block runs (its heartbeat from a thread);
    released after, done or not: what it left unsettled, the next live run finishes."""
    from storywatch.config.config import load_config

    store = Store.open(load_config(config_path).database_url)
    try:
        with store_backfill.keep_alive(store, run_id):
            yield
    finally:
        store.close()


def open_backfill_configured(
    config_path: str, run_id: str, since: str, until: str, email: bool, storylines: Sequence[str]
) -> None:
    """``store_backfill.open_backfill`` from a config path: the window is the run's for
    ``storylines`` until it settles it (a backfill-by-day driver's, over its day runs)."""
    from storywatch.config.config import load_config

    window = Window.parse(since, until)
    config = load_config(config_path)
    others = unasked_storylines(config, storylines)
    store = Store.open(config.database_url)
    try:
        store_backfill.open_backfill(
            store, run_id, window.start, window.end, email, storylines, others
        )
    finally:
        store.close()
