"""A real HTTP feed server on 127.0.0.1 for tests, with a misbehaviour to choose per path.

Use it through the ``feed_server`` fixture (tests/conftest.py): one server per test session,
its paths and logs cleared before every test.

    feed_server.set_feed("/news.xml", RSS)              # 200, strong ETag + Last-Modified, 304s
    feed_server.set_status("/flaky.xml", 500, times=2)  # 500 twice, then the feed
    feed_server.set_redirect("/old.xml", "/news.xml")   # relative Location
    fetch(feed_server.url("/news.xml"))                 # or url(path, host="localhost")
    feed_server.requests_to("/news.xml")[0].headers["user-agent"]
    feed_server.peak("/slow.xml")                       # most requests in flight at once

Every misbehaviour waits on an event that ``reset`` and ``close`` set, so a stalled or trickling
handler ends as soon as its test does; handler threads are daemons with short socket timeouts.
The server speaks HTTP/1.0 (one request per connection), which keeps per-request counts simple.
"""

from __future__ import annotations

import functools
import hashlib
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MiB = 1024 * 1024

SAMPLE_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Test Wire</title><link>http://127.0.0.1/</link><description>test feed</description>
<item><title>Talks resume</title><link>http://127.0.0.1/a/1</link>
<guid>test-1</guid><pubDate>Mon, 03 Mar 2025 10:00:00 GMT</pubDate>
<description>Delegations met in Istanbul.</description></item>
</channel></rss>
"""

SAMPLE_HTML = b"""<!doctype html><html><head><title>Welcome</title></head>
<body><h1>This is a web page, not a feed</h1></body></html>
"""

_CONNECTION_GONE = (BrokenPipeError, ConnectionResetError, TimeoutError, socket.timeout)


@dataclass
class LoggedRequest:
    path: str  # as requested, query string included
    host: str  # the Host header without the port
    headers: dict[str, str]  # lower-cased names
    time: float  # time.monotonic() when the request line was read


@dataclass
class _Route:
    """What one path serves. Misbehaviours apply in this order: stall, status, redirect, body."""

    body: bytes = SAMPLE_RSS
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: int | None = None  # epoch seconds
    bare_304: bool = False  # a 304 without ETag / Last-Modified
    stall: float = 0.0
    meet: int = 0  # hold each request until this many for the path were in flight at once
    meet_timeout: float = 0.0
    status: int | None = None
    status_times: int | None = None  # None: always; N: that many times, then the body
    body_status: int = 200  # the status sent with the body (set_raw)
    retry_after: str | None = None
    redirect: str | None = None
    redirect_status: int = 302
    trickle: float | None = None  # seconds between body bytes
    stream_size: int | None = None  # streamed filler body; -1 = endless (until time runs out)
    declare_length: bool = False  # send Content-Length with a streamed body


@functools.cache
def gzip_bomb(decoded_size: int = 200 * MiB) -> bytes:
    """A valid gzip body of zeros, about 1000x smaller than ``decoded_size`` (a MiB multiple).

    Built without compressing the whole size: after a full flush deflate restarts with an empty
    window, so every further MiB of zeros compresses to the same bytes, which we repeat.
    """
    chunk, count = bytes(MiB), max(1, decoded_size // MiB)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    repeat = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()[:-8]  # the final block; the trailer is recomputed for the full size
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    trailer = struct.pack("<II", crc, (count * MiB) & 0xFFFFFFFF)
    return first + repeat * (count - 1) + end + trailer


class FeedServer:
    """A ThreadingHTTPServer on 127.0.0.1 (ephemeral port) in a background thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._release = threading.Event()
        self.request_log: list[LoggedRequest] = []
        self._active: Counter[str] = Counter()
        self._peaks: Counter[str] = Counter()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # --- lifecycle ---

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget every path, log and count; end handlers still stalling for an earlier test."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self._routes.clear()
            self.request_log.clear()
            self._active.clear()
            self._peaks.clear()

    # --- addresses and observations ---

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def requests_to(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.request_log if r.path == path]

    def peak(self, path: str) -> int:
        """The most requests for ``path`` that were in flight at the same time."""
        with self._lock:
            return self._peaks[f"path:{path}"]

    def peak_host(self, host: str) -> int:
        """The same, per Host header (127.0.0.1 and localhost count as two hosts)."""
        with self._lock:
            return self._peaks[f"host:{host}"]

    @property
    def peak_total(self) -> int:
        with self._lock:
            return self._peaks["total"]

    # --- what to serve ---

    def set_feed(
        self,
        path: str,
        body: bytes = SAMPLE_RSS,
        content_type: str = "application/rss+xml",
        *,
        gzip: bool = False,
        bare_304: bool = False,
    ) -> _Route:
        """Serve ``body`` with a strong ETag and a Last-Modified that grows on every change."""
        headers = {"Content-Type": content_type}
        data = body
        if gzip:
            data = zlib.compress(body, wbits=16 + zlib.MAX_WBITS)
            headers["Content-Encoding"] = "gzip"
        with self._lock:
            old = self._routes.get(path)
            stamp = int(time.time())
            if old is not None and old.last_modified is not None:
                stamp = max(stamp, old.last_modified + 1)  # a change always looks newer
            route = _Route(
                body=data,
                headers=headers,
                etag='"' + hashlib.sha256(body).hexdigest()[:24] + '"',
                last_modified=stamp,
                bare_304=bare_304,
            )
            self._routes[path] = route
        return route

    def set_html(self, path: str, html: bytes = SAMPLE_HTML) -> _Route:
        """A web page where a feed was expected (a moved feed, a login wall ...)."""
        return self.set_feed(path, html, "text/html; charset=utf-8")

    def set_raw(self, path: str, body: bytes, headers: dict[str, str], status: int = 200) -> None:
        """Exactly these bytes and headers (no validators): corrupt gzip, odd content types."""
        with self._lock:
            self._routes[path] = _Route(body=body, headers=dict(headers), body_status=status)

    def set_status(
        self,
        path: str,
        status: int,
        *,
        retry_after: str | None = None,
        times: int | None = None,
    ) -> None:
        """Answer ``status`` (always, or ``times`` times and then the path's feed)."""
        self._update(path, status=status, status_times=times, retry_after=retry_after)

    def set_stall(self, path: str, seconds: float) -> None:
        """Sleep before sending any header, then serve the path's feed."""
        self._update(path, stall=seconds)

    def set_meet(self, path: str, requests: int, timeout: float) -> None:
        """Hold every request for ``path`` until ``requests`` of them have been in flight at
        the same time (or ``timeout`` seconds pass), then serve it: clients that must overlap
        do, however late the second one starts on a loaded machine."""
        self._update(path, meet=requests, meet_timeout=timeout)

    def set_trickle(self, path: str, interval: float, body: bytes = SAMPLE_RSS) -> None:
        """Send headers at once, then the body one byte every ``interval`` seconds."""
        headers = {"Content-Type": "application/rss+xml"}
        self._update(path, body=body, headers=headers, trickle=interval)

    def set_redirect(self, path: str, target: str, status: int = 302) -> None:
        """Redirect to ``target`` as given: a path (relative Location) or any absolute URL."""
        self._update(path, redirect=target, redirect_status=status)

    def set_huge(self, path: str, size: int | None = None, *, declare_length: bool = False) -> None:
        """Stream ``size`` bytes of filler (None: endless, until the client gives up)."""
        self._update(
            path,
            stream_size=-1 if size is None else size,
            declare_length=declare_length and size is not None,
            headers={"Content-Type": "application/rss+xml"},
        )

    def set_gzip_bomb(self, path: str, decoded_size: int = 200 * MiB) -> int:
        """A small gzip body expanding to ``decoded_size``; returns its compressed length."""
        bomb = gzip_bomb(decoded_size)
        headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        self.set_raw(path, bomb, headers)
        return len(bomb)

    def _update(self, path: str, **changes: Any) -> None:
        with self._lock:
            route = self._routes.setdefault(path, _Route())
            for name, value in changes.items():
                setattr(route, name, value)

    # --- used by the handler ---

    def _begin(self, request: LoggedRequest) -> tuple[_Route | None, threading.Event]:
        with self._lock:
            self.request_log.append(request)
            for key in (f"path:{request.path}", f"host:{request.host}", "total"):
                self._active[key] += 1
                self._peaks[key] = max(self._peaks[key], self._active[key])
            return self._routes.get(request.path), self._release

    def _end(self, request: LoggedRequest, release: threading.Event) -> None:
        with self._lock:
            if release is not self._release:
                return  # began before a reset: its counts were already cleared
            for key in (f"path:{request.path}", f"host:{request.host}", "total"):
                self._active[key] -= 1

    def _await_peak(self, path: str, route: _Route, release: threading.Event) -> bool:
        """Wait for ``route.meet`` requests to ``path`` in flight together; True when the
        test ended meanwhile."""
        deadline = time.monotonic() + route.meet_timeout
        while self.peak(path) < route.meet and time.monotonic() < deadline:
            if release.wait(0.05):
                return True
        return False

    def _take_failure(self, route: _Route) -> int | None:
        """The status to fail with this time, counting down ``times``."""
        with self._lock:
            if route.status is None or route.status_times == 0:
                return None
            if route.status_times is not None:
                route.status_times -= 1
            return route.status


