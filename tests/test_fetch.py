"""Fetch stage against a real HTTP server on loopback (tests/feedserver.py); no HTTP mocks.

Limits are small (deadline 2 s, backoff 0.05 s) so the whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import tracemalloc
import zlib
from dataclasses import replace
from email.utils import formatdate
from typing import Any

import pytest

import storywatch
from storywatch.fetch.client import (
    ACCEPT,
    DEFAULT_USER_AGENT,
    describe_failure,
    fetch_all,
    fetch_sources,
    parse_retry_after,
)
from storywatch.fetch.model import FetchLimits, FetchRequest, FetchResult
from tests.feedserver import SAMPLE_RSS, FeedServer, MiB

FAST = FetchLimits(
    deadline=2.0,
    connect_timeout=0.5,
    read_timeout=0.5,
    retries=2,
    backoff_base=0.05,
    max_bytes=256 * 1024,
)


def fetch_one(url: str, limits: FetchLimits = FAST, **validators: str) -> FetchResult:
    return fetch_sources([FetchRequest("test source", url, **validators)], limits)[0]


def timed(url: str, limits: FetchLimits = FAST) -> tuple[FetchResult, float]:
    start = time.monotonic()
    result = fetch_one(url, limits)
    return result, time.monotonic() - start


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- success and conditional GET ----------------------------------------------------------------


def test_ok_returns_body_validators_and_headers(feed_server: FeedServer) -> None:
    route = feed_server.set_feed("/news.xml", SAMPLE_RSS)
    result = fetch_one(feed_server.url("/news.xml"))
    assert result.status == "ok" and result.fetched
    assert result.http_status == 200
    assert result.content == SAMPLE_RSS
    assert result.etag == route.etag
    assert result.last_modified is not None and result.last_modified.endswith("GMT")
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.final_url == feed_server.url("/news.xml")
    assert result.attempts == 1 and result.error_kind is None


def test_second_fetch_with_validators_gets_304(feed_server: FeedServer) -> None:
    feed_server.set_feed("/news.xml")
    first = fetch_one(feed_server.url("/news.xml"))
    assert first.etag and first.last_modified
    second = fetch_one(
        feed_server.url("/news.xml"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.status == "not_modified" and second.fetched
    assert second.http_status == 304 and second.content is None
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    sent = feed_server.requests_to("/news.xml")[1].headers
    assert sent["if-none-match"] == first.etag
    assert sent["if-modified-since"] == first.last_modified


def test_if_modified_since_alone_gets_304(feed_server: FeedServer) -> None:
    feed_server.set_feed("/news.xml")
    first = fetch_one(feed_server.url("/news.xml"))
    assert first.last_modified
    second = fetch_one(feed_server.url("/news.xml"), last_modified=first.last_modified)
    assert second.status == "not_modified"
    assert "if-none-match" not in feed_server.requests_to("/news.xml")[1].headers


def test_304_without_validators_keeps_the_old_ones(feed_server: FeedServer) -> None:
    route = feed_server.set_feed("/news.xml", bare_304=True)
    stored_date = "Mon, 03 Mar 2025 10:00:00 GMT"
    result = fetch_one(
        feed_server.url("/news.xml"), etag=route.etag or "", last_modified=stored_date
    )
    assert result.status == "not_modified"
    assert "etag" not in result.headers and "last-modified" not in result.headers
    assert (result.etag, result.last_modified) == (route.etag, stored_date)


def test_changed_body_is_fetched_again(feed_server: FeedServer) -> None:
    feed_server.set_feed("/news.xml", SAMPLE_RSS)
    first = fetch_one(feed_server.url("/news.xml"))
    changed = SAMPLE_RSS.replace(b"Talks resume", b"Talks collapse")
    feed_server.set_feed("/news.xml", changed)
    assert first.etag and first.last_modified
    second = fetch_one(
        feed_server.url("/news.xml"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.status == "ok" and second.content == changed
    assert second.etag != first.etag and second.last_modified != first.last_modified


def test_user_agent_accept_and_encoding_headers_are_sent(feed_server: FeedServer) -> None:
    feed_server.set_feed("/news.xml")
    fetch_one(feed_server.url("/news.xml"))
    fetch_one(feed_server.url("/news.xml"), replace(FAST, user_agent="desk-bot/2"))
    default, custom = (r.headers for r in feed_server.requests_to("/news.xml"))
    assert default["user-agent"] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith(f"storywatch/{storywatch.__version__} (+https://")
    assert custom["user-agent"] == "desk-bot/2"
    assert default["accept"] == ACCEPT and "application/rss+xml" in ACCEPT
    assert default["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in default and "if-modified-since" not in default


def test_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    feed_server.set_feed("/news.xml.gz", SAMPLE_RSS, gzip=True)
    result = fetch_one(feed_server.url("/news.xml.gz"))
    assert result.status == "ok" and result.content == SAMPLE_RSS
    assert result.headers["content-encoding"] == "gzip"


def test_html_page_is_fetched_as_is(feed_server: FeedServer) -> None:
    """Fetch does not judge content: the parse stage reports a page that is not a feed."""
    feed_server.set_html("/feed")
    result = fetch_one(feed_server.url("/feed"))
    assert result.status == "ok"
    assert result.headers["content-type"].startswith("text/html")
    assert result.content is not None and result.content.startswith(b"<!doctype html>")


# --- slow servers ------------------------------------------------------------------------------


def test_stalled_server_times_out_within_the_deadline(feed_server: FeedServer) -> None:
    feed_server.set_stall("/slow.xml", 10)
    limits = replace(FAST, read_timeout=0.3, retries=1)
    result, elapsed = timed(feed_server.url("/slow.xml"), limits)
    assert result.status == "error" and result.error_kind == "timeout"
    assert result.error == "server sent nothing for 0.3 s"
    assert result.attempts == 2  # a per-attempt timeout is retried
    assert elapsed < limits.deadline


def test_trickling_server_is_cut_at_the_deadline(feed_server: FeedServer) -> None:
    feed_server.set_trickle("/trickle.xml", interval=0.1)  # ~60 s for the sample feed
    limits = replace(FAST, deadline=1.0)
    result, elapsed = timed(feed_server.url("/trickle.xml"), limits)
    assert result.error_kind == "deadline"
    assert result.error == "gave up after 1 s (server too slow)"
    assert 1.0 <= elapsed < 1.75  # the deadline plus a margin for a busy machine


# --- network failures --------------------------------------------------------------------------


def test_dns_failure_is_named_and_not_retried() -> None:
    result = fetch_one("http://feeds.example.invalid/rss.xml")
    assert result.error_kind == "dns"
    assert result.error == "DNS lookup failed for feeds.example.invalid"
    assert result.attempts == 1


def test_connection_refused_is_retried_then_reported() -> None:
    result = fetch_one(f"http://127.0.0.1:{closed_port()}/rss.xml")
    assert result.error_kind == "connect"
    assert result.error == "could not connect to 127.0.0.1 (connection refused)"
    assert result.attempts == 1 + FAST.retries


def test_tls_failure_is_named_and_not_retried(feed_server: FeedServer) -> None:
    feed_server.set_feed("/news.xml")
    result = fetch_one(feed_server.url("/news.xml").replace("http:", "https:"))
    assert result.error_kind == "tls"
    assert result.error is not None and result.error.startswith("TLS handshake with 127.0.0.1")
    assert result.attempts == 1


# --- statuses and retries ---------------------------------------------------------------------


def test_404_is_not_retried(feed_server: FeedServer) -> None:
    feed_server.set_status("/gone.xml", 404)
    result = fetch_one(feed_server.url("/gone.xml"))
    assert (result.error_kind, result.error) == ("http_status", "server answered 404 Not Found")
    assert result.http_status == 404 and result.attempts == 1
    assert len(feed_server.requests_to("/gone.xml")) == 1


def test_500_twice_then_ok(feed_server: FeedServer) -> None:
    feed_server.set_feed("/flaky.xml")
    feed_server.set_status("/flaky.xml", 500, times=2)
    result = fetch_one(feed_server.url("/flaky.xml"))
    assert result.status == "ok" and result.content == SAMPLE_RSS
    assert result.attempts == 3
    assert len(feed_server.requests_to("/flaky.xml")) == 3


def test_503_every_time_gives_up_after_all_attempts(feed_server: FeedServer) -> None:
    feed_server.set_status("/down.xml", 503)
    result = fetch_one(feed_server.url("/down.xml"))
    assert result.error == "server answered 503 Service Unavailable"
    assert result.attempts == 3 and len(feed_server.requests_to("/down.xml")) == 3


def test_429_retry_after_is_honoured(feed_server: FeedServer) -> None:
    feed_server.set_feed("/busy.xml")
    feed_server.set_status("/busy.xml", 429, retry_after="1", times=1)
    result = fetch_one(feed_server.url("/busy.xml"))
    assert result.status == "ok" and result.attempts == 2
    first, second = feed_server.requests_to("/busy.xml")
    assert second.time - first.time >= 0.95  # far above the 0.05 s backoff


@pytest.mark.parametrize(
    ("status", "retry_after", "kind", "words"),
    [
        (429, "3600", "rate_limited", "rate limited (429): server asked to wait 3600 s"),
        (503, "date", "http_status", "server unavailable (503): server asked to wait 6"),
    ],
)
def test_retry_after_beyond_the_deadline_gives_up_at_once(
    feed_server: FeedServer, status: int, retry_after: str, kind: str, words: str
) -> None:
    if retry_after == "date":
        retry_after = formatdate(time.time() + 620, usegmt=True)  # "wait 6xx s"
    feed_server.set_status("/busy.xml", status, retry_after=retry_after)
    result, elapsed = timed(feed_server.url("/busy.xml"))
    assert result.error_kind == kind
    assert result.error is not None and result.error.startswith(words)
    assert result.error.endswith("more than the 2 s allowed")
    assert result.attempts == 1 and elapsed < 1.0  # no sleeping towards the 2 s deadline


# --- redirects ----------------------------------------------------------------------------------


def test_redirect_chain_is_followed(feed_server: FeedServer) -> None:
    feed_server.set_redirect("/r1", "/r2")  # relative Location
    feed_server.set_redirect("/r2", feed_server.url("/r3", host="localhost"), status=301)
    feed_server.set_redirect("/r3", "/news.xml", status=308)
    feed_server.set_feed("/news.xml")
    result = fetch_one(feed_server.url("/r1"))
    assert result.status == "ok" and result.content == SAMPLE_RSS
    assert result.final_url == feed_server.url("/news.xml", host="localhost")
    assert result.url == feed_server.url("/r1")
    assert [len(feed_server.requests_to(p)) for p in ("/r1", "/r2", "/r3", "/news.xml")] == [1] * 4


def test_redirect_loop(feed_server: FeedServer) -> None:
    feed_server.set_redirect("/a", "/b")
    feed_server.set_redirect("/b", "/a")
    result = fetch_one(feed_server.url("/a"))
    a, b = feed_server.url("/a"), feed_server.url("/b")
    assert result.error_kind == "redirect_loop"
    assert result.error == f"redirect loop: {a} -> {b} -> {a}"
    assert result.attempts == 1  # a loop does not fix itself


@pytest.mark.parametrize(("start", "expected"), [(1, "ok"), (0, "too_many_redirects")])
def test_at_most_five_redirects(feed_server: FeedServer, start: int, expected: str) -> None:
    for hop in range(6):
        feed_server.set_redirect(f"/hop{hop}", f"/hop{hop + 1}")
    feed_server.set_feed("/hop6")
    result = fetch_one(feed_server.url(f"/hop{start}"))
    assert (result.error_kind or result.status) == expected
    if expected != "ok":
        assert result.error is not None and result.error.startswith("more than 5 redirects")
        assert not feed_server.requests_to("/hop6")


def test_redirect_to_ftp_is_refused(feed_server: FeedServer) -> None:
    feed_server.set_redirect("/moved.xml", "ftp://files.example.org/feed.xml")
    result = fetch_one(feed_server.url("/moved.xml"))
    assert result.error_kind == "bad_scheme"
    assert result.error == (
        "redirected to ftp://files.example.org/feed.xml, but only http and https are fetched"
    )


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://127.0.0.1:{port}/news.xml", "bad_scheme"),
        ("file:///etc/passwd", "bad_scheme"),
        ("http://", "bad_url"),
        ("not a url at all", "bad_url"),
    ],
)
def test_bad_urls_fail_without_any_request(feed_server: FeedServer, url: str, kind: str) -> None:
    result, elapsed = timed(url.format(port=feed_server.port))
    assert result.error_kind == kind and result.error
    assert result.attempts == 0 and elapsed < 1.0
    assert feed_server.request_log == []


# --- size cap and compression ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "declare_length"), [(MiB, False), (None, False), (MiB, True)], ids=str
)
def test_oversize_body_is_cut(
    feed_server: FeedServer, size: int | None, declare_length: bool
) -> None:
    feed_server.set_huge("/huge.xml", size, declare_length=declare_length)
    result, elapsed = timed(feed_server.url("/huge.xml"))
    assert (result.error_kind, result.error) == ("too_large", "response larger than 256 KiB")
    assert result.content is None and result.attempts == 1
    assert elapsed < 1.5  # an endless body must not run into the deadline


@pytest.mark.parametrize("gzip", [False, True])
def test_body_of_exactly_the_cap_is_accepted(feed_server: FeedServer, gzip: bool) -> None:
    body = b"x" * FAST.max_bytes
    feed_server.set_feed("/full.xml", body, gzip=gzip)
    assert fetch_one(feed_server.url("/full.xml")).content == body
    feed_server.set_feed("/full.xml", body + b"x", gzip=gzip)
    assert fetch_one(feed_server.url("/full.xml")).error_kind == "too_large"


def test_gzip_bomb_is_cut_without_ballooning_memory(feed_server: FeedServer) -> None:
    compressed = feed_server.set_gzip_bomb("/bomb.xml", 200 * MiB)  # built before measuring
    assert compressed < MiB
    limits = replace(FAST, max_bytes=MiB)
    tracemalloc.start()
    try:
        result = fetch_one(feed_server.url("/bomb.xml"), limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (result.error_kind, result.error) == ("too_large", "response larger than 1 MiB")
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB while reading a 200 MiB bomb"


@pytest.mark.parametrize(
    ("encoding", "body", "words"),
    [
        (
            "gzip",
            b"not gzip at all",
            "response body is not valid gzip data (incorrect header check)",
        ),
        ("gzip", zlib.compress(SAMPLE_RSS, wbits=31)[:-12], "response body is not valid gzip data"),
        ("deflate", b"\xff" * 40, "response body is not valid deflate data ("),
        ("br", b"\x0b\x02\x80", "server sent br-compressed data we did not ask for"),
    ],
    ids=["garbage", "truncated", "bad-deflate", "unasked-brotli"],
)
def test_corrupt_compression_is_a_clear_error(
    feed_server: FeedServer, encoding: str, body: bytes, words: str
) -> None:
    headers = {"Content-Type": "application/rss+xml", "Content-Encoding": encoding}
    feed_server.set_raw("/broken.xml.gz", body, headers)
    result = fetch_one(feed_server.url("/broken.xml.gz"))
    assert result.error_kind == "bad_encoding"
    assert result.error is not None and result.error.startswith(words)


def test_raw_deflate_is_accepted(feed_server: FeedServer) -> None:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = packer.compress(SAMPLE_RSS) + packer.flush()
    feed_server.set_raw("/deflate.xml", raw, {"Content-Encoding": "deflate"})
    assert fetch_one(feed_server.url("/deflate.xml")).content == SAMPLE_RSS


# --- many sources -------------------------------------------------------------------------------


def test_per_host_limit_holds_while_other_hosts_proceed(feed_server: FeedServer) -> None:
    requests = []
    for i in range(5):
        for host in ("127.0.0.1", "localhost"):
            feed_server.set_stall(f"/{host}/{i}.xml", 0.25)
            requests.append(FetchRequest(f"{host}-{i}", feed_server.url(f"/{host}/{i}.xml", host)))
    results = fetch_sources(requests, replace(FAST, per_host=2, concurrency=16))
    assert [r.status for r in results] == ["ok"] * 10
    assert feed_server.peak_host("127.0.0.1") == 2
    assert feed_server.peak_host("localhost") == 2
    assert feed_server.peak_total == 4  # both hosts at their limit at the same time


def test_global_limit_holds(feed_server: FeedServer) -> None:
    requests = []
    for i, host in enumerate(["127.0.0.1", "localhost"] * 3):
        feed_server.set_stall(f"/{i}.xml", 0.2)
        requests.append(FetchRequest(str(i), feed_server.url(f"/{i}.xml", host)))
    results = fetch_sources(requests, replace(FAST, per_host=4, concurrency=2))
    assert all(r.status == "ok" for r in results)
    assert feed_server.peak_total == 2


def test_one_failing_source_leaves_the_others_ok(feed_server: FeedServer) -> None:
    names = ["a", "b", "broken", "c", "nowhere", "d"]
    for name in "abcd":
        feed_server.set_feed(f"/{name}.xml", SAMPLE_RSS.replace(b"Test Wire", name.encode()))
    feed_server.set_status("/broken.xml", 500)
    requests = [
        FetchRequest(
            n, "http://nowhere.invalid/" if n == "nowhere" else feed_server.url(f"/{n}.xml")
        )
        for n in names
    ]
    results = fetch_sources(requests, FAST)
    assert [r.source for r in results] == names  # request order
    assert [r.status for r in results] == ["ok", "ok", "error", "ok", "error", "ok"]
    assert results[3].content is not None and b"<title>c</title>" in results[3].content
    assert [r.error_kind for r in results if r.status == "error"] == ["http_status", "dns"]


def test_works_from_a_thread_and_from_inside_a_running_loop(feed_server: FeedServer) -> None:
    feed_server.set_feed("/news.xml")
    request = [FetchRequest("t", feed_server.url("/news.xml"))]
    seen: list[FetchResult] = []
    worker = threading.Thread(target=lambda: seen.extend(fetch_sources(request, FAST)))
    worker.start()
    worker.join(timeout=10)

    async def inside_loop() -> list[FetchResult]:
        return fetch_sources(request, FAST)  # a sync caller that happens to run in a loop

    seen.extend(asyncio.run(inside_loop()))
    seen.extend(asyncio.run(fetch_all(request, FAST)))
    assert [r.status for r in seen] == ["ok", "ok", "ok"]


# --- pure helpers -------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0
    assert 50 < (parse_retry_after(formatdate(time.time() + 60, usegmt=True)) or 0) <= 60
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_an_unexpected_exception_is_still_described() -> None:
    kind, message = describe_failure(KeyError("x"), FAST)
    assert kind == "unexpected" and "KeyError" in message


# --- the test server itself ----------------------------------------------------------------------


def test_feed_server_closes_promptly_with_a_stalled_handler() -> None:
    server = FeedServer()
    server.set_stall("/slow.xml", 30)
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(b"GET /slow.xml HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    deadline = time.monotonic() + 2
    while not server.requests_to("/slow.xml") and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    server.close()
    assert time.monotonic() - start < 1.0
    assert client.recv(100) == b""  # the stalled handler dropped the connection
    client.close()


# -- kept-alive connections: a server that closed one is noticed before reuse -------------------


class _SocketOnly:
    """The part of an httpcore stream the readability check uses: its socket."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock

    def get_extra_info(self, info: str) -> Any:
        return self.sock if info == "socket" else None


