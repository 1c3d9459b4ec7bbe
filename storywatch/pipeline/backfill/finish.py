"""Finishing stopped backfills: the step before live detection of a storyline.

A backfill that died or failed still owns its window; live detection leaves that window
alone. This step judges such a window as of its time (``judge.detect_window``) and settles it
(``settle.settle_window``) as the backfill would have; ``pipeline.tasks.detect_configured``
runs it before ``detect.detect_storyline``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from storywatch.config.config import Config
from storywatch.pipeline.backfill.judge import detect_window
from storywatch.pipeline.backfill.settle import settle_window
from storywatch.pipeline.backfill.window import Window
from storywatch.pipeline.detect import LIVE_WAIT_SECONDS, StorylineDetection
from storywatch.store.repository import Store

log = logging.getLogger(__name__)


def judge_stopped_backfills(
    config: Config, storyline_id: str, store: Store
) -> list[StorylineDetection]:
    """Finish what stopped backfills left: a backfill that died or failed owns its window
    until it settles it, so live detection and digests leave the window alone; this replays
    the window as of the time, as the backfill would have, and settles it as it would have
    (its --email: one digest marked as a backfill; without: recorded, not mailed). A window a
    backfill held for a storyline it was not run for is judged the same way and recorded."""
    reports = []
    for stopped in store.stopped_backfills(storyline_id):
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
