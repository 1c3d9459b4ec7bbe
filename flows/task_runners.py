"""Where a stage's tasks run: ``ingest.task_runner`` in sources.yaml.

``default``: the flow's own task runner (Prefect's thread pool): the ingest chunks run side by
side in threads of the flow's process, detection runs one storyline after another as before.
``dask``: a DaskTaskRunner (extra ``dask``, prefect-dask) on the cluster at ``dask_address``,
or on a dask.distributed LocalCluster of ``dask_workers`` workers started for the run and
closed after it; the ingest chunks and the per-storyline detections are submitted to it. One
runner serves every stage of a run, so a LocalCluster starts once.

Tasks on Dask workers get their database URL as a parameter and read the config file at its
path: on other machines, both must be reachable under the same names.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from prefect import Task
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner

from storywatch.config import IngestSettings

R = TypeVar("R")


log = logging.getLogger(__name__)


@contextmanager
def stage_runner(
    settings: IngestSettings, database_url: str = ""
) -> Iterator[TaskRunner[Any] | None]:
    """The Dask task runner the settings ask for, started; None for the flow's own runner."""
    if settings.task_runner != "dask":
        yield None
        return
    if database_url.startswith("sqlite") and (settings.dask_address or settings.dask_processes):
        # SQLite takes one writer at a time: worker processes then queue on its lock, and a
        # long wait ends in "database is locked". Several workers want PostgreSQL.
        log.warning("task_runner dask with SQLite: set STORYWATCH_DATABASE_URL to PostgreSQL")
    with dask_runner(settings) as runner:
        yield runner


def dask_runner(settings: IngestSettings) -> TaskRunner[Any]:
    from prefect_dask import DaskTaskRunner

    # dask.distributed logs every connection at INFO: keep its warnings and errors only.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": 1,
            "processes": settings.dask_processes,
            "dashboard_address": None,
        }
    )


def submit(task: Task[..., R], runner: TaskRunner[Any] | None, **parameters: Any) -> Any:
    """Submit ``task`` to ``runner``, or to the flow's own task runner when it is None."""
    if runner is None:
        return task.submit(**parameters)
    return runner.submit(task, parameters)


async def results(futures: Sequence[PrefectFuture[R]]) -> list[R]:
    """Every future's result, waited for off the flow's event loop (in submission order)."""
    return list(await asyncio.gather(*(asyncio.to_thread(f.result) for f in futures)))
