"""Splitting a run's fetches into chunks (pure), and the settings that ask for it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from storywatch.config.config import ConfigError, IngestSettings, load_config
from storywatch.fetch.model import FetchRequest
from storywatch.pipeline.chunks import gather_reports, split_fetches
from storywatch.pipeline.ingest import SourceReport
from tests.factories import write_config

needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="the dask extra (distributed) is not installed: pip install -e '.[dask]'",
)


def requests(hosts: dict[str, int]) -> list[FetchRequest]:
    return [
        FetchRequest(f"{host}-{n}", f"http://{host}/feed{n}.xml")
        for host, count in hosts.items()
        for n in range(count)
    ]


def test_one_chunk_by_default_is_the_whole_run_with_the_configured_limits() -> None:
    todo = requests({"a.test": 3, "b.test": 2})
    (chunk,) = split_fetches(todo, IngestSettings())
    assert chunk.requests == todo and chunk.limits == IngestSettings().fetch_limits()
    assert chunk.parse_workers is None


def test_chunks_cover_every_source_once_grouped_by_host_with_shared_limits() -> None:
    todo = requests({"a.test": 6, "b.test": 6, "c.test": 6, "d.test": 6})
    settings = IngestSettings(chunks=4, concurrency=16, per_host=2)
    chunks = split_fetches(todo, settings)
    assert sorted(r.source for c in chunks for r in c.requests) == sorted(r.source for r in todo)
    assert [len({r.url.split("/")[2] for r in c.requests}) for c in chunks] == [1, 1, 1, 1]
    assert {(c.limits.concurrency, c.limits.per_host) for c in chunks} == {(4, 2)}


def test_a_host_spread_over_chunks_shares_its_per_host_bound() -> None:
    chunks = split_fetches(requests({"one.test": 20}), IngestSettings(chunks=2, per_host=8))
    assert [len(c.requests) for c in chunks] == [10, 10]
    assert [c.limits.per_host for c in chunks] == [4, 4]
    few = split_fetches(requests({"one.test": 3}), IngestSettings(chunks=8, per_host=2))
    assert len(few) == 3 and {c.limits.per_host for c in few} == {1}  # never zero


@needs_dask
def test_dask_chunks_default_to_one_per_worker_and_parse_in_the_worker() -> None:
    todo = requests({"a.test": 5, "b.test": 5})
    chunks = split_fetches(todo, IngestSettings(task_runner="dask", dask_workers=2))
    assert len(chunks) == 2 and {c.parse_workers for c in chunks} == {1}
    threads = IngestSettings(task_runner="dask", dask_processes=False, chunks=5)
    assert {c.parse_workers for c in split_fetches(todo, threads)} == {None}


def test_reports_come_back_in_the_configs_order() -> None:
    todo = requests({"b.test": 2, "a.test": 2})
    chunks = split_fetches(todo, IngestSettings(chunks=2))
    parts = [
        [SourceReport(r.source, "ok", 200, 1, 1, 0.1) for r in chunk.requests]
        for chunk in reversed(chunks)
    ]
    assert [s.source for s in gather_reports(todo, parts)] == [r.source for r in todo]


@pytest.mark.parametrize(
    ("ingest", "message"),
    [
        ({"task_runner": "ray"}, "ingest.task_runner: Input should be 'default' or 'dask'"),
        ({"dask_workers": 4}, "ingest: dask_workers needs task_runner: dask"),
        pytest.param(
            {"task_runner": "dask", "dask_address": "tcp://10.0.0.5:8786", "dask_workers": 4},
            "ingest: dask_workers and dask_processes are for a LocalCluster",
            marks=needs_dask,
        ),
        pytest.param(
            {"task_runner": "dask", "dask_address": "10.0.0.5"},
            "ingest.dask_address: String",
            marks=needs_dask,
        ),
        ({"chunks": 0}, "ingest.chunks: Input should be greater than or equal to 1"),
    ],
)
def test_runner_settings_are_validated_with_their_line(
    tmp_path: Path, ingest: dict, message: str
) -> None:
    path = write_config(tmp_path, {"A": "http://127.0.0.1/a.xml"}, **ingest)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    (problem,) = error.value.problems
    assert message in problem.message and problem.line is not None, problem


@needs_dask
def test_a_dask_config_loads() -> None:
    settings = IngestSettings(task_runner="dask", dask_address="tcp://10.0.0.5:8786", chunks=8)
    assert settings.chunk_count == 8
    assert IngestSettings(task_runner="dask").chunk_count == 2
    # Only a LocalCluster of processes has workers to fork (`storywatch run` starts their server).
    assert IngestSettings(task_runner="dask").local_worker_processes
    assert not settings.local_worker_processes
    assert not IngestSettings(task_runner="dask", dask_processes=False).local_worker_processes
    assert not IngestSettings().local_worker_processes


def test_dask_without_the_extra_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "distributed" else real(name, *a),
    )
    path = write_config(tmp_path, {"A": "http://127.0.0.1/a.xml"}, task_runner="dask")
    with pytest.raises(
        ConfigError, match=r"needs the dask extra: pip install 'storywatch\[dask\]'"
    ):
        load_config(path)
