"""Fast path of the parse stage: clean RSS 2.0 / Atom 1.0 read with the C XML parser.

``fast_parse`` returns the ``ParsedFeed`` that ``feedparser.parse_feed``'s general path would
return for the same bytes, field for field, or ``None`` ("decline": the caller then runs
feedparser). It builds the tree with ``xml.etree.ElementTree`` (expat, in C) and then replays
the document, element by element, through a small re-implementation of the parts of
feedparser's strict-parser state machine that decide the fields we keep (title, link, id,
summary, content, dates, author and the feed title): the same element-name mapping
(namespaces, lower-casing), the same element stack (text goes to the innermost element that
pushed itself), the same context rules (feed, entry, image, source), the same precedence rules
(``title_depth``, per-entry depth map, ``hasContent``, guid-as-link, author details) and the same
text post-processing (strip, URI resolution, the latin-1/UTF-8 repair and the windows-1252
mapping).

Everything outside that model declines (each case is a ``_Decline`` raise below):

- bytes: JSON or an empty body; junk before the first tag; bytes the decoder had to replace;
  a DOCTYPE (so no entity is ever declared, let alone expanded, and no external entity is
  ever fetched); a tag longer than 8 KiB; any XML that is not well-formed (expat's error:
  undefined entities, control characters, unclosed tags, duplicate attributes ...);
- versions: a root other than ``<rss>`` / ``<feed>`` (RSS 1.0/RDF, CDF), Atom before 1.0,
  a nested ``<rss>`` or ``<feed>``;
- elements: any element with a feedparser handler we do not model (``textinput``,
  ``georss:*``, ``dcterms:valid``, ``cc:license``, ``xhtml:body`` ...) or an unhandled one
  whose name would overwrite a field; any element inside a title/summary/content element
  (feedparser would treat it as inline markup); XHTML, base64 or binary content types;
  ``<image>`` inside an item or source, or with unexpected children; a nested ``<source>``;
  an item, entry, source or image opened inside an element whose end handler reads the
  context (feedparser raises KeyError there); CDF/RDF attributes on a channel or item;
  MathML or SVG;
- namespaces: a prefix bound to two URIs, one URI used both as default and with a prefix, a
  known prefix bound to an unknown URI or re-bound to another known one, an xlink declaration;
- values: ``xml:base`` with no base URL, link text without a link element, an author string
  feedparser would split at an e-mail address, a ``<width>``/``<height>`` whose text
  feedparser loses (it then fails on ``int(None)``).

``tests/test_fastparse.py`` proves on ../shared/corpus (and on demo, benchmark, hand-written
and generated feeds) that every accepted document gives the same ``ParsedFeed`` as feedparser.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from storywatch.parse.decode import (
    LONG_TAG,
    FeedEntry,
    ParsedFeed,
    decode,
    feed_entry,
    has_anything,
    prev_archive_url,
    scan_prolog,
)

try:  # feedparser's own helpers and tables, so that the fast path follows them exactly
    from feedparser.api import StrictFeedParser as _StrictFeedParser
    from feedparser.datetimes import _parse_date as _feedparser_parse_date
    from feedparser.mixin import _FeedParserMixin
    from feedparser.urls import _urljoin, make_safe_absolute_uri

    _NAMESPACES: dict[str, str] = {k.lower(): v for k, v in _FeedParserMixin.namespaces.items()}
    _FP_START = frozenset(n[7:] for n in dir(_StrictFeedParser) if n.startswith("_start_"))
    _FP_END = frozenset(n[5:] for n in dir(_StrictFeedParser) if n.startswith("_end_"))
    ENABLED = True
except (ImportError, AttributeError):  # pragma: no cover - a feedparser we do not know
    ENABLED = False

__all__ = ["ENABLED", "fast_parse"]


class _Decline(Exception):
    """The document needs the full feedparser path."""


_VERSIONS = frozenset({"rss20", "rss091u", "rss092", "rss093", "rss094", "rss", "atom10"})
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ATOM_VERSIONS = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
_XLINK = "http://www.w3.org/1999/xlink"
_INLINE_XML_NAMESPACES = ("http://www.w3.org/1998/Math/MathML", "http://www.w3.org/2000/svg")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_COPY_TO_SUMMARY = frozenset({"text/plain", "text/html", "application/xhtml+xml"})
_READABLE_TYPES = frozenset({"text/plain", "text/html"})  # others: base64 or inline XHTML
# Tags that keep feedparser's "inside <image>" flag set (unprefixed tags only); any other
# unprefixed tag clears it, which changes where later elements are stored.
_IMAGE_CHILDREN = frozenset({"title", "link", "description", "url", "href", "width", "height"})
# Elements whose popped text we compute; every other element's text cannot reach a field we
# keep, so it is never joined, stripped or repaired.
_KEPT = frozenset(
    {"title", "description", "summary", "content", "link", "id", "author"}
    | {"published", "updated", "created"}
)
_URI_ELEMENTS = frozenset({"link", "id"})  # of _KEPT, those feedparser resolves as URIs
# Storage keys an element without a feedparser handler must not write (feedparser stores its
# text or attributes under its name, after FeedParserDict's key aliases).
_KEY_ALIASES = {"guid": "id", "date": "updated", "description": "summary", "url": "href"}
_KEY_ALIASES |= {"modified": "updated", "issued": "published", "copyright": "rights"}
_KEY_ALIASES |= {"tagline": "subtitle", "date_parsed": "updated_parsed", "items": "entries"}
_KEY_ALIASES |= {"modified_parsed": "updated_parsed", "issued_parsed": "published_parsed"}
_GUARDED_KEYS = frozenset(
    {"id", "link", "links", "title", "summary", "content", "author", "authors", "image"}
    | {"source", "tags", "contributors", "entries", "href", "subtitle", "rights", "info"}
)
# Stack names of elements whose feedparser end handler indexes a context key stored by the
# start handler (``context["tags"]``, ``context["media_credit"][-1]`` ...): the key is missing,
# and feedparser raises KeyError, when an item, entry, source or image started in between.
_CONTEXT_READERS = frozenset(
    {"category", "url", "credit", "rating", "restriction", "license", "media_player"}
)
_LINK_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
_TAINT = "\x00taint"  # marks an author detail whose name/email feedparser's regex would split
_FOREIGN = "\x00foreign"  # an attribute from a namespace feedparser does not know
# Windows-1252 characters for U+0080..U+009F, as feedparser maps them (derived here from the
# codec; tests compare it with feedparser's own table).
_CP1252 = {
    i: bytes([i]).decode("cp1252")
    for i in range(0x80, 0xA0)
    if i not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


def fast_parse(
    content: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> ParsedFeed | None:
    """The ``ParsedFeed`` parse_feed's feedparser path gives for ``content``, or None.

    ``content`` is the (decompressed) body, ``headers`` the response headers (only the
    Content-Type charset is used, as parse_feed does), ``url`` the base for relative links and
    ``now`` the bound for future dates. None means "not a case the fast path is sure about":
    call feedparser. Never raises.
    """
    if not ENABLED:
        return None
    try:
        return _fast_parse(content, url, headers or {}, now or datetime.now(UTC))
    except (_Decline, ET.ParseError, RecursionError):
        return None
    except Exception:  # a bug here must never cost a feed: feedparser reads it instead
        return None


def _fast_parse(content: bytes, url: str, headers: Mapping[str, str], now: datetime) -> ParsedFeed:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    decoded = decode(content, content_type)
    if decoded.lossy:
        raise _Decline("bytes were replaced while decoding")
    text = decoded.text.lstrip("\ufeff \t\r\n")
    if not text.startswith("<"):
        raise _Decline("empty, JSON, or junk before the first tag")
    end, doctype, _ = scan_prolog(text)
    if doctype is not None or "<!DOCTYPE" in text[:end].upper():
        raise _Decline("DOCTYPE")
    if LONG_TAG.search(text):  # maybe an attribute bomb: the slow path checks and refuses it
        raise _Decline("a tag longer than 8 KiB")
    # A str is parsed as UTF-8 whatever its XML declaration says: the text is exactly the one
    # parse_feed hands feedparser (which drops the declaration and adds its own UTF-8 one).
    parser: ET.XMLPullParser[Any] = ET.XMLPullParser(events=("start-ns", "start"))
    parser.feed(text)
    parser.close()
    root, names, version = _read_names(parser.read_events())
    reader = _Reader(names, url)
    reader.run(root)
    entries = [e for e in (feed_entry(d, now) for d in reader.entries) if has_anything(e)]
    return ParsedFeed(
        title=reader.feeddata.get("title", ""),
        version=version,
        entries=entries,
        bozo=False,
        bozo_message=None,
        archive_url=prev_archive_url(reader.feeddata.get("links")),
    )


# -- element names -------------------------------------------------------------------------


def _read_names(
    events: Iterator[tuple[str, Any]] | Iterator[Any],
) -> tuple[ET.Element, list[tuple[str, str, bool]], str]:
    """(root, feedparser's name for every element in document order, feed version).

    Each name is (tag, handler key, prefixed): "media:title", "media_title", True. It follows
    feedparser's strict parser fed by expat, which does not report the prefix an element was
    written with: a known namespace gives its canonical prefix; an unknown one the first
    prefix declared so far for that URI ("" if only ever the default namespace). Declarations
    also set the version as feedparser's ``track_namespace`` does.
    """
    in_use: dict[str, str] = {}  # feedparser's namespaces_in_use: prefix -> URI
    canonical_keys: set[str] = set()
    unknown_prefixes: set[str] = set()
    namespacemap: dict[str | None, str] = {}  # declared prefix -> canonical, known URIs only
    bound: dict[str, str] = {}
    default_unknown: set[str] = set()
    prefixed_unknown: set[str] = set()
    cache: dict[str, tuple[str, str, bool]] = {}
    names: list[tuple[str, str, bool]] = []
    version = ""
    root: ET.Element | None = None
    for event, item in events:
        if event == "start-ns":
            prefix, uri = item
            if not uri:
                continue
            if prefix and uri == _XLINK:
                raise _Decline("xlink declaration (feedparser adds it to the attributes)")
            if prefix and bound.setdefault(prefix, uri) != uri:
                raise _Decline("a prefix bound to two namespaces")
            lower = uri.lower()
            if not version:
                if not prefix and lower == "http://my.netscape.com/rdf/simple/0.9/":
                    version = "rss090"
                elif lower == "http://purl.org/rss/1.0/":
                    version = "rss10"
                elif lower == "http://www.w3.org/2005/atom":
                    version = "atom10"
            if "backend.userland.com/rss" in lower:
                uri = lower = "http://backend.userland.com/rss"
            canonical = _NAMESPACES.get(lower)
            if canonical is not None:
                namespacemap[prefix or None] = canonical
                in_use[canonical] = uri
                canonical_keys.add(canonical)
            else:
                in_use[prefix] = uri
                if prefix:
                    prefixed_unknown.add(uri)
                    unknown_prefixes.add(prefix)
                else:
                    default_unknown.add(uri)
            continue
        tag = item.tag
        name = cache.get(tag)
        if name is None:
            name = cache[tag] = _name(tag, in_use)
        names.append(name)
        if root is None:
            root = item
            version = _root_version(name[0], item.attrib, version)
    if default_unknown & prefixed_unknown:
        raise _Decline("a namespace used both as default and with a prefix")
    if canonical_keys & unknown_prefixes:  # that prefix would then point at the known URI
        raise _Decline("an unknown namespace declared with a known namespace's prefix")
    for tag, _key, prefixed in cache.values():
        prefix = tag.split(":", 1)[0] if prefixed else ""
        if prefix and namespacemap.get(prefix, prefix) != prefix:
            raise _Decline("a canonical prefix re-bound to another known namespace")
    if root is None or version not in _VERSIONS:
        raise _Decline(f"not RSS 2.0 or Atom 1.0 ({version or 'no version'})")
    return root, names, version


def _name(tag: str, in_use: Mapping[str, str]) -> tuple[str, str, bool]:
    if tag[0] != "{":
        local = tag.lower()
        return local, local, False
    uri, local = tag[1:].split("}", 1)
    if uri in _INLINE_XML_NAMESPACES:
        raise _Decline("MathML or SVG element")
    local = local.lower()
    lower = uri.lower()
    if "backend.userland.com/rss" in lower:
        uri, lower = "http://backend.userland.com/rss", "http://backend.userland.com/rss"
    canonical = _NAMESPACES.get(lower)
    prefix = canonical.lower() if canonical else ""
    if canonical is None:  # unknown namespace: the first declared prefix for this URI
        prefix = next((p for p, u in in_use.items() if p and u == uri), "").lower()
    if not prefix:
        return local, local, False
    return f"{prefix}:{local}", f"{prefix}_{local}", True


def _root_version(name: str, attrib: Mapping[str, str], version: str) -> str:
    """feedparser's version after the root element's start handler."""
    attrs = _attributes(attrib)
    if name == "rss":
        if not version or not version.startswith("rss"):
            given = attrs.get("version", "")
            version = _RSS_VERSIONS.get(given) or ("rss20" if given.startswith("2.") else "rss")
        return version
    if name == "feed":
        return version or _ATOM_VERSIONS.get(attrs.get("version") or "", "atom")
    raise _Decline(f"root element <{name}>")


def _attributes(attrib: Mapping[str, str]) -> dict[str, str]:
    """An element's attributes as feedparser's handlers see them (``attrs_d``).

    Names are lower-cased; a known namespace adds its canonical prefix ("xml:base"), an
    unknown one leaves the bare name (which an unprefixed attribute of the same name then
    overrides); values of ``rel`` and ``type`` are lower-cased.
    """
    attrs: dict[str, str] = {}
    for key, value in attrib.items():
        if key[0] == "{":
            uri, local = key[1:].split("}", 1)
            canonical = _NAMESPACES.get(uri.lower(), "")
            key = f"{canonical}:{local}" if canonical else local
            if not canonical:
                attrs[_FOREIGN] = ""
        attrs[key.lower()] = value
    for key, value in attrib.items():
        if key[0] != "{":
            attrs[key.lower()] = value
    for key in ("rel", "type"):
        if key in attrs:
            attrs[key] = attrs[key].lower()
    return attrs


def _content_type(value: str) -> str:
    value = value.lower()
    if value in ("text", "plain"):
        return "text/plain"
    if value == "html":
        return "text/html"
    if value == "xhtml":
        return "application/xhtml+xml"
    return value


# -- dates ---------------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_RFC822 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" (\d{4}) (\d\d):(\d\d):(\d\d) (?:([+-])(\d\d)(\d\d)|GMT|UTC|UT|Z)"
)
_W3DTF = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?(?:Z|([+-])(\d\d):(\d\d))"
)


def parse_date(value: str | None) -> tuple[int, ...] | None:
    """feedparser's date (UTC, its first six fields) for ``value``.

    The two formats nearly every feed uses are read here, exactly as feedparser reads them
    ("Tue, 10 Jun 2025 09:30:00 +0200", "2025-06-10T09:30:00Z"); anything else, or anything
    out of range, goes to feedparser's own parser.
    """
    if not value:
        return None
    if match := _RFC822.fullmatch(value):
        day, month, year, hour, minute, second, sign, zh, zm = match.groups()
        fields: tuple[int, ...] = (
            int(year),
            _MONTHS[month],
            int(day),
            int(hour),
            int(minute),
            int(second),
        )
    elif match := _W3DTF.fullmatch(value):
        *parts, sign, zh, zm = match.groups()
        fields = tuple(map(int, parts))
    else:
        return _feedparser_date(value)
    if not 1900 <= fields[0] <= 9000:
        return _feedparser_date(value)
    try:
        stamp = datetime(*fields[:6])  # type: ignore[arg-type]  # six ints, by the regexes
    except ValueError:
        return _feedparser_date(value)
    if sign:
        offset = timedelta(hours=int(zh), minutes=int(zm))
        stamp = stamp - offset if sign == "+" else stamp + offset
    return (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)


def _feedparser_date(value: str) -> tuple[int, ...] | None:
    parsed = _feedparser_parse_date(value)
    return tuple(parsed) if parsed else None


def _repair(text: str) -> str:
    """feedparser's last text steps: undo UTF-8 read as latin-1, map C1 controls to cp1252."""
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_CP1252)


