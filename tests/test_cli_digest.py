"""`storywatch digest` as users run it (console script in a subprocess, no Prefect needed):
--preview writes the HTML that would be sent and records nothing; --send mails it once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storywatch.config import load_config
from storywatch.detection import detect_storyline
from storywatch.ingest import ingest_once
from storywatch.store import Store
from tests.factories import rss
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer
from tests.storyfeeds import ITEM_SWAP, ITEM_TALKS, ITEM_TALKS_REPEAT, STORYLINE, write_story_config
from tests.test_cli import storywatch


@pytest.fixture
def detected(tmp_path: Path, feed_server: FeedServer) -> Path:
    """A config whose database holds two detected developments, none sent."""
    feed_server.set_feed("/a.xml", rss("A", [ITEM_TALKS, ITEM_SWAP]))
    feed_server.set_feed("/b.xml", rss("B", [ITEM_TALKS_REPEAT]))
    path = write_story_config(
        tmp_path, {"A": feed_server.url("/a.xml"), "B": feed_server.url("/b.xml")}
    )
    config = load_config(path)
    store = Store.open(config.database_url)
    try:
        report = ingest_once(config, store, workers=1)
        detect_storyline(config, STORYLINE, store, run_id=report.run_id)
    finally:
        store.close()
    return path


def test_preview_writes_the_html_and_records_nothing(detected: Path, tmp_path: Path) -> None:
    preview = tmp_path / "out" / "digest.html"
    done = storywatch("--config", str(detected), "digest", "--preview", str(preview), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = preview.read_text()
    assert html.count("data-development-id=") == 2 and ITEM_SWAP["title"] in html
    assert "Truce talks: 2 new developments (" in done.stderr
    listed = storywatch("--config", str(detected), "digest", cwd=tmp_path)
    assert json.loads(listed.stdout) == []  # a preview sends and records nothing


def test_send_mails_once_and_the_listing_shows_it(detected: Path, tmp_path: Path) -> None:
    with SmtpServer() as smtp:
        for _ in range(2):
            done = storywatch(
                "--config", str(detected), "digest", "--send", cwd=tmp_path, env=smtp.env()
            )
            assert done.returncode == 0, done.stderr
    assert len(smtp.received) == 1
    (row,) = json.loads(storywatch("--config", str(detected), "digest", cwd=tmp_path).stdout)
    assert (row["status"], row["transport"], row["development_count"]) == ("sent", "smtp", 2)
    assert (tmp_path / "outbox" / f"{row['digest_id']}.eml").exists()


def test_send_refuses_bad_smtp_settings_with_status_2(detected: Path, tmp_path: Path) -> None:
    env = {"STORYWATCH_SMTP_HOST": "127.0.0.1", "STORYWATCH_SMTP_SECURITY": "tls"}
    done = storywatch("--config", str(detected), "digest", "--send", cwd=tmp_path, env=env)
    assert done.returncode == 2 and "STORYWATCH_SMTP_SECURITY" in done.stderr


@pytest.mark.parametrize(
    "command",
    [("run",), ("backfill", "--since", "2025-04-01", "--until", "2025-04-02", "--email")],
)
def test_run_and_backfill_refuse_bad_smtp_settings_before_any_work(
    detected: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {"STORYWATCH_SMTP_HOST": "127.0.0.1", "STORYWATCH_SMTP_PORT": "smtp"}
    done = storywatch("--config", str(detected), *command, cwd=tmp_path, env=env)
    assert done.returncode == 2 and "STORYWATCH_SMTP_PORT" in done.stderr
    assert "sources fetched" not in done.stderr and "sources read" not in done.stderr
