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
from collections.abc import Sequence
from datetime import datetime

from storywatch import store_backfill
from storywatch.backfill import BackfillReport, Window, backfill_collect
from storywatch.config import Config
from storywatch.detection import (
    LIVE_WAIT_SECONDS,
    StorylineDetection,
    Writer,
    compile_storyline,
    detect_storyline,
    log_detection,
    plan_redetection,
    run_detection,
    storyline_config,
)
from storywatch.digest import ComposedDigest, DigestWindow, compose_digests
from storywatch.store import Store, StorylineTransaction
from storywatch.store_digests import lock_digests

log = logging.getLogger(__name__)


def detect_window(
    config: Config,
    storyline_id: str,
    store: Store,
    window: Window,
    run_id: str | None,
    wait: float | None = None,
) -> StorylineDetection:
    """Detect the window's articles as of their time (see the module docstring). ``wait``:
    how long to wait for another detection at work on the storyline (None: as it takes)."""
    first = store_backfill.earliest_unassessed(store, storyline_id, window.start)
    if first is None or not store_backfill.assessed_after(store, storyline_id, first):
        return detect_storyline(
            config, storyline_id, store, run_id=run_id, hold_backfills=False, wait=wait
        )
    log.info("%s: replaying from %s (later articles were judged already)", storyline_id, window)
    storyline = compile_storyline(config, storyline_id, store)

    def plan(view: StorylineTransaction) -> Writer:
        write = plan_redetection(view, storyline, window.start, run_id, hold_backfills=False)
        return lambda tx: _write_keeping_told(store, tx, write, storyline_id, window, run_id)

    report = run_detection(store, storyline_id, plan, wait=wait)
    log_detection(report, "re-detected")
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
    config: Config, storyline_id: str, store: Store, run_id: str | None
) -> list[StorylineDetection]:
    """Finish what stopped backfills left: a backfill that died (or was stopped, or ran for
    another storyline) leaves articles the storyline has not judged. Live detection would
    take today's memory for them; this replays their days as of the time, as the backfill
    would have, and settles them as it would have (its --email: one digest marked as a
    backfill; without: recorded, not mailed)."""
    reports = []
    for stopped in store_backfill.stopped_backfills(store, storyline_id):
        window = Window(stopped.first.date(), stopped.last.date())
        log.warning(
            "%s: backfill %s (started %s) stopped with %d articles not judged: "
            "replaying %s as of the time",
            storyline_id,
            stopped.run_id,
            f"{stopped.started_at:%Y-%m-%d %H:%M} UTC",
            stopped.articles,
            window,
        )
        report = detect_window(config, storyline_id, store, window, run_id, LIVE_WAIT_SECONDS)
        reports.append(report)
        if report.deferred:  # a backfill's replay is at work: this waits for the next run
            break
        if stopped.email:
            compose_window_digests(config, store, window, [storyline_id], run_id)
        else:
            record_window_quietly(config, store, window, [storyline_id], run_id)
    return reports


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
) -> BackfillReport:
    """``backfill_collect`` from a config path: fetch and store the window's entries."""
    from storywatch.config import load_config

    config = load_config(config_path)
    store = Store.open(config.database_url)
    try:
        window = Window.parse(since, until)
        return backfill_collect(config, store, window, run_id, sources, email)
    finally:
        store.close()


def release_configured(config_path: str, run_id: str) -> None:
    """The backfill ``run_id`` has ended: live runs may judge what it left (see
    ``judge_stopped_backfills``)."""
    from storywatch.config import load_config

    store = Store.open(load_config(config_path).database_url)
    try:
        store_backfill.release(store, run_id)
    finally:
        store.close()


def detect_window_configured(
    config_path: str, storyline_id: str, since: str, until: str, run_id: str | None
) -> StorylineDetection:
    from storywatch.config import load_config

    config = load_config(config_path)
    store = Store.open(config.database_url)
    try:
        if run_id is not None:
            store_backfill.beat(store, run_id)  # a long collect must not look like a death
        return detect_window(config, storyline_id, store, Window.parse(since, until), run_id)
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
    """With ``email``: compose the window's digests (sent by the send stage); without: record
    the window's developments as handled. Returns what was composed."""
    from storywatch.config import load_config

    config = load_config(config_path)
    window = Window.parse(since, until)
    store = Store.open(config.database_url)
    try:
        if email:
            return compose_window_digests(config, store, window, storylines, run_id)
        placed = record_window_quietly(config, store, window, storylines, run_id)
        log.info("backfill of %s: %d developments recorded without mail", window, placed)
        return []
    finally:
        store.close()