# -- the replay ----------------------------------------------------------------------------

_Handler = Callable[["_Reader", dict[str, str]], None]
_EndHandler = Callable[["_Reader"], None]


class _Reader:
    """Replays a parsed tree through feedparser's rules (see the module docstring).

    Attribute names follow feedparser's so that the rules can be compared line by line.
    """

    def __init__(self, names: list[tuple[str, str, bool]], url: str) -> None:
        self.names = iter(names)
        self.baseuri = url
        self._rebased: dict[str, str] = {}
        self.feeddata: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.depths: list[dict[str, int]] = []  # feedparser's property_depth_map, per entry
        self.sourcedata: dict[str, Any] = {}
        self.stack: list[tuple[str, bool, list[str]]] = []
        self.contentparams: dict[str, Any] = {}
        self.depth = 0
        self.infeed = self.inentry = self.insource = self.inimage = False
        self.inauthor = self.incontributor = self.inpublisher = False
        self.incontent = 0
        self.has_content = False
        self.guidislink = False
        self.summary_key: str | None = None
        self.title_depth = -1

    def run(self, root: ET.Element) -> None:
        self.element(root)

    # feedparser's unknown_starttag / unknown_endtag, driven by the tree
    def element(self, el: ET.Element) -> None:
        tag, key, prefixed = next(self.names)
        attrib = el.attrib
        attrs = _attributes(attrib) if attrib else {}
        self.depth += 1
        outer_base = self.baseuri
        if "xml:base" in attrs or "base" in attrs:
            if not self.baseuri:
                raise _Decline("xml:base without a base URL")
            given = attrs.get("xml:base", attrs.get("base")) or self.baseuri
            self.baseuri = make_safe_absolute_uri(self.baseuri, given) or self.baseuri
        elif self.baseuri:
            rebased = self._rebased.get(self.baseuri)
            if rebased is None:
                rebased = make_safe_absolute_uri(self.baseuri, self.baseuri) or self.baseuri
                self._rebased[self.baseuri] = rebased
            self.baseuri = rebased
        if self.incontent:
            raise _Decline("markup inside a text element")
        if not prefixed and self.inimage and tag not in _IMAGE_CHILDREN:
            raise _Decline("unexpected element inside <image>")
        start = _STARTS.get(key)
        if start is not None:
            start(self, attrs)
        elif key in _FP_START:
            raise _Decline(f"<{tag}> (a feedparser handler not modelled here)")
        elif _KEY_ALIASES.get(key, key) in _GUARDED_KEYS or key.endswith(("_parsed", "_detail")):
            raise _Decline(f"<{tag}> would overwrite a field")
        elif not attrs:
            self.stack.append((key, True, []))
        stack = self.stack
        if el.text and stack:
            stack[-1][2].append(el.text)
        for child in el:
            self.element(child)
            if child.tail and stack:
                stack[-1][2].append(child.tail)
        end = _ENDS.get(key)
        if end is not None:
            end(self)
        elif key in _FP_END:
            raise _Decline(f"</{tag}> (a feedparser handler not modelled here)")
        else:
            self.pop(key)
        if self.depth > 1 and outer_base:
            self.baseuri = outer_base
        self.depth -= 1

    def context(self) -> dict[str, Any]:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feeddata:
            image: dict[str, Any] = self.feeddata["image"]
            return image
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def push(self, element: str, expecting_text: bool) -> None:
        self.stack.append((element, expecting_text, []))

    def pop(self, element: str, strip: bool = True) -> str | None:
        stack = self.stack
        if not stack or stack[-1][0] != element:
            return None
        _, expecting_text, pieces = stack.pop()
        output = "".join(pieces)
        if strip:
            output = output.strip()
        if not expecting_text or element not in _KEPT:
            return output
        if element in _URI_ELEMENTS and output and (element != "id" or self.guidislink):
            output = _urljoin(self.baseuri or "", output)
        output = _repair(output)
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault("content", []).append({"value": output})
            elif element == "link":
                if not self.inimage:
                    output = _LINK_ENTITY.sub(r"&\g<1>", output.replace("&amp;", "&"))
                    entry["link"] = output
                    if output and not entry.get("links"):
                        raise _Decline("link text without a link element")
            else:
                if element == "description":
                    element = "summary"
                depths = self.depths[-1]
                old = depths.get(element)
                if old is None or self.depth <= old:
                    depths[element] = self.depth
                    entry[element] = output
        elif self.infeed or self.insource:
            context = self.context()
            if element == "description":
                element = "subtitle"
            context[element] = output
            if element == "link":
                context[element] = _LINK_ENTITY.sub(r"&\g<1>", output)
                if not context.get("links"):
                    raise _Decline("link text without a link element")
        return output

    def push_content(self, tag: str, attrs: dict[str, str], default: str, expecting: bool) -> None:
        self.incontent += 1
        content_type = _content_type(attrs.get("type", default))
        if tag in _KEPT and (
            content_type not in _READABLE_TYPES or attrs.get("mode", "") == "base64"
        ):
            raise _Decline(f"<{tag}> of type {content_type}")
        self.contentparams = {"type": content_type}
        self.push(tag, expecting)

    def pop_content(self, tag: str) -> str | None:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams = {}
        return value

    def expecting(self) -> bool:
        return self.infeed or self.inentry or self.insource

    # authors (feedparser's _save_author and _sync_author_detail, for the "author" key)
    def save_author(self, key: str, value: str | None) -> None:
        context = self.context()
        self.sync_author()
        context.setdefault("authors", [{}])[-1][key] = value

    def sync_author(self) -> None:
        context = self.context()
        authors = context.get("authors")
        detail: dict[str, Any] = authors[-1] if authors else {}
        if detail:
            if _TAINT in detail:
                raise _Decline("author detail split by feedparser's e-mail pattern")
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                context["author"] = f"{name} ({email})"
            elif name or email:
                context["author"] = name or email
            return
        author = context.get("author")
        if not author:
            return
        if "@" in author:  # feedparser would split off an e-mail address: not modelled
            detail[_TAINT] = True
        else:
            detail["name"] = author

    def save_date(self, key: str, value: str | None) -> None:
        if self.inentry and not self.insource and not (self.inimage and "image" in self.feeddata):
            self.entries[-1][key] = parse_date(value)


