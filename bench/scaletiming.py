"""Time inside storywatch's library calls during a flow run, for bench/scale.py.

``install()`` wraps the library functions the ingest flow calls (in the flow's module, and the
store methods it uses) so that each call appends ``start end`` (wall-clock seconds) to the file
named by $STORYWATCH_BENCH_TIMING. bench/scale.py installs it in its own process and, as a Dask
worker preload, in every worker process, so chunks run on the cluster are timed too.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

_WRAPPED = "_storywatch_bench_timed"


def _record(start: float) -> None:
    path = os.environ.get("STORYWATCH_BENCH_TIMING")
    if path:
        with open(path, "a", encoding="ascii") as out:  # one short line: atomic with O_APPEND
            out.write(f"{start:.6f} {time.time():.6f}\n")


def _timed(fn: Any) -> Any:
    if getattr(fn, _WRAPPED, False):
        return fn
    if _is_async(fn):

        @functools.wraps(fn)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start = time.time()
            try:
                return await fn(*args, **kwargs)
            finally:
                _record(start)

        setattr(timed_async, _WRAPPED, True)
        return timed_async

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return fn(*args, **kwargs)
        finally:
            _record(start)

    setattr(timed, _WRAPPED, True)
    return timed


def _is_async(fn: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(fn)


def install() -> None:
    """Time the library calls of the ingest flow (in its module) and of the store."""
    import flows.ingest as module

    for name in (
        "load_config",
        "plan_fetches",
        "split_fetches",
        "fetch_and_store",
        "gather_reports",
        "finish_ingest",
    ):
        setattr(module, name, _timed(getattr(module, name)))
    install_store()


def install_store() -> None:
    from storywatch.store.repository import Store

    for method in ("start_run",):
        setattr(Store, method, _timed(getattr(Store, method)))
    opened = Store.__dict__["open"].__func__
    if not getattr(opened, _WRAPPED, False):
        Store.open = classmethod(_timed(opened))  # type: ignore[method-assign,assignment]


def dask_setup(worker: Any = None) -> None:
    """Dask's preload hook: time the library calls of tasks run in this worker process.

    A task's function comes to the worker with the names it calls as they were in the flow's
    process (``fetch_and_store`` already timed there); the store is the worker's own. The
    library only: the workers run no Prefect (flows/task_runners.py), so none is imported."""
    install_store()


def library_spans(path: str, since: float, until: float) -> list[tuple[float, float]]:
    """The library calls' wall-clock spans within [since, until], merged where they overlap."""
    spans = []
    if os.path.exists(path):
        with open(path, encoding="ascii") as lines:
            for line in lines:
                start, end = map(float, line.split())
                if end >= since and start <= until:
                    spans.append((max(start, since), min(end, until)))
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def library_seconds(path: str, since: float, until: float) -> float:
    """Wall time covered by at least one library call (overlapping calls counted once)."""
    return sum(end - start for start, end in library_spans(path, since, until))


def gaps(
    path: str, since: float, until: float, shortest: float = 0.05
) -> list[tuple[float, float]]:
    """Where no library call ran (the overhead), as (start, length) from ``since``: the gaps
    of at least ``shortest`` seconds."""
    found, reach = [], since
    for start, end in [*library_spans(path, since, until), (until, until)]:
        if start - reach >= shortest:
            found.append((reach - since, start - reach))
        reach = max(reach, end)
    return found
