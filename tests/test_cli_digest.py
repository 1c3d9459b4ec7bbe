"""`storywatch digest` as users run it (console script in a subprocess, no Prefect needed):
--preview writes the HTML that would be sent and records nothing; --send mails it once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from storywatch.config.config import load_config
from storywatch.pipeline.detect import detect_storyline
from storywatch.pipeline.ingest import ingest_once
from storywatch.store.repository import Store
from tests.factories import rss
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer, free_port
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
    unknown = storywatch(
        "--config", str(detected), "digest", "--preview", str(preview), "--storyline", "nope",
        cwd=tmp_path,
    )  # fmt: skip
    assert unknown.returncode == 2 and "error: no storyline 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_send_mails_once_and_the_listing_shows_it(detected: Path, tmp_path: Path) -> None:
    with SmtpServer() as smtp:
        for _ in range(2):
            done = storywatch(
                "--config", str(detected), "digest", "--send", cwd=tmp_path, env=smtp.env()
            )
            assert done.returncode == 0, done.stderr
    assert len(smtp.received) == 1
    assert "nothing to send" in done.stderr and done.stdout == ""  # the second: none pending
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


UNMAILED = (
    f"storyline {STORYLINE}: no digest recipients (digest.to): "
    "its developments are stored but never mailed"
)


def without_recipients(path: Path) -> Path:
    data = yaml.safe_load(path.read_text())
    del data["digest"]["to"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_check_warns_about_a_storyline_without_recipients_but_accepts_it(
    detected: Path, tmp_path: Path
) -> None:
    done = storywatch("--config", str(without_recipients(detected)), "check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "OK" in done.stderr and f"warning: {UNMAILED}" in done.stderr
    assert done.stdout == ""
    other = write_story_config(tmp_path / "mailed", {"A": "http://127.0.0.1:9/a.xml"})
    mailed = storywatch("--config", str(other), "check", cwd=tmp_path)
    assert mailed.returncode == 0 and "warning" not in mailed.stderr


def test_send_without_recipients_says_so_once_instead_of_nothing(
    detected: Path, tmp_path: Path
) -> None:
    config = str(without_recipients(detected))
    with SmtpServer() as smtp:
        done = storywatch("--config", config, "digest", "--send", cwd=tmp_path, env=smtp.env())
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(UNMAILED) == 1 and "nothing to send" in done.stderr
    assert smtp.received == [] and done.stdout == ""


def test_send_exits_1_when_a_delivery_failed_naming_the_server_then_sends_it_later(
    detected: Path, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens: connection refused
    down = {
        "STORYWATCH_SMTP_HOST": "127.0.0.1",
        "STORYWATCH_SMTP_PORT": str(port),
        "STORYWATCH_SMTP_SECURITY": "none",
    }
    done = storywatch("--config", str(detected), "digest", "--send", cwd=tmp_path, env=down)
    assert done.returncode == 1, done.stderr
    assert f"cannot connect to SMTP server 127.0.0.1:{port} (connection refused)" in done.stderr
    assert "Errno" not in done.stderr and done.stdout == ""
    (row,) = json.loads(storywatch("--config", str(detected), "digest", cwd=tmp_path).stdout)
    assert row["status"] == "pending"
    with SmtpServer() as smtp:
        done = storywatch(
            "--config", str(detected), "digest", "--send", cwd=tmp_path, env=smtp.env()
        )
    assert done.returncode == 0, done.stderr
    assert len(smtp.received) == 1


@pytest.mark.prefect
def test_run_says_once_that_a_storyline_without_recipients_is_never_mailed(
    detected: Path, tmp_path: Path, prefect_api_url: str
) -> None:
    config = str(without_recipients(detected))
    env = {"PREFECT_API_URL": prefect_api_url}
    done = storywatch("--config", config, "run", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count(UNMAILED) == 1 and done.stdout == ""
    assert not list((tmp_path / "outbox").glob("*.eml"))  # nothing composed, as it says


def test_send_mails_even_when_the_outbox_is_unwritable_and_warns(
    detected: Path, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    with SmtpServer() as smtp:
        env = {**smtp.env(), "STORYWATCH_OUTBOX": str(tmp_path / "a-file" / "outbox")}
        done = storywatch("--config", str(detected), "digest", "--send", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr  # the mail went out: documented in the README
    assert len(smtp.received) == 1
    assert "WARNING: cannot write the outbox copy" in done.stderr  # the log line
    assert (
        f"warning: 1 digest sent by SMTP without an outbox copy: {tmp_path / 'a-file' / 'outbox'}"
        " cannot be written (read-only or full?)"
    ) in done.stderr
