"""Digest stage, deciding: the developments a recipient has not been sent -> a ``Digest``.

Pure (``build_digest``, ``build_heartbeat``): plain records in, the digest the templates see
out; rendering is ``render``, the runner that reads the store and records each digest is
``storywatch.pipeline.digests``, sending is ``send``. The store's records are named here for
the type checker only.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import nh3

from storywatch.config.config import BIDI_CONTROLS, Config, DigestConfig, StorylineConfig

if TYPE_CHECKING:  # the store's records, as the store reads them: no store at run time
    from storywatch.store.developments import StoredDevelopment
    from storywatch.store.digests import EarlierDevelopment, FetchesSince

log = logging.getLogger(__name__)

# Section order and headings; a development sits in the section of its first type here.
TYPE_HEADINGS = {
    "ceasefire": "Ceasefires",
    "agreement": "Agreements",
    "meeting": "Meetings",
    "concession": "Concessions",
    "proposal": "Proposals",
    "prisoner_exchange": "Prisoner exchanges",
    "sanctions": "Sanctions",
    "aid": "Aid",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“‘(])")
_SUMMARY_LIMIT = 300
# A wire credit left at the start of a summary: "(Harbour Wire) Putin told...", "JEDDAH (Harbour
# Wire) - Ukraine told...", "Moscow, March 3 (AFP) — ...". Only with a parenthesised credit of
# one to four capitalised words; a place before it needs the dash after it.
_CREDIT = r"\((?:[A-Z][\w.&'’-]*\s?){1,4}\)"
_DATELINE = re.compile(
    rf"^(?:{_CREDIT}\s*(?:[-–—]\s*)?|[A-Z][\w.'’ ,/]{{0,60}}?\s*{_CREDIT}\s*[-–—]\s*)(?=\S)"
)
# Past this many developments in one mail the rest are compact blocks (headline, one line, the
# first outlet's link and how many reported it): every development stays in the one mail (no
# cap) and the HTML part under Gmail's clip size (102 KB); render_digest shows fewer in full
# when the HTML would still pass its budget.
FULL_BLOCKS = 12
LINE_LIMIT = 120  # a compact block's one line, in characters
_URL_SAFE = ":/?#[]@!$&()*+,;=%"  # RFC 3986 delimiters but "'" (and "%": already encoded)
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")  # stored before normalise stripped them: never shown


# -- the digest as the templates see it ------------------------------------------------------


@dataclass(frozen=True)
class DigestLink:
    """One outlet's article. ``url`` is the exported URL, or None when it is not http(s)."""

    url: str | None
    title: str
    source: str
    published: str


@dataclass(frozen=True)
class DigestItem:
    """One development's block: all text already sanitised to plain text."""

    id: str
    novelty: str
    types: list[str]
    title: str
    summary: str
    evidence: str
    actors: list[str]
    first_seen: str
    outlets: int
    links: list[DigestLink]
    advances: str | None  # "<title> (<date>)" of the earlier development it advances
    relation: str  # how it relates to that one: "Update to" (an update) or "Follows" (new)
    terms: list[str] = field(default_factory=list)  # the trigger words that matched
    evidence_is_summary: bool = False  # the flagging sentence is the summary shown above
    compact: bool = False  # past FULL_BLOCKS: headline, one line, first link and the count
    number: int = 0  # its place in the mail, from 1: the summary's line links to "#d<number>"
    first_day: str = ""  # the day first seen, for a compact block

    @property
    def line(self) -> str:
        """A compact block's one line: the summary, else the flagging sentence, else the
        development it advances; cut at a word near ``LINE_LIMIT`` characters."""
        if self.summary or self.evidence:
            return shorten_line(self.summary or self.evidence)
        return shorten_line(f"{self.relation}: {self.advances}") if self.advances else ""


@dataclass(frozen=True)
class DigestSection:
    heading: str
    items: list[DigestItem]


