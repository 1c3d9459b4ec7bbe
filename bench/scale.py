"""Scale benchmark: 2,000 generated feeds served on 127.0.0.1 from a separate process,
the ingest flow run against a local Prefect server with each task runner in turn:

  default     the flow's own runner, the usual one fetch-and-store task
  threads     the flow's own runner, the sources in 2 chunks: 2 tasks side by side in threads
  dask        task_runner: dask, a LocalCluster of 2 worker processes started for the run
              (forked from a preloaded forkserver, started cold as in a fresh process)
  dask-spawn  dask, its 2 worker processes spawned instead, each importing everything itself
              (the runner before the forkserver: an A/B pair with dask in one pass)
  dask-cli    dask, as `storywatch run` starts it: the forkserver started (importing) before
              the flow, CLI_HEAD_START s ahead (the CLI's import of Prefect's flows, 1.0-1.4 s)
  dask-warm   task_runner: dask at dask_address: a LocalCluster of 2 workers already running
  dask-threads  dask, a LocalCluster of 2 worker threads in the flow's process

Each run starts on a fresh SQLite database. Printed per run: flow wall time, entries stored per
second, the time inside library calls (the union of the calls' wall-clock spans, measured in the
flow's process and, through a Dask worker preload, in each worker: bench/scaletiming.py), and
the Prefect overhead share = (flow wall time - library time) / flow wall time. Target: <= 10%.

    python bench/scale.py [--feeds 2000] [--items 20] [--runs default,threads,dask,dask-warm]
    python bench/scale.py --runs default,dask-spawn,dask,dask-spawn,dask

Not a test: figures go to bench/RESULTS.md by hand, with the machine, its load and the date.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ingest as ingest_bench  # noqa: E402  (bench/ingest.py: feed generator, host, server)
import scaletiming  # noqa: E402

TIMING = "STORYWATCH_BENCH_TIMING"
RUNS = {
    "default": {},
    "threads": {"chunks": 2},
    "dask": {"task_runner": "dask", "dask_workers": 2},
    "dask-spawn": {"task_runner": "dask", "dask_workers": 2},  # + workers spawned
    "dask-cli": {"task_runner": "dask", "dask_workers": 2},  # + forkserver started ahead
    "dask-warm": {"task_runner": "dask"},  # + dask_address of the bench's own LocalCluster
    "dask-threads": {"task_runner": "dask", "dask_workers": 2, "dask_processes": False},
}


CLI_HEAD_START = 1.0  # s: `import flows.run` after the config loads (storywatch/cli/commands.py)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) {five:.2f} (5 min)"


def set_ingest(config: Path, settings: dict[str, Any]) -> None:
    data = yaml.safe_load(config.read_text())
    data["ingest"] = {"concurrency": 8, "per_host": 8, **settings}  # as bench/ingest.py
    config.write_text(yaml.safe_dump(data))


def run_once(name: str, config: Path, work: Path, settings: dict[str, Any]) -> dict[str, float]:
    from flows.ingest import ingest

    set_ingest(config, settings)
    database = work / f"{name}.db"
    for n in range(2, 100):  # a fresh database for every run, even of the same name
        if not database.exists():
            break
        database = work / f"{name}-{n}.db"
    os.environ["STORYWATCH_DATABASE_URL"] = f"sqlite:///{database}"
    timing = os.environ[TIMING]  # one file for every run and process; runs are told by time
    before = load()
    with worker_start(name):
        start = time.time()
        report = asyncio.run(ingest(str(config))).unquote()
        end = time.time()
    wall = end - start
    library = scaletiming.library_seconds(timing, start, end)
    overhead = (wall - library) / wall
    print(
        f"{name:9s}  wall {wall:6.2f} s  {report.new_articles:,} entries  "
        f"{report.new_articles / wall:8,.0f} entries/s  library {library:6.2f} s  "
        f"Prefect overhead {wall - library:5.2f} s = {overhead:5.1%}  "
        f"({report.failed} failed; before: {before}; after: {load()})",
        flush=True,
    )
    where = ", ".join(
        f"{at:.2f} s +{length:.2f}" for at, length in scaletiming.gaps(timing, start, end)
    )
    print(f"{'':9s}  overhead at (from flow start): {where}", flush=True)
    return {"wall": wall, "library": library, "overhead": overhead}


@contextmanager
def worker_start(name: str) -> Iterator[None]:
    """For a run that starts its own LocalCluster: no forkserver running yet, as in a fresh
    process (this one's may be warm from an earlier run or the parse pool); for dask-cli, one
    started ahead as `storywatch run` does; for dask-spawn, each worker process spawned."""
    if name not in ("dask", "dask-spawn", "dask-cli"):
        yield
        return
    import multiprocessing.forkserver
    import threading

    from flows import task_runners

    for thread in threading.enumerate():
        if thread.name == "storywatch-dask-close":  # the last run's workers, closing
            thread.join()
    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    if name == "dask-cli":
        from storywatch.pipeline.chunks import start_worker_server

        start_worker_server()
        time.sleep(CLI_HEAD_START)
    made = task_runners.dask_runner

    def spawning(settings: Any) -> Any:
        runner = made(settings)
        runner.start_method = "spawn"
        return runner

    if name == "dask-spawn":
        task_runners.dask_runner = spawning  # type: ignore[assignment]
    try:
        yield
    finally:
        task_runners.dask_runner = made  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--runs", default=",".join(RUNS))
    args = parser.parse_args()
    runs = args.runs.split(",")
    unknown = set(runs) - set(RUNS)
    if unknown:
        parser.error(f"unknown runs: {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="storywatch-scale-"))
    # Dask workers (spawned) inherit the environment: they time their library calls too.
    os.environ[TIMING] = str(work / "library-calls.timing")
    os.environ["DASK_DISTRIBUTED__WORKER__PRELOAD"] = repr([str(ROOT / "bench/scaletiming.py")])
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {load()}"
    )
    rng = random.Random(42)
    feeds = work / "feeds"
    feeds.mkdir()
    size = 0
    for i in range(args.feeds):
        body = ingest_bench.make_feed(i, args.items, rng)
        size += len(body)
        (feeds / f"feed{i}.xml").write_bytes(body)
    print(f"input: {args.feeds} feeds x {args.items} items, {size / 1e6:.1f} MB")

    home = work / "prefect-home"
    server = ingest_bench.start_prefect_server(home, 4297)
    os.environ.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL="http://127.0.0.1:4297/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    cluster = None
    try:
        import flows  # noqa: F401  (storywatch's Prefect defaults)

        if any(name.startswith("dask") for name in runs):
            import distributed  # noqa: F401  (imported once, not in whichever Dask run is first)

        scaletiming.install()
        with ingest_bench.serve_folder(feeds, port=8766) as base_url:
            config = ingest_bench.write_config(
                work, [f"{base_url}/feed{i}.xml" for i in range(args.feeds)]
            )
            warm_up = work / "warm"
            warm_up.mkdir()
            small = ingest_bench.write_config(warm_up, [f"{base_url}/feed0.xml"])
            run_once("warm-up", small, warm_up, {})  # registers the flow, warms the imports
            for name in runs:
                settings = dict(RUNS[name])
                if name == "dask-warm":
                    cluster = cluster or start_cluster()
                    settings["dask_address"] = cluster.scheduler_address
                run_once(name, config, work, settings)
    finally:
        if cluster is not None:
            cluster.close()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def start_cluster() -> Any:
    """A LocalCluster of 2 worker processes, as a user would keep one running."""
    import logging

    from distributed import LocalCluster

    from flows.task_runners import without_worker_profiler

    without_worker_profiler()  # as a user's cluster should run on Python 3.11 (README)
    logging.getLogger("distributed").setLevel(logging.WARNING)
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    print(f"(dask-warm: LocalCluster of 2 workers started in {time.perf_counter() - t:.1f} s)")
    return cluster


if __name__ == "__main__":
    main()
