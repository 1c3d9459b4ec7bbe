"""Chunks: a run's fetches split into a few parts that run side by side, each part its own
fetch -> parse -> store stream (``storywatch.pipeline.ingest.fetch_and_store``), on threads of
one process or on the workers of a Dask cluster (``ingest.task_runner``, ``ingest.chunks``).

Deciding (pure): which sources go in which chunk and with what share of the limits. Sources
are grouped by host, so a host usually sits in one chunk and its ``per_host`` bound holds as
configured; a host bigger than a chunk is spread over several, each with its share of
``per_host`` (at least one). The global ``concurrency`` is shared out the same way. Exactly
once still holds across chunks and machines: the store's unique constraints decide.

Running, on a cluster's worker (``run_in_worker``): a chunk's call, its library log records
kept to be sent back to the flow, which logs them in the task's run. No Prefect there. A
LocalCluster's worker processes fork from this process's forkserver, which imports what they
run once (``WORKER_MODULES``); ``start_worker_server`` starts it ahead of the cluster.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import multiprocessing
import multiprocessing.forkserver
from collections import Counter
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from storywatch.config.config import IngestSettings
from storywatch.fetch.model import FetchLimits, FetchRequest
from storywatch.pipeline.ingest import SourceReport

# What a worker runs a stage's task function with (never Prefect): preloaded by the forkserver.
WORKER_MODULES = (
    "distributed",
    "storywatch.pipeline.chunks",
    "storywatch.pipeline.ingest",
    "storywatch.store.repository",
    "storywatch.pipeline.detect",
)


def preload_worker_modules() -> None:
    """Have this process's forkserver (started with the first process it forks) import
    ``WORKER_MODULES`` once, so that each worker forks with them loaded. A server already
    running keeps the preload it started with."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_MODULES))


def start_worker_server() -> None:
    """Start the forkserver now, where forkserver exists: its imports (1.2-1.5 s, on a core of
    their own) then overlap the caller's start-up (Prefect's import and the flow run's start)
    instead of delaying a LocalCluster's first task."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        preload_worker_modules()
        multiprocessing.forkserver.ensure_running()


@dataclass(frozen=True)
class FetchChunk:
    """One task's share of a run: its sources, its limits, and its parse workers (None: the
    library's default, a process pool for big runs; 1: parse in the task, as in a Dask worker
    process, which may not start processes of its own)."""

    requests: list[FetchRequest]
    limits: FetchLimits
    parse_workers: int | None = None


def split_fetches(requests: Sequence[FetchRequest], settings: IngestSettings) -> list[FetchChunk]:
    """The run's fetches as ``settings.chunk_count`` chunks of near-equal size (fewer when
    there are fewer sources), grouped by host."""
    limits = settings.fetch_limits()
    count = max(1, min(settings.chunk_count, len(requests)))
    parse_workers = 1 if settings.task_runner == "dask" and _in_processes(settings) else None
    if count == 1:
        return [FetchChunk(list(requests), limits, parse_workers)]
    ordered = sorted(requests, key=lambda r: _host(r.url))  # stable: config order within a host
    size = math.ceil(len(ordered) / count)
    parts = [ordered[i : i + size] for i in range(0, len(ordered), size)]
    spread = Counter(host for part in parts for host in {_host(r.url) for r in part})
    concurrency = max(1, limits.concurrency // len(parts))
    return [
        FetchChunk(
            part,
            replace(
                limits,
                concurrency=concurrency,
                per_host=max(1, min(limits.per_host // spread[_host(r.url)] for r in part)),
            ),
            parse_workers,
        )
        for part in parts
    ]


def gather_reports(
    requests: Sequence[FetchRequest], parts: Sequence[Sequence[SourceReport]]
) -> list[SourceReport]:
    """The chunks' source reports in the run's order (the config's order of sources)."""
    by_source = {report.source: report for part in parts for report in part}
    return [by_source[r.source] for r in requests if r.source in by_source]


def _in_processes(settings: IngestSettings) -> bool:
    # Workers of a cluster at an address are processes (dask-worker, dask-scheduler); a
    # LocalCluster's are unless dask_processes is false.
    return settings.dask_address is not None or settings.dask_processes


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


LOGGER = "storywatch"


def run_in_worker(
    fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any], level: int
) -> tuple[Any, list[logging.LogRecord]]:
    """Call a chunk's (or any stage task's) function where a cluster's worker runs it: a
    coroutine function in an event loop of its own. Returns its result and the library's log
    records of this call at ``level`` and above (the flow's level), ready to be sent back; when
    it raises, the records ride on the exception as ``log_records``."""
    keep = _Keep(level)
    logger = logging.getLogger(LOGGER)
    before = logger.level
    logger.setLevel(level)
    logger.addHandler(keep)
    token = _CALL.set(keep)
    try:
        outcome = fn(*args, **kwargs)
        if inspect.iscoroutine(outcome):
            outcome = asyncio.run(outcome)
    except BaseException as exc:
        exc.log_records = keep.records  # type: ignore[attr-defined]
        raise
    finally:
        _CALL.reset(token)
        logger.removeHandler(keep)
        logger.setLevel(before)
    return outcome, keep.records


_CALL: ContextVar[logging.Handler | None] = ContextVar("storywatch_worker_call", default=None)


class _Keep(logging.Handler):
    """Keeps the records logged in one ``run_in_worker`` call (its context: its event loop and
    the threads it hands work to), as plain picklable records."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if _CALL.get() is not self:
            return
        kept = logging.makeLogRecord(record.__dict__)
        kept.msg, kept.args = record.getMessage(), None
        if record.exc_info:
            kept.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            kept.exc_info = None
        self.records.append(kept)
