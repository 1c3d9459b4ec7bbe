"""Fetch failures: the exceptions the fetch stage raises, and the one function that words them.

``describe_failure`` maps every failure of one source, ours or httpx's, to an ``error_kind`` (a
stable key the store and the health table group by) and a message a user understands. Nothing
here does I/O; ``storywatch.fetch.client`` raises these and catches them all per source.

Failures and the ``error_kind`` each becomes (``*`` = retried with backoff)::

    Exception
    ├── FetchFailure                 raised by storywatch.fetch.client
    │   ├── BadURL                   bad_url             not a URL, or no host
    │   ├── BadScheme                bad_scheme          URL or redirect target not http(s)
    │   ├── BadStatus                http_status         4xx / 5xx (3xx without Location)
    │   │   └── RetryableStatus  *   rate_limited (429), http_status (500 502 503 504)
    │   ├── WaitTooLong              rate_limited (429), http_status (503)
    │   │                            Retry-After asks for more time than the deadline leaves
    │   ├── RedirectLoop             redirect_loop       a URL came back in one redirect chain
    │   ├── TooManyRedirects         too_many_redirects  more than max_redirects hops
    │   ├── TooLarge                 too_large           decoded body over max_bytes
    │   ├── BadEncoding              bad_encoding        corrupt, truncated or unknown compression
    │   └── DeadlineExceeded         deadline            the whole fetch ran past limits.deadline
    ├── httpx.InvalidURL             bad_url
    └── httpx.RequestError
        ├── TimeoutException     *   timeout             connect / read / write / pool timeout
        ├── ConnectError         *   connect             refused, unreachable
        │                            dns                 name lookup failed (retried only when
        │                                                the resolver says "try again")
        │                            tls                 handshake or certificate failed
        └── anything else            protocol            broken HTTP, connection reset ...
    anything else                    unexpected          a bug here (logged with its traceback)
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

import httpx

if TYPE_CHECKING:
    from storywatch.fetch.model import FetchLimits

ErrorKind = Literal[
    "bad_url", "bad_scheme", "http_status", "rate_limited", "redirect_loop", "too_many_redirects",
    "too_large", "bad_encoding", "deadline", "timeout", "dns", "tls", "connect", "protocol",
    "unexpected",
]  # fmt: skip

_MiB = 1024 * 1024
_E = TypeVar("_E", bound=BaseException)


class FetchFailure(Exception):
    """Base of the failures storywatch.fetch.client raises; none escapes ``fetch_all``."""


@dataclass(eq=False)
class BadURL(FetchFailure):
    url: str


@dataclass(eq=False)
class BadScheme(FetchFailure):
    url: str
    redirected: bool = False


@dataclass(eq=False)
class BadStatus(FetchFailure):
    status: int
    reason: str


@dataclass(eq=False)
class RetryableStatus(BadStatus):
    retry_after: float | None = None  # seconds the server asked us to wait


@dataclass(eq=False)
class WaitTooLong(FetchFailure):
    status: int
    asked: float
    left: float


@dataclass(eq=False)
class RedirectLoop(FetchFailure):
    chain: list[str]


@dataclass(eq=False)
class TooManyRedirects(FetchFailure):
    chain: list[str]


@dataclass(eq=False)
class TooLarge(FetchFailure):
    limit: int


@dataclass(eq=False)
class BadEncoding(FetchFailure):
    encoding: str
    detail: str
    unsupported: bool = False


@dataclass(eq=False)
class DeadlineExceeded(FetchFailure):
    seconds: float
    last_error: BaseException | None


def describe_failure(exc: BaseException, limits: FetchLimits) -> tuple[ErrorKind, str]:
    """The one place that turns a failure into (error_kind, a message a user understands)."""
    match exc:
        case BadURL(url=url):
            return "bad_url", f"not a valid feed URL: {url}"
        case BadScheme(url=url, redirected=True):
            return "bad_scheme", f"redirected to {url}, but only http and https are fetched"
        case BadScheme(url=url):
            return "bad_scheme", f"only http and https URLs are fetched, not {url}"
        case BadStatus(status=429, reason=reason):
            return "rate_limited", f"rate limited: server answered 429 {reason}"
        case BadStatus(status=status, reason=reason):
            return "http_status", f"server answered {status} {reason}"
        case WaitTooLong(status=status, asked=asked, left=left):
            kind: ErrorKind = "rate_limited" if status == 429 else "http_status"
            what = "rate limited" if status == 429 else "server unavailable"
            return kind, (
                f"{what} ({status}): server asked to wait {format_seconds(asked)} s, "
                f"more than the {format_seconds(left)} s allowed"
            )
        case RedirectLoop(chain=chain):
            return "redirect_loop", "redirect loop: " + " -> ".join(chain)
        case TooManyRedirects(chain=chain):
            return "too_many_redirects", (
                f"more than {limits.max_redirects} redirects: " + " -> ".join(chain)
            )
        case TooLarge(limit=limit):
            return "too_large", f"response larger than {format_size(limit)}"
        case BadEncoding(encoding=encoding, unsupported=True):
            return (
                "bad_encoding",
                f"server sent {encoding}-compressed data we did not ask for",
            )
        case BadEncoding(encoding=encoding, detail=detail):
            return "bad_encoding", f"response body is not valid {encoding} data ({detail})"
        case DeadlineExceeded(seconds=seconds, last_error=None):
            return "deadline", f"gave up after {format_seconds(seconds)} s (server too slow)"
        case DeadlineExceeded(seconds=seconds, last_error=BaseException() as last):
            return "deadline", f"gave up after {format_seconds(seconds)} s; last try: " + (
                describe_failure(last, limits)[1]
            )
        case httpx.InvalidURL() | httpx.UnsupportedProtocol():
            return "bad_url", f"not a valid feed URL: {exc}"
        case httpx.ConnectTimeout():
            return "timeout", f"could not connect within {format_seconds(limits.connect_timeout)} s"
        case httpx.TimeoutException():
            return "timeout", f"server sent nothing for {format_seconds(limits.read_timeout)} s"
        case httpx.ConnectError():
            return _describe_connect_error(exc)
        case httpx.RequestError():
            return "protocol", f"broken HTTP exchange with the server ({exc or type(exc).__name__})"
    return "unexpected", f"unexpected error: {type(exc).__name__}: {exc}"


def _describe_connect_error(exc: httpx.ConnectError) -> tuple[ErrorKind, str]:
    host = exc.request.url.host if _has_request(exc) else "the server"
    if find_cause(exc, socket.gaierror) is not None:
        return "dns", f"DNS lookup failed for {host}"
    tls = find_cause(exc, ssl.SSLError)
    if tls is not None:
        verify = getattr(tls, "verify_message", None)  # set on certificate failures
        why = f"certificate not trusted: {verify}" if verify else str(tls.reason or tls)
        return "tls", f"TLS handshake with {host} failed ({why.replace('_', ' ').lower()})"
    if find_cause(exc, ConnectionRefusedError) is not None:
        return "connect", f"could not connect to {host} (connection refused)"
    return "connect", f"could not connect to {host} ({exc})"


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True


def find_cause(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of ``kind`` in the chain httpx and httpcore wrap around OS errors."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # a chain can loop back on itself
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def format_seconds(seconds: float) -> str:
    return f"{round(seconds)}" if seconds >= 10 else f"{seconds:.2g}"


def format_size(n: int) -> str:
    if n % _MiB == 0:
        return f"{n // _MiB} MiB"
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"
