"""Fetch stage: download feeds over HTTP, politely and within hard limits.

Input: one ``FetchRequest`` per source (URL plus the validators stored from the last fetch).
Output: one ``FetchResult`` per source, never an exception: every failure is mapped in one place
(``errors.describe_failure``) to an ``error_kind`` and a plain-words ``error`` that the store
saves in the source's health.

How one source is fetched: wait for a slot (per host, then overall), then within a total deadline
make up to ``1 + retries`` attempts; an attempt is one GET that follows redirects itself, checks
the status and streams the body through a bounded decompressor.

The failures, drawn as a tree with their kinds, are in ``storywatch.fetch.errors``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import select
import socket
import ssl
import time
import zlib
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, TypeVar

import httpcore
import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

import storywatch
from storywatch.fetch.errors import (
    BadEncoding,
    BadScheme,
    BadStatus,
    BadURL,
    DeadlineExceeded,
    RedirectLoop,
    RetryableStatus,
    TooLarge,
    TooManyRedirects,
    WaitTooLong,
    describe_failure,
    find_cause,
    format_size,
)
from storywatch.fetch.model import FetchLimits, FetchRequest, FetchResult

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_USER_AGENT = (
    f"storywatch/{storywatch.__version__} "
    "(+https://github.com/storywatch/storywatch; news feed monitor)"
)
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
# Only what _Decoder can undo with a bounded output; never br/zstd.
ACCEPT_ENCODING = "gzip, deflate"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


# --- one source ------------------------------------------------------------------------------


@dataclass
class _Answer:
    """The final response of one attempt (after redirects), body already decoded."""

    status: int
    url: str
    headers: dict[str, str]
    content: bytes | None


@dataclass
class _Progress:
    """What the attempts of one source share: the count, the last failure, the deadline."""

    deadline_at: float  # loop.time() when the source's time is up
    attempts: int = 0
    last_error: BaseException | None = None

    def time_left(self) -> float:
        return max(0.0, self.deadline_at - asyncio.get_running_loop().time())


def _check_url(url: str) -> None:
    """Refuse anything but an absolute http(s) URL before any I/O."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise BadURL(url) from exc
    if parsed.scheme and parsed.scheme not in ("http", "https"):
        raise BadScheme(url)
    if not parsed.scheme or not parsed.host:
        raise BadURL(url)


async def _attempt(
    client: httpx.AsyncClient, request: FetchRequest, progress: _Progress, limits: FetchLimits
) -> _Answer:
    progress.attempts += 1
    try:
        return await _follow(client, request, progress, limits)
    except Exception as exc:
        progress.last_error = exc  # so a deadline hit during the backoff can say what failed
        raise


async def _follow(
    client: httpx.AsyncClient, request: FetchRequest, progress: _Progress, limits: FetchLimits
) -> _Answer:
    """One GET, following redirects by hand so every hop is checked (scheme, loops, count)."""
    headers = {}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    chain = [str(httpx.URL(request.url))]
    while True:
        async with client.stream("GET", chain[-1], headers=headers) as response:
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return await _read_answer(response, progress, limits)
            target = response.url.join(location)  # resolves a relative Location
        _add_hop(chain, target, limits)


def _add_hop(chain: list[str], target: httpx.URL, limits: FetchLimits) -> None:
    if target.scheme not in ("http", "https"):
        raise BadScheme(str(target), redirected=True)
    if str(target) in chain:
        raise RedirectLoop([*chain, str(target)])
    chain.append(str(target))
    if len(chain) - 1 > limits.max_redirects:
        raise TooManyRedirects(chain)


async def _read_answer(
    response: httpx.Response, progress: _Progress, limits: FetchLimits
) -> _Answer:
    status = response.status_code
    headers = {name.lower(): value for name, value in response.headers.items()}
    if status == 304:
        return _Answer(status, str(response.url), headers, None)
    if 200 <= status < 300:
        body = await _read_body(response, limits.max_bytes)
        return _Answer(status, str(response.url), headers, body)
    reason = _reason(status, response.reason_phrase)
    if status not in RETRYABLE_STATUSES:
        raise BadStatus(status, reason)
    wait = parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None
    if wait is not None and wait > progress.time_left():
        # Sleeping into the deadline would only turn a clear answer into a vague timeout.
        raise WaitTooLong(status, wait, progress.time_left())
    raise RetryableStatus(status, reason, wait)


