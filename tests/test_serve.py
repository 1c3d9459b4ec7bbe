"""`storywatch serve`: deployments built from sources.yaml (schedules, limits, parameters),
registered on the session's Prefect API and read back, the command run and stopped as users
do, and the supervised local Prefect server (one slow test)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.factories import write_config
from tests.feedserver import FeedServer

STORYWATCH = str(Path(sys.executable).parent / "storywatch")
HAS_BACKFILL = importlib.util.find_spec("flows.backfill") is not None


def serve_config(folder: Path, every_minutes: int = 15) -> Path:
    """Two storylines: ``alpha`` mails on a cron in Kyiv time, ``beta`` after each run."""
    path = write_config(
        folder, {"Wire": "http://127.0.0.1:9/wire.xml"}, every_minutes=every_minutes
    )
    data = yaml.safe_load(path.read_text())
    data["storylines"] = [
        {
            "id": "alpha",
            "title": "Alpha story",
            "seed": "seeds/story.md",
            "digest": {"mode": "scheduled", "schedule": "0 7 * * 1-5", "timezone": "Europe/Kyiv"},
        },
        {"id": "beta", "title": "Beta story", "seed": "seeds/story.md"},
    ]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def by_name(deployments: list[Any]) -> dict[str, Any]:
    return {f"{d.flow_name}/{d.name}": d for d in deployments}


def test_deployments_carry_the_configs_schedules_limits_and_absolute_path(tmp_path: Path) -> None:
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule

    from flows.serve import build_deployments
    from storywatch.config.config import load_config

    path = serve_config(tmp_path)
    os.chdir(tmp_path)  # a relative --config still gives deployments the absolute path
    try:
        deployments = by_name(build_deployments(load_config("sources.yaml")))
    finally:
        os.chdir("/")
    absolute = str(path.resolve())

    ingest = deployments.pop("run/ingest")
    (schedule,) = [s.schedule for s in ingest.schedules]
    assert isinstance(schedule, IntervalSchedule) and schedule.interval == timedelta(minutes=15)
    assert ingest.parameters == {"config_path": absolute, "kind": "scheduled"}
    assert ingest.entrypoint == "flows.run.run"

    digest = deployments.pop("digest/alpha")  # beta mails after each run: no schedule of its own
    (cron,) = [s.schedule for s in digest.schedules]
    assert isinstance(cron, CronSchedule)
    assert (cron.cron, cron.timezone) == ("0 7 * * 1-5", "Europe/Kyiv")
    assert digest.parameters == {"config_path": absolute, "storylines": ["alpha"]}

    for one in (ingest, digest):
        assert one.concurrency_limit == 1 and not one.paused
        assert one.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW

    if not HAS_BACKFILL:
        assert deployments == {}
        return
    backfill = next(d for name, d in deployments.items() if name.startswith("backfill/"))
    driver = deployments["backfill-by-day/backfill-by-day"]
    assert len(deployments) == 2
    assert backfill.schedules == [] and driver.schedules == []
    assert backfill.parameters == {"config_path": absolute}
    assert driver.parameters == {
        "config_path": absolute,
        "deployment": f"{backfill.flow_name}/{backfill.name}",
    }
    # Per-day runs wait their turn (never dropped); a second driver run is cancelled.
    assert backfill.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.ENQUEUE
    assert driver.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
    schema = backfill._parameter_openapi_schema.model_dump()["properties"]
    assert {"since", "until", "email", "storyline", "sources"} <= set(schema)


def test_serve_works_without_a_backfill_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.serve import build_deployments
    from storywatch.config.config import load_config

    monkeypatch.setitem(sys.modules, "flows.backfill", None)  # importing it now fails
    names = set(by_name(build_deployments(load_config(serve_config(tmp_path)))))
    assert names == {"run/ingest", "digest/alpha"}


def test_the_api_comes_from_the_environment_then_a_running_server(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storywatch.prefect_server import prefect_api

    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    with prefect_api(tmp_path, port=feed_server.port) as url:
        assert url == "http://prefect.example:4200/api"
    monkeypatch.delenv("PREFECT_API_URL")
    feed_server.set_feed("/api/health", b"true")
    with prefect_api(tmp_path, port=feed_server.port) as url:
        assert url == feed_server.url("/api")
    assert not (tmp_path / ".storywatch").exists()  # nothing was started


def test_a_taken_port_says_how_to_use_a_running_server(tmp_path: Path) -> None:
    from storywatch.prefect_server import LocalPrefectServer, PrefectServerError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LocalPrefectServer(tmp_path / "prefect", port=taken.getsockname()[1])
        with pytest.raises(PrefectServerError, match="the port is taken") as info:
            server.start()
    assert "(set PREFECT_API_URL to use a running Prefect server)" in str(info.value)


# -- against a real Prefect API (the session's one test harness) -----------------------------


@pytest.mark.prefect
def test_registered_deployments_read_back_and_an_overlapping_run_is_cancelled(
    tmp_path: Path, prefect_api_url: str
) -> None:
    from flows.serve import build_deployments
    from storywatch.config.config import load_config

    path = serve_config(tmp_path, every_minutes=20)
    deployments = build_deployments(load_config(path))
    asyncio.run(_apply(deployments))
    ingest, digest, cancelled = asyncio.run(_read_back_and_overlap())

    assert ingest.parameters["config_path"] == str(path.resolve())
    assert [s.schedule.interval for s in ingest.schedules] == [timedelta(minutes=20)]
    assert [s.active for s in ingest.schedules] == [True] and not ingest.paused
    assert ingest.global_concurrency_limit.limit == 1
    assert ingest.concurrency_options.collision_strategy == "CANCEL_NEW"
    assert [(s.schedule.cron, s.schedule.timezone) for s in digest.schedules] == [
        ("0 7 * * 1-5", "Europe/Kyiv")
    ]
    assert digest.parameters["storylines"] == ["alpha"]
    assert digest.global_concurrency_limit.limit == 1
    # A second run while one holds the slot is cancelled by the server, with its reason.
    assert cancelled.type == "CANCELLED"
    assert "concurrency limit" in (cancelled.message or "")


async def _apply(deployments: list[Any]) -> None:
    for deployment in deployments:
        await deployment.apply()


async def _read_back_and_overlap() -> tuple[Any, Any, Any]:
    from prefect.client.orchestration import get_client
    from prefect.states import Completed, Pending, Running

    async with get_client() as client:
        ingest = await client.read_deployment_by_name("run/ingest")
        digest = await client.read_deployment_by_name("digest/alpha")
        first = await client.create_flow_run_from_deployment(ingest.id)
        second = await client.create_flow_run_from_deployment(ingest.id)
        assert (await client.set_flow_run_state(first.id, Pending())).status.value == "ACCEPT"
        await client.set_flow_run_state(first.id, Running())
        await client.set_flow_run_state(second.id, Pending())
        cancelled = (await client.read_flow_run(second.id)).state
        await client.set_flow_run_state(first.id, Completed())  # frees the slot
    return ingest, digest, cancelled


@pytest.mark.prefect
def test_serve_command_registers_the_schedules_and_stops_cleanly_on_sigterm(
    tmp_path: Path, prefect_api_url: str
) -> None:
    path = serve_config(tmp_path, every_minutes=7)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
    env["PREFECT_API_URL"] = prefect_api_url
    started = datetime.now(UTC)
    process = subprocess.Popen(
        [STORYWATCH, "--config", str(path), "serve"],
        cwd="/",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ingest = asyncio.run(_wait_for_deployment(str(path.resolve()), process, started))
        assert [s.schedule.interval for s in ingest.schedules] == [timedelta(minutes=7)]
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert stdout == ""  # data only on stdout: no start-up banner
    assert "serving run/ingest: every 0:07:00; an overlapping run is cancelled" in stderr
    assert "serving digest/alpha: cron '0 7 * * 1-5' (Europe/Kyiv)" in stderr
    assert "serve stopped" in stderr
    assert not (tmp_path / ".storywatch").exists()  # PREFECT_API_URL given: no server started
    paused = asyncio.run(_read_deployment("run/ingest"))
    assert paused.paused, stderr  # the runner pauses its schedules when it stops


async def _wait_for_deployment(
    config_path: str, process: subprocess.Popen[str], started: datetime
) -> Any:
    """run/ingest as served by ``process`` (its parameters name ``config_path``)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + 90
    async with get_client() as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            try:
                found = await client.read_deployment_by_name("run/ingest")
                # Polled since the start: the runner is up (and now handles SIGTERM itself).
                polled = found.last_polled and found.last_polled > started
                if found.parameters.get("config_path") == config_path and polled:
                    return found
            except ObjectNotFound:
                pass
            await asyncio.sleep(0.5)
    raise AssertionError("serve did not serve run/ingest within 90 s")


