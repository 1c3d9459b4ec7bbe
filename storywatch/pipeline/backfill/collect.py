"""Backfill ("replay"): fetch what the sources still hold of a past window, store only the
entries published in it, and judge them as of their time.

Reaching back, per source, in this order:

1. the feed itself (most feeds keep only their latest items);
2. RFC 5005 archives: the feed's rel="prev-archive" link, page after page;
3. the source's ``archive`` URL template: ``{page}`` counts pages from 1 (WordPress's
   ``?paged={page}``); ``{since}`` / ``{until}`` (YYYY-MM-DD, inclusive) and ``{before}`` (the
   day after ``{until}``, for exclusive date operators) make a search feed queried day by day.

Paging stops at a page older than the window, an empty page, a page that repeats, a failed
page, or ``MAX_PAGES``; the report says per source how far back it could reach.

Detection then runs in publication order against the memory as it stood at the window's
start (``detect_window``): the first report of a development is ``new`` and later ones fold
in. Everything is idempotent: the store ignores what it already has, a window's developments
are mailed once (``--email``: one digest marked as a backfill) or recorded as handled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from storywatch.config.config import Config, SourceConfig
from storywatch.fetch.client import Fetcher, run_blocking
from storywatch.fetch.model import FetchLimits, FetchRequest
from storywatch.parse.decode import ParsedFeed
from storywatch.parse.normalise import Article
from storywatch.pipeline.backfill.window import (
    Window,
    entry_keys,
    page_is_older,
    select_sources,
    select_storylines,
    template_pages,
    unasked_storylines,
)
from storywatch.pipeline.ingest import read_fetched
from storywatch.store.repository import Store
from storywatch.store.schema import utcnow

log = logging.getLogger(__name__)

MAX_PAGES = 100  # per page sequence (an archive chain, a template, one day of a search)


@dataclass
class SourceReach:
    """What one source gave the backfill, and how far back it could reach."""

    source: str
    pages: int = 0
    entries: int = 0  # dated entries seen on all pages
    in_window: int = 0
    undated: int = 0  # entries without a date: they cannot be placed in the window
    new: int = 0  # in-window entries not stored before
    oldest: datetime | None = None
    newest: datetime | None = None
    via: list[str] = field(default_factory=list)  # feed, prev-archive, archive template
    stopped: str = ""
    error: str | None = None  # the feed itself could not be read: the source failed
    notes: list[str] = field(default_factory=list)  # e.g. a page that was not well-formed

    def see(self, moment: datetime) -> None:
        self.oldest = moment if self.oldest is None else min(self.oldest, moment)
        self.newest = moment if self.newest is None else max(self.newest, moment)

    def reached(self, window: Window) -> bool:
        """Did the source's pages go back to the window's first day?"""
        return self.oldest is not None and self.oldest.date() <= window.since

    def describe(self, window: Window) -> str:
        """How far back this source could reach, in plain words."""
        if self.error:
            return f"failed: {self.error}"
        how = " + ".join(self.via) or "feed"
        if self.oldest is None:
            return f"{how}: no dated entries"
        oldest = self.oldest.date().isoformat()
        if self.reached(window):
            reach = f"reached back to {oldest}, the whole window"
        elif self.oldest >= window.end:
            reach = f"reaches back only to {oldest}, after the window: nothing in it"
        else:
            missed = (self.oldest.date() - window.since).days
            reach = f"reaches back only to {oldest}: the first {missed} day(s) not covered"
        stop = f"; stopped: {self.stopped}" if self.stopped else ""
        notes = "".join(f"; {note}" for note in self.notes)
        counts = f"{self.in_window} in window, {self.new} new"
        return f"{how}, {self.pages} page(s), {reach}; {counts}{stop}{notes}"


@dataclass
class BackfillReport:
    run_id: str
    window: Window
    sources: list[SourceReach] = field(default_factory=list)

    @property
    def fetched(self) -> int:
        return sum(1 for s in self.sources if s.error is None)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.sources if s.error is not None)

    @property
    def new_articles(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def in_window(self) -> int:
        return sum(s.in_window for s in self.sources)

    def table(self) -> list[dict[str, object]]:
        """One row per source: the Prefect artifact and the CLI summary."""
        return [
            {
                "source": s.source,
                "pages": s.pages,
                "in_window": s.in_window,
                "new": s.new,
                "oldest": s.oldest.date().isoformat() if s.oldest else "",
                "whole_window": "yes" if s.reached(self.window) else "no",
                "reach": s.describe(self.window),
            }
            for s in self.sources
        ]


# Progress listeners (the CLI's progress bar): called with (event, reach) where event is
# "page" after each page and "done" when a source is finished. Tasks of an in-process flow
# run on other threads, so this is a plain module-level list, not a context variable.
ProgressListener = Callable[[str, SourceReach], None]
progress_listeners: list[ProgressListener] = []


def _notify(event: str, reach: SourceReach) -> None:
    for listener in list(progress_listeners):
        try:
            listener(event, reach)
        except Exception:  # a broken progress bar must not stop a backfill
            log.debug("progress listener failed", exc_info=True)


@dataclass
class _Page:
    articles: list[Article]
    feed: ParsedFeed | None
    error: str | None = None
    url: str = ""
    http_status: int | None = None

    @property
    def past_the_end(self) -> bool:
        """Paged feeds answer a page number past their last with 404 or 410."""
        return self.http_status in (404, 410)


class _SourceWalk:
    """One source's backfill: the feed, its archive chain, its template; pages one by one."""

    def __init__(
        self,
        source: SourceConfig,
        window: Window,
        fetcher: Fetcher,
        save: Callable[[list[Article]], asyncio.Future[list[int]]],
    ) -> None:
        self.source = source
        self.window = window
        self.fetcher = fetcher
        self.save = save
        self.reach = SourceReach(source.name)
        self.visited: set[str] = set()
        self.counted: set[str] = set()  # entry keys already counted (pages overlap)

    async def run(self) -> SourceReach:
        """Walk the source; whatever goes wrong stays this source's error."""
        try:
            return await self._walk()
        except Exception as exc:  # a bug or a store error must not stop the other sources
            log.exception("%s: backfill failed", self.source.name)
            self.reach.error = f"unexpected error: {type(exc).__name__}: {exc}"[:500]
            _notify("done", self.reach)
            return self.reach

    async def _walk(self) -> SourceReach:
        first = await self.read(self.source.url)
        if first.error is not None:
            self.reach.error = first.error
            _notify("done", self.reach)
            return self.reach
        self.reach.via.append("feed")
        await self.take(first)
        stops = []
        if (
            first.feed is not None
            and first.feed.archive_url
            and not page_is_older(first.articles, self.window)
        ):
            self.reach.via.append("prev-archive")
            stops.append(await self.follow_archive(first.feed.archive_url))
        if self.source.archive and not self.reach.reached(self.window):
            self.reach.via.append("archive template")
            for sequence in template_pages(self.source.archive, self.window):
                stops.append(await self.follow_pages(sequence))
        self.reach.stopped = "; ".join(s for s in stops if s)
        _notify("done", self.reach)
        return self.reach

    async def follow_archive(self, url: str | None) -> str:
        """RFC 5005: prev-archive links until the chain ends or goes past the window."""
        pages = 0
        while url:
            if url in self.visited:
                return "archive links loop"
            if pages >= MAX_PAGES:
                return f"page limit ({MAX_PAGES})"
            page = await self.read(url)
            pages += 1
            if page.error is not None:
                return f"archive page {pages}: {page.error}"
            if not page.articles:
                return "empty archive page"
            await self.take(page)
            if page_is_older(page.articles, self.window):
                return ""  # older than the window: done, as planned
            url = page.feed.archive_url if page.feed is not None else None
        return ""

    async def follow_pages(self, urls: Iterator[str]) -> str:
        """A template's pages until one is older than the window, empty, repeats or fails."""
        previous: set[str] = set()
        seen: set[str] = set()
        for number, url in enumerate(urls, start=1):
            if number > MAX_PAGES:
                return f"page limit ({MAX_PAGES})"
            page = await self.read(url)
            if page.error is not None:
                # Past the last page, paged feeds answer 404 (or an empty feed): the end.
                # Anything else (a 500, a timeout) cut the walk short: say so.
                return "" if number > 1 and page.past_the_end else f"page {number}: {page.error}"
            if not page.articles:
                return ""
            keys = entry_keys(page.articles)
            if keys == previous or keys <= seen:
                return ""  # the server repeats its last page: nothing more to read
            previous, seen = keys, seen | keys
            await self.take(page)
            if page_is_older(page.articles, self.window):
                return ""
        return ""

    async def read(self, url: str) -> _Page:
        self.visited.add(url)
        result = await self.fetcher.fetch(FetchRequest(source=self.source.name, url=url))
        if result.status != "ok" or result.content is None:
            return _Page([], None, result.error or "no content", url, result.http_status)
        self.reach.pages += 1
        # The window, not ingest.max_age_days, says which entries a backfill keeps: it is
        # there to read old ones (README, Backfill).
        feed, outcome = await asyncio.to_thread(read_fetched, result, None)
        if outcome.error is not None or feed is None:
            return _Page([], None, outcome.error or "no content", url)
        if outcome.note and outcome.note not in self.reach.notes:
            self.reach.notes.append(outcome.note)
        return _Page(outcome.articles, feed, None, url)

    async def take(self, page: _Page) -> None:
        fresh = [a for a in page.articles if (a.guid or a.url) not in self.counted]
        self.counted |= entry_keys(fresh)
        kept = entries_in_window(fresh, self.window, self.reach)
        if kept:
            self.reach.new += len(await self.save(kept))
        _notify("page", self.reach)


