"""Ingest: the runner that puts fetch -> parse -> normalise -> store in their fixed order.

Deciding and doing are split: ``plan_fetches`` reads the store, ``fetch_and_store`` streams each
feed from the network through parsing into the store, each source on its own. One source's
failure stays in its ``SourceReport``; the run goes on. The Prefect flow calls these same functions
as tasks; ``ingest_once`` is the plain runner for library use and tests.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storywatch import failpoints
from storywatch.config.config import Config
from storywatch.fetch.client import fetch_as_completed, run_blocking
from storywatch.fetch.model import FetchLimits, FetchRequest, FetchResult
from storywatch.parse.decode import ParsedFeed, ParseError
from storywatch.parse.feedparser import parse_feed
from storywatch.parse.normalise import Article, normalise_feed
from storywatch.pipeline.cluster import cluster_new_articles
from storywatch.store.repository import Store
from storywatch.store.schema import FetchRow, utcnow
from storywatch.store.sources import FetchRecord

log = logging.getLogger(__name__)

# Below this many bytes to parse, a process pool costs more than it saves.
PARALLEL_PARSE_MIN_BYTES = 2 * 1024 * 1024
# From this many sources, start the parse workers before fetching (big runs only: small ones
# would pay the pool's start-up for nothing).
PARALLEL_PARSE_MIN_SOURCES = 50


@dataclass
class SourceReport:
    source: str
    status: str  # ok | not_modified | error
    http_status: int | None
    entries: int
    new: int
    duration: float
    error: str | None = None
    note: str | None = None  # e.g. "feed not well-formed (entries kept): ..."

    @property
    def seen(self) -> int:
        return self.entries - self.new


@dataclass
class IngestReport:
    run_id: str
    started_at: datetime
    sources: list[SourceReport] = field(default_factory=list)
    new_article_ids: list[int] = field(default_factory=list)

    @property
    def fetched(self) -> int:
        """Sources that answered with a feed or a 304: `run` succeeds when this is > 0."""
        return sum(1 for s in self.sources if s.status != "error")

    @property
    def failed(self) -> int:
        return sum(1 for s in self.sources if s.status == "error")

    @property
    def new_articles(self) -> int:
        return len(self.new_article_ids)

    def table(self) -> list[dict[str, object]]:
        """One row per source: what the Prefect artifact and the CLI summary show."""
        return [
            {
                "source": s.source,
                "status": s.status,
                "http": s.http_status if s.http_status is not None else "",
                "new": s.new,
                "seen": s.seen,
                "duration_s": round(s.duration, 2),
                "error": s.error or s.note or "",
            }
            for s in self.sources
        ]


@dataclass
class ParseOutcome:
    """What parsing one fetched body gave: articles, or the reason there are none."""

    articles: list[Article]
    entries: int = 0
    error_kind: str | None = None
    error: str | None = None
    note: str | None = None


def new_run_id() -> str:
    return str(uuid.uuid4())


def plan_fetches(config: Config, store: Store) -> tuple[list[FetchRequest], dict[str, int]]:
    """Register the configured sources and build their conditional-GET requests."""
    sources = config.enabled_sources
    source_ids = store.sync_sources((s.name, s.url) for s in sources)
    return store.fetch_requests([s.name for s in sources]), source_ids


def parse_fetched(result: FetchResult, max_age_days: float | None) -> ParseOutcome:
    """Parse and normalise one fetched body (pure: safe to run in a worker process)."""
    return read_fetched(result, max_age_days)[1]


def read_fetched(
    result: FetchResult, max_age_days: float | None
) -> tuple[ParsedFeed | None, ParseOutcome]:
    """The parsed feed (None when there is none) and what it gave: the one parse step of the
    live ingest and of a backfill's walk (which also follows the feed's archive links)."""
    if result.status != "ok" or result.content is None:
        return None, ParseOutcome(articles=[])
    try:
        feed = parse_feed(result.content, result.final_url or result.url, result.headers)
    except ParseError as exc:
        return None, ParseOutcome(articles=[], error_kind=exc.kind, error=exc.message)
    max_age = timedelta(days=max_age_days) if max_age_days else None
    articles = normalise_feed(
        feed, result.source, result.final_url or result.url, result.started_at, max_age=max_age
    )
    note = f"feed not well-formed (entries kept): {feed.bozo_message}" if feed.bozo else None
    return feed, ParseOutcome(articles=articles, entries=len(feed.entries), note=note)


class _Parsers:
    """Where fetched bodies are parsed (CPU-bound): in the store thread while the run is small,
    in worker processes once the run proves big (``PARALLEL_PARSE_MIN_*``). The pool starts on
    a helper thread (~0.5 s: the forkserver imports the parse stage once, workers fork warm);
    bodies arriving meanwhile are parsed in the store thread rather than waiting for it."""

    def __init__(self, max_age_days: float | None, workers: int, inline: Executor) -> None:
        self._max_age_days = max_age_days
        self._workers = workers
        self._inline = inline
        self._starting: asyncio.Task[ProcessPoolExecutor] | None = None
        self._bytes = 0

    def start_pool(self) -> None:
        if self._starting is None and self._workers > 1:
            self._starting = asyncio.create_task(asyncio.to_thread(self._make_pool))

    def _make_pool(self) -> ProcessPoolExecutor:
        # forkserver, not fork: Prefect runs threads here, and forking while another thread
        # holds a lock (logging, HTTP pools) can deadlock the child.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["storywatch.pipeline.ingest"])
        pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=context)
        for started in [pool.submit(int) for _ in range(self._workers)]:
            started.result()  # every worker is up: the first real body does not wait
        return pool

    def _ready_pool(self) -> ProcessPoolExecutor | None:
        if self._starting is None or not self._starting.done():
            return None
        return self._starting.result()

    async def parse(self, result: FetchResult) -> ParseOutcome:
        self._bytes += len(result.content or b"")
        if self._bytes >= PARALLEL_PARSE_MIN_BYTES:
            self.start_pool()
        executor = self._ready_pool() or self._inline
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, parse_fetched, result, self._max_age_days)

    async def close(self) -> None:
        if self._starting is not None:
            pool = await self._starting
            pool.shutdown(wait=True, cancel_futures=True)


async def fetch_and_store(
    requests: Sequence[FetchRequest],
    limits: FetchLimits,
    store: Store,
    source_ids: dict[str, int],
    *,
    run_id: str,
    max_age_days: float | None = None,
    workers: int | None = None,
) -> list[SourceReport]:
    """Fetch, parse and store as a stream: each feed is parsed as soon as it arrives and stored
    as soon as it is parsed, so downloading, parsing and writing overlap on every core. One
    writer thread stores whatever sources are ready in one transaction (a group commit).
    Sources already recorded for ``run_id`` (a retried task) are not fetched again; one
    source's failure stays in its report."""
    done = store.recorded_sources(run_id)
    reports = {name: _report_from_row(name, row) for name, row in done.items()}
    loop = asyncio.get_running_loop()
    parsed: asyncio.Queue[tuple[FetchResult, ParseOutcome] | None] = asyncio.Queue()
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storywatch-store")
    parsers = _Parsers(max_age_days, workers or os.cpu_count() or 1, inline=writer)

    async def parse(result: FetchResult) -> None:
        failpoints.reach("fetched")
        await parsed.put((result, await parsers.parse(result)))

    async def write_ready() -> None:
        finished = False
        while not finished:
            ready = [await parsed.get()]
            while not parsed.empty():
                ready.append(parsed.get_nowait())
            finished = ready[-1] is None
            batch = [item for item in ready if item is not None]
            records = [FetchRecord(r, o.articles, o.entries, o.error_kind, o.error, o.note)
                       for r, o in batch]  # fmt: skip
            saved = await loop.run_in_executor(
                writer, store.save_fetches, records, source_ids, run_id
            )
            for (result, outcome), new in zip(batch, saved, strict=True):
                reports[result.source] = _report(result, outcome, len(new))
                _log_source(reports[result.source])

    writing = asyncio.create_task(write_ready())
    try:
        todo = [r for r in requests if r.source not in done]
        if len(todo) >= PARALLEL_PARSE_MIN_SOURCES:
            parsers.start_pool()
        parsing = [asyncio.create_task(parse(r)) async for r in fetch_as_completed(todo, limits)]
        await asyncio.gather(*parsing)
        await parsed.put(None)
        await writing
    finally:
        writing.cancel()
        await parsers.close()
        writer.shutdown(wait=True)
    return [reports[r.source] for r in requests if r.source in reports]