async def _read_deployment(name: str) -> Any:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await client.read_deployment_by_name(name)


# -- the supervised local server: slow (a new Prefect database is migrated, ~20 s) ------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_local_server_starts_restarts_when_it_dies_and_stops(tmp_path: Path) -> None:
    from storywatch.prefect_server import LocalPrefectServer, PrefectServerError, server_answers

    port = free_port()
    server = LocalPrefectServer(tmp_path / "prefect", port=port, check_every=0.5)
    second = LocalPrefectServer(tmp_path / "other", port=port, startup_timeout=120)
    pids: list[int] = []
    try:
        server.start()
        assert server.pid is not None
        pids.append(server.pid)
        assert server_answers(server.api_url)
        assert (tmp_path / "prefect" / "prefect.db").exists()  # its SQLite, in its home
        assert (tmp_path / "prefect" / "server.log").stat().st_size > 0  # output kept there

        with pytest.raises(PrefectServerError, match="port is taken"):
            second.start()  # the port is taken: a clear error, not a hang

        os.killpg(server.pid, signal.SIGKILL)  # the server dies ...
        deadline = time.monotonic() + 180
        while not (server.restarts == 1 and server_answers(server.api_url)):
            assert time.monotonic() < deadline, "the server was not restarted"
            time.sleep(0.5)
        assert server.pid is not None and server.pid != pids[0]  # ... and is started again
        pids.append(server.pid)
    finally:
        second.stop()
        server.stop()
    assert not server_answers(server.api_url)
    for pid in pids:  # no process of either server's session is left behind
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
