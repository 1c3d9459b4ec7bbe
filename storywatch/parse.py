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

import codecs
import html
import io
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import repeat
from typing import Any, NamedTuple

import feedparser


class ParseError(Exception):
    """The bytes are not a feed we can read. ``kind`` is stored as the source's error kind.

    Kinds: ``empty`` (no body), ``not_a_feed`` (HTML, plain text, other XML or JSON),
    ``malformed`` (unreadable XML or JSON with no entries), ``bad_encoding`` (the bytes could
    not be decoded as declared and nothing readable came out).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class FeedEntry:
    """One entry as the feed gave it (HTML not yet cleaned, dates already UTC when present)."""

    guid: str | None
    link: str | None
    title: str  # may hold HTML/entities
    summary: str  # may hold HTML
    content: str  # longest content:encoded / atom content, may hold HTML; "" if none
    published: datetime | None  # timezone-aware UTC; None when the feed gave no usable date
    author: str | None = None


@dataclass
class ParsedFeed:
    title: str
    version: str  # feedparser's version string, e.g. "rss20", "atom10"; "json11" for JSON Feed
    entries: list[FeedEntry] = field(default_factory=list)
    bozo: bool = False
    bozo_message: str | None = None  # why the feed was not well-formed (entries still kept)
    archive_url: str | None = None  # RFC 5005 rel="prev-archive": the previous archive page


MIN_DATE = datetime(1990, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=2)
MAX_DECOMPRESSED = 32 * 1024 * 1024
ENTITY_MAX_COUNT = 64  # more declared entities than this: keep none
ENTITY_MAX_LENGTH = 1024  # longest replacement text kept
ENTITY_EXPANSION_BUDGET = 1_000_000  # characters all references together may add
MAX_ATTRIBUTES = 1_000  # per element, in tags longer than 8 KiB (others cannot hold so many)

_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_SINGLE_BYTE = re.compile(r"ascii|iso8859-\d+|cp125\d|koi8-\w")  # Python codec names
_LATIN_ALIASES = {"ascii": ("cp1252", "iso8859-1"), "iso8859-1": ("cp1252", "iso8859-1")}
_WIDE_BY_ZEROS = {
    (1, 3): "utf-16-le",
    (0, 2): "utf-16-be",
    (1, 2, 3): "utf-32-le",
    (0, 1, 2): "utf-32-be",
}
_DECLARED = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", re.I)
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_WS = re.compile(r"\s*")
_NAME = re.compile(r"[A-Za-z_][\w.:-]*")
_SUBSET_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|[^\"'<\]]+|<|\]")
_DOCTYPE_HEAD = re.compile(r"<!DOCTYPE\s+([^\s\[>]*)(?:\"[^\"]*\"|'[^']*'|[^\"'\[>])*", re.I)
_ENTITY_DECL = re.compile(r"<!ENTITY\s+(\w+)\s+(?:\"([^\"]*)\"|'([^'\"]*)')\s*>")
_ANY_ENTITY_DECL = re.compile(r"<!ENTITY\s+([\w.:-]+)\s+(\"[^\"]*\"|'[^']*')", re.I)  # not %
_ENTITY_REF = re.compile(r"&([A-Za-z_][\w.:-]*);")
_SAFE_VALUE = re.compile(r"&#(?:\d{1,7}|x[0-9A-Fa-f]{1,6});|[^&%<>\"]*")
_LONG_TAG = re.compile(r"<[A-Za-z][^<>]{8192,}>")
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

    Clean RSS 2.0 / Atom 1.0 documents are read by ``fastparse.fast_parse``, which returns
    exactly what the feedparser path below would (tests prove it on ../shared/corpus) and
    declines everything else; ``fast_path=False`` always uses feedparser.
    """
    from storywatch.fastparse import fast_parse  # here: fastparse imports this module

    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    now = now or datetime.now(UTC)
    content = _decompress(content)
    if not content.strip():
        raise ParseError("empty", "the response body is empty")
    if fast_path and (fast := fast_parse(content, url, lowered, now=now)) is not None:
        return fast
    decoded = _decode(content, lowered.get("content-type", ""))
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
    entries = [e for e in map(_feed_entry, raw_entries, repeat(now)) if _has_anything(e)]
    if not entries and result.bozo:
        if decoded.problem:
            raise ParseError("bad_encoding", f"{decoded.problem}; {notes[-1]}")
        raise ParseError("malformed", notes[-1])
    if not entries and not result.get("version"):
        root = _scan_prolog(text)[2] or "?"
        raise ParseError("not_a_feed", f"got XML whose root element is <{root}>, not a feed")
    return ParsedFeed(
        title=result.feed.get("title", ""),
        version=result.get("version") or "",
        entries=entries,
        bozo=bool(notes),
        bozo_message="; ".join(notes) or None,
        archive_url=prev_archive_url(result.feed.get("links")),
    )


