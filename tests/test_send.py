"""Composing and sending digests against the store (no Prefect): a real SMTP server (aiosmtpd)
on 127.0.0.1, real feeds, real SQLite and PostgreSQL. Exactly once: reruns send nothing, SMTP
down then up sends once, later; concurrent runs send once."""

from __future__ import annotations

import os
import socket
import threading
import time
import typing
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from storywatch.config.config import Config, load_config
from storywatch.digest.send import STALE_CLAIM, deliver_pending
from storywatch.digest.smtp import SmtpConfigError, SmtpSettings
from storywatch.pipeline.detect import detect_storyline
from storywatch.pipeline.digests import compose_digests
from storywatch.pipeline.ingest import ingest_once
from storywatch.store.repository import Store
from tests.factories import fill_disk, rss
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer
from tests.storyfeeds import (
    ITEM_BAKERY,
    ITEM_SWAP,
    ITEM_SWAP_REPEAT,
    ITEM_TALKS,
    ITEM_TALKS_REPEAT,
    STORYLINE,
    write_story_config,
)

RECIPIENTS = ["desk@example.org", "editor@example.org"]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


World = tuple[Config, Callable[[], Store]]


@pytest.fixture
def world(
    tmp_path: Path, feed_server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", database_url)
    path = write_story_config(
        tmp_path, {"Alpha": feed_server.url("/alpha.xml"), "Beta": feed_server.url("/beta.xml")}
    )
    data = yaml.safe_load(path.read_text())
    data["digest"]["to"] = RECIPIENTS
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    config = load_config(path)
    stores: list[Store] = []

    def open_store() -> Store:
        stores.append(Store.open(config.database_url))
        return stores[-1]

    yield config, open_store
    for store in stores:
        store.close()


def serve(feed_server: FeedServer, alpha: list[dict], beta: list[dict]) -> None:
    feed_server.set_feed("/alpha.xml", rss("Alpha", alpha))
    feed_server.set_feed("/beta.xml", rss("Beta", beta))


def detect(config: Config, store: Store) -> None:
    report = ingest_once(config, store, workers=1)
    detect_storyline(config, STORYLINE, store, run_id=report.run_id)


def talks_composed(world: World, feed_server: FeedServer) -> tuple[Config, Store]:
    """One story detected and its digests composed (one per recipient), none sent yet."""
    config, open_store = world
    store = open_store()
    serve(feed_server, [ITEM_TALKS], [])
    detect(config, store)
    compose_digests(config, store)
    return config, store


def digest_run(config: Config, store: Store, smtp: SmtpServer | None) -> list:
    """What the digest stage of a run does: compose, then deliver what is pending."""
    compose_digests(config, store)
    settings = SmtpSettings.from_env(smtp.env()) if smtp else None
    return deliver_pending(store, config.outbox_dir, settings)


class Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.blocks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("href") and not str(found["href"]).startswith("#"):  # "#d1": the summary's
            self.hrefs.append(str(found["href"]))
        if found.get("data-development-id"):
            self.blocks.append(str(found["data-development-id"]))


def test_one_digest_per_recipient_over_smtp_with_every_development_linked_then_nothing(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    config, open_store = world
    store = open_store()
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [ITEM_TALKS_REPEAT, ITEM_BAKERY])
    detect(config, store)
    developments = list(store.iter_developments())
    assert len(developments) == 2

    outcomes = digest_run(config, store, smtp)
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert sorted(r.recipients[0] for r in smtp.received) == RECIPIENTS
    for received in smtp.received:
        message = received.message
        assert received.sender == "sw@example.org"
        assert message["Subject"].startswith("Truce talks: 2 new developments (")
        assert message["To"] == received.recipients[0]
        digest_id = message["X-Storywatch-Digest"]
        assert message["Message-ID"] == f"<{digest_id}@example.org>"
        assert message.get_content_type() == "multipart/alternative"
        text, html = message.iter_parts()  # type: ignore[attr-defined]
        assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        page = Hrefs()
        page.feed(html.get_content())
        assert sorted(page.blocks) == sorted(d.id for d in developments)
        exported = sorted(a.url for d in developments for a in d.articles)
        assert sorted(page.hrefs) == exported and len(exported) == 3
        assert all(url in text.get_content() for url in exported)
        outbox = config.outbox_dir / f"{digest_id}.eml"  # the same bytes went to the outbox
        copy = message_from_bytes(outbox.read_bytes(), policy=policy.default)
        assert copy["Message-ID"] == message["Message-ID"]
        copied = copy.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert copied == html.get_content().replace("\r\n", "\n")  # SMTP sends CRLF

    assert digest_run(config, open_store(), smtp) == []  # a rerun (a restart) sends nothing
    assert len(smtp.received) == 2


def test_a_later_digest_holds_only_what_is_new_since_the_last(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    config, open_store = world
    store = open_store()
    serve(feed_server, [ITEM_TALKS], [ITEM_TALKS_REPEAT])
    detect(config, store)
    digest_run(config, store, smtp)
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [ITEM_TALKS_REPEAT, ITEM_SWAP_REPEAT])
    detect(config, store)
    digest_run(config, store, smtp)
    subjects = [r.message["Subject"] for r in smtp.received]
    assert sum("1 new development (" in s for s in subjects) == 4
    latest = [r.message for r in smtp.received[2:]]
    assert all(ITEM_SWAP["title"] in m.get_body(("plain",)).get_content() for m in latest)  # type: ignore[union-attr]
    assert all(ITEM_TALKS["title"] not in m.get_body(("plain",)).get_content() for m in latest)  # type: ignore[union-attr]


def test_smtp_down_keeps_the_digest_pending_with_its_error_and_the_next_run_sends_it_once(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    config, open_store = world
    store = open_store()
    serve(feed_server, [ITEM_TALKS], [])
    detect(config, store)
    smtp.stop()
    failed = digest_run(config, store, smtp)
    assert [o.status for o in failed] == ["failed", "failed"]
    rows = store.delivery_statuses()
    assert [r["status"] for r in rows] == ["pending", "pending"]
    refused = f"cannot connect to SMTP server 127.0.0.1:{smtp.port} (connection refused)"
    assert [r["last_error"] for r in rows] == [refused, refused]
    assert [r["attempts"] for r in rows] == [1, 0]  # the second was not tried: same server
    assert all(o.outbox_path and o.outbox_path.exists() for o in failed)  # the copy is kept

    smtp.start()
    sent = digest_run(config, open_store(), smtp)
    assert [o.status for o in sent] == ["sent", "sent"]
    assert [o.digest_id for o in sent] == [o.digest_id for o in failed]  # the same digests
    assert digest_run(config, open_store(), smtp) == []
    assert len(smtp.received) == 2
    assert [(r["status"], r["attempts"], r["last_error"]) for r in store.delivery_statuses()] == [
        ("sent", 2, None),
        ("sent", 1, None),
    ]


def test_concurrent_runs_send_each_digest_once(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    config, open_store = world
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [ITEM_TALKS_REPEAT])
    detect(config, open_store())
    stores = [open_store() for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def one_run(store: Store) -> None:
        try:
            barrier.wait()
            digest_run(config, store, smtp)
        except BaseException as exc:  # pragma: no cover  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=one_run, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(r.recipients[0] for r in smtp.received) == RECIPIENTS
    assert [r["status"] for r in stores[0].delivery_statuses()] == ["sent", "sent"]


class SilentServer:
    """A hung mail server: accepts every connection on 127.0.0.1 and never says a word."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so the accept loop sees the stop flag
        self.port = int(self._listener.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self.accepted.append(self._listener.accept()[0])
            except TimeoutError:
                continue

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in [*self.accepted, self._listener]:
            conn.close()


def test_a_server_that_never_answers_costs_one_timeout_per_pass_and_nothing_is_lost(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    config, store = talks_composed(world, feed_server)
    with SilentServer() as silent:
        hung = SmtpSettings("127.0.0.1", silent.port, "none", timeout=0.5)
        started = time.monotonic()
        outcomes = deliver_pending(store, config.outbox_dir, hung)
        elapsed = time.monotonic() - started
        connections = len(silent.accepted)
    assert connections == 1 and elapsed < 1.0  # not one timeout per recipient
    error = (
        f"SMTP server 127.0.0.1:{silent.port} did not answer within 0.5 s; if it expects TLS "
        "from the start (port 465), set STORYWATCH_SMTP_SECURITY=ssl"
    )
    assert [(o.status, o.error) for o in outcomes] == [("failed", error)] * 2
    assert all(o.outbox_path and o.outbox_path.exists() for o in outcomes)
    rows = store.delivery_statuses()
    assert [(r["status"], r["attempts"], r["last_error"]) for r in rows] == [
        ("pending", 1, error),
        ("pending", 0, error),  # left for the next run, untried
    ]

    sent = deliver_pending(store, config.outbox_dir, SmtpSettings.from_env(smtp.env()))
    assert [o.status for o in sent] == ["sent", "sent"]
    assert deliver_pending(store, config.outbox_dir, SmtpSettings.from_env(smtp.env())) == []
    assert sorted(r.recipients[0] for r in smtp.received) == RECIPIENTS  # each once


def test_a_delivery_claim_has_exactly_one_winner(world: World, feed_server: FeedServer) -> None:
    _, store = talks_composed(world, feed_server)
    _, open_store = world
    delivery = store.pending_deliveries(STALE_CLAIM)[0]
    stores = [open_store() for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    wins: list[bool] = []

    def claim(s: Store) -> None:
        barrier.wait()
        wins.append(s.claim_delivery(delivery.id, str(uuid.uuid4()), STALE_CLAIM))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(wins) == [False] * 5 + [True]


def test_outbox_only_without_an_smtp_host(world: World, feed_server: FeedServer) -> None:
    config, open_store = world
    store = open_store()
    serve(feed_server, [ITEM_TALKS], [])
    detect(config, store)
    outcomes = digest_run(config, store, None)
    assert [(o.status, o.transport) for o in outcomes] == [("sent", "outbox")] * 2
    files = sorted(config.outbox_dir.glob("*.eml"))
    assert len(files) == 2 and all(f.read_bytes().isascii() for f in files)


def test_heartbeat_mail_when_nothing_is_new_at_most_once_a_day(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    config, open_store = world
    config = config.model_copy(
        update={
            "digest": config.digest.model_copy(update={"heartbeat": True, "to": RECIPIENTS[:1]})
        }
    )
    store = open_store()
    serve(feed_server, [ITEM_BAKERY], [])
    detect(config, store)
    assert [o.status for o in digest_run(config, store, smtp)] == ["sent"]
    assert digest_run(config, store, smtp) == []
    (received,) = smtp.received
    assert "nothing new" in received.message["Subject"]


def test_smtp_login_and_a_refused_login_stays_pending(
    world: World, feed_server: FeedServer
) -> None:
    config, store = talks_composed(world, feed_server)
    with SmtpServer(login=("sw", "secret")) as server:
        wrong = SmtpSettings.from_env({**server.env(), "STORYWATCH_SMTP_PASSWORD": "nope"})
        refused = deliver_pending(store, config.outbox_dir, wrong)
        assert [o.status for o in refused] == ["failed", "failed"]
        assert (refused[0].error or "").startswith(
            f"SMTP server 127.0.0.1:{server.port} refused the login of sw (535 "
        )
        right = SmtpSettings.from_env(server.env())
        assert [o.status for o in deliver_pending(store, config.outbox_dir, right)] == ["sent"] * 2
        assert len(server.received) == 2


def test_starttls_required_but_not_offered_is_an_error_not_a_clear_text_send(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    config, store = talks_composed(world, feed_server)
    settings = SmtpSettings.from_env(smtp.env(security="starttls"))
    outcomes = deliver_pending(store, config.outbox_dir, settings)
    assert {o.status for o in outcomes} == {"failed"}
    assert outcomes[0].error == (
        f"SMTP server 127.0.0.1:{smtp.port} does not offer STARTTLS, so nothing was sent in "
        "clear text; a plain local catcher needs STORYWATCH_SMTP_SECURITY=none"
    )
    assert smtp.received == []


def test_smtp_settings_from_the_environment() -> None:
    assert SmtpSettings.from_env({}) is None
    assert SmtpSettings.from_env({"STORYWATCH_SMTP_HOST": "mail.test"}) == SmtpSettings(
        "mail.test", 587, "starttls"
    )
    ssl = SmtpSettings.from_env({"STORYWATCH_SMTP_HOST": "h", "STORYWATCH_SMTP_SECURITY": "SSL"})
    assert ssl is not None and (ssl.port, ssl.security) == (465, "ssl")
    plain = SmtpSettings.from_env(
        {
            "STORYWATCH_SMTP_HOST": "h",
            "STORYWATCH_SMTP_SECURITY": "none",
            "STORYWATCH_SMTP_USERNAME": "u",
        }
    )
    assert plain is not None and (plain.port, plain.username, plain.password) == (25, "u", None)
    for bad in ({"STORYWATCH_SMTP_SECURITY": "tls"}, {"STORYWATCH_SMTP_PORT": "x"}):
        with pytest.raises(SmtpConfigError, match=next(iter(bad))):
            SmtpSettings.from_env({"STORYWATCH_SMTP_HOST": "h", **bad})


def test_a_claim_left_by_a_crashed_run_is_sent_once_it_is_stale(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from storywatch.store.schema import DeliveryRow, utcnow

    config, store = talks_composed(world, feed_server)
    crashed = store.pending_deliveries(STALE_CLAIM)[0]
    assert store.claim_delivery(crashed.id, "run-that-died", STALE_CLAIM)

    settings = SmtpSettings.from_env(smtp.env())
    first = deliver_pending(store, config.outbox_dir, settings)
    assert crashed.digest_id not in {o.digest_id for o in first}  # a fresh claim is left alone
    with store.engine.begin() as conn:
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == crashed.id)
            .values(claimed_at=utcnow() - STALE_CLAIM - timedelta(minutes=1))
        )
    (retried,) = deliver_pending(store, config.outbox_dir, settings)
    assert (retried.digest_id, retried.status) == (crashed.digest_id, "sent")
    resent = [r for r in smtp.received if r.message["X-Storywatch-Digest"] == crashed.digest_id]
    assert len(resent) == 1  # same Message-ID as any copy the dead run may have sent
    assert resent[0].message["Message-ID"] == f"<{crashed.digest_id}@example.org>"


def test_a_run_that_died_handing_a_digest_to_smtp_is_never_resent_by_itself(
    world: World, feed_server: FeedServer, smtp: SmtpServer
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from storywatch.store.schema import DeliveryRow, utcnow

    config, store = talks_composed(world, feed_server)
    died = store.pending_deliveries(STALE_CLAIM)[0]
    assert store.claim_delivery(died.id, "run-that-died", STALE_CLAIM)
    store.hand_over_delivery(died.id, "run-that-died")  # then killed: did the mail arrive?
    settings = SmtpSettings.from_env(smtp.env())
    assert store.resend_unsure(died.digest_id, STALE_CLAIM) == 0  # a live sender is left be
    with store.engine.begin() as conn:
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == died.id)
            .values(claimed_at=utcnow() - STALE_CLAIM - timedelta(minutes=1))
        )
    for _ in range(2):  # reported on every pass, never resent
        reported = [o for o in deliver_pending(store, config.outbox_dir, settings)
                    if o.digest_id == died.digest_id]  # fmt: skip
        assert [o.status for o in reported] == ["unsure"]
        assert f"storywatch digest --resend {died.digest_id}" in str(reported[0].error)
    assert not [r for r in smtp.received if r.message["X-Storywatch-Digest"] == died.digest_id]

    assert store.resend_unsure(died.digest_id, STALE_CLAIM) == 1  # the operator's word
    (resent,) = deliver_pending(store, config.outbox_dir, settings)
    assert (resent.digest_id, resent.status) == (died.digest_id, "sent")
    assert (
        len([r for r in smtp.received if r.message["X-Storywatch-Digest"] == died.digest_id]) == 1
    )


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_refuses_a_certificate_it_cannot_verify_and_sends_when_told_not_to_verify(
    world: World, feed_server: FeedServer, security: str
) -> None:
    from dataclasses import replace

    config, store = talks_composed(world, feed_server)
    with SmtpServer(tls=security) as server:
        checked = SmtpSettings.from_env(server.env(security=security))
        assert checked is not None and checked.verify
        refused = deliver_pending(store, config.outbox_dir, checked)  # self-signed: refused
        assert {o.status for o in refused} == {"failed"}
        assert refused[0].error == (
            f"TLS handshake with SMTP server 127.0.0.1:{server.port} failed "
            "(certificate not trusted: self-signed certificate)"
        )
        trusting = replace(checked, verify=False)  # what a block with verify: false asks for
        sent = deliver_pending(store, config.outbox_dir, trusting)
        assert [o.status for o in sent] == ["sent", "sent"]
        assert len(server.received) == 2


# -- the outbox is a copy when there is an SMTP server (issue 14) ----------------------------


def test_smtp_still_sends_when_the_outbox_cannot_be_written_and_says_so_loudly(
    world: World,
    feed_server: FeedServer,
    smtp: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, store = talks_composed(world, feed_server)
    (tmp_path / "not-a-folder").write_text("")  # no outbox can be made under a file
    monkeypatch.setenv("STORYWATCH_OUTBOX", str(tmp_path / "not-a-folder" / "outbox"))
    with caplog.at_level("WARNING", logger="storywatch.digest.send"):
        outcomes = deliver_pending(store, config.outbox_dir, SmtpSettings.from_env(smtp.env()))
    assert [(o.status, o.transport) for o in outcomes] == [("sent", "smtp")] * 2
    assert len(smtp.received) == 2
    assert all(
        o.outbox_error and "cannot write the outbox copy" in o.outbox_error for o in outcomes
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and all(
        "WARNING: cannot write the outbox copy" in w for w in warnings
    )
    assert deliver_pending(store, config.outbox_dir, None) == []  # sent: never again


def test_outbox_only_delivery_fails_and_stays_pending_when_the_copy_cannot_be_written(
    world: World, feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, store = talks_composed(world, feed_server)
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("STORYWATCH_OUTBOX", str(tmp_path / "not-a-folder" / "outbox"))
    outcomes = deliver_pending(store, config.outbox_dir, None)
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert len(store.pending_deliveries(STALE_CLAIM)) == 2


def test_a_full_outbox_keeps_no_partial_and_recovers_once_space_returns(
    world: World, feed_server: FeedServer, full_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, store = talks_composed(world, feed_server)
    outbox = full_disk / "outbox"
    monkeypatch.setenv("STORYWATCH_OUTBOX", str(outbox))
    outbox.mkdir()
    fill_disk(full_disk)  # not a byte left: each write fails part-way
    outcomes = deliver_pending(store, config.outbox_dir, None)
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert list(outbox.iterdir()) == []  # no .tmp partial left to keep the disk full
    # A run killed mid-write left a big partial: the next pass removes it (it is stale) first.
    (full_disk / "filler").unlink()
    fresh = outbox / "another-run-writing.5e6f7a8b.tmp"  # a write in progress: left alone
    fresh.write_text("partial")
    stale = outbox / "ukraine-peace-talks-0123456789abcdef.1a2b3c4d.tmp"
    fill_disk(outbox)
    (outbox / "filler").rename(stale)
    old = time.time() - 120
    os.utime(stale, (old, old))
    outcomes = deliver_pending(store, config.outbox_dir, None)
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert not stale.exists() and fresh.exists()
    assert len(list(outbox.glob("*.eml"))) == 2


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_bidi_controls_from_a_feed_never_reach_the_digest_or_the_artifact(
    world: World, feed_server: FeedServer
) -> None:
    config, open_store = world
    store = open_store()
    spoofed = {
        **ITEM_TALKS,
        "title": "Russian and Ukrainian \u202enegotiators\u202c sit \u2066down\u2069 in Istanbul",
        "description": "\u200fDelegations from Russia and Ukraine\u061c held direct talks in "
        "\u2067Istanbul\u2069 on Friday, \u202athe first\u202c such meeting in years.\u200e",
        "link": "https://alpha.test/news/\u202eistanbul\u202c?utm_source=feed",
    }
    serve(feed_server, [spoofed], [])
    detect(config, store)
    compose_digests(config, store)
    deliveries = store.pending_deliveries(STALE_CLAIM)
    assert len(deliveries) == 2
    for delivery in deliveries:
        message = message_from_bytes(delivery.message.encode(), policy=policy.default)
        text, html = (part.get_content() for part in message.iter_parts())  # type: ignore[attr-defined]
        for shown in (text, html, delivery.markdown, delivery.subject):  # markdown: the artifact
            assert not set(BIDI) & set(shown), [hex(ord(c)) for c in set(BIDI) & set(shown)]
        assert "negotiators sit down in Istanbul" in text and "negotiators sit down" in html
        assert 'href="https://alpha.test/news/istanbul"' in html
    (article,) = store.iter_articles()  # stored clean, so exports show no spoof either
    assert article.url == "https://alpha.test/news/istanbul"
    assert article.title == "Russian and Ukrainian negotiators sit down in Istanbul"


def _mailed_text(store: Store, config: Config, now: datetime | None = None) -> str:
    """Compose, deliver to the outbox, and return the one digest's text (spaces collapsed)
    and HTML parts."""
    (composed,) = compose_digests(config, store, now=now)
    (outcome,) = deliver_pending(store, config.outbox_dir, None)
    message = message_from_bytes(outcome.outbox_path.read_bytes(), policy=policy.default)  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert composed.digest_id == message["X-Storywatch-Digest"]
    return " ".join(text.split()) + "\n" + html


def test_every_mail_says_truthfully_which_sources_failed_since_the_last_one(
    world: World, feed_server: FeedServer
) -> None:
    config, open_store = world
    config = config.model_copy(
        update={
            "digest": config.digest.model_copy(update={"heartbeat": True, "to": RECIPIENTS[:1]})
        }
    )
    store = open_store()
    trusted = "checked every feed: this mail says so, so that silence can be trusted"
    # 1. a digest of news while Beta is down: it names Beta (no mail before: the latest run)
    feed_server.set_feed("/alpha.xml", rss("Alpha", [ITEM_TALKS]))
    feed_server.set_status("/beta.xml", 404)
    detect(config, store)
    text = _mailed_text(store, config)
    assert "1 new development" in text
    assert "1 of 2 sources failed in the latest run: Beta (HTTP 404)." in text
    assert trusted not in text
    # 2. nothing new, both read: only now may the heartbeat say silence can be trusted
    serve(feed_server, [ITEM_TALKS], [ITEM_BAKERY])
    detect(config, store)
    text = _mailed_text(store, config)
    assert "nothing new since" in text
    assert "All 2 sources were checked since the last mail and none failed." in text
    assert trusted in text
    # 3. next day, Beta failed in one run and recovered in the next: still named
    feed_server.set_status("/beta.xml", 410)
    detect(config, store)
    serve(feed_server, [ITEM_TALKS], [ITEM_BAKERY])
    detect(config, store)
    text = _mailed_text(store, config, datetime.now(UTC) + timedelta(days=1))  # a new day
    assert "1 of 2 sources failed since the last mail: Beta (HTTP 410)." in text
    assert trusted not in text and "Silence is not proof that nothing happened" in text


class _RawSmtp:
    """A minimal SMTP server on loopback that takes one message, then misbehaves at the end:
    ``after_data`` "quit-421" (accepts the message, answers QUIT with 421) or "drop" (closes
    the connection without answering the end of DATA)."""

    def __init__(self, after_data: str) -> None:
        import socket
        import threading

        self.after_data = after_data
        self.messages: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._session(conn.makefile("rwb"))

    def _session(self, io: typing.BinaryIO) -> None:
        def say(line: str) -> None:
            io.write(line.encode() + b"\r\n")
            io.flush()

        say("220 raw ready")
        while line := io.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                say("250 raw")
            elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                say("250 ok")
            elif verb == b"DATA":
                say("354 go on")
                body = b""
                while (chunk := io.readline()) not in (b".\r\n", b""):
                    body += chunk
                self.messages.append(body)
                if self.after_data == "drop":
                    return
                say("250 queued")
            elif verb == b"QUIT":
                say("421 going down" if self.after_data == "quit-421" else "221 bye")
                return

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("after_data", ["quit-421", "drop"])
def test_a_message_the_server_took_is_never_sent_again(
    world: World, feed_server: FeedServer, after_data: str
) -> None:
    # A failing QUIT after the server queued the mail released the delivery to pending, and
    # the next run mailed it again; a connection dropped at the end of DATA did the same.
    config, store = talks_composed(world, feed_server)
    server = _RawSmtp(after_data)
    try:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security="none", timeout=5)
        first = deliver_pending(store, config.outbox_dir, settings)
        second = deliver_pending(store, config.outbox_dir, settings)
        statuses = {r["status"] for r in store.delivery_statuses()}
    finally:
        server.close()
    assert len(server.messages) == 2  # one per recipient, each once, over both passes
    if after_data == "quit-421":  # accepted: sent, whatever QUIT said
        assert [o.status for o in first] == ["sent", "sent"] and second == []
        assert statuses == {"sent"}
    else:  # no answer to the message's end: its fate is unknown, so it is not resent
        assert [o.status for o in first] == ["unsure", "unsure"] and second == []
        assert "storywatch digest --resend" in str(first[0].error)
        assert statuses == {"handing"}


def test_a_run_whose_claim_went_stale_does_not_send(world: World, feed_server: FeedServer) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from storywatch.store.schema import DeliveryRow, utcnow

    _, store = talks_composed(world, feed_server)
    slow = store.pending_deliveries(STALE_CLAIM)[0]
    assert store.claim_delivery(slow.id, "slow-run", STALE_CLAIM)  # then its outbox write hangs
    with store.engine.begin() as conn:
        conn.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == slow.id)
            .values(claimed_at=utcnow() - STALE_CLAIM - timedelta(minutes=1))
        )
    assert store.claim_delivery(slow.id, "next-run", STALE_CLAIM)  # the next run takes it
    assert not store.hand_over_delivery(slow.id, "slow-run")  # so the slow run must not send
    assert store.hand_over_delivery(slow.id, "next-run")
