"""The `detect` flow: the storyline stage after ingest, one task per storyline.

Each task is one library call (``storywatch.pipeline.tasks.detect_configured``): it finishes what
stopped backfills left, then detects in every article the storyline has not assessed yet and
stores the result in one transaction under the storyline's lock (computed beforehand under
its lease, no lock held), so a retry or an overlapping run never duplicates a development.
A table artifact lists the run's new developments.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NONE
from prefect.task_runners import TaskRunner

from flows.task_runners import results, submit
from storywatch.config.config import Config, load_config
from storywatch.pipeline.detect import StorylineDetection
from storywatch.pipeline.tasks import detect_configured


@task(
    name="detect-storyline",
    task_run_name="detect-{storyline_id}",
    cache_policy=NONE,
    retries=2,
    retry_delay_seconds=2,
)
def detect_storyline(
    config_path: str, storyline_id: str, run_id: str | None, database_url: str | None = None
) -> StorylineDetection:
    return detect_configured(config_path, storyline_id, run_id, database_url)


@flow(name="detect", log_prints=False)
async def detect(config_path: str, run_id: str | None = None) -> list[StorylineDetection]:
    """Detect new developments for every storyline of the config at ``config_path``."""
    return await detect_steps(config_path, load_config(config_path), run_id)


async def detect_steps(
    config_path: str, config: Config, run_id: str | None, runner: TaskRunner[Any] | None = None
) -> list[StorylineDetection]:
    """The detect flow's body, also run inline by the `run` flow (a subflow costs ~0.3 s).
    With a (Dask) ``runner``, the storylines are detected side by side on its workers."""
    logger = get_run_logger()
    if runner is None:
        reports = [detect_storyline(config_path, s.id, run_id) for s in config.storylines]
    else:  # on workers whose environment may lack STORYWATCH_DATABASE_URL: say it
        reports = await results(
            [
                submit(
                    detect_storyline,
                    runner,
                    config_path=config_path,
                    storyline_id=s.id,
                    run_id=run_id,
                    database_url=config.database_url,
                )
                for s in config.storylines
            ]
        )
    rows = [row for report in reports for row in report.table()]
    await acreate_table_artifact(
        table=rows or [{"storyline": "", "id": "", "title": "no new development"}],
        key="new-developments",
        description=f"{len(rows)} new developments",
    )
    logger.info("%d new developments", len(rows))
    return reports
