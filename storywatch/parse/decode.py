"""What every feed reader here shares: the parse stage's data and the helpers both paths use.

``feedparser.parse_feed`` (the general path) and ``fast.fast_parse`` (clean RSS 2.0 / Atom 1.0)
both undo undeclared compression (``decompress``), decode bytes to text themselves
(``decode``: BOM, then the header charset, then the XML declaration, then UTF-8, windows-1252,
latin-1), find the root element (``scan_prolog``) and turn a feedparser-shaped entry into a
``FeedEntry`` (``feed_entry``), so the two return the same for the same document.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple


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
_WS = re.compile(r"\s*")
XML_NAME = re.compile(r"[A-Za-z_][\w.:-]*")
_SUBSET_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|[^\"'<\]]+|<|\]")
_DOCTYPE_HEAD = re.compile(r"<!DOCTYPE\s+([^\s\[>]*)(?:\"[^\"]*\"|'[^']*'|[^\"'\[>])*", re.I)
LONG_TAG = re.compile(r"<[A-Za-z][^<>]{8192,}>")


def prev_archive_url(links: Any) -> str | None:
    """The feed-level rel="prev-archive" link (RFC 5005), when it is http(s)."""
    for link in links or []:
        if not isinstance(link, dict) or link.get("rel") != "prev-archive":
            continue
        href = link.get("href")
        if isinstance(href, str) and href.startswith(("http://", "https://")):
            return href
    return None


def decompress(content: bytes) -> bytes:
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


class Decoded(NamedTuple):
    text: str
    codec: str
    sniffed: bool  # the codec came from a byte-order mark or the first bytes' pattern
    lossy: bool  # undecodable bytes were replaced by U+FFFD
    problem: str | None  # why the declared charset could not be trusted, in plain words


def decode(content: bytes, content_type: str) -> Decoded:
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
        return Decoded(text, codec, False, False, problem)
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _decode_sniffed(content: bytes, codec: str) -> Decoded:
    try:
        return Decoded(content.decode(codec), codec, True, False, None)
    except UnicodeDecodeError:
        text = content.decode(codec, errors="replace")
        return Decoded(text, codec, True, True, f"bytes that are not valid {codec} were replaced")


def scan_prolog(text: str) -> tuple[int, tuple[int, int, str] | None, str]:
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
    name_match = XML_NAME.match(text, i + 1) if text.startswith("<", i) else None
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


def feed_entry(entry: Any, now: datetime) -> FeedEntry:
    contents = [c.get("value") or "" for c in entry.get("content") or ()]
    published = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed and (published := sane_date(_struct_to_datetime(parsed), now)):
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


def has_anything(entry: FeedEntry) -> bool:
    return any((entry.guid, entry.link, entry.title, entry.summary, entry.content))


def _struct_to_datetime(parsed: Any) -> datetime | None:
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def sane_date(value: datetime | None, now: datetime) -> datetime | None:
    if value is None or value < MIN_DATE or value > now + MAX_FUTURE:
        return None
    return value
