"""Where a stage's tasks run: ``ingest.task_runner`` in sources.yaml.

``default``: the flow's own task runner (Prefect's thread pool): the ingest chunks run side by
side in threads of the flow's process, detection runs one storyline after another as before.
``dask``: a :class:`ClusterTaskRunner` on the dask.distributed cluster at ``dask_address``, or
on a LocalCluster of ``dask_workers`` workers started for the run and closed after it; the
ingest chunks and the per-storyline detections are submitted to it. One runner serves every
stage of a run, so a LocalCluster starts once.

Prefect's engine runs each task in the flow's process and event loop (task run, states,
retries, logs: as with the default runner), and only the task's function runs on a worker.
prefect-dask's DaskTaskRunner ran the whole engine on the worker instead: each task built its
own API clients and settings there (0.4-0.7 s before the function started) and the workers
imported Prefect (about 2 s each when a LocalCluster starts). The workers now import only the
library; the library's log records come back with the result and are logged in the task run.

A LocalCluster starts in the background as the runner is entered, while the flow plans its
fetches and Prefect creates the task runs; it closes in the background after the run (the
process waits for that close before it exits). Its worker processes fork from a forkserver
that has imported distributed and the library once (``WORKER_MODULES``), instead of each being
spawned and importing them itself, the library on its first task: on 2 cores that start took
2-3 s of the run's critical path, competing for the cores with the flow (bench/RESULTS.md).

Tasks on Dask workers get their database URL as a parameter and read the config file at its
path: on other machines, both must be reachable under the same names, and storywatch installed.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Literal, Self, TypeVar, cast
from uuid import uuid4

from prefect import Task
from prefect.futures import PrefectConcurrentFuture, PrefectFuture
from prefect.task_runners import TaskRunner
from prefect.utilities.annotations import quote

from storywatch.config.config import IngestSettings
from storywatch.pipeline.chunks import LOGGER, preload_worker_modules, run_in_worker

R = TypeVar("R")
StartMethod = Literal["forkserver", "spawn"]

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


def dask_runner(settings: IngestSettings) -> ClusterTaskRunner:
    # dask.distributed logs every connection at INFO: keep its warnings and errors only.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    if settings.dask_address:
        return ClusterTaskRunner(address=settings.dask_address)
    return ClusterTaskRunner(
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": 1,
            "processes": settings.dask_processes,
            "dashboard_address": None,
        }
    )


def without_worker_profiler() -> None:
    """Turn off the statistical profiler of the Dask workers this process starts (their
    config is this process's). Every 10 ms it calls sys._current_frames(), which on Python
    3.11 can deadlock with the garbage collector (dask/distributed#8616, CPython gh-116969):
    seen here as a worker frozen for ~10 minutes mid-chunk, every thread waiting for the GIL."""
    import dask

    dask.config.set({"distributed.worker.profile.enabled": False})


def start_local_cluster(cluster_kwargs: dict[str, Any], start_method: StartMethod) -> Any:
    """A LocalCluster, its worker processes (if any) started by ``start_method``."""
    import dask
    from distributed import LocalCluster

    without_worker_profiler()
    forked = (
        start_method == "forkserver"
        and cluster_kwargs.get("processes", True)
        and "forkserver" in multiprocessing.get_all_start_methods()
    )
    if not forked:
        return LocalCluster(**cluster_kwargs)
    # The workers start inside LocalCluster(): the setting need not outlive it (a worker its
    # nanny restarts later is spawned, as by default).
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        preload_forkserver()
        return LocalCluster(**{"env": dict(os.environ), **cluster_kwargs})


def preload_forkserver() -> None:
    """Have the forkserver (one per process, started with the first process it forks) import
    ``storywatch.pipeline.chunks.WORKER_MODULES`` once: each worker forks from it with them loaded.
    Forking from a single-threaded server is safe, unlike forking this process (Prefect's
    threads hold locks).

    A server already running (``storywatch run`` starts it ahead, or an earlier cluster, or the
    library's parse pool) keeps its preload, and its environment from its start: so
    ``start_local_cluster`` passes the current environment to the workers (Dask's nanny sets
    it), though a variable removed since stays."""
    from distributed.utils import get_mp_context

    get_mp_context()  # sets distributed's own preload list, once: this one replaces it
    preload_worker_modules()


class ClusterTaskRunner(TaskRunner[PrefectConcurrentFuture[Any]]):
    """Prefect's task engine in the flow's event loop, each task's function on a Dask worker.

    ``address``: a running scheduler; else ``cluster_kwargs`` for a LocalCluster of its own,
    started when the runner is entered and closed after it, its worker processes forked from
    a preloaded forkserver (``start_method`` "spawn": each started from scratch, Dask's way)."""

    def __init__(
        self,
        address: str | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        start_method: StartMethod = "forkserver",
    ) -> None:
        super().__init__()
        self.address = address
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.start_method: StartMethod = start_method
        self._client: Future[Any] = Future()
        self._on_cluster: dict[Task[..., Any], Task[..., Any]] = {}

    def duplicate(self) -> Self:
        return type(self)(self.address, self.cluster_kwargs, self.start_method)

    def __enter__(self) -> Self:
        super().__enter__()
        self._client = Future()
        threading.Thread(target=self._connect, name="storywatch-dask-start", daemon=True).start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self._close()
        finally:
            super().__exit__(*exc_info)

    def _connect(self) -> None:
        from distributed import Client

        try:
            if self.address:
                self._client.set_result(Client(self.address, set_as_default=False))
                return
            cluster = start_local_cluster(self.cluster_kwargs, self.start_method)
            try:
                client = Client(cluster, set_as_default=False)
            except BaseException:
                cluster.close()
                raise
            self._client.set_result(client)
        except BaseException as exc:
            self._client.set_exception(exc)

    def _close(self) -> None:
        try:
            client = self._client.result()
        except BaseException:
            return  # never started: the tasks that needed it have failed with its error
        cluster = client.cluster
        client.close()
        if cluster is not None:
            # The run's results are in: the workers shut down while the flow finishes, in a
            # thread the interpreter waits for at exit (so none is left behind).
            threading.Thread(target=cluster.close, name="storywatch-dask-close").start()

    def client(self) -> Any:
        """The distributed Client, once connected (blocks until then)."""
        return self._client.result()

    def submit(
        self,
        task: Task[..., Any],
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
        dependencies: dict[str, set[Any]] | None = None,
    ) -> PrefectConcurrentFuture[Any]:
        """Run ``task`` through Prefect's engine in the flow's event loop, its function on the
        cluster. Called from the flow's event loop (an async flow); else in a thread."""
        if not self._started:
            raise RuntimeError("The task runner must be started before submitting work.")
        from prefect.task_engine import run_task_async

        task_run_id = uuid4()
        run = run_task_async(
            task=self._remote(task),
            task_run_id=task_run_id,
            parameters=parameters,
            wait_for=wait_for,
            return_type="state",
            dependencies=dependencies,
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            future: Future[Any] = Future()
            context = contextvars.copy_context()
            threading.Thread(target=_resolve, args=(future, context, run), daemon=True).start()
        else:
            future = asyncio.run_coroutine_threadsafe(run, loop)
        return PrefectConcurrentFuture(task_run_id=task_run_id, wrapped_future=future)

    def _remote(self, task: Task[..., Any]) -> Task[..., Any]:
        """``task`` with its function replaced by one that runs it on the cluster: same name,
        run names, retries and task key, so the runs look the same in the UI."""
        if task not in self._on_cluster:
            remote = copy.copy(task)
            remote.fn = _on_cluster(task.fn, task.name, self)
            remote.isasync = True
            remote.isgenerator = False
            self._on_cluster[task] = remote
        return self._on_cluster[task]


def _on_cluster(fn: Callable[..., Any], name: str, runner: ClusterTaskRunner) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def on_cluster(*args: Any, **kwargs: Any) -> Any:
        level = logging.getLogger(LOGGER).getEffectiveLevel()
        client = await asyncio.wrap_future(runner._client)  # started in the background
        future = client.submit(
            run_in_worker, fn, args, kwargs, level, key=f"{name}-{uuid4().hex}", pure=False
        )
        try:
            await _done(future)
            result, records = await asyncio.to_thread(future.result)  # done: only the transfer
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            _log(getattr(exc, "log_records", ()))
            raise
        _log(records)
        return result

    return on_cluster


async def _done(future: Any) -> None:
    """Wait for a distributed or concurrent future without holding a thread meanwhile: waits
    parked in the default executor (asyncio.to_thread) deadlocked once a run's outer and inner
    waits outnumbered its threads (8 chunks on 2 cores: min(32, cores + 4) = 6 threads)."""
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def settle() -> None:
        if not finished.done():
            finished.set_result(None)

    def wake(_: Any) -> None:
        loop.call_soon_threadsafe(settle)

    future.add_done_callback(wake)
    await finished


def _log(records: Iterable[logging.LogRecord]) -> None:
    # In the task run's context: Prefect's handler on the library logger sends them to the API.
    for record in records:
        logging.getLogger(record.name).handle(record)


def _resolve(future: Future[Any], context: contextvars.Context, run: Any) -> None:
    try:
        future.set_result(context.run(asyncio.run, run))
    except BaseException as exc:
        future.set_exception(exc)


def quoted(value: R) -> R:
    """``value`` in Prefect's ``quote``, for a task parameter: the task gets it unwrapped, and
    Prefect does not search it for futures item by item (15 us an item, twice per task).
    Typed as the value, as the task sees it."""
    return cast(R, quote(value))


def submit(task: Task[..., R], runner: TaskRunner[Any] | None, **parameters: Any) -> Any:
    """Submit ``task`` to ``runner``, or to the flow's own task runner when it is None."""
    if runner is None:
        return task.submit(**parameters)
    return runner.submit(task, parameters)


async def results(futures: Sequence[PrefectFuture[R]]) -> list[R]:
    """Every future's result (in submission order): each waited for on the event loop, then
    read in a thread once done, so no thread sits waiting while the tasks need them."""
    for f in futures:
        wrapped = getattr(f, "wrapped_future", None)
        if wrapped is not None:
            await _done(wrapped)
    return [await asyncio.to_thread(f.result) for f in futures]
