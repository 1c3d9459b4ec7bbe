"""Chunks: a run's fetches split into a few parts that run side by side, each part its own
fetch -> parse -> store stream (``storywatch.ingest.fetch_and_store``), on threads of one process
or on the workers of a Dask cluster (``ingest.task_runner``, ``ingest.chunks``).

Deciding only (pure): which sources go in which chunk and with what share of the limits. Sources
are grouped by host, so a host usually sits in one chunk and its ``per_host`` bound holds as
configured; a host bigger than a chunk is spread over several, each with its share of
``per_host`` (at least one). The global ``concurrency`` is shared out the same way. Exactly
once still holds across chunks and machines: the store's unique constraints decide.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from storywatch.config import IngestSettings
from storywatch.fetch import FetchLimits, FetchRequest
from storywatch.ingest import SourceReport


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
