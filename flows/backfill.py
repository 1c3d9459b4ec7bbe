"""The `backfill` flow: replay a past window (UTC days, both ends inclusive).

collect (feeds, RFC 5005 archives, archive templates; only entries published in the window)
-> cluster near-duplicates -> detect as of the time, one task per storyline -> settle: with
``email`` one digest per recipient marked as a backfill (then sent, exactly once), without it
the window's developments are recorded as handled. Each task is one library call; each
stage reads its input from the store, so a rerun of an interrupted backfill picks up where
it stopped and a repeated one adds and sends nothing.

`backfill_by_day` is the driver for long windows from the Prefect UI: it runs the `backfill`
deployment once per day, oldest first (novelty needs publication order), each with an
idempotency key, so submitting the same window twice creates no second run of any day.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NONE
from prefect.deployments import run_deployment
from prefect.runtime import flow_run

from flows.digest import send_digests
from flows.email_blocks import smtp_settings_from_blocks
from flows.run import cluster_articles
from storywatch.config.config import load_config
from storywatch.pipeline.backfill.collect import BackfillReport
from storywatch.pipeline.backfill.window import Window, select_storylines
from storywatch.pipeline.detect import StorylineDetection
from storywatch.pipeline.digests import ComposedDigest
from storywatch.pipeline.ingest import new_run_id
from storywatch.pipeline.tasks import (
    backfill_at_work,
    collect_configured,
    detect_window_configured,
    open_backfill_configured,
    settle_window_configured,
)

BACKFILL_DEPLOYMENT = "backfill/storywatch-backfill"


@task(name="collect-window", cache_policy=NONE, retries=1, retry_delay_seconds=2)
def collect_window(
    config_path: str,
    since: str,
    until: str,
    run_id: str,
    sources: list[str] | None,
    email: bool = False,
    storylines: list[str] | None = None,
) -> BackfillReport:
    # A retry refetches, and the store keeps only what it lacks: nothing is counted twice.
    return collect_configured(config_path, since, until, run_id, sources, email, storylines)


@task(
    name="detect-window",
    task_run_name="detect-window-{storyline_id}",
    cache_policy=NONE,
    retries=2,
    retry_delay_seconds=2,
)
def detect_window(
    config_path: str,
    storyline_id: str,
    since: str,
    until: str,
    run_id: str,
    owner: str | None = None,
) -> StorylineDetection:
    return detect_window_configured(config_path, storyline_id, since, until, run_id, owner)


@task(name="settle-window", cache_policy=NONE, retries=2, retry_delay_seconds=2)
def settle_window(
    config_path: str, since: str, until: str, storylines: list[str], email: bool, run_id: str
) -> list[ComposedDigest]:
    return settle_window_configured(config_path, since, until, storylines, email, run_id)


@flow(name="backfill", log_prints=False)
async def backfill(
    config_path: str,
    since: str,
    until: str,
    email: bool = False,
    storyline: str | None = None,
    sources: list[str] | None = None,
    settle: bool = True,
    owner: str | None = None,
) -> BackfillReport:
    """Replay the window ``since``..``until`` (YYYY-MM-DD, UTC, inclusive). ``settle=False``
    leaves mailing (or recording as handled) to ``owner``, the run covering a longer window
    (a backfill-by-day driver), which owns the window meanwhile."""
    logger = get_run_logger()
    config = load_config(config_path)  # fail fast, listing every problem
    window = Window.parse(since, until)
    storylines = select_storylines(config, storyline)
    run_id = flow_run.get_id() or new_run_id()
    # At work (beating) until it ends, done or not; what it leaves unsettled, the next live
    # run finishes as of the time.
    with backfill_at_work(config_path, run_id):
        owned = storylines if settle else []  # a day run's window is its driver's
        report = collect_window(config_path, since, until, run_id, sources, email, owned)
        cluster_articles(config.database_url)
        detections = [
            detect_window(config_path, s, since, until, run_id, owner) for s in storylines
        ]
        if settle:
            settle_window(config_path, since, until, storylines, email, run_id)
    if settle and email:
        send_digests(config_path, await smtp_settings_from_blocks(config))
    found = sum(len(d.developments) for d in detections)
    await acreate_table_artifact(
        table=report.table() or [{"source": "", "reach": "no source"}],
        key="backfill-summary",
        description=f"backfill {window}: {report.in_window} entries in the window, "
        f"{report.new_articles} new, {found} developments",
    )
    logger.info(
        "backfill %s: %d sources read, %d failed, %d entries in the window, %d new, "
        "%d developments",
        window,
        report.fetched,
        report.failed,
        report.in_window,
        report.new_articles,
        found,
    )
    return report


def day_run_key(
    config_path: str, day: str, storyline: str | None, sources: list[str] | None
) -> str:
    """The idempotency key of one day's run: the same day of the same scope is one run."""
    scope = f"{config_path}|{storyline or '*'}|{','.join(sorted(sources or [])) or '*'}"
    return f"backfill:{scope}:{day}"