# -- handlers: feedparser's _start_* / _end_* for the elements we model -------------------


def _noop(r: _Reader, attrs: dict[str, str] | None = None) -> None:
    pass


def _pusher(element: str, expecting: bool = True) -> _Handler:
    def start(r: _Reader, attrs: dict[str, str]) -> None:
        r.push(element, expecting)

    return start


def _popper(element: str) -> _EndHandler:
    def end(r: _Reader) -> None:
        r.pop(element)

    return end


def _content_pusher(element: str, default: str) -> _Handler:
    def start(r: _Reader, attrs: dict[str, str]) -> None:
        r.push_content(element, attrs, default, True)

    return start


def _content_popper(element: str) -> _EndHandler:
    def end(r: _Reader) -> None:
        r.pop_content(element)

    return end


def _check_container_attrs(attrs: dict[str, str]) -> None:
    """feedparser reads CDF ``lastmod``/``href`` and RDF ``about`` on channels and items."""
    if "lastmod" in attrs or "href" in attrs or _FOREIGN in attrs:
        raise _Decline("attributes feedparser reads on a channel or item")
    if any(":" in key and not key.startswith("xml:") for key in attrs):
        raise _Decline("attributes feedparser reads on a channel or item")


def _start_root(r: _Reader, attrs: dict[str, str]) -> None:
    if r.depth != 1:  # a nested <rss> or <feed> may change the version
        raise _Decline("nested <rss> or <feed>")


