"""One call per flow task: each opens the config and the store itself, and closes the store.

A Prefect task gets a config path (plain data crosses process and worker boundaries), so every
entry point here is the same three steps around one runner call: load the config, open its
store, call, close. ``configured_store`` is that frame; the functions below only say which
runner they call.

Live detection is two steps in this order (``detect_configured``): first finish what stopped
backfills left (``backfill.finish``), then detect the storyline's pending articles
(``detect``). Neither module imports the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from storywatch.config.config import Config, load_config
from storywatch.digest.send import DeliveryOutcome, deliver_pending
from storywatch.digest.smtp import SmtpSettings
from storywatch.pipeline.backfill.collect import BackfillReport, backfill_collect
from storywatch.pipeline.backfill.finish import judge_stopped_backfills
from storywatch.pipeline.backfill.judge import detect_window
from storywatch.pipeline.backfill.settle import settle_window
from storywatch.pipeline.backfill.window import Window, unasked_storylines
from storywatch.pipeline.detect import StorylineDetection, detect_storyline
from storywatch.pipeline.digests import ComposedDigest, compose_digests
from storywatch.store.repository import Store, open_store


@contextmanager
def configured_store(
    config: str | Config, database_url: str | None = None
) -> Iterator[tuple[Config, Store]]:
    """The config (``config`` a path to load, or one loaded already) and its store, open for
    the block and closed after it. ``database_url``: the flow's, when this runs on a worker
    whose environment may not have it (a Dask worker elsewhere)."""
    if not isinstance(config, Config):
        config = load_config(config)
    with open_store(database_url or config.database_url) as store:
        yield config, store


def detect_configured(
    config_path: str,
    storyline_id: str,
    run_id: str | None = None,
    database_url: str | None = None,
) -> StorylineDetection:
    """Live detection (what the flow's task runs): first the windows stopped backfills left
    unsettled, as of their time (``backfill.finish.judge_stopped_backfills``), then
    ``detect_storyline``. One report for both."""
    with configured_store(config_path, database_url) as (config, store):
        finished = judge_stopped_backfills(config, storyline_id, store)
        if finished and finished[-1].deferred:  # busy already: no second wait this run
            report = StorylineDetection(storyline=storyline_id, deferred=True)
        else:
            report = detect_storyline(config, storyline_id, store, run_id=run_id)
    for earlier in reversed(finished):
        report.assessed += earlier.assessed
        report.relevant += earlier.relevant
        report.developments[:0] = earlier.developments
        report.extended[:0] = earlier.extended
    return report


def compose_configured(
    config_path: str, storylines: Sequence[str] | None = None, run_id: str | None = None
) -> list[ComposedDigest]:
    """``compose_digests``: one digest per storyline and recipient of what is unsent."""
    with configured_store(config_path) as (config, store):
        return compose_digests(config, store, storylines=storylines, run_id=run_id)


def send_configured(
    config_path: str, per_storyline: Mapping[str, SmtpSettings] | None = None
) -> list[DeliveryOutcome]:
    """``deliver_pending`` with the STORYWATCH_SMTP_* environment (read before the store
    opens: a bad variable fails first)."""
    config = load_config(config_path)
    smtp = SmtpSettings.from_env()
    with configured_store(config) as (config, store):
        return deliver_pending(store, config.outbox_dir, smtp, per_storyline)


def collect_configured(
    config_path: str,
    since: str,
    until: str,
    run_id: str,
    sources: Sequence[str] | None,
    email: bool = False,
    storylines: Sequence[str] | None = None,
) -> BackfillReport:
    """``backfill_collect``: fetch and store the window's entries."""
    with configured_store(config_path) as (config, store):
        window = Window.parse(since, until)
        return backfill_collect(config, store, window, run_id, sources, email, storylines)


def detect_window_configured(
    config_path: str,
    storyline_id: str,
    since: str,
    until: str,
    run_id: str | None,
    owner: str | None = None,
) -> StorylineDetection:
    """``detect_window``: judge a backfilled window as of its time."""
    with configured_store(config_path) as (config, store):
        window = Window.parse(since, until)
        return detect_window(config, storyline_id, store, window, run_id, owner=owner)


def settle_window_configured(
    config_path: str,
    since: str,
    until: str,
    storylines: Sequence[str],
    email: bool,
    run_id: str | None,
) -> list[ComposedDigest]:
    """``settle_window``: mail or record the window's developments, then let the window go."""
    with configured_store(config_path) as (config, store):
        return settle_window(config, store, Window.parse(since, until), storylines, email, run_id)


@contextmanager
def backfill_at_work(config_path: str, run_id: str) -> Iterator[None]:
    """The backfill ``run_id`` is at work while the block runs (its heartbeat from a thread);
    released after, done or not: what it left unsettled, the next live run finishes."""
    with configured_store(config_path) as (_, store), store.keep_backfill_alive(run_id):
        yield


def open_backfill_configured(
    config_path: str, run_id: str, since: str, until: str, email: bool, storylines: Sequence[str]
) -> None:
    """``Store.open_backfill``: the window is the run's for ``storylines`` until it
    settles it (a backfill-by-day driver's, over its day runs)."""
    window = Window.parse(since, until)
    config = load_config(config_path)
    others = unasked_storylines(config, storylines)
    with configured_store(config) as (_, store):
        store.open_backfill(run_id, window.start, window.end, email, storylines, others)
