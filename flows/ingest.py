"""The `ingest` flow: fetch every enabled source, parse, dedupe exactly, store.

`storywatch run` runs it inside the `run` flow (flows/run.py), which then clusters and detects.

Fetching, parsing and storing are one task for all sources: the library streams each feed
through the stages as it arrives (bounding concurrency and time per source); per-source tasks
would cost ~10 ms of orchestration each. Past one machine (``ingest.chunks``, ``task_runner``)
the sources are split into a few chunks, one such task each, run side by side in threads or on
a Dask cluster (flows/task_runners.py). Storing is idempotent per run, so a task's retry never
counts a source twice. The flow is async:
fetching is natively async, and Prefect's sync flow calls cost ~1 s more each.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.task_runners import TaskRunner
from prefect.utilities.annotations import quote

from flows.task_runners import quoted, results, stage_runner, submit
from storywatch.config.config import Config, load_config
from storywatch.fetch.model import FetchLimits, FetchRequest
from storywatch.pipeline.chunks import gather_reports, split_fetches
from storywatch.pipeline.ingest import (
    IngestReport,
    SourceReport,
    fetch_and_store,
    finish_ingest,
    new_run_id,
    plan_fetches,
)
from storywatch.store.repository import Store, open_store
from storywatch.store.schema import utcnow


@task(name="fetch-and-store", cache_policy=NONE, retries=1, retry_delay_seconds=2)
async def fetch_and_store_feeds(
    database_url: str,
    requests: list[FetchRequest],
    limits: FetchLimits,
    source_ids: dict[str, int],
    run_id: str,
    max_age_days: float | None,
    parse_workers: int | None = None,
) -> list[SourceReport]:
    # One task, not fetch then store: the library streams each feed through parse and store
    # as it arrives. A retry skips sources this run already recorded.
    with open_store(database_url) as store:
        return await fetch_and_store(
            requests,
            limits,
            store,
            source_ids,
            run_id=run_id,
            max_age_days=max_age_days,
            workers=parse_workers,
        )


@flow(name="ingest", log_prints=False)
async def ingest(config_path: str, kind: str = "run") -> quote:  # an IngestReport, quoted
    """Fetch, parse, dedupe and store every enabled source of the config at ``config_path``.
    The report comes quoted (``.unquote()``): Prefect searches an unquoted return value for
    futures, which took 0.3 s at the end of a 2,000-source run (bench/RESULTS.md, Scale)."""
    run_id = flow_run.get_id() or new_run_id()
    config = load_config(config_path)
    with stage_runner(config.ingest, config.database_url) as runner:
        return quote(await ingest_steps(config, kind, run_id, runner))


async def ingest_steps(
    config: Config, kind: str, run_id: str, runner: TaskRunner[Any] | None = None
) -> IngestReport:
    """The ingest flow's body, also run inline by the `run` flow (a subflow costs ~0.3 s).
    With ``ingest.chunks`` above 1 or a Dask ``runner``, each chunk of sources is one task
    (flows/task_runners.py). The per-source inputs go to the tasks quoted: else Prefect
    searches each of their items for futures, twice per task (0.07 s for 2,000 sources)."""
    logger = get_run_logger()
    with open_store(config.database_url) as store:
        report = await _ingest_into(store, config, kind, run_id, runner)
    await acreate_table_artifact(
        table=report.table(),
        key="ingest-summary",
        description=f"{report.fetched} fetched, {report.failed} failed, "
        f"{report.new_articles} new articles",
    )
    logger.info(
        "%d sources fetched, %d failed, %d new articles",
        report.fetched,
        report.failed,
        report.new_articles,
    )
    return report


async def _ingest_into(
    store: Store, config: Config, kind: str, run_id: str, runner: TaskRunner[Any] | None
) -> IngestReport:
    logger = get_run_logger()
    report = IngestReport(run_id=run_id, started_at=utcnow())
    store.start_run(report.run_id, kind, report.started_at)
    requests, source_ids = plan_fetches(config, store)
    chunks = split_fetches(requests, config.ingest)
    logger.info("fetching %d sources in %d chunk(s)", len(requests), len(chunks))
    if runner is None and len(chunks) == 1:  # the usual one task, without a submit
        report.sources = await fetch_and_store_feeds(
            config.database_url,
            quoted(chunks[0].requests),
            chunks[0].limits,
            quoted(source_ids),
            report.run_id,
            config.ingest.max_age_days,
        )
    else:
        futures = [
            submit(
                fetch_and_store_feeds,
                runner,
                database_url=config.database_url,
                requests=quoted(chunk.requests),
                limits=chunk.limits,
                source_ids=quoted(source_ids),
                run_id=report.run_id,
                max_age_days=config.ingest.max_age_days,
                parse_workers=chunk.parse_workers,
            )
            for chunk in chunks
        ]
        report.sources = gather_reports(requests, await results(futures))
    finish_ingest(store, report)
    return report
