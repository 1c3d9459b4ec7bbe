"""Two workers at once must not duplicate anything: two `storywatch run` processes started at
the same moment over the same 20 feeds, the same PostgreSQL database, the same SMTP server and
the session's Prefect API. Every article is stored once, every development once, and every
recipient gets one digest (unique constraints and claims in storywatch's database decide)."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from storywatch.store import Store
from storywatch.store_digests import delivery_statuses
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer
from tests.test_cli import STORYWATCH
from tests.test_task_runners import ITEMS, SOURCES, twenty_sources

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

RECIPIENTS = ["desk@example.org", "editor@example.org"]
STALL = 3.0  # seconds every feed waits before answering: the two runs' fetches overlap


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
        tmp_path, feed_server, timeout=30, connect_timeout=5, read_timeout=10, per_host=10
    )
    data = yaml.safe_load(config.read_text())
    data["digest"]["to"] = RECIPIENTS
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    paths = ["/a.xml", "/b.xml", *(f"/s{n}.xml" for n in range(SOURCES - 2))]
    for path in paths:
        feed_server.set_stall(path, STALL)

    with SmtpServer() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
        env |= {"PREFECT_API_URL": prefect_api_url, "STORYWATCH_DATABASE_URL": postgres_url}
        env |= smtp.env()
        logs = [tmp_path / f"worker{n}.log" for n in (1, 2)]
        workers = [start_run(config, env, log) for log in logs]
        codes = [worker.wait(timeout=150) for worker in workers]
        assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)
        received = list(smtp.received)

    # Both runs fetched every feed, and at the same time (each feed had both in flight).
    assert {p: len(feed_server.requests_to(p)) for p in paths} == dict.fromkeys(paths, 2)
    assert max(feed_server.peak(p) for p in paths) == 2
    store = Store.open(postgres_url)
    try:
        urls = [a.url for a in store.iter_articles()]
        developments = list(store.iter_developments())
        deliveries = delivery_statuses(store)
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