def ingest_once(
    config: Config, store: Store, *, kind: str = "run", workers: int | None = None
) -> IngestReport:
    """One pass over every enabled source, then near-duplicate clustering of what it stored,
    without Prefect (library use, tests, benchmarks)."""
    report = IngestReport(run_id=new_run_id(), started_at=utcnow())
    store.start_run(report.run_id, kind, report.started_at)
    requests, source_ids = plan_fetches(config, store)
    report.sources = run_blocking(
        fetch_and_store(
            requests,
            config.ingest.fetch_limits(),
            store,
            source_ids,
            run_id=report.run_id,
            max_age_days=config.ingest.max_age_days,
            workers=workers,
        )
    )
    finish_ingest(store, report)
    cluster_new_articles(store)
    return report


def finish_ingest(store: Store, report: IngestReport) -> None:
    report.new_article_ids = store.article_ids_for_run(report.run_id)
    store.finish_run(
        report.run_id, fetched=report.fetched, failed=report.failed, new=report.new_articles
    )


def _report(result: FetchResult, outcome: ParseOutcome, new: int) -> SourceReport:
    failed = result.status == "error" or outcome.error is not None
    return SourceReport(
        source=result.source,
        status="error" if failed else result.status,
        http_status=result.http_status,
        entries=outcome.entries,
        new=new,
        duration=result.duration,
        error=outcome.error or result.error,
        note=outcome.note,
    )


def _report_from_row(name: str, row: FetchRow) -> SourceReport:
    return SourceReport(
        source=name,
        status=row.status,
        http_status=row.http_status,
        entries=row.entries_total,
        new=row.entries_new,
        duration=row.duration_ms / 1000,
        error=row.error,
        note=row.note,
    )


def _log_source(report: SourceReport) -> None:
    if report.status == "error":
        log.warning("%s: failed: %s", report.source, report.error)
    elif report.note:
        log.warning(
            "%s: %s, %d entries, %d new; %s",
            report.source,
            report.status,
            report.entries,
            report.new,
            report.note,
        )
    else:
        log.info(
            "%s: %s, %d entries, %d new", report.source, report.status, report.entries, report.new
        )