def _start_feed(r: _Reader, attrs: dict[str, str]) -> None:
    _start_root(r, attrs)
    r.infeed = True


def _start_channel(r: _Reader, attrs: dict[str, str]) -> None:
    _check_container_attrs(attrs)
    r.infeed = True


def _end_channel(r: _Reader) -> None:
    r.infeed = False


def _check_context_switch(r: _Reader) -> None:
    """An item, entry, source or image switches feedparser's context (and its end does not
    switch back to an enclosing item). Inside an element whose end handler indexes what its
    start handler stored in the context (``media:thumbnail``, ``category`` ...), the key may
    then be missing and feedparser raises KeyError: decline."""
    if any(element in _CONTEXT_READERS for element, _, _ in r.stack):
        raise _Decline("an item, entry, source or image inside a context-reading element")


def _start_item(r: _Reader, attrs: dict[str, str]) -> None:
    _check_container_attrs(attrs)
    _check_context_switch(r)
    r.entries.append({})
    r.depths.append({})
    r.push("item", False)
    r.inentry = True
    r.guidislink = False
    r.title_depth = -1


def _end_item(r: _Reader) -> None:
    r.pop("item")
    r.inentry = False
    r.has_content = False


def _start_image(r: _Reader, attrs: dict[str, str]) -> None:
    if r.inentry or r.insource or r.inimage:
        raise _Decline("<image> inside an item or source")
    _check_context_switch(r)
    r.feeddata.setdefault("image", {})
    r.inimage = True
    r.title_depth = -1
    r.push("image", False)


