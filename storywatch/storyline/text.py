"""Text helpers for the storyline stage: cleaning, sentences, clauses and event dates."""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta

from storywatch.storyline.lexicon import MONTHS, RELATIVE_DAYS, WEEKDAYS

_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " ", "–": "-"})
# A sentence ends at . ! ? followed by space and an upper-case letter or a quote; abbreviations
# such as "U.S." or "Mr." are protected first.
_ABBREV = re.compile(
    r"\b(?:U\.S|U\.K|U\.N|Mr|Mrs|Ms|Dr|St|Gen|Lt|Col|Sen|Rep|No|Jan|Feb|Mar|"
    r"Apr|Aug|Sept|Sep|Oct|Nov|Dec|a\.m|p\.m|[A-Z])\."
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"']?\s+(?=[\"'A-Z0-9])")
_CLAUSE_SPLIT = re.compile(r";|\s+but\s+|,\s+while\s+|,\s+whereas\s+|\s+-\s+")


def clean_text(text: str) -> str:
    """Unescape stray HTML entities, straighten quotes and collapse whitespace."""
    return _SPACE.sub(" ", html.unescape(text or "").translate(_QUOTES)).strip()


def shorten(text: str, limit: int) -> str:
    """``text`` whole when it fits in ``limit`` characters, else cut at a word boundary and
    ended with "…" (within the limit; a single word longer than it is cut inside)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]  # room for the ellipsis
    if not text[limit - 1].isspace():  # the cut falls inside a word: leave that word out
        cut = cut.rpartition(" ")[0] or cut
    return cut.rstrip(" ,;:-") + "…"


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences (good enough for wire-style leads)."""
    protected = _ABBREV.sub(lambda m: m.group(0).replace(".", "\x00"), text)
    parts = _SENTENCE_END.split(protected)
    return [p.replace("\x00", ".").strip() for p in parts if p.strip()]


# Background: "..., following the call", "... after the clash", "two months after ...". The span
# runs to the next comma or semicolon; its triggers describe earlier events, not this one.
_BACKGROUND = re.compile(
    r"(?:,\s*|\s+)(?:following(?: up on)?|(?:\w+ )?(?:days?|weeks?|months?) after|after|"
    r"in the wake of|which followed|since|beforehand|earlier|(?:came|comes) (?:as|amid)|amid)"
    r"\b[^,;]*",
    re.IGNORECASE,
)
_BACKGROUND_START = re.compile(
    r"^(?:earlier|beforehand|previously|last (?:week|month|year)|in (?:january|february|march|"
    r"april|may|june|july|august|september|october|november|december)\b)",
    re.IGNORECASE,
)


def is_background(sentence: str) -> bool:
    """A sentence that only recalls what happened before ("Earlier, ...")."""
    return bool(_BACKGROUND_START.match(sentence))


def drop_background(sentence: str) -> str:
    """The sentence without its background spans (what led up to the reported event)."""
    return _BACKGROUND.sub("", sentence)


def split_clauses(sentence: str) -> list[str]:
    """Split a sentence where its modality may change ("agreed X but not Y; Z was cancelled")."""
    return [c.strip() for c in _CLAUSE_SPLIT.split(sentence) if c.strip()]


_WEEKDAY = re.compile(
    r"\b(?:on |late |early |last |this |next |by )?(" + "|".join(WEEKDAYS) + r")\b"
)
_MONTH_DAY = re.compile(
    r"\b(" + "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.? (\d{1,2})\b"
)
_DAY_MONTH = re.compile(r"\b(\d{1,2}) (" + "|".join(MONTHS) + r")\b")
_RELATIVE = re.compile(r"\b(" + "|".join(re.escape(k) for k in RELATIVE_DAYS) + r")\b")
_MONTH_ABBREV = {m[:3]: i + 1 for i, m in enumerate(MONTHS)}


def resolve_date(lowered: str, published: datetime, future: bool) -> date | None:
    """The event date a clause names, relative to the article's publication.

    A weekday means the most recent such day (or the next one for planned events); an explicit
    "May 8" is taken in the publication year. None when the clause names no date.
    """
    base = published.date()
    match = _MONTH_DAY.search(lowered)
    if match:
        return _safe_date(base.year, _MONTH_ABBREV[match.group(1)[:3]], int(match.group(2)))
    match = _DAY_MONTH.search(lowered)
    if match:
        return _safe_date(base.year, _MONTH_ABBREV[match.group(2)[:3]], int(match.group(1)))
    match = _WEEKDAY.search(lowered)
    if match:
        target = WEEKDAYS.index(match.group(1))
        delta = (base.weekday() - target) % 7
        if future or match.group(0).startswith("next"):
            ahead = (target - base.weekday()) % 7
            return base + timedelta(days=ahead)
        return base - timedelta(days=delta)
    match = _RELATIVE.search(lowered)
    if match:
        return base + timedelta(days=RELATIVE_DAYS[match.group(1)])
    return None


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def words(lowered: str) -> set[str]:
    """The set of word tokens of a lower-cased text."""
    return set(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", lowered))