@flow(name="backfill-by-day", log_prints=False)
async def backfill_by_day(
    config_path: str,
    since: str,
    until: str,
    email: bool = False,
    storyline: str | None = None,
    sources: list[str] | None = None,
    deployment: str = BACKFILL_DEPLOYMENT,
) -> list[str]:
    """Run the backfill deployment once per day of the window, oldest first, waiting for each;
    then send one digest for the whole window (``email``) or record it as handled. Returns the
    day runs' ids."""
    logger = get_run_logger()
    window = Window.parse(since, until)
    storylines = select_storylines(load_config(config_path), storyline)
    run_id = flow_run.get_id() or new_run_id()
    run_ids = []
    with backfill_at_work(config_path, run_id):  # the window is this run's until it settles
        open_backfill_configured(config_path, run_id, since, until, email, storylines)
        for day in window.days():
            iso = day.isoformat()
            run = await _run_day(deployment, config_path, iso, storyline, sources, run_id)
            run_ids.append(str(run.id))
            logger.info("backfill of %s: run %s %s", day, run.id, run.state_name)
            if not (run.state and run.state.is_completed()):
                # Later days are judged against this one: stop and say which day.
                raise RuntimeError(
                    f"backfill of {day} ended {run.state_name}: later days were not run; "
                    "the next scheduled run settles what was stored (submit the window "
                    "again to fetch the rest: finished days are not run again)"
                )
        settle_window(config_path, since, until, storylines, email, run_id)
    if email:
        send_digests(config_path, await smtp_settings_from_blocks(load_config(config_path)))
    return run_ids


DAY_ATTEMPTS = 3  # a day whose keyed run failed is submitted again under a new key


async def _run_day(
    deployment: str,
    config_path: str,
    day: str,
    storyline: str | None,
    sources: list[str] | None,
    owner: str,
) -> Any:
    """One day's run of the backfill deployment, waited for. Its idempotency key makes a
    resubmitted window reuse finished days; a day whose earlier run failed or crashed gets a
    fresh attempt (Prefect hands back the failed run for a reused key)."""
    key = day_run_key(config_path, day, storyline, sources)
    run: Any = None
    for attempt in range(1, DAY_ATTEMPTS + 1):
        run = await run_deployment(  # type: ignore[misc]  # sync/async dispatch
            name=deployment,
            parameters={
                "config_path": config_path,
                "since": day,
                "until": day,
                "email": False,
                "storyline": storyline,
                "sources": sources,
                "settle": False,  # one digest (or record) for the whole window, below
                "owner": owner,
            },
            idempotency_key=key if attempt == 1 else f"{key}:attempt-{attempt}",
            flow_run_name=f"backfill-{day}",
            as_subflow=False,
        )
        if run.state is None or not (run.state.is_failed() or run.state.is_crashed()):
            return run
    return run
