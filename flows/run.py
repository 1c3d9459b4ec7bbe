"""The `run` flow: one pass of the whole pipeline, what `storywatch run` starts.

ingest -> cluster near-duplicates -> detect developments -> digest (immediate-mode storylines;
scheduled ones wait for their schedule; ``send_email=False`` skips the stage).
The stages run inline (the same tasks and artifacts as the `ingest` and `detect` flows), not as
subflows: each subflow costs ~0.3 s of orchestration, which a one-off run should not pay. Every
stage reads its input from the store, so a stage that fails leaves the earlier stages' work in
place and the next run picks up what is pending.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from flows.detect import detect_steps
from flows.digest import digest_steps
from flows.ingest import ingest_steps
from flows.task_runners import stage_runner
from storywatch.config.config import Config, load_config
from storywatch.digest.compose import immediate_storylines
from storywatch.pipeline.cluster import ClusterReport, cluster_new_articles
from storywatch.pipeline.ingest import new_run_id
from storywatch.store.repository import open_store


@task(name="cluster-articles", cache_policy=NONE, retries=2, retry_delay_seconds=2)
def cluster_articles(database_url: str) -> ClusterReport:
    with open_store(database_url) as store:
        return cluster_new_articles(store)


@flow(name="run", log_prints=False)
async def run(
    config_path: str, kind: str = "run", send_email: bool = True
) -> quote:  # an IngestReport, quoted
    """Ingest every enabled source, fold near-duplicates, detect new developments, and mail
    the immediate-mode storylines' digests (unless ``send_email`` is False). The ingest report
    comes quoted, as from the ingest flow (flows/ingest.py)."""
    run_id = flow_run.get_id() or new_run_id()
    config = load_config(config_path)
    with stage_runner(
        config.ingest, config.database_url
    ) as runner:  # a Dask cluster (if any) for both stages
        report = await ingest_steps(config, kind, run_id, runner)
        cluster_articles(config.database_url)
        await detect_steps(config_path, config, run_id, runner)
    if send_email:
        await digest_stage(config_path, config, run_id)
    return quote(report)


async def digest_stage(config_path: str, config: Config, run_id: str) -> None:
    """The digest stage never fails the run: what was stored stays, and whatever was not
    sent stays pending for the next run (its error is in the log and the deliveries table)."""
    storylines = immediate_storylines(config)
    if not storylines:
        return
    try:
        await digest_steps(config_path, storylines, run_id)
    except Exception:
        get_run_logger().exception("digest stage failed; pending digests go out next run")
