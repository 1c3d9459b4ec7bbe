"""The digest stage in the `run` flow and the standalone `digest` flow, under the session's one
prefect_test_harness, with a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from storywatch.store.repository import Store
from tests.factories import rss
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer
from tests.storyfeeds import ITEM_SWAP, ITEM_TALKS, ITEM_TALKS_REPEAT, write_story_config

pytestmark = pytest.mark.prefect


@pytest.fixture
def story_config(tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'sw.db'}")
    feed_server.set_feed("/a.xml", rss("A", [ITEM_TALKS, ITEM_SWAP]))
    feed_server.set_feed("/b.xml", rss("B", [ITEM_TALKS_REPEAT]))
    return write_story_config(
        tmp_path, {"A": feed_server.url("/a.xml"), "B": feed_server.url("/b.xml")}
    )


def set_digest(path: Path, **settings: object) -> None:
    data = yaml.safe_load(path.read_text())
    data["digest"].update(settings)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def deliveries(config: Path) -> list[dict]:
    from storywatch.config.config import load_config

    store = Store.open(load_config(config).database_url)
    try:
        return store.delivery_statuses()
    finally:
        store.close()


def test_run_flow_mails_the_digest_once_and_shows_it_in_an_artifact(
    story_config: Path,
    prefect_api_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.run import run

    with SmtpServer() as smtp:
        for name, value in smtp.env().items():
            monkeypatch.setenv(name, value)
        state = asyncio.run(run(str(story_config), return_state=True))
        assert state.is_completed()
        asyncio.run(run(str(story_config)))  # the rerun: nothing new, nothing sent
    (received,) = smtp.received
    assert received.message["Subject"].startswith("Truce talks: 2 new developments (")
    assert [r["status"] for r in deliveries(story_config)] == ["sent"]

    async def artifacts() -> list:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["digest-truce-talks"]))
            )
            return [a for a in found if a.flow_run_id == state.state_details.flow_run_id]

    (artifact,) = asyncio.run(artifacts())
    assert artifact.type == "markdown" and ITEM_SWAP["title"] in str(artifact.data)


def test_smtp_down_does_not_fail_the_run_and_no_email_or_scheduled_mode_send_nothing(
    story_config: Path,
    prefect_api_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.digest import digest
    from flows.run import run

    smtp = SmtpServer()  # not started: connection refused
    for name, value in smtp.env().items():
        monkeypatch.setenv(name, value)
    asyncio.run(run(str(story_config), send_email=False))
    assert deliveries(story_config) == []  # --no-email: nothing composed, nothing sent

    set_digest(story_config, mode="scheduled", schedule="0 7 * * *")
    asyncio.run(run(str(story_config)))
    assert deliveries(story_config) == []  # scheduled storylines wait for their schedule

    set_digest(story_config, mode="immediate")
    state = asyncio.run(run(str(story_config), return_state=True))
    assert state.is_completed()  # SMTP down: the run still completes
    (pending,) = deliveries(story_config)
    assert pending["status"] == "pending"
    assert pending["last_error"] == (
        f"cannot connect to SMTP server 127.0.0.1:{smtp.port} (connection refused)"
    )

    with smtp:  # SMTP back: the standalone digest flow sends what was pending, once
        asyncio.run(digest(str(story_config)))
        asyncio.run(digest(str(story_config)))
    assert len(smtp.received) == 1
    assert [r["status"] for r in deliveries(story_config)] == ["sent"]


def test_a_storyline_can_name_a_prefect_email_block_for_its_smtp_server(
    story_config: Path,
    prefect_api_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefect_email = pytest.importorskip("prefect_email", reason="prefect-email not installed")
    from flows.digest import digest
    from flows.run import run

    for name in ("HOST", "PORT", "SECURITY", "USERNAME", "PASSWORD"):
        monkeypatch.delenv(f"STORYWATCH_SMTP_{name}", raising=False)
    asyncio.run(run(str(story_config), send_email=False))
    with SmtpServer(login=("desk", "s3cret")) as smtp:
        block = prefect_email.EmailServerCredentials(
            smtp_server="127.0.0.1",
            smtp_port=smtp.port,
            smtp_type="INSECURE",
            username="desk",
            password="s3cret",
        )
        block.save("storywatch-test-smtp", overwrite=True)
        set_digest(story_config, smtp_block="storywatch-test-smtp")
        asyncio.run(digest(str(story_config)))
    (received,) = smtp.received
    assert received.message["Subject"].startswith("Truce talks: 2 new developments (")
    assert "s3cret" not in story_config.read_text()  # sources.yaml names the block only


def test_block_settings_follow_prefect_email_defaults() -> None:
    prefect_email = pytest.importorskip("prefect_email", reason="prefect-email not installed")
    from flows.email_blocks import settings_from_block
    from storywatch.digest.smtp import SmtpSettings

    block = prefect_email.EmailServerCredentials(
        smtp_server="mail.example.org", smtp_type="SSL", password="", verify=False
    )
    assert settings_from_block(block) == SmtpSettings(
        "mail.example.org", 465, "ssl", None, None, verify=False
    )
