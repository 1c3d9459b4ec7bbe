"""Two workers at once must not duplicate anything: two `storywatch run` processes started at
the same moment over the same 20 feeds, the same PostgreSQL database, the same SMTP server and
the session's Prefect API. Every article is stored once, every development once, and every
recipient gets one digest (unique constraints and claims in storywatch's database decide).
The same with two `prefect worker` processes pulling from one process work pool
(deploy/prefect.yaml), each running one flow run: the scheduled ingest and a backfill."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from storywatch.store.repository import Store
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer
from tests.test_cli import STORYWATCH
from tests.test_task_runners import ITEMS, SOURCES, twenty_sources

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

RECIPIENTS = ["desk@example.org", "editor@example.org"]
MEET = 40.0  # longest a feed request waits for the other run's request for it (see set_meet)


def start_run(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [STORYWATCH, "--config", str(config), "run"],
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def test_two_concurrent_runs_store_detect_and_mail_everything_once(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str, prefect_api_url: str
) -> None:
    config = twenty_sources(
        tmp_path, feed_server, timeout=90, connect_timeout=5, read_timeout=60, per_host=10
    )
    data = yaml.safe_load(config.read_text())
    data["digest"]["to"] = RECIPIENTS
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    paths = ["/a.xml", "/b.xml", *(f"/s{n}.xml" for n in range(SOURCES - 2))]
    for path in paths:
        feed_server.set_meet(path, 2, MEET)  # the two runs overlap

    with SmtpServer() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
        env |= {"PREFECT_API_URL": prefect_api_url, "STORYWATCH_DATABASE_URL": postgres_url}
        env |= smtp.env()
        logs = [tmp_path / f"worker{n}.log" for n in (1, 2)]
        started = time.monotonic()
        workers = [start_run(config, env, log) for log in logs]
        codes = [worker.wait(timeout=150) for worker in workers]
        assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)
        received = list(smtp.received)

    # Both runs fetched every feed, and at the same time (each feed had both in flight).
    assert {p: len(feed_server.requests_to(p)) for p in paths} == dict.fromkeys(paths, 2), [
        (round(r.time - started, 2), r.headers) for r in feed_server.requests_to("/b.xml")
    ]
    assert max(feed_server.peak(p) for p in paths) == 2
    store = Store.open(postgres_url)
    try:
        urls = [a.url for a in store.iter_articles()]
        developments = list(store.iter_developments())
        deliveries = store.delivery_statuses()
    finally:
        store.close()
    assert len(urls) == 3 + (SOURCES - 2) * ITEMS and len(set(urls)) == len(urls)
    assert len(developments) == 2 and len({d.id for d in developments}) == 2
    assert sorted(len(d.articles) for d in developments) == [1, 2]  # talks: two outlets
    assert Counter(r for m in received for r in m.recipients) == dict.fromkeys(RECIPIENTS, 1)
    assert sorted((d["recipient"], d["status"]) for d in deliveries) == [
        (r, "sent") for r in RECIPIENTS
    ]
    for message in received:
        assert message.message["Subject"].startswith("Truce talks: 2 new developments (")


@pytest.mark.slow
def test_two_prefect_workers_on_one_pool_store_detect_and_mail_once(
    tmp_path: Path, feed_server: FeedServer, postgres_url: str, prefect_api_url: str
) -> None:
    """deploy/prefect.yaml on the process pool, two `prefect worker start` processes (as on two
    machines) each taking one run: the scheduled ingest and a backfill over the same days,
    both fetching the same feeds into one PostgreSQL database at the same time."""
    from tests.test_deploy import DEPLOY, PREFECT, _read_deployments

    config = twenty_sources(
        tmp_path, feed_server, timeout=90, connect_timeout=5, read_timeout=60, per_host=10
    )
    paths = ["/a.xml", "/b.xml", *(f"/s{n}.xml" for n in range(SOURCES - 2))]
    for path in paths:
        feed_server.set_meet(path, 2, MEET)  # the two runs overlap
    workdir = tmp_path / "worker"
    workdir.mkdir()
    with SmtpServer() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
        env |= {
            "PREFECT_API_URL": prefect_api_url,
            "STORYWATCH_CONFIG": str(config),
            "STORYWATCH_DATABASE_URL": postgres_url,
            "STORYWATCH_PROJECT_DIR": str(workdir),
            **smtp.env(),
        }

        def prefect(*args: str) -> None:
            done = subprocess.run(
                [PREFECT, "--no-prompt", *args], cwd=DEPLOY, env=env, capture_output=True,
                text=True, timeout=180,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr

        prefect("work-pool", "create", "storywatch", "--type", "process", "--overwrite")
        prefect("deploy", "--all")
        found = asyncio.run(_read_deployments())
        runs = asyncio.run(
            _submit_both(
                found["run/ingest"].id,
                found["backfill/storywatch-backfill"].id,
                {"since": "2025-03-01", "until": "2025-04-30"},
            )
        )
        logs = [tmp_path / f"prefect-worker{n}.log" for n in (1, 2)]
        env["PREFECT_WORKER_QUERY_SECONDS"] = "1"  # pick the runs up at once
        workers = []
        for log in logs:
            with log.open("wb") as out:
                command = [PREFECT, "worker", "start", "--pool", "storywatch", "--type",
                           "process", "--limit", "1"]  # fmt: skip
                workers.append(
                    subprocess.Popen(command, cwd=DEPLOY, env=env, stdout=out, stderr=out)
                )
        try:
            states = asyncio.run(_wait_final(runs, seconds=240))
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=60)
        assert all(s.is_completed() for s in states), (
            states,
            "\n".join(log.read_text()[-3000:] for log in logs),
        )
        # Both worked (a worker with --limit 1 takes a second run only after its first; a run
        # the deployments' own schedules made due may come on top of ours).
        assert all("submitted to infrastructure" in log.read_text() for log in logs), [
            log.read_text()[-2000:] for log in logs
        ]
        received = list(smtp.received)

    # Each worker ran one of the two, and the two fetched the same feeds at the same time.
    assert {p: len(feed_server.requests_to(p)) for p in paths} == dict.fromkeys(paths, 2)
    assert max(feed_server.peak(p) for p in paths) == 2

    store = Store.open(postgres_url)
    try:
        urls = [a.url for a in store.iter_articles()]
        developments = list(store.iter_developments())
    finally:
        store.close()
    assert len(urls) == len(set(urls)) == 3 + (SOURCES - 2) * ITEMS  # each article once
    assert len(developments) == len({d.id for d in developments}) == 2  # each development once
    mailed = Counter(
        (r, block) for m in received for r in m.recipients for block in _development_ids(m)
    )
    assert all(count == 1 for count in mailed.values()), mailed  # nobody gets one twice


async def _submit_both(ingest_id: Any, backfill_id: Any, window: dict[str, str]) -> list[Any]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        first = await client.create_flow_run_from_deployment(ingest_id)
        second = await client.create_flow_run_from_deployment(backfill_id, parameters=window)
    return [first.id, second.id]


def _development_ids(received: Any) -> list[str]:
    html = received.message.get_body(("html",)).get_content()
    return re.findall(r'data-development-id="([^"]+)"', html)


async def _wait_final(runs: list[Any], seconds: float) -> list[Any]:
    from prefect.client.orchestration import get_client

    deadline = asyncio.get_running_loop().time() + seconds
    async with get_client() as client:
        while True:
            states = [(await client.read_flow_run(run)).state for run in runs]
            if all(s is not None and s.is_final() for s in states):
                return states
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"runs not finished after {seconds} s: {states}")
            await asyncio.sleep(0.5)
