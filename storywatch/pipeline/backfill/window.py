"""A backfill's window and what it is run for: whole UTC days, the pages of an archive
template, the entries of a page inside the window, the sources and storylines asked. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from storywatch.config.config import Config, SourceConfig
from storywatch.parse.normalise import Article

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class WindowError(ValueError):
    """A backfill window that cannot be used (bad date, since after until)."""


@dataclass(frozen=True)
class Window:
    """Whole UTC days, both ends inclusive."""

    since: date
    until: date

    @classmethod
    def parse(cls, since: str, until: str) -> Window:
        days = []
        for name, value in (("--since", since), ("--until", until)):
            try:
                if not _DAY.match(value):  # fromisoformat also takes 20250411, 2025-W15-1
                    raise ValueError(value)
                days.append(date.fromisoformat(value))
            except (TypeError, ValueError):
                raise WindowError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None
        if days[0] > days[1]:
            raise WindowError(f"--since {since} is after --until {until}")
        today = datetime.now(UTC).date()
        if days[0] > today:  # else every source "reaches" it, holding nothing
            raise WindowError(f"--since {since} is in the future (today is {today}, UTC)")
        return cls(days[0], days[1])

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the window."""
        return datetime.combine(self.until + timedelta(days=1), time(0), tzinfo=UTC)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]

    def __str__(self) -> str:
        if self.since == self.until:
            return self.since.isoformat()
        return f"{self.since.isoformat()}..{self.until.isoformat()}"


def template_pages(template: str, window: Window) -> Iterator[Iterator[str]]:
    """The page sequences of an ``archive`` template: one sequence for a plain paged feed, one
    per day (newest first) for a template with dates. Each sequence counts {page} from 1."""
    dated = any(p in template for p in ("{since}", "{until}", "{before}"))
    days = list(reversed(window.days())) if dated else [None]
    for day in days:
        yield _pages(template, day)


def _pages(template: str, day: date | None) -> Iterator[str]:
    fill = {}
    if day is not None:
        fill = {
            "{since}": day.isoformat(),
            "{until}": day.isoformat(),
            "{before}": (day + timedelta(days=1)).isoformat(),
        }
    page = 1
    while True:
        url = template.replace("{page}", str(page))
        for placeholder, value in fill.items():
            url = url.replace(placeholder, value)
        yield url
        if "{page}" not in template:
            return
        page += 1


def page_is_older(articles: Sequence[Article], window: Window) -> bool:
    """Every dated entry on the page is from before the window: older pages hold nothing."""
    dated = [a.published for a in articles if not a.date_missing]
    return bool(dated) and max(dated) < window.start


def entry_keys(articles: Sequence[Article]) -> set[str]:
    return {a.guid or a.url for a in articles}


def select_sources(config: Config, names: Sequence[str] | None) -> list[SourceConfig]:
    """The enabled sources, or the named ones (enabled or not: naming one is asking for it)."""
    if not names:
        return config.enabled_sources
    known = {s.name: s for s in config.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        listed = ", ".join(repr(n) for n in unknown)
        raise KeyError(f"no source named {listed} in {config.path}")
    return [known[n] for n in names]


def select_storylines(config: Config, storyline: str | None) -> list[str]:
    ids = [s.id for s in config.storylines]
    if storyline is not None and storyline not in ids:
        raise KeyError(f"no storyline {storyline!r} in {config.path}")
    return [storyline] if storyline else ids


def unasked_storylines(config: Config, owned: Sequence[str]) -> list[str]:
    """The storylines a backfill owning ``owned`` was not run for: they read the articles it
    stores, so it holds their window too, and a live run records it for them as of the time
    (Store.open_backfill). None when it owns none: a day run's driver holds them."""
    if not owned:
        return []
    return [s.id for s in config.storylines if s.id not in owned]


def window_label(window: Window) -> str:
    """ "12 Feb 2025", "12–18 Feb 2025", "28 Feb–3 Mar 2025", "30 Dec 2024–2 Jan 2025"."""
    since, until = window.since, window.until
    if since == until:
        return f"{since.day} {since:%b %Y}"
    if (since.year, since.month) == (until.year, until.month):
        return f"{since.day}–{until.day} {until:%b %Y}"
    if since.year == until.year:
        return f"{since.day} {since:%b}–{until.day} {until:%b %Y}"
    return f"{since.day} {since:%b %Y}–{until.day} {until:%b %Y}"