async def collect_window(
    sources: Sequence[SourceConfig],
    window: Window,
    limits: FetchLimits,
    store: Store,
    run_id: str,
) -> list[SourceReach]:
    """Walk every source concurrently (bounded by ``limits``), storing the window's entries as
    each page arrives. One writer thread: SQLite takes one writer at a time anyway."""
    source_ids = store.sync_sources((s.name, s.url) for s in sources)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storywatch-backfill")
    loop = asyncio.get_running_loop()

    def save(articles: list[Article]) -> asyncio.Future[list[int]]:
        return loop.run_in_executor(
            writer,
            store.save_window_articles,
            articles,
            source_ids,
            run_id,
            utcnow(),
        )

    try:
        async with Fetcher(limits) as fetcher:
            walks = [_SourceWalk(s, window, fetcher, save) for s in sources]
            return list(await asyncio.gather(*(w.run() for w in walks)))
    finally:
        writer.shutdown(wait=True)


def backfill_collect(
    config: Config,
    store: Store,
    window: Window,
    run_id: str,
    sources: Sequence[str] | None = None,
    email: bool = False,
    storylines: Sequence[str] | None = None,
) -> BackfillReport:
    """Fetch and store the window's entries from every chosen source (blocking). The window
    is the backfill's for ``storylines`` (None: every storyline) until it settles it there;
    ``email`` is recorded: a live run finishing a stopped backfill settles it the same."""
    chosen = select_sources(config, sources)
    report = BackfillReport(run_id=run_id, window=window)
    owned = select_storylines(config, None) if storylines is None else storylines
    others = unasked_storylines(config, owned)
    store.open_backfill(run_id, window.start, window.end, email, owned, others)
    try:
        report.sources = run_blocking(
            collect_window(chosen, window, config.ingest.fetch_limits(), store, run_id)
        )
    finally:
        stored = store.new_per_source(run_id)  # a retry's first attempt too
        for reach in report.sources:
            reach.new = max(reach.new, stored.get(reach.source, 0))
        new = report.new_articles
        store.finish_run(run_id, fetched=report.fetched, failed=report.failed, new=new)
    for reach in report.sources:
        log.info("%s: %s", reach.source, reach.describe(window))
    return report


def entries_in_window(
    articles: Sequence[Article], window: Window, reach: SourceReach
) -> list[Article]:
    """The page's articles published in the window; counts what was seen into ``reach``."""
    kept = []
    for article in articles:
        if article.date_missing:
            reach.undated += 1
            continue
        reach.entries += 1
        reach.see(article.published)
        if window.contains(article.published):
            kept.append(article)
    reach.in_window += len(kept)
    return kept