def _end_image(r: _Reader) -> None:
    r.pop("image")
    r.inimage = False


def _start_author(r: _Reader, attrs: dict[str, str]) -> None:
    r.inauthor = True
    r.push("author", True)
    r.context().setdefault("authors", []).append({})


def _end_author(r: _Reader) -> None:
    r.pop("author")
    r.inauthor = False
    r.sync_author()


def _start_contributor(r: _Reader, attrs: dict[str, str]) -> None:
    r.incontributor = True
    r.push("contributor", False)


def _end_contributor(r: _Reader) -> None:
    r.pop("contributor")
    r.incontributor = False


def _start_dc_contributor(r: _Reader, attrs: dict[str, str]) -> None:
    r.incontributor = True
    r.push("name", False)


def _end_dc_contributor(r: _Reader) -> None:
    _end_name(r)
    r.incontributor = False


def _end_name(r: _Reader) -> None:
    value = r.pop("name")
    if r.inpublisher or r.inauthor:
        r.save_author("name", value)


def _end_email(r: _Reader) -> None:
    value = r.pop("email")
    if r.inpublisher or r.inauthor:
        r.save_author("email", value)


def _end_url(r: _Reader) -> None:
    value = r.pop("href")
    if r.inauthor:
        r.save_author("href", value)