@dataclass(frozen=True)
class FeedCheck:
    """How the enabled sources fared since the recipient's last mail (the store's fetch
    history), as every digest states it: silence can be trusted only when none failed."""

    total: int  # enabled sources
    failed: tuple[tuple[str, str], ...] = ()  # (source, short reason), in config order
    unchecked: tuple[str, ...] = ()  # not fetched at all in that time
    since_last_mail: bool = True  # False: no mail yet, the period is the latest run

    @property
    def all_checked(self) -> bool:
        """Every source was fetched and none failed: the only case silence can be trusted."""
        return self.total > 0 and not self.failed and not self.unchecked

    @property
    def sentences(self) -> list[str]:
        when = "since the last mail" if self.since_last_mail else "in the latest run"
        of = f"of {self.total} {'source' if self.total == 1 else 'sources'}"
        if self.all_checked:
            every = "The 1 source was" if self.total == 1 else f"All {self.total} sources were"
            return [f"{every} checked {when} and none failed."]
        out = []
        if self.failed:
            named = ", ".join(f"{clean_text(name)} ({reason})" for name, reason in self.failed)
            out.append(f"{len(self.failed)} {of} failed {when}: {named}.")
        if self.unchecked:
            verb = "was" if len(self.unchecked) == 1 else "were"
            named = ", ".join(clean_text(name) for name in self.unchecked)
            out.append(f"{len(self.unchecked)} {of} {verb} not checked {when}: {named}.")
        return out or [f"No source is enabled: nothing was checked {when}."]


def check_feeds(config: Config, fetches: FetchesSince) -> FeedCheck:
    """The ``FeedCheck`` of the config's enabled sources from their fetch history."""
    names = [s.name for s in config.enabled_sources]
    failed = tuple((n, _reason(*fetches.failed[n])) for n in names if n in fetches.failed)
    unchecked = tuple(n for n in names if n not in fetches.checked)
    return FeedCheck(len(names), failed, unchecked, fetches.since_last_mail)


def _reason(kind: str | None, http_status: int | None) -> str:
    if http_status and kind in ("http_status", "rate_limited", None):
        return f"HTTP {http_status}"
    return (kind or "error").replace("_", " ")


@dataclass(frozen=True)
class Digest:
    """One storyline's digest for one recipient (``kind`` heartbeat: nothing new)."""

    storyline_id: str
    storyline_title: str
    recipient: str
    sender: str
    created_at: datetime
    timezone: str
    kind: str
    sections: list[DigestSection] = field(default_factory=list)
    since: str | None = None  # heartbeat: the last digest's date, when there was one
    window: str | None = None  # a backfill's digest: the replayed window, e.g. "12–18 Feb 2025"
    feeds: FeedCheck | None = None  # how the sources fared since the last mail

    @property
    def title(self) -> str:
        return clean_text(self.storyline_title)

    @property
    def count(self) -> int:
        return sum(len(s.items) for s in self.sections)

    @property
    def development_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    @property
    def items(self) -> list[DigestItem]:
        """Every block, in mail order (the summary at the top lists them in this order)."""
        return [item for s in self.sections for item in s.items]

    @property
    def counts(self) -> str:
        """The summary's count line: "Ceasefires 6, Meetings 2 (7 new, 1 update)"."""
        by_type = ", ".join(f"{s.heading} {len(s.items)}" for s in self.sections)
        updates = sum(1 for item in self.items if item.novelty == "update")
        novelty = f"{self.count - updates} new"
        if updates:
            novelty += f", {updates} {'update' if updates == 1 else 'updates'}"
        return f"{by_type} ({novelty})" if by_type else ""

    @property
    def compact_count(self) -> int:
        return sum(1 for item in self.items if item.compact)

    @property
    def full_blocks(self) -> int:
        return self.count - self.compact_count

    def with_full_blocks(self, full_blocks: int) -> Digest:
        """The same digest with its first ``full_blocks`` blocks in full and the rest compact;
        every block numbered in mail order (the same developments: the same digest id)."""
        sections, shown = [], 0
        for section in self.sections:
            blocks = [
                replace(item, compact=shown + n >= full_blocks, number=shown + n + 1)
                for n, item in enumerate(section.items)
            ]
            shown += len(blocks)
            sections.append(DigestSection(section.heading, blocks))
        return replace(self, sections=sections)

    @property
    def day(self) -> str:
        return _local(self.created_at, self.timezone).strftime("%-d %b")

    @property
    def subject(self) -> str:
        title = self.title
        if self.kind == "heartbeat" and self.since:
            return f"{title}: nothing new since {self.since}"
        if self.kind == "heartbeat":
            return f"{title}: nothing new ({self.day})"
        noun = "development" if self.count == 1 else "developments"
        if self.window:
            return f"{title}: {self.count} {noun} in the backfill of {self.window}"
        return f"{title}: {self.count} new {noun} ({self.day})"

    @property
    def digest_id(self) -> str:
        """Stable for the same content: the Message-ID derives from it."""
        if self.kind == "heartbeat":
            day = _local(self.created_at, self.timezone).date().isoformat()
            parts: Iterable[str] = ("heartbeat", self.recipient, day)
        elif self.window:
            parts = ("backfill", self.window, self.recipient, *self.development_ids)
        else:
            parts = (self.recipient, *self.development_ids)
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
        return f"{self.storyline_id}-{digest}"


