"""`storywatch serve`: the flows as deployments with the schedules from sources.yaml, served
by Prefect's runner in this process until it is stopped (Ctrl-C, SIGTERM).

| deployment                    | flow                           | schedule                   |
|-------------------------------|--------------------------------|----------------------------|
| run/ingest                    | flows.run:run                  | every ingest.every_minutes |
| digest/<storyline id>         | flows.digest:digest            | its cron, in its time zone |
|                               | (scheduled-mode storylines)    |                            |
| backfill/storywatch-backfill  | flows.backfill:backfill        | none: UI, with parameters  |
| backfill-by-day/backfill-by-day | flows.backfill:backfill_by_day | none: per-day runs of it |

Every deployment's parameters carry the config's absolute path. Overlapping runs are
prevented by a deployment concurrency limit of one: a new run of `run` or a digest while one
is running is cancelled (its state says "Deployment concurrency limit reached." and the
runner logs "Aborted submission"); the per-day backfill runs wait their turn instead (one
day at a time, in order; a submitted day is never dropped). The server needs to be a
long-lived one (storywatch.prefect_server picks or starts it); Prefect's temporary server
cannot schedule.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from datetime import timedelta
from typing import Any

from prefect import aserve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import Flow
from prefect.types.entrypoint import EntrypointType

from flows.digest import digest
from flows.run import run
from storywatch.config.config import Config, load_config

log = logging.getLogger("storywatch.serve")

TAGS = ["storywatch"]
INGEST_DEPLOYMENT = "ingest"
BACKFILL_DEPLOYMENT = "backfill"
BACKFILL_BY_DAY_DEPLOYMENT = "backfill-by-day"

# A second run while one is running is cancelled, not queued: the next scheduled run picks up
# whatever is pending, so a queue of runs would only repeat the same work.
CANCEL_OVERLAP = ConcurrencyLimitConfig(
    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
)
# Per-day backfill runs queue instead: each day is replayed once, one at a time.
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)

RETRY_DELAY = 10.0  # seconds before serving again after the runner lost the API
MAX_QUICK_FAILURES = 5  # give up after this many failures in a row, each within ...
QUICK = 300.0  # ... this many seconds of serving


def build_deployments(config: Config) -> list[RunnerDeployment]:
    """Every deployment `serve` registers for ``config`` (see the module docstring)."""
    config_path = str(config.path.resolve())
    deployments = [ingest_deployment(config, config_path)]
    deployments += digest_deployments(config, config_path)
    deployments += backfill_deployments(config_path)
    return deployments


def ingest_deployment(config: Config, config_path: str) -> RunnerDeployment:
    every = timedelta(minutes=config.ingest.every_minutes)
    return _deployment(
        run,
        INGEST_DEPLOYMENT,
        {"config_path": config_path, "kind": "scheduled"},
        schedules=[IntervalSchedule(interval=every)],
        description=f"Ingest, cluster, detect and mail immediate digests every {every}.",
    )


def digest_deployments(config: Config, config_path: str) -> list[RunnerDeployment]:
    deployments = []
    for storyline in config.storylines:
        settings = config.digest_for(storyline)
        if settings.mode != "scheduled" or not settings.schedule:
            continue
        try:
            schedule = CronSchedule(cron=settings.schedule, timezone=settings.timezone)
        except ValueError as exc:
            raise ValueError(
                f"{config.path}: storyline {storyline.id}: digest schedule "
                f"{settings.schedule!r} is not a valid cron: {exc}"
            ) from None
        deployments.append(
            _deployment(
                digest,
                storyline.id,
                {"config_path": config_path, "storylines": [storyline.id]},
                schedules=[schedule],
                description=f"The {storyline.title} digest at {settings.schedule} "
                f"({settings.timezone}).",
            )
        )
    return deployments


def backfill_deployments(config_path: str) -> list[RunnerDeployment]:
    """The backfill flow and its per-day driver, when this version has them."""
    try:
        module = importlib.import_module("flows.backfill")
    except ModuleNotFoundError as exc:
        if exc.name != "flows.backfill":
            raise
        log.info("no backfill flow in this version: backfill is not served")
        return []
    backfill: Flow[..., Any] = module.backfill
    backfill_by_day: Flow[..., Any] = module.backfill_by_day
    # The driver's default target, when it names one: the same deployment with or without
    # the parameter (which is set anyway).
    target = getattr(module, "BACKFILL_DEPLOYMENT", f"{backfill.name}/{BACKFILL_DEPLOYMENT}")
    return [
        _deployment(
            backfill,
            target.split("/", 1)[1],
            {"config_path": config_path},
            concurrency=ONE_AT_A_TIME,
        ),
        _deployment(
            backfill_by_day,
            BACKFILL_BY_DAY_DEPLOYMENT,
            {"config_path": config_path, "deployment": target},
        ),
    ]


def _deployment(
    flow: Flow[..., Any],
    name: str,
    parameters: dict[str, Any],
    *,
    schedules: list[IntervalSchedule | CronSchedule] | None = None,
    concurrency: ConcurrencyLimitConfig = CANCEL_OVERLAP,
    description: str | None = None,
) -> RunnerDeployment:
    return RunnerDeployment.from_flow(
        flow,
        name=name,
        schedules=schedules,
        paused=False,
        concurrency_limit=concurrency,
        parameters=parameters,
        description=description,
        tags=TAGS,
        # flows is an installed package: the runner imports flows.run:run from any folder.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def describe(deployment: RunnerDeployment) -> str:
    """One line for the log: name, schedule, what happens to an overlapping run."""
    schedules = [s.schedule for s in deployment.schedules or []]
    when = ", ".join(_when(s) for s in schedules) or "on demand (Prefect UI or API)"
    options = deployment.concurrency_options
    overlap = "cancelled" if options and options.collision_strategy == "CANCEL_NEW" else "queued"
    return f"{deployment.flow_name}/{deployment.name}: {when}; an overlapping run is {overlap}"


def _when(schedule: Any) -> str:
    if isinstance(schedule, IntervalSchedule):
        return f"every {schedule.interval}"
    if isinstance(schedule, CronSchedule):
        return f"cron {schedule.cron!r} ({schedule.timezone})"
    return str(schedule)


async def serve_config(config_path: str) -> None:
    """Serve ``config_path``'s deployments until stopped. If the runner gives up on the API
    (a restarting local server, a network cut), serve again after a pause, up to a limit."""
    deployments = build_deployments(load_config(config_path))
    for deployment in deployments:
        log.info("serving %s", describe(deployment))
    failures = 0
    while True:
        started = time.monotonic()
        try:
            # No start-up banner: stdout carries data only; the lines above went to stderr.
            await aserve(*deployments, print_starting_message=False)
            return
        except Exception as exc:
            failures = failures + 1 if time.monotonic() - started < QUICK else 1
            if failures >= MAX_QUICK_FAILURES:
                raise
            log.warning(
                "serving stopped on an error (%s); serving again in %.0f s", exc, RETRY_DELAY
            )
            await asyncio.sleep(RETRY_DELAY)


def serve_until_stopped(config_path: str) -> None:
    asyncio.run(serve_config(config_path))
