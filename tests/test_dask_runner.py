"""The Dask stage runner (flows/task_runners.py): Prefect's engine stays in the flow's process
and only the task's function runs on a worker (storywatch.pipeline.chunks.run_in_worker), which
needs no Prefect; the library's log records come back into the task run's logs, retries work."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from storywatch.pipeline.chunks import run_in_worker


async def _logs_then_returns(value: int) -> int:
    logging.getLogger("storywatch.test").info("kept %d", value)
    logging.getLogger("storywatch.test").debug("below the level")
    logging.getLogger("elsewhere").warning("not the library's")
    return value * 2


def _fails_after_logging() -> None:
    logging.getLogger("storywatch.test").warning("before the failure")
    raise ValueError("boom")


def test_run_in_worker_returns_the_result_and_the_library_records_at_the_level() -> None:
    result, records = run_in_worker(_logs_then_returns, (21,), {}, logging.INFO)
    assert result == 42
    assert [r.getMessage() for r in pickle.loads(pickle.dumps(records))] == ["kept 21"]
    assert logging.getLogger("storywatch").level == logging.NOTSET  # as it was


def test_run_in_worker_sends_the_records_with_the_exception() -> None:
    with pytest.raises(ValueError, match="boom") as raised:
        run_in_worker(_fails_after_logging, (), {}, logging.INFO)
    again = pickle.loads(pickle.dumps(raised.value))
    assert [r.getMessage() for r in again.log_records] == ["before the failure"]


@pytest.mark.prefect
@pytest.mark.timeout(180)
def test_a_task_on_a_worker_process_retries_logs_into_its_run_and_needs_no_prefect(
    tmp_path: Path, prefect_api_url: str
) -> None:
    pytest.importorskip("distributed", reason="the dask extra: pip install -e '.[dask]'")
    from prefect import flow, task

    from flows.task_runners import ClusterTaskRunner, results, submit

    def attempt(marker: str) -> tuple[bool, bool]:  # by value: imports nothing of the tests
        import os
        import sys

        import dask

        logging.getLogger("storywatch.test").warning("attempt in process %d", os.getpid())
        if not os.path.exists(marker):
            open(marker, "w").close()
            raise RuntimeError("the first attempt fails")
        return "prefect" in sys.modules, dask.config.get("distributed.worker.profile.enabled")

    flaky = task(attempt, name="flaky", retries=1, retry_delay_seconds=0)

    @flow(name="one-task-on-a-worker")
    async def one_task(marker: str) -> list[Any]:
        workers = {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": None}
        with ClusterTaskRunner(cluster_kwargs=workers) as runner:
            return await results([submit(flaky, runner, marker=marker)])

    state = asyncio.run(one_task(str(tmp_path / "tried"), return_state=True))
    assert state.is_completed()
    # The worker process never imported Prefect, and runs without Dask's sampling profiler
    # (it can deadlock a worker on Python 3.11: flows/task_runners.without_worker_profiler).
    assert state.result() == [(False, False)]
    runs, messages = asyncio.run(_task_runs_and_logs(state.state_details.flow_run_id))
    assert [(r.name.rsplit("-", 1)[0], r.run_count, r.state_type.value) for r in runs] == [
        ("flaky", 2, "COMPLETED")
    ]
    assert sum(m.startswith("attempt in process") for m in messages) == 2


@pytest.mark.timeout(180)
def test_local_cluster_workers_fork_from_a_preloaded_server_with_the_current_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("distributed", reason="the dask extra: pip install -e '.[dask]'")
    from flows.task_runners import ClusterTaskRunner

    def worker_start(variable: str) -> tuple[int, bool, str | None]:  # by value, as above
        import os
        import sys

        return os.getppid(), "storywatch.pipeline.ingest" in sys.modules, os.environ.get(variable)

    # Any free port: the first cluster may still be closing (in the background) as the next starts.
    workers = {"n_workers": 2, "threads_per_worker": 1, "dashboard_address": ":0"}
    seen = []
    for value in ("first", "second"):  # the second cluster's workers fork from the same server
        monkeypatch.setenv("STORYWATCH_TEST_MARK", value)
        with ClusterTaskRunner(cluster_kwargs=workers) as runner:
            seen.append(list(runner.client().run(worker_start, "STORYWATCH_TEST_MARK").values()))
    parents = {parent for cluster in seen for parent, _, _ in cluster}
    # Forked by one forkserver process, not spawned by this one (whose nannies start them)...
    assert len(parents) == 1 and os.getpid() not in parents
    # ...which had imported the library before any task ran, and each cluster's workers see
    # this process's environment as it was when that cluster started, not the server's.
    assert seen == [[(*parents, True, "first")] * 2, [(*parents, True, "second")] * 2]


# In a fresh interpreter: no forkserver may be running yet (this process's may be).
SERVER_STARTED_AHEAD = """
def worker_start():
    import os, sys
    return os.getppid(), "storywatch.pipeline.ingest" in sys.modules

if __name__ == "__main__":  # imports here: a forkserver imports this file's top level too
    import psutil
    from storywatch.pipeline.chunks import start_worker_server
    from flows.task_runners import ClusterTaskRunner

    start_worker_server()
    children = psutil.Process().children()  # started now, before any cluster
    (server,) = [c for c in children if "forkserver" in " ".join(c.cmdline())]
    workers = {"n_workers": 2, "threads_per_worker": 1, "dashboard_address": ":0"}
    with ClusterTaskRunner(cluster_kwargs=workers) as runner:
        seen = list(runner.client().run(worker_start).values())
    print(seen == [(server.pid, True)] * 2, seen, server.pid)
"""


@pytest.mark.timeout(180)
def test_a_worker_server_started_ahead_is_the_one_the_cluster_forks_from(tmp_path: Path) -> None:
    # `storywatch run` starts it as soon as the config asks for local worker processes, so
    # that its imports overlap Prefect's start rather than delay the first task.
    pytest.importorskip("distributed", reason="the dask extra: pip install -e '.[dask]'")
    script = tmp_path / "ahead.py"
    script.write_text(SERVER_STARTED_AHEAD)
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=150,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("True"), done.stdout


async def _task_runs_and_logs(flow_run_id: Any) -> tuple[list[Any], list[str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterTaskRunId,
    )
    from prefect.logging.handlers import APILogHandler

    await APILogHandler.aflush()
    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
        for _ in range(50):  # the log worker sends in batches
            logs = await client.read_logs(
                log_filter=LogFilter(task_run_id=LogFilterTaskRunId(any_=[r.id for r in runs]))
            )
            if sum(log.message.startswith("attempt") for log in logs) >= 2:
                break
            await asyncio.sleep(0.2)
    return runs, [log.message for log in logs]