def _reason(status: int, phrase: str) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return phrase or "(no reason given)"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), else None."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """Stream the raw body through our own decoder so the cap applies to decoded bytes."""
    decoder = _Decoder(response.headers.get("content-encoding", ""))
    declared = response.headers.get("content-length", "")
    if decoder.identity and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(max_bytes)  # no need to download what we would throw away
    body = bytearray()
    async for chunk in response.aiter_raw():
        # Ask for one byte more than allowed: getting it proves the body is too large.
        body += decoder.decode(chunk, max_bytes - len(body) + 1)
        if len(body) > max_bytes:
            raise TooLarge(max_bytes)
    decoder.finish()
    return bytes(body)


class _Decoder:
    """Undo a Content-Encoding incrementally, never producing more output than asked for.

    ``zlib`` with ``max_length`` is what makes a gzip bomb harmless: a few hundred KiB that
    would expand to gigabytes produce at most the cap before we stop reading.
    """

    def __init__(self, encoding: str) -> None:
        self.name = encoding.strip().lower() or "identity"
        self.identity = self.name == "identity"
        self._settled = False  # True once data decoded (or the raw-deflate fallback was taken)
        wbits = {
            "gzip": 16 + zlib.MAX_WBITS,
            "x-gzip": 16 + zlib.MAX_WBITS,
            "deflate": zlib.MAX_WBITS,
            "identity": 0,
        }.get(self.name)
        if wbits is None:
            raise BadEncoding(self.name, "not asked for", unsupported=True)
        self._z = zlib.decompressobj(wbits) if wbits else None

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._z is None or not data:
            return data
        if self._z.eof:
            return b""  # bytes after the end of the compressed stream: ignored, as browsers do
        try:
            out = self._z.decompress(data, limit)
        except zlib.error as exc:
            if self.name == "deflate" and not self._settled:
                # Some servers send raw deflate (no zlib header) despite the spec: accept it.
                self._settled = True
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data, limit)
            raise BadEncoding(self.name, str(exc).split(": ", 1)[-1]) from exc
        self._settled = True
        return out

    def finish(self) -> None:
        if self._z is not None and self._settled and not self._z.eof:
            raise BadEncoding(self.name, "the compressed body ends early")


def _retrying(limits: FetchLimits) -> AsyncRetrying:
    backoff = wait_random_exponential(multiplier=limits.backoff_base, max=limits.deadline)

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, RetryableStatus) and failure.retry_after is not None:
            return failure.retry_after  # the server said when; it already fits the deadline
        return backoff(state)

    return AsyncRetrying(
        stop=stop_after_attempt(limits.retries + 1),
        wait=wait,
        retry=retry_if_exception(_is_retryable),
        reraise=True,  # the last real failure, not tenacity's RetryError, reaches the mapper
    )


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, RetryableStatus | httpx.TimeoutException):
        return True
    if not isinstance(exc, httpx.ConnectError) or find_cause(exc, ssl.SSLError) is not None:
        return False  # a certificate problem does not fix itself in a second
    lookup = find_cause(exc, socket.gaierror)
    # A name that does not exist stays so; only "temporary failure" lookups are worth a retry.
    return lookup is None or lookup.errno == socket.EAI_AGAIN


async def _fetch_answer(
    client: httpx.AsyncClient, request: FetchRequest, progress: _Progress, limits: FetchLimits
) -> _Answer:
    """All attempts for one source, cut off at the deadline however the server behaves."""
    timer = asyncio.timeout_at(progress.deadline_at)
    try:
        async with timer:
            return await _retrying(limits)(_attempt, client, request, progress, limits)
    except TimeoutError as exc:
        if not timer.expired():
            raise
        raise DeadlineExceeded(limits.deadline, progress.last_error) from exc


async def _fetch_source(
    client: httpx.AsyncClient, request: FetchRequest, limits: FetchLimits, slots: _Slots
) -> FetchResult:
    started_at, clock = datetime.now(UTC), time.monotonic()
    progress = _Progress(deadline_at=0.0)
    try:
        _check_url(request.url)
        async with slots.take(httpx.URL(request.url).host):
            # The deadline starts once we hold a slot: time queued behind other feeds is not
            # this server's fault.
            started_at, clock = datetime.now(UTC), time.monotonic()
            progress.deadline_at = asyncio.get_running_loop().time() + limits.deadline
            answer = await _fetch_answer(client, request, progress, limits)
    except Exception as exc:
        result = _failed(request, exc, limits, started_at, time.monotonic() - clock)
    else:
        result = _answered(request, answer, started_at, time.monotonic() - clock)
    result.attempts = progress.attempts
    _log_result(result)
    return result


def _answered(
    request: FetchRequest, answer: _Answer, started_at: datetime, duration: float
) -> FetchResult:
    result = FetchResult(
        source=request.source,
        url=request.url,
        status="ok",
        started_at=started_at,
        duration=duration,
        http_status=answer.status,
        final_url=answer.url,
        headers=answer.headers,
        content=answer.content,
        etag=answer.headers.get("etag"),
        last_modified=answer.headers.get("last-modified"),
    )
    if answer.status == 304:
        # A 304 may omit the validators; the ones we sent are still the right ones to keep.
        result.status = "not_modified"
        result.etag = result.etag or request.etag
        result.last_modified = result.last_modified or request.last_modified
    return result


def _failed(
    request: FetchRequest,
    exc: Exception,
    limits: FetchLimits,
    started_at: datetime,
    duration: float,
) -> FetchResult:
    kind, message = describe_failure(exc, limits)
    if kind == "unexpected":
        log.error("bug while fetching %s", request.source, exc_info=exc)
    status = exc.status if isinstance(exc, BadStatus | WaitTooLong) else None
    return FetchResult(
        source=request.source,
        url=request.url,
        status="error",
        started_at=started_at,
        duration=duration,
        http_status=status,
        error_kind=kind,
        error=message,
        etag=request.etag,
        last_modified=request.last_modified,
    )


def _log_result(result: FetchResult) -> None:
    tries = f", {result.attempts} attempts" if result.attempts > 1 else ""
    if result.status == "error":
        log.warning(
            "fetch failed: %s: %s (%.1f s%s)", result.source, result.error, result.duration, tries
        )
    elif result.status == "not_modified":
        log.info("not modified: %s (%.1f s%s)", result.source, result.duration, tries)
    else:
        size = format_size(len(result.content or b""))
        log.info("fetched %s: %s in %.1f s%s", result.source, size, result.duration, tries)


# --- many sources ----------------------------------------------------------------------------


class _Slots:
    """Bounded concurrency: one semaphore overall plus one per host, created on first use."""

    def __init__(self, limits: FetchLimits) -> None:
        self._overall = asyncio.Semaphore(limits.concurrency)
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(limits.per_host)
        )

    @asynccontextmanager
    async def take(self, host: str) -> AsyncIterator[None]:
        # Host first, then overall: a feed waiting for its busy host holds no overall slot
        # that a feed on another host could use.
        async with self._hosts[host.lower()], self._overall:
            yield


async def fetch_all(requests: Sequence[FetchRequest], limits: FetchLimits) -> list[FetchResult]:
    """Fetch every source concurrently; results in request order, never raises for a feed."""
    slots = _Slots(limits)
    async with _make_client(limits) as client:
        return list(
            await asyncio.gather(*(_fetch_source(client, r, limits, slots) for r in requests))
        )


async def fetch_as_completed(
    requests: Sequence[FetchRequest], limits: FetchLimits
) -> AsyncIterator[FetchResult]:
    """Fetch every source concurrently, yielding each result as soon as it is in, so the
    caller can parse and store early feeds while later ones are still downloading."""
    slots = _Slots(limits)
    async with _make_client(limits) as client:
        tasks = [asyncio.create_task(_fetch_source(client, r, limits, slots)) for r in requests]
        try:
            for next_done in asyncio.as_completed(tasks):
                yield await next_done
        finally:  # the caller stopped early (an error, a cancelled run): stop the rest too
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


class Fetcher:
    """One client and its concurrency slots, for callers that choose each next request from
    the last answer (backfill pages through a feed's archive one page at a time)."""

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self._slots = _Slots(limits)
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        self._client = _make_client(self.limits)
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """One source's fetch, bounded and never raising (as in ``fetch_all``)."""
        if self._client is None:
            raise RuntimeError("use Fetcher as an async context manager")
        return await _fetch_source(self._client, request, self.limits, self._slots)


def fetch_sources(requests: Sequence[FetchRequest], limits: FetchLimits) -> list[FetchResult]:
    """Blocking wrapper of ``fetch_all`` for synchronous callers (CLI, Prefect tasks, threads)."""
    return run_blocking(fetch_all(requests, limits))


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end from synchronous code, even code called inside a running
    event loop (where asyncio.run refuses to start): then on a helper thread's own loop (this
    blocks the caller's loop, as any sync call would), in the caller's context: Prefect finds
    its flow or task run there, so the fetch log lines land in that run."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="storywatch-loop") as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()


class _ReadableCheckStream(httpcore.AsyncNetworkStream):
    """A connection whose "is the server gone?" check reads the socket directly.

    httpcore asks every idle connection ``is_readable`` each time a request starts or ends;
    through anyio each ask builds a dict of socket attributes (a getpeername call) first. With
    a few connections kept alive over hundreds of feeds that was ~0.4 s of the event loop's
    time per 200-feed run (cProfile, bench/RESULTS.md): the socket is looked up once here."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")
        self._poller: Any = None
        if self._socket is not None:
            self._poller = select.poll()  # registered once: the socket lives as long as this
            self._poller.register(self._socket, select.POLLIN)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        upgraded = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _ReadableCheckStream(upgraded)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            # Readable (data or EOF) right now, or closed already: the server is done with it.
            return self._socket.fileno() < 0 or bool(self._poller.poll(0))
        return self._stream.get_extra_info(info)


class _QuickCheckBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _ReadableCheckStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _transport(limits: FetchLimits) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(
        # Keep as many idle connections as may be in flight, so a run reuses them.
        limits=httpx.Limits(
            max_connections=limits.concurrency, max_keepalive_connections=limits.concurrency
        ),
    )
    pool = getattr(transport, "_pool", None)  # a proxy from the environment: left as it is
    if isinstance(pool, httpcore.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = _QuickCheckBackend(pool._network_backend)
    return transport


def _make_client(limits: FetchLimits) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        headers={
            "User-Agent": limits.user_agent or DEFAULT_USER_AGENT,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        follow_redirects=False,  # _follow checks every hop itself
        transport=_transport(limits),
    )