def _start_owner(r: _Reader, attrs: dict[str, str]) -> None:
    r.inpublisher = True
    r.push("publisher", False)


def _end_owner(r: _Reader) -> None:
    r.pop("publisher")
    r.inpublisher = False


def _start_title(r: _Reader, attrs: dict[str, str]) -> None:
    r.push_content("title", attrs, "text/plain", r.expecting())


def _end_title(r: _Reader) -> None:
    value = r.pop_content("title")
    if value:
        r.title_depth = r.depth


def _end_media_title(r: _Reader) -> None:
    title_depth = r.title_depth
    _end_title(r)
    r.title_depth = title_depth


def _start_description(r: _Reader, attrs: dict[str, str]) -> None:
    if "summary" in r.context() and not r.has_content:
        r.summary_key = "content"
        _start_content(r, attrs)
    else:
        r.push_content("description", attrs, "text/html", r.expecting())


def _end_description(r: _Reader) -> None:
    if r.summary_key == "content":
        _end_content(r)
    else:
        r.pop_content("description")
    r.summary_key = None


def _start_summary(r: _Reader, attrs: dict[str, str]) -> None:
    if "summary" in r.context() and not r.has_content:
        r.summary_key = "content"
        _start_content(r, attrs)
    else:
        r.summary_key = "summary"
        r.push_content("summary", attrs, "text/plain", True)