# -- deciding: developments -> a digest (pure) ------------------------------------------------


def clean_text(value: str) -> str:
    """Feed text as plain text: tags and their scripts dropped, entities decoded, one line."""
    stripped = nh3.clean(value or "", tags=set())
    return " ".join(_BIDI.sub("", html.unescape(stripped)).split())


def safe_url(url: str) -> str | None:
    """The URL when it is http(s) with a host, else None (shown without a link). Characters
    that do not belong raw in a URL (quotes, angle brackets, backtick, space, backslash, braces,
    caret, pipe, non-ASCII) are percent-encoded, so no re-serialisation of the HTML (CSS
    inlining) can show them raw inside an href; what is already encoded stays as it is."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in ("http", "https") and parts.hostname and url == url.strip():
        return quote(url, safe=_URL_SAFE)
    return None


def shorten_line(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` when it fits ``limit``, else cut at the last word that fits, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,;:.-–—") + "…"


def strip_dateline(text: str) -> str:
    """``text`` without a wire dateline at its start ("(Outlet) ", "CITY (Outlet) - ")."""
    return _DATELINE.sub("", text, count=1)


def one_sentence(text: str) -> str:
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    return first if len(first) <= _SUMMARY_LIMIT else first[: _SUMMARY_LIMIT - 1].rstrip() + "…"


def build_digest(
    storyline: StorylineConfig,
    settings: DigestConfig,
    recipient: str,
    developments: Sequence[StoredDevelopment],
    earlier: dict[str, EarlierDevelopment],
    created_at: datetime,
    window: str | None = None,
    feeds: FeedCheck | None = None,
    full_blocks: int = FULL_BLOCKS,
) -> Digest:
    """The digest of ``developments`` for one recipient, grouped by development type
    (``window``: a backfill's digest, marked as such; ``feeds``: what it says of the sources;
    past ``full_blocks`` developments the blocks are compact)."""
    items: dict[str, list[DigestItem]] = {}
    for development in developments:
        section = _section_of(development.types)
        items.setdefault(section, []).append(_item(development, earlier, settings.timezone))
    order = [*TYPE_HEADINGS, *sorted(set(items) - set(TYPE_HEADINGS))]
    sections = [
        DigestSection(TYPE_HEADINGS.get(t, t.replace("_", " ").capitalize()), items[t])
        for t in order
        if t in items
    ]
    return Digest(
        storyline_id=storyline.id,
        storyline_title=storyline.title,
        recipient=recipient,
        sender=settings.sender,
        created_at=created_at,
        timezone=settings.timezone,
        kind="backfill" if window else "developments",
        sections=sections,
        window=window,
        feeds=feeds,
    ).with_full_blocks(full_blocks)


def build_heartbeat(
    storyline: StorylineConfig,
    settings: DigestConfig,
    recipient: str,
    last_digest_at: datetime | None,
    created_at: datetime,
    feeds: FeedCheck | None = None,
) -> Digest:
    since = _local(last_digest_at, settings.timezone).strftime("%-d %b") if last_digest_at else None
    return Digest(
        storyline_id=storyline.id,
        storyline_title=storyline.title,
        recipient=recipient,
        sender=settings.sender,
        created_at=created_at,
        timezone=settings.timezone,
        kind="heartbeat",
        since=since,
        feeds=feeds,
    )


def _in_section_order(types: Sequence[str]) -> list[str]:
    return [t for t in TYPE_HEADINGS if t in types] + sorted(set(types) - set(TYPE_HEADINGS))


def _section_of(types: Sequence[str]) -> str:
    ordered = _in_section_order(types)
    return ordered[0] if ordered else "other"


def _item(
    development: StoredDevelopment, earlier: dict[str, EarlierDevelopment], tz: str
) -> DigestItem:
    evidence = _telling_evidence(development)
    actors: list[str] = []
    terms: list[str] = []
    for entry in development.evidence:
        actors += [clean_text(a) for a in entry.get("actors", []) if clean_text(a) not in actors]
        terms += [clean_text(t) for t in entry.get("terms", []) if clean_text(t) not in terms]
    types = [t.replace("_", " ") for t in _in_section_order(development.types)]
    summary = _summary(development)
    sentence = strip_dateline(clean_text(str(evidence.get("sentence", ""))))
    # The flagging sentence is often the summary shown just above: point at it, not repeat it.
    repeats_summary = bool(summary) and _same_text(sentence, summary)
    return DigestItem(
        id=development.id,
        novelty=development.novelty,
        types=types,
        title=clean_text(development.title),
        summary=summary,
        evidence="" if repeats_summary else sentence,
        actors=actors,
        first_seen=_stamp(development.first_seen, tz),
        first_day=_day(development.first_seen.isoformat(), tz),
        outlets=len({a.source for a in development.articles}),
        links=[
            DigestLink(
                safe_url(a.url), clean_text(a.title), clean_text(a.source), _stamp(a.published, tz)
            )
            for a in development.articles
        ],
        advances=_advances(development.updates, earlier, tz),
        relation="Update to" if development.novelty == "update" else "Follows",
        terms=terms,
        evidence_is_summary=repeats_summary,
    )


def _same_text(a: str, b: str) -> bool:
    return a.rstrip(" .").casefold() == b.rstrip(" .").casefold()


def _telling_evidence(development: StoredDevelopment) -> dict:
    """The first evidence sentence that says more than the headline (the body's), else the
    first one: a "why flagged" that repeats the title explains nothing."""
    title = clean_text(development.title)
    for entry in development.evidence:
        if not _same_text(clean_text(str(entry.get("sentence", ""))), title):
            return entry
    return development.evidence[0] if development.evidence else {}


def _summary(development: StoredDevelopment) -> str:
    """One sentence; empty when it only repeats the headline."""
    summary = one_sentence(strip_dateline(clean_text(development.summary)))
    same = summary.rstrip(" .").casefold() == clean_text(development.title).rstrip(" .").casefold()
    return "" if same else summary


def _advances(update_of: str | None, earlier: dict[str, EarlierDevelopment], tz: str) -> str | None:
    if not update_of:
        return None
    found = earlier.get(update_of)
    if found is None:
        return update_of
    when = _day(found.first_seen, tz)
    return f"{clean_text(found.title)} ({when})" if when else clean_text(found.title)


def _local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def _stamp(moment: datetime, tz: str) -> str:
    return _local(moment, tz).strftime("%-d %b %Y, %H:%M %Z")


def _day(iso: str, tz: str) -> str:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _local(moment, tz).strftime("%-d %b %Y")


def immediate_storylines(config: Config) -> list[str]:
    """Storylines mailed after every run; scheduled ones wait for their schedule."""
    return [s.id for s in config.storylines if config.digest_for(s).mode == "immediate"]
