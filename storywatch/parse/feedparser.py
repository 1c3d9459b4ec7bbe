"""Parse stage: feed bytes (plus response headers) -> entries, with feedparser.

feedparser never fetches here: it only sees bytes we already downloaded within our limits, always
wrapped in a stream (a bare ``bytes`` argument may be taken for a file path). Before feedparser
sees the document we:

1. decode it ourselves (BOM, then the header charset, then the XML declaration, then UTF-8,
   windows-1252, latin-1) and hand feedparser clean UTF-8, so no later decoding step can reveal
   markup we did not inspect;
2. rebuild the DOCTYPE: only short, literal, internal general entities survive. External
   entities (XXE) and parameter entities are dropped; a feed whose entities refer to other
   entities (billion laughs) or would expand past a budget (quadratic blow-up) is rejected
   (``ParseError``: nothing of it is stored);
3. drop the stale XML declaration, junk before the first tag and control characters XML forbids.

feedparser's sanitiser and relative-URI rewriting are switched off (storywatch sanitises at
render time). Broken-but-readable feeds (bozo) keep their entries; unreadable ones raise
``ParseError``. JSON Feed (1.0 and 1.1) is read with the json module.

Dates: published, else updated, else created; each must fall between 1990-01-01 and two days
after ``now``, otherwise the next one is tried and, failing all, the entry has no date.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import repeat
from typing import Any

import feedparser

from storywatch.parse.decode import (
    LONG_TAG,
    XML_NAME,
    FeedEntry,
    ParsedFeed,
    ParseError,
    decode,
    decompress,
    feed_entry,
    has_anything,
    prev_archive_url,
    sane_date,
    scan_prolog,
)
from storywatch.parse.fast import fast_parse

ENTITY_MAX_COUNT = 64  # more declared entities than this: keep none
ENTITY_MAX_LENGTH = 1024  # longest replacement text kept
ENTITY_EXPANSION_BUDGET = 1_000_000  # characters all references together may add
MAX_ATTRIBUTES = 1_000  # per element, in tags longer than 8 KiB (others cannot hold so many)

_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ENTITY_DECL = re.compile(r"<!ENTITY\s+(\w+)\s+(?:\"([^\"]*)\"|'([^'\"]*)')\s*>")
_ANY_ENTITY_DECL = re.compile(r"<!ENTITY\s+([\w.:-]+)\s+(\"[^\"]*\"|'[^']*')", re.I)  # not %
_ENTITY_REF = re.compile(r"&([A-Za-z_][\w.:-]*);")
_SAFE_VALUE = re.compile(r"&#(?:\d{1,7}|x[0-9A-Fa-f]{1,6});|[^&%<>\"]*")
_XML_DECL = re.compile(r"<\?xml(?:\s[^>]*)?\?>", re.I)
_FEED_TAG = re.compile(r"<(?:rss|feed|rdf:RDF|channel)[\s>]")
_ENTRY_END = re.compile(r"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.I)
_ROOT_END = re.compile(r"</(?:[\w.-]+:)?(?:rss|feed|rdf)\s*>\s*$", re.I)
_PREDEFINED = frozenset(("amp", "lt", "gt", "quot", "apos"))
_NETSCAPE_DOCTYPE = '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" ""'


def parse_feed(
    content: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
    fast_path: bool = True,
) -> ParsedFeed:
    """Parse a fetched body into a ``ParsedFeed``; raise ``ParseError`` when nothing is usable.

    ``headers`` are the HTTP response headers (case-insensitive names; ``Content-Type`` gives
    the charset); ``url`` is the feed's (final) URL, the base for relative links.
    ``now`` bounds future dates (default: the current time).

    Clean RSS 2.0 / Atom 1.0 documents are read by ``fast.fast_parse``, which returns
    exactly what the feedparser path below would (tests prove it on ../shared/corpus) and
    declines everything else; ``fast_path=False`` always uses feedparser.
    """
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    now = now or datetime.now(UTC)
    content = decompress(content)
    if not content.strip():
        raise ParseError("empty", "the response body is empty")
    if fast_path and (fast := fast_parse(content, url, lowered, now=now)) is not None:
        return fast
    decoded = decode(content, lowered.get("content-type", ""))
    text = decoded.text.lstrip("\ufeff \t\r\n")
    if not text:
        raise ParseError("empty", "the response body is empty")
    if text[0] in "{[":
        return _parse_json_feed(text, now)
    if "<" not in text:
        if decoded.problem or decoded.sniffed:
            raise ParseError("bad_encoding", f"no markup after decoding as {decoded.codec}")
        raise ParseError("not_a_feed", "got plain text, not a feed")
    text, notes = _prepare_xml(text)
    if decoded.problem and decoded.lossy:
        notes.insert(0, decoded.problem)
    fp_headers = {"content-type": "application/xml; charset=utf-8", "content-location": url}
    if "content-language" in lowered:
        fp_headers["content-language"] = lowered["content-language"]
    try:
        result = feedparser.parse(
            io.BytesIO(text.encode("utf-8")),
            response_headers=fp_headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's own bugs (e.g. KeyError on odd nesting): one feed
        raise ParseError("malformed", f"the feed parser failed on this document: {exc!r}") from exc
    raw_entries = result.entries
    if result.bozo:
        notes.append(_describe(result.get("bozo_exception")))
        if _ends_inside_an_entry(text, len(raw_entries)):
            raw_entries = raw_entries[:-1]
            notes.append("cut short inside its last entry (not stored: a complete copy brings it)")
    entries = [e for e in map(feed_entry, raw_entries, repeat(now)) if has_anything(e)]
    if not entries and result.bozo:
        if decoded.problem:
            raise ParseError("bad_encoding", f"{decoded.problem}; {notes[-1]}")
        raise ParseError("malformed", notes[-1])
    if not entries and not result.get("version"):
        root = scan_prolog(text)[2] or "?"
        raise ParseError("not_a_feed", f"got XML whose root element is <{root}>, not a feed")
    return ParsedFeed(
        title=result.feed.get("title", ""),
        version=result.get("version") or "",
        entries=entries,
        bozo=bool(notes),
        bozo_message="; ".join(notes) or None,
        archive_url=prev_archive_url(result.feed.get("links")),
    )


def _prepare_xml(text: str) -> tuple[str, list[str]]:
    """Cleaned XML text for feedparser plus notes on what was not well-formed."""
    notes: list[str] = []
    if not text.startswith("<"):
        start = text.find("<")
        notes.append(f"ignored {start} characters of text before the first tag")
        text = text[start:]
    text, count = _FORBIDDEN_CHARS.subn("", text)
    if count:
        notes.append(f"removed {count} control characters that XML forbids")
    for tag in LONG_TAG.finditer(text):  # the SAX layer is quadratic in attributes per tag
        if tag.group(0).count("=") > MAX_ATTRIBUTES:
            raise ParseError("malformed", f"an element has over {MAX_ATTRIBUTES} attributes")
    end, doctype, root = scan_prolog(text)
    if root.lower() == "html" and not _FEED_TAG.search(text):
        raise ParseError("not_a_feed", "got an HTML page, not a feed")
    prolog = _XML_DECL.sub("", text[:end])
    if doctype:
        start, stop, name = doctype
        new = _rebuild_doctype(text[start:stop], name or root, text[end:], notes)
        prolog = _XML_DECL.sub("", text[:start]) + new + _XML_DECL.sub("", text[stop:end])
    return prolog + text[end:], notes


def _rebuild_doctype(doctype: str, root: str, body: str, notes: list[str]) -> str:
    """A DOCTYPE with only safe internal entities (see the module docstring)."""
    declared = _ENTITY_DECL.findall(doctype)
    safe = {
        name: dq or sq
        for name, dq, sq in declared
        if name not in _PREDEFINED
        and len(dq or sq) <= ENTITY_MAX_LENGTH
        and _SAFE_VALUE.fullmatch(dq or sq)
    }
    nesting = sorted(
        {name for name, value in _ANY_ENTITY_DECL.findall(doctype) if _refers_to_entities(value)}
    )
    if nesting:  # billion laughs: rejected, not stored with its references left unexpanded
        raise ParseError(
            "malformed",
            f"rejected an entity bomb: the DOCTYPE declares entities that expand into other "
            f"entities ({', '.join(nesting[:3])}{', ...' if len(nesting) > 3 else ''})",
        )
    if len(safe) > ENTITY_MAX_COUNT:
        safe = {}
    cost = sum(len(value) * body.count(f"&{name};") for name, value in safe.items())
    if cost > ENTITY_EXPANSION_BUDGET:
        raise ParseError(
            "malformed",
            f"rejected an entity bomb: its entities would expand to over "
            f"{ENTITY_EXPANSION_BUDGET:,} characters",
        )
    if "<!ENTITY" in doctype and len(safe) < doctype.count("<!ENTITY"):
        notes.append("ignored unsafe entity declarations in the DOCTYPE")
    root = root if XML_NAME.fullmatch(root) else "rss"
    head = _NETSCAPE_DOCTYPE if "netscape" in doctype.lower() else f"<!DOCTYPE {root}"
    if not safe:
        return head + ">" if head is _NETSCAPE_DOCTYPE else ""
    lines = "".join(f'<!ENTITY {name} "{value}">\n' for name, value in safe.items())
    return f"{head} [\n{lines}]>"


def _refers_to_entities(value: str) -> bool:
    """Whether an entity's replacement text references a general entity other than the five
    predefined ones (character references such as &#160; are fine)."""
    return any(ref not in _PREDEFINED for ref in _ENTITY_REF.findall(value))


def _ends_inside_an_entry(text: str, entries: int) -> bool:
    """Whether a not-well-formed document was cut short inside its last entry: no root end tag,
    and fewer entry end tags than entries. That entry lacks whatever followed the cut (often
    its date, which would then default to the fetch time); a later complete copy of the feed
    brings it whole, whereas a stored entry is never read again."""
    return entries > 0 and not _ROOT_END.search(text) and len(_ENTRY_END.findall(text)) < entries


def _describe(exc: object) -> str:
    """A bozo exception in plain words."""
    message = getattr(exc, "getMessage", lambda: str(exc))()
    if type(exc).__name__ in ("SAXParseException", "UndeclaredNamespace"):
        return f"not well-formed XML: {message}"
    return f"{type(exc).__name__}: {message}" if exc else "not well-formed XML"


def _parse_json_feed(text: str, now: datetime) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1) -> ParsedFeed."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError("malformed", f"not valid JSON: {exc}") from exc
    version = data.get("version", "") if isinstance(data, dict) else ""
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list) or not str(version).startswith("https://jsonfeed.org/"):
        raise ParseError("not_a_feed", "got JSON that is not a JSON Feed")
    entries = [_json_entry(item, now) for item in items if isinstance(item, dict)]
    number = str(version).rstrip("/").rsplit("/", 1)[-1].replace(".", "")
    return ParsedFeed(title=_json_str(data.get("title")), version=f"json{number}", entries=entries)


def _json_entry(item: dict[str, Any], now: datetime) -> FeedEntry:
    content_html = _json_str(item.get("content_html"))
    content_text = html.escape(_json_str(item.get("content_text")), quote=False)
    authors = item.get("authors") or [item.get("author")]
    first = authors[0] if isinstance(authors, list) and authors else None
    author = _json_str(first.get("name")) if isinstance(first, dict) else ""
    published = None
    for key in ("date_published", "date_modified"):
        if published := sane_date(_iso_datetime(item.get(key)), now):
            break
    return FeedEntry(
        guid=_json_str(item.get("id")) or None,
        link=_json_str(item.get("url")) or _json_str(item.get("external_url")) or None,
        title=html.escape(_json_str(item.get("title")), quote=False),
        summary=html.escape(_json_str(item.get("summary")), quote=False),
        content=max(content_html, content_text, key=len),
        published=published,
        author=author or None,
    )


def _json_str(value: object) -> str:
    return str(value) if isinstance(value, str | int | float) else ""


def _iso_datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
