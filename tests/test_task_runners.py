"""The ingest chunks and the detections as tasks of the flow's task runner: threads by default,
a dask.distributed LocalCluster of two worker processes with ``task_runner: dask``; under the
session's one prefect_test_harness, over 20 sources of the session's feed server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from storywatch.store.repository import Store
from tests.factories import news_items, rss
from tests.feedserver import FeedServer
from tests.storyfeeds import ITEM_SWAP, ITEM_TALKS, ITEM_TALKS_REPEAT, write_story_config

pytestmark = pytest.mark.prefect

SOURCES = 20
ITEMS = 3  # per filler source


def twenty_sources(folder: Path, feed_server: FeedServer, **ingest: Any) -> Path:
    """Two sources carrying the story's developments and 18 fillers, with these settings."""
    feed_server.set_feed("/a.xml", rss("A", [ITEM_TALKS, ITEM_SWAP]))
    feed_server.set_feed("/b.xml", rss("B", [ITEM_TALKS_REPEAT]))
    sources = {"A": feed_server.url("/a.xml"), "B": feed_server.url("/b.xml")}
    for n in range(SOURCES - 2):
        feed_server.set_feed(f"/s{n}.xml", rss(f"S{n}", news_items(f"outlet{n}", ITEMS)))
        sources[f"Outlet {n}"] = feed_server.url(f"/s{n}.xml")
    path = write_story_config(folder, sources)
    data = yaml.safe_load(path.read_text())
    data["ingest"].update(ingest)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def stored(url: str) -> tuple[list[str], int]:
    """(every stored article URL, how many developments) in the database at ``url``."""
    store = Store.open(url)
    try:
        return [a.url for a in store.iter_articles()], len(list(store.iter_developments()))
    finally:
        store.close()


def task_run_names(flow_run_id: Any) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> list[str]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            # "fetch-and-store-9de" -> "fetch-and-store"; detections are named by storyline
            done = [r.name for r in runs if r.state and r.state.is_completed()]
            return sorted(n if n.startswith("detect-") else n.rsplit("-", 1)[0] for n in done)

    return asyncio.run(read())


def check_stored_once(url: str, feed_server: FeedServer) -> None:
    urls, developments = stored(url)
    assert len(urls) == 3 + (SOURCES - 2) * ITEMS and len(set(urls)) == len(urls)
    assert developments == 2  # the talks (two outlets) and the swap
    paths = ["/a.xml", "/b.xml", *(f"/s{n}.xml" for n in range(SOURCES - 2))]
    assert {p: len(feed_server.requests_to(p)) for p in paths} == dict.fromkeys(paths, 1)


def test_chunks_run_as_tasks_in_threads_with_the_default_runner(
    tmp_path: Path, feed_server: FeedServer, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.run import run

    monkeypatch.delenv("STORYWATCH_DATABASE_URL", raising=False)
    config = twenty_sources(tmp_path, feed_server, chunks=4)
    state = asyncio.run(run(str(config), send_email=False, return_state=True))
    assert state.is_completed()
    check_stored_once(f"sqlite:///{tmp_path / 'storywatch.db'}", feed_server)
    names = task_run_names(state.state_details.flow_run_id)
    assert names.count("fetch-and-store") == 4 and "detect-truce-talks" in names


# Dask worker processes write at the same time: PostgreSQL, as for any multi-worker setup
# (SQLite's single writer made a two-process Dask run wait out its busy timeout once).
@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_dask_local_cluster_of_two_worker_processes_stores_everything_once(
    tmp_path: Path,
    feed_server: FeedServer,
    prefect_api_url: str,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("distributed", reason="the dask extra: pip install -e '.[dask]'")
    from flows.run import run

    monkeypatch.setenv("STORYWATCH_DATABASE_URL", postgres_url)  # inherited by the workers
    config = twenty_sources(tmp_path, feed_server, task_runner="dask", dask_workers=2)
    state = asyncio.run(run(str(config), send_email=False, return_state=True))
    assert state.is_completed()
    check_stored_once(postgres_url, feed_server)
    names = task_run_names(state.state_details.flow_run_id)
    assert names.count("fetch-and-store") == 2 and "detect-truce-talks" in names


@pytest.fixture(scope="module")
def running_cluster() -> Any:
    """A running Dask cluster of two worker processes, started before any test sets
    STORYWATCH_DATABASE_URL: its workers' environment lacks it, as on another machine."""
    pytest.importorskip("distributed", reason="the dask extra: pip install -e '.[dask]'")
    import os

    from distributed import LocalCluster

    from flows.task_runners import without_worker_profiler

    without_worker_profiler()
    env = {k: v for k, v in os.environ.items() if k != "STORYWATCH_DATABASE_URL"}
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env
    )
    yield cluster
    cluster.close()


@pytest.mark.postgres
@pytest.mark.timeout(240)
@pytest.mark.parametrize("chunks", [8, 32])
def test_many_chunks_on_a_running_cluster_finish_and_detect_in_the_flows_database(
    tmp_path: Path,
    feed_server: FeedServer,
    prefect_api_url: str,
    postgres_url: str,
    running_cluster: Any,
    monkeypatch: pytest.MonkeyPatch,
    chunks: int,
) -> None:
    # 8 chunks on 2 cores hung for ever: the outer and inner waits took the default executor's
    # 6 threads. The detection ran on a worker without the database URL and, silently, on a
    # fresh SQLite file: "0 articles assessed" while the run Completed.
    from flows.run import run

    monkeypatch.setenv("STORYWATCH_DATABASE_URL", postgres_url)  # the flow's, not the workers'
    config = twenty_sources(
        tmp_path, feed_server, task_runner="dask",
        dask_address=running_cluster.scheduler_address, chunks=chunks,
    )  # fmt: skip
    state = asyncio.run(run(str(config), send_email=False, return_state=True))
    assert state.is_completed()
    check_stored_once(postgres_url, feed_server)  # articles and both developments, once
    assert not (tmp_path / "storywatch.db").exists()  # nothing went to a stray SQLite file
    names = task_run_names(state.state_details.flow_run_id)
    assert names.count("fetch-and-store") > 4  # more chunks than the runner was tested with