def prev_archive_url(links: Any) -> str | None:
    """The feed-level rel="prev-archive" link (RFC 5005), when it is http(s)."""
    for link in links or []:
        if not isinstance(link, dict) or link.get("rel") != "prev-archive":
            continue
        href = link.get("href")
        if isinstance(href, str) and href.startswith(("http://", "https://")):
            return href
    return None


def _decompress(content: bytes) -> bytes:
    """Undo gzip/zlib compression that the server did not declare (bounded output)."""
    if content[:2] != b"\x1f\x8b" and content[:2] not in (b"x\x01", b"x^", b"x\x9c", b"x\xda"):
        return content
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
    try:
        out = inflater.decompress(content, MAX_DECOMPRESSED)
        if not out and not inflater.eof:
            raise zlib.error("truncated data")
    except zlib.error as exc:
        raise ParseError("malformed", f"compressed body could not be decompressed: {exc}") from exc
    if inflater.unconsumed_tail:
        raise ParseError("malformed", "compressed body expands beyond 32 MiB")
    return out


@lru_cache(maxsize=256)
def _ascii_codec(label: str) -> str | None:
    """The Python codec for a charset label, if it is known and ASCII-compatible."""
    label = label.strip().lower()
    if label in ("gb2312", "gb_2312", "x-gbk"):
        label = "gb18030"  # a superset, as browsers read it
    try:
        codec = codecs.lookup(label)
        if b"<?xml".decode(codec.name) != "<?xml" or "<?xml".encode(codec.name) != b"<?xml":
            return None
    except (LookupError, ValueError, UnicodeError):
        return None
    return codec.name


class _Decoded(NamedTuple):
    text: str
    codec: str
    sniffed: bool  # the codec came from a byte-order mark or the first bytes' pattern
    lossy: bool  # undecodable bytes were replaced by U+FFFD
    problem: str | None  # why the declared charset could not be trusted, in plain words