def test_a_connection_the_server_closed_reads_as_readable() -> None:
    from storywatch.fetch.client import _ReadableCheckStream

    ours, theirs = socket.socketpair()
    try:
        stream = _ReadableCheckStream(_SocketOnly(ours))  # type: ignore[arg-type]
        assert stream.get_extra_info("is_readable") is False  # idle, still open
        theirs.close()
        assert stream.get_extra_info("is_readable") is True  # EOF waiting: do not reuse
        ours.close()
        assert stream.get_extra_info("is_readable") is True
    finally:
        ours.close()
        theirs.close()


def test_a_kept_alive_connection_closed_by_the_server_is_not_reused() -> None:
    """An HTTP/1.1 server that keeps the connection open after answering, then drops it: the
    next request must go out on a new connection (no retries allowed here to hide a failure)."""
    from storywatch.fetch.client import Fetcher, run_blocking
    from storywatch.fetch.model import FetchLimits, FetchRequest

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[int] = []
    body = SAMPLE_RSS

    def serve() -> None:
        for _ in range(2):
            conn, _addr = listener.accept()
            accepted.append(1)
            conn.recv(65536)
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
            )
            conn.sendall(head.encode() + body)
            time.sleep(0.2)
            conn.close()  # no "Connection: close" was sent: the client kept it in its pool

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    async def twice() -> list[str]:
        limits = FetchLimits(retries=0, deadline=5, connect_timeout=2, read_timeout=2)
        async with Fetcher(limits) as fetcher:
            url = f"http://127.0.0.1:{port}/feed.xml"
            first = await fetcher.fetch(FetchRequest("Keepalive", url))
            await asyncio.sleep(0.5)  # the server has closed its end by now
            second = await fetcher.fetch(FetchRequest("Keepalive", url))
            return [first.status, second.status]

    try:
        assert run_blocking(twice()) == ["ok", "ok"]
        assert len(accepted) == 2  # the dead connection was dropped, a new one opened
    finally:
        listener.close()


def test_run_blocking_inside_a_running_loop_keeps_the_callers_context() -> None:
    """Called from code inside an event loop (a Prefect task), the coroutine runs on a helper
    thread's loop, but in the caller's context: Prefect's run context is a context variable,
    and without it the fetch log lines leave the run ("without a flow run id")."""
    import contextvars

    from storywatch.fetch.client import run_blocking

    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="lost")

    async def read_marker() -> str:
        return marker.get()

    async def caller() -> str:
        marker.set("the caller's run")
        return run_blocking(read_marker())

    assert asyncio.run(caller()) == "the caller's run"