def _end_summary(r: _Reader) -> None:
    if r.summary_key == "content":
        _end_content(r)
    else:
        r.pop_content(r.summary_key or "summary")
    r.summary_key = None


def _start_content(r: _Reader, attrs: dict[str, str]) -> None:
    r.has_content = True
    r.push_content("content", attrs, "text/plain", True)
    r.push("content", True)  # feedparser pushes twice and pops once: the stack keeps one


def _start_content_encoded(r: _Reader, attrs: dict[str, str]) -> None:
    r.has_content = True
    r.push_content("content", attrs, "text/html", True)


def _end_content(r: _Reader) -> None:
    copy_to_summary = r.contentparams.get("type") in _COPY_TO_SUMMARY
    value = r.pop_content("content")
    if copy_to_summary:
        r.context().setdefault("summary", value)


def _start_link(r: _Reader, attrs: dict[str, str]) -> None:
    attrs = dict(attrs)
    rel = attrs.setdefault("rel", "alternate")
    attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
    context = r.context()
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    links = context.setdefault("links", [])
    if not (r.inentry and r.inimage):
        links.append(attrs)
    if "href" in attrs:
        attrs["href"] = _urljoin(r.baseuri or "", attrs["href"])
        if attrs.get("rel") == "alternate" and _content_type(attrs["type"]) in _HTML_TYPES:
            context["link"] = attrs["href"]
    else:
        r.push("link", r.expecting())


def _start_guid(r: _Reader, attrs: dict[str, str]) -> None:
    r.guidislink = attrs.get("ispermalink", "true") == "true"
    r.push("id", True)


def _end_guid(r: _Reader) -> None:
    value = r.pop("id")
    if r.guidislink:
        r.context().setdefault("link", value)


def _date_ender(element: str) -> _EndHandler:
    def end(r: _Reader) -> None:
        r.save_date(f"{element}_parsed", r.pop(element))

    return end


def _start_enclosure(r: _Reader, attrs: dict[str, str]) -> None:
    r.context().setdefault("links", []).append({"rel": "enclosure"})


def _start_source(r: _Reader, attrs: dict[str, str]) -> None:
    if r.insource:
        raise _Decline("nested <source>")
    _check_context_switch(r)
    r.push("source", True)
    r.insource = True
    r.title_depth = -1


def _end_source(r: _Reader) -> None:
    r.insource = False
    r.pop("source")
    r.sourcedata = {}


def _start_itunes_image(r: _Reader, attrs: dict[str, str]) -> None:
    r.push("itunes_image", False)
    if attrs.get("href") or attrs.get("url"):
        r.context()["image"] = {}


def _end_width(r: _Reader, element: str = "width") -> None:
    if r.pop(element) is None:
        raise _Decline("feedparser would fail on int(None)")


_STARTS: dict[str, _Handler] = {
    "rss": _start_root,
    "channel": _start_channel,
    "feed": _start_feed,
    "item": _start_item,
    "entry": _start_item,
    "image": _start_image,
    "author": _start_author,
    "managingeditor": _start_author,
    "dc_author": _start_author,
    "dc_creator": _start_author,
    "itunes_author": _start_author,
    "contributor": _start_contributor,
    "dc_contributor": _start_dc_contributor,
    "name": _pusher("name", False),
    "itunes_name": _pusher("name", False),
    "email": _pusher("email", False),
    "itunes_email": _pusher("email", False),
    "url": _pusher("href"),
    "homepage": _pusher("href"),
    "uri": _pusher("href"),
    "itunes_owner": _start_owner,
    "webmaster": _pusher("publisher"),
    "dc_publisher": _pusher("publisher"),
    "title": _start_title,
    "dc_title": _start_title,
    "media_title": _start_title,
    "description": _start_description,
    "dc_description": _start_description,
    "media_description": _start_description,
    "summary": _start_summary,
    "itunes_summary": _start_summary,
    "content": _start_content,
    "content_encoded": _start_content_encoded,
    "fullitem": _start_content_encoded,
    "subtitle": _content_pusher("subtitle", "text/plain"),
    "tagline": _content_pusher("subtitle", "text/plain"),
    "itunes_subtitle": _content_pusher("subtitle", "text/plain"),
    "rights": _content_pusher("rights", "text/plain"),
    "copyright": _content_pusher("rights", "text/plain"),
    "dc_rights": _content_pusher("rights", "text/plain"),
    "info": _content_pusher("info", "text/plain"),
    "feedburner_browserfriendly": _content_pusher("info", "text/plain"),
    "link": _start_link,
    "guid": _start_guid,
    "id": _start_guid,
    "pubdate": _pusher("published"),
    "published": _pusher("published"),
    "issued": _pusher("published"),
    "dcterms_issued": _pusher("published"),
    "updated": _pusher("updated"),
    "modified": _pusher("updated"),
    "lastbuilddate": _pusher("updated"),
    "dc_date": _pusher("updated"),
    "dcterms_modified": _pusher("updated"),
    "created": _pusher("created"),
    "dcterms_created": _pusher("created"),
    "expirationdate": _pusher("expired"),
    "category": _pusher("category"),
    "keywords": _pusher("category"),
    "dc_subject": _pusher("category"),
    "media_category": _pusher("category"),
    "itunes_category": _pusher("category"),
    "enclosure": _start_enclosure,
    "source": _start_source,
    "language": _pusher("language"),
    "dc_language": _pusher("language"),
    "generator": _pusher("generator"),
    "cloud": _noop,
    "width": _pusher("width", False),
    "height": _pusher("height", False),
    "itunes_image": _start_itunes_image,
    "itunes_link": _start_itunes_image,
    "media_group": _noop,
    "media_content": _noop,
    "media_thumbnail": _pusher("url"),
    "media_credit": _pusher("credit"),
    "media_rating": _pusher("rating"),
    "media_restriction": _pusher("restriction"),
    "media_license": _pusher("license"),
    "media_player": _pusher("media_player", False),
}

