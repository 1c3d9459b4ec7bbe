"""The fetch stage's data: the limits a fetch keeps, one source's request and its result.

Apart from ``client`` so config (which builds ``FetchLimits``) and ``errors`` (which words a
failure against them) need not import httpx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FetchStatus = Literal["ok", "not_modified", "error"]


@dataclass(frozen=True)
class FetchLimits:
    """Bounds that keep one bad source from holding or flooding a run."""

    deadline: float = 30.0  # seconds for the whole fetch of one source, retries included
    connect_timeout: float = 10.0
    read_timeout: float = 15.0
    retries: int = 2  # extra attempts after the first, on retryable failures only
    max_bytes: int = 10 * 1024 * 1024  # counted after decompression
    max_redirects: int = 5
    concurrency: int = 16  # requests in flight overall
    per_host: int = 2  # requests in flight per host
    backoff_base: float = 0.5  # seconds; exponential with full jitter
    user_agent: str = ""  # empty: the default descriptive User-Agent


@dataclass(frozen=True)
class FetchRequest:
    source: str  # the source's name (its key everywhere)
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class FetchResult:
    source: str
    url: str
    status: FetchStatus
    started_at: datetime
    duration: float  # seconds, retries included
    http_status: int | None = None
    final_url: str | None = None  # after redirects
    content: bytes | None = None  # decoded body (status "ok" only)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    etag: str | None = None  # validators to store for the next conditional GET
    last_modified: str | None = None
    attempts: int = 1  # 0 when the request was refused before any I/O (bad URL or scheme)
    error_kind: str | None = None  # one of errors.ErrorKind
    error: str | None = None  # plain words for the health table

    @property
    def fetched(self) -> bool:
        """True when the server answered with a feed or a 304 (the run counts it as reached)."""
        return self.status != "error"
