"""`storywatch backfill` as users run it (the console script, another folder, the session's
Prefect API) and the backfill flows, with a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests import storyfeeds as s
from tests.factories import rss
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer
from tests.test_cli import storywatch

pytestmark = pytest.mark.prefect


@pytest.fixture
def project(tmp_path: Path, feed_server: FeedServer) -> Path:
    """Two outlets whose feeds still hold the story from 2 to 14 April; one source is down."""
    feed_server.set_feed("/a.xml", rss("A", [s.ITEM_TALKS, s.ITEM_SWAP]))
    feed_server.set_feed(
        "/b.xml", rss("B", [s.ITEM_PHONE, s.ITEM_TALKS_REPEAT, s.ITEM_BAKERY, s.ITEM_SWAP_REPEAT])
    )
    feed_server.set_status("/down.xml", 503, times=1000)
    s.write_story_config(
        tmp_path,
        {
            "Alpha": feed_server.url("/a.xml"),
            "Beta": feed_server.url("/b.xml"),
            "Down": feed_server.url("/down.xml"),
        },
    )
    return tmp_path


def test_backfill_replays_the_window_mails_it_once_and_reports_the_reach(
    project: Path, prefect_api_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    config = str(project / "sources.yaml")
    with SmtpServer() as smtp:
        env = {"PREFECT_API_URL": prefect_api_url, **smtp.env()}
        args = ("--config", config, "backfill", "--since", "2025-04-11", "--until", "2025-04-13")
        done = storywatch(*args, "--email", cwd=elsewhere, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""  # stdout is for data only
        assert "backfill 2025-04-11..2025-04-13" in done.stderr
        assert "failed  Down:" in done.stderr
        assert "whole   Alpha: feed, 1 page(s), reached back to 2025-04-11" in done.stderr
        assert "partial" not in done.stderr  # both feeds still hold 11 April
        assert "2 sources read, 1 failed, 4 entries in the window" in done.stderr
        (mail,) = smtp.received
        assert (
            mail.message["Subject"]
            == "Truce talks: 2 developments in the backfill of 11–13 Apr 2025"
        )
        text = mail.message.get_body(("plain",)).get_content()
        assert "Backfill of 11–13 Apr 2025" in text
        # The same window again: nothing stored, nothing sent.
        again = storywatch(*args, "--email", cwd=elsewhere, env=env)
        assert again.returncode == 0, again.stderr
        assert "2 sources read, 1 failed, 4 entries in the window, 0 new" in again.stderr
        assert len(smtp.received) == 1
    exported = storywatch("--config", config, "export", "developments", cwd=elsewhere)
    developments = json.loads(exported.stdout)
    assert sorted(len(d["articles"]) for d in developments) == [1, 2]  # swap repeat: 14 Apr
    articles = json.loads(
        storywatch("--config", config, "export", "articles", cwd=elsewhere).stdout
    )
    assert {a["published"][:10] for a in articles} == {"2025-04-11", "2025-04-12", "2025-04-13"}
    # Both backfills ended (released), with their --email recorded, and settled their window.
    from sqlalchemy import select

    from storywatch.store.repository import Store
    from storywatch.store.tables import BACKFILL_STORYLINES, RUNS

    store = Store.open(f"sqlite:///{project / 'storywatch.db'}")
    with store.engine.connect() as conn:
        runs = conn.execute(
            select(RUNS.c.released_at, RUNS.c.email).where(RUNS.c.kind == "backfill")
        )
        assert [(released is not None, email) for released, email in runs] == [(True, True)] * 2
        settled = conn.scalars(select(BACKFILL_STORYLINES.c.settled_at))
        assert [when is not None for when in settled] == [True, True]


def test_backfill_refuses_a_bad_window_or_an_unknown_source_before_running(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    config = str(project / "sources.yaml")
    bad = storywatch(
        "--config", config, "backfill", "--since", "2025-04-13", "--until", "2025-04-11",
        cwd=elsewhere,
    )  # fmt: skip
    assert bad.returncode == 2 and "is after --until" in bad.stderr
    unknown = storywatch(
        "--config", config, "backfill", "--since", "2025-04-11", "--until", "2025-04-13",
        "--source", "Gamma", cwd=elsewhere,
    )  # fmt: skip
    assert unknown.returncode == 2 and "no source named 'Gamma'" in unknown.stderr


def test_backfill_by_day_submits_each_day_once_whatever_the_repeats(
    project: Path, prefect_api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI's driver: one run of the backfill deployment per day, keyed by its day, so the
    same window submitted twice creates no second run. The deployment here has no worker:
    each day's run is created and left scheduled (timeout 0), which is what the keys decide."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from flows.backfill import backfill, day_run_key

    async def deploy_and_submit() -> tuple[list[str], list[str]]:
        deployment = await backfill.ato_deployment(name="backfill-test")
        deployment_id = await deployment.aapply()
        config = str(project / "sources.yaml")
        keys = [day_run_key(config, day, None, None) for day in ("2025-04-11", "2025-04-12")]
        assert keys[0] != day_run_key(config, "2025-04-11", None, ["Alpha"])  # another scope
        first, second = [], []
        for target in (first, second):
            for key in keys:
                run = await run_deployment(
                    name="backfill/backfill-test",
                    parameters={"config_path": config, "since": key[-10:], "until": key[-10:]},
                    idempotency_key=key,
                    timeout=0,
                )  # fmt: skip
                target.append(str(run.id))
        async with get_client() as client:
            await client.delete_deployment(deployment_id)
        return first, second

    first, second = asyncio.run(deploy_and_submit())
    assert len(set(first)) == 2 and first == second