def _decode(content: bytes, content_type: str) -> _Decoded:
    """Bytes -> text: BOM, then header charset, then XML declaration, then fallbacks."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            return _decode_sniffed(content[len(bom) :], codec)
    if content[:4] == b"Lo\xa7\x94":  # "<?xm" in EBCDIC
        return _decode_sniffed(content, "cp037")
    zeros = tuple(i for i, byte in enumerate(content[:4]) if byte == 0)
    if zeros in _WIDE_BY_ZEROS and len(content) >= 4:
        return _decode_sniffed(content, _WIDE_BY_ZEROS[zeros])
    labels = [m.group(1) for m in _CHARSET.finditer(content_type)][:1]
    if declared := _DECLARED.search(content[:1024]):
        labels.append(declared.group(1).decode("ascii"))
    wanted = [c for c in map(_ascii_codec, labels) if c]
    if wanted and all(_SINGLE_BYTE.fullmatch(codec) for codec in wanted):
        wanted.insert(0, "utf-8")  # a latin charset on valid UTF-8 bytes is a server mistake
    # WHATWG reads latin-1 and ASCII labels as windows-1252 (smart quotes in 0x80-0x9f).
    wanted = [c for codec in wanted for c in _LATIN_ALIASES.get(codec, (codec,))]
    for codec in [*wanted, "utf-8", "cp1252", "iso8859-1"]:
        try:
            text = content.decode(codec)
        except UnicodeDecodeError:
            continue
        problem = None
        if labels and codec not in wanted:
            problem = f"the declared charset {labels[0]!r} is unknown or wrong (read as {codec})"
        return _Decoded(text, codec, False, False, problem)
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _decode_sniffed(content: bytes, codec: str) -> _Decoded:
    try:
        return _Decoded(content.decode(codec), codec, True, False, None)
    except UnicodeDecodeError:
        text = content.decode(codec, errors="replace")
        return _Decoded(text, codec, True, True, f"bytes that are not valid {codec} were replaced")


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
    for tag in _LONG_TAG.finditer(text):  # the SAX layer is quadratic in attributes per tag
        if tag.group(0).count("=") > MAX_ATTRIBUTES:
            raise ParseError("malformed", f"an element has over {MAX_ATTRIBUTES} attributes")
    end, doctype, root = _scan_prolog(text)
    if root.lower() == "html" and not _FEED_TAG.search(text):
        raise ParseError("not_a_feed", "got an HTML page, not a feed")
    prolog = _XML_DECL.sub("", text[:end])
    if doctype:
        start, stop, name = doctype
        new = _rebuild_doctype(text[start:stop], name or root, text[end:], notes)
        prolog = _XML_DECL.sub("", text[:start]) + new + _XML_DECL.sub("", text[stop:end])
    return prolog + text[end:], notes


def _scan_prolog(text: str) -> tuple[int, tuple[int, int, str] | None, str]:
    """(offset of the root element, (start, end, name) of the DOCTYPE, root element name)."""
    i, doctype = 0, None
    while True:
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if text.startswith("<?", i):
            j = text.find("?>", i)
            i = len(text) if j < 0 else j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            i = len(text) if j < 0 else j + 3
        elif text[i : i + 9].upper() == "<!DOCTYPE" and doctype is None:
            end = _doctype_end(text, i)
            name = _DOCTYPE_HEAD.match(text, i)
            doctype = (i, end, name.group(1) if name else "")
            i = end
        else:
            break
    name_match = _NAME.match(text, i + 1) if text.startswith("<", i) else None
    return i, doctype, name_match.group(0) if name_match else ""


def _doctype_end(text: str, start: int) -> int:
    """Offset just after the DOCTYPE that begins at ``start``; ParseError if unterminated."""
    head = _DOCTYPE_HEAD.match(text, start)
    i = head.end() if head else start + 9
    if text.startswith("[", i):
        i += 1
        while True:  # the internal subset: skip strings and comments, which may hold "]"
            if text.startswith("<!--", i):
                i = text.find("-->", i + 4)
                if i < 0:
                    break
                i += 3
            elif token := _SUBSET_TOKEN.match(text, i):
                i = token.end()
                if token.group(0) == "]":
                    break
            else:
                i = -1
                break
    close = text.find(">", i) if i >= 0 else -1
    if close < 0:
        raise ParseError("malformed", "unterminated DOCTYPE declaration")
    return close + 1


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
    root = root if _NAME.fullmatch(root) else "rss"
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


def _feed_entry(entry: Any, now: datetime) -> FeedEntry:
    contents = [c.get("value") or "" for c in entry.get("content") or ()]
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed and (published := _sane_date(_struct_to_datetime(parsed), now)):
            break
    return FeedEntry(
        guid=entry.get("id") or None,
        link=entry.get("link") or None,
        title=entry.get("title") or "",
        summary=entry.get("summary") or "",
        content=max(contents, key=len, default=""),
        published=published,
        author=entry.get("author") or None,
    )


def _has_anything(entry: FeedEntry) -> bool:
    return any((entry.guid, entry.link, entry.title, entry.summary, entry.content))


def _struct_to_datetime(parsed: Any) -> datetime | None:
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _sane_date(value: datetime | None, now: datetime) -> datetime | None:
    if value is None or value < MIN_DATE or value > now + MAX_FUTURE:
        return None
    return value


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
        if published := _sane_date(_iso_datetime(item.get(key)), now):
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