def _make_handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_FeedHandler):
        feed_server = server

    return Handler


class _FeedHandler(BaseHTTPRequestHandler):
    feed_server: FeedServer
    timeout = 5  # socket timeout: a silent or non-reading client frees the thread
    server_version = "storywatch-test-feeds/1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; the request log is the record

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        entry = LoggedRequest(
            path=self.path,
            host=(self.headers.get("Host") or "").rsplit(":", 1)[0],
            headers={k.lower(): v for k, v in self.headers.items()},
            time=time.monotonic(),
        )
        route, release = self.feed_server._begin(entry)
        try:
            self._serve(route, release)
        except _CONNECTION_GONE:
            pass  # the client gave up (cap, deadline): exactly what many tests provoke
        finally:
            self.feed_server._end(entry, release)

    def _serve(self, route: _Route | None, release: threading.Event) -> None:
        if route is None:
            self._send_simple(404, b"no such feed\n")
            return
        if route.meet and self.feed_server._await_peak(self.path, route, release):
            return  # the test is over
        if route.stall and release.wait(route.stall):
            return  # the test is over: drop the connection without an answer
        failure = self.feed_server._take_failure(route)
        if failure is not None:
            extra = {"Retry-After": route.retry_after} if route.retry_after else {}
            self._send_simple(failure, b"failing on purpose\n", extra)
        elif route.redirect is not None:
            self._send_simple(route.redirect_status, b"", {"Location": route.redirect})
        elif route.stream_size is not None:
            self._send_stream(route, release)
        elif self._not_modified(route):
            self._send_304(route)
        else:
            self._send_body(route, release)

    def _not_modified(self, route: _Route) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None and route.etag is not None:
            tags = {t.strip().removeprefix("W/") for t in match.split(",")}
            return route.etag in tags or "*" in tags  # If-None-Match wins over the date
        since = self.headers.get("If-Modified-Since")
        if since is None or route.last_modified is None:
            return False
        try:
            return route.last_modified <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False

    def _validators(self, route: _Route) -> dict[str, str]:
        found = {}
        if route.etag:
            found["ETag"] = route.etag
        if route.last_modified is not None:
            found["Last-Modified"] = formatdate(route.last_modified, usegmt=True)
        return found

    def _send_304(self, route: _Route) -> None:
        self.send_response(304)
        for name, value in ({} if route.bare_304 else self._validators(route)).items():
            self.send_header(name, value)
        self.end_headers()

    def _send_simple(self, status: int, body: bytes, *header_sets: dict[str, str]) -> None:
        self.send_response(status)
        names = set()
        for headers in header_sets:
            for name, value in headers.items():
                if name.lower() not in names:
                    self.send_header(name, value)
                    names.add(name.lower())
        if "content-type" not in names:
            self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_body(self, route: _Route, release: threading.Event) -> None:
        self.send_response(route.body_status)
        for name, value in {**route.headers, **self._validators(route)}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if route.trickle is None:
            self.wfile.write(route.body)
            return
        for i in range(len(route.body)):
            self.wfile.write(route.body[i : i + 1])
            self.wfile.flush()
            if release.wait(route.trickle):
                return

    def _send_stream(self, route: _Route, release: threading.Event) -> None:
        """Filler in 64 KiB writes; an endless stream still stops after 60 s or 2 GiB."""
        self.send_response(200)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.declare_length:
            self.send_header("Content-Length", str(route.stream_size))
        self.end_headers()  # without a length the body ends when we close (HTTP/1.0)
        chunk = b"<!-- filler -->\n" * 4096
        left = route.stream_size if route.stream_size and route.stream_size >= 0 else 2048 * MiB
        stop_at = time.monotonic() + 60
        while left > 0 and not release.is_set() and time.monotonic() < stop_at:
            piece = chunk[:left]
            self.wfile.write(piece)
            left -= len(piece)