_ENDS: dict[str, _EndHandler] = {
    "channel": _end_channel,
    "feed": _end_channel,
    "item": _end_item,
    "entry": _end_item,
    "image": _end_image,
    "author": _end_author,
    "managingeditor": _end_author,
    "dc_author": _end_author,
    "dc_creator": _end_author,
    "itunes_author": _end_author,
    "contributor": _end_contributor,
    "dc_contributor": _end_dc_contributor,
    "name": _end_name,
    "itunes_name": _end_name,
    "email": _end_email,
    "itunes_email": _end_email,
    "url": _end_url,
    "homepage": _end_url,
    "uri": _end_url,
    "itunes_owner": _end_owner,
    "webmaster": _popper("publisher"),
    "dc_publisher": _popper("publisher"),
    "title": _end_title,
    "dc_title": _end_title,
    "media_title": _end_media_title,
    "description": _end_description,
    "dc_description": _end_description,
    "media_description": _end_description,
    "summary": _end_summary,
    "itunes_summary": _end_summary,
    "content": _end_content,
    "content_encoded": _end_content,
    "fullitem": _end_content,
    "subtitle": _content_popper("subtitle"),
    "tagline": _content_popper("subtitle"),
    "itunes_subtitle": _content_popper("subtitle"),
    "rights": _content_popper("rights"),
    "copyright": _content_popper("rights"),
    "dc_rights": _content_popper("rights"),
    "info": _content_popper("info"),
    "feedburner_browserfriendly": _content_popper("info"),
    "link": _popper("link"),
    "guid": _end_guid,
    "id": _end_guid,
    "pubdate": _date_ender("published"),
    "published": _date_ender("published"),
    "issued": _date_ender("published"),
    "dcterms_issued": _date_ender("published"),
    "updated": _date_ender("updated"),
    "modified": _date_ender("updated"),
    "lastbuilddate": _date_ender("updated"),
    "dc_date": _date_ender("updated"),
    "dcterms_modified": _date_ender("updated"),
    "created": _date_ender("created"),
    "dcterms_created": _date_ender("created"),
    "expirationdate": _popper("expired"),
    "category": _popper("category"),
    "keywords": _popper("category"),
    "dc_subject": _popper("category"),
    "media_category": _popper("category"),
    "itunes_category": _popper("category"),
    "source": _end_source,
    "language": _popper("language"),
    "dc_language": _popper("language"),
    "generator": _popper("generator"),
    "width": _end_width,
    "height": lambda r: _end_width(r, "height"),
    "media_thumbnail": _popper("url"),
    "media_credit": _popper("credit"),
    "media_rating": _popper("rating"),
    "media_restriction": _popper("restriction"),
    "media_license": _popper("license"),
    "media_player": _popper("media_player"),
    # feedparser has only an end handler for these; each pops the element's own text
    "itunes_block": _popper("itunes_block"),
    "itunes_explicit": _popper("itunes_explicit"),
    "itunes_keywords": _popper("itunes_keywords"),
    "media_keywords": _popper("media_keywords"),
}

__all__ += ["parse_date"]
_ = FeedEntry  # re-exported type of ParsedFeed.entries, for readers of this module
