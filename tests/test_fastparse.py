"""fast.fast_parse gives exactly the feedparser path's ParsedFeed, or declines.

For every input file of ../shared/corpus (the same files tests/test_corpus.py reads), for the
bundled demo feeds, for feeds made by the ingest benchmark's generator and for small
hand-written edge cases: where ``fast_parse`` returns a ``ParsedFeed`` it must equal, field
for field, what ``parse_feed(..., fast_path=False)`` returns for the same bytes; where it
returns None the feedparser path runs, which is always safe. The demo, benchmark and
common-case feeds must also be *accepted*: they are what real news sites send, and a fast path
that declines them is pointless.
"""

from __future__ import annotations

import dataclasses
import difflib
import pprint
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from feedparser.datetimes import _parse_date as _feedparser_parse_date
from feedparser.html import _cp1252 as _feedparser_cp1252
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.ingest import make_feed
from storywatch.demo import demo_feed_files
from storywatch.parse.decode import ParsedFeed, ParseError, decompress
from storywatch.parse.fast import _CP1252, fast_parse, parse_date
from storywatch.parse.feedparser import parse_feed
from tests.conftest import shared_path
from tests.test_corpus import _HEADER_LINE, CASES

NOW = datetime(2026, 1, 1, tzinfo=UTC)  # after the demo, benchmark and most corpus dates
URL = "https://news.example.org/world/feed.xml"


def _render(result: ParsedFeed | str) -> list[str]:
    if isinstance(result, str):
        return [result]
    return pprint.pformat(dataclasses.asdict(result), width=100).splitlines()


def _slow(data: bytes, url: str, headers: dict[str, str]) -> ParsedFeed | str:
    try:
        return parse_feed(data, url, headers, now=NOW, fast_path=False)
    except ParseError as error:
        return f"ParseError({error.kind!r}, {error.message!r})"


def compare(data: bytes, url: str, headers: dict[str, str] | None = None) -> bool:
    """Whether fast_parse accepted ``data``; fails with a diff when it differs from feedparser."""
    headers = headers or {}
    try:
        body = decompress(data)
    except ParseError:
        return False  # parse_feed raises before it would call the fast path
    fast = fast_parse(body, url, {k.lower(): v for k, v in headers.items()}, now=NOW)
    if fast is None:
        return False
    slow = _slow(data, url, headers)
    if fast != slow:
        diff = difflib.unified_diff(
            _render(slow), _render(fast), "feedparser path", "fast path", lineterm=""
        )
        pytest.fail("fast_parse differs from feedparser:\n" + "\n".join(diff), pytrace=False)
    # parse_feed itself takes the fast path for these bytes and so returns the same object
    assert parse_feed(data, url, headers, now=NOW) == fast
    return True


# -- ../shared/corpus ------------------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize("relative", CASES)
def test_corpus_file_fast_path_matches_feedparser(relative: str) -> None:
    data = shared_path("corpus", *relative.split("/")).read_bytes()
    headers = {
        name.decode(): value.decode("latin-1") for name, value in _HEADER_LINE.findall(data[:4096])
    }
    url = headers.get("Content-Location") or f"https://corpus.example/{relative}"
    compare(data, url, headers)


# -- the common case: must be accepted -------------------------------------------------------


@pytest.mark.parametrize("path", demo_feed_files(), ids=lambda p: Path(p).name)
def test_demo_feed_is_accepted_and_matches(path: Path) -> None:
    assert compare(path.read_bytes(), f"http://127.0.0.1:8000/{path.name}")


@pytest.mark.parametrize("index", [0, 1, 7, 42, 199])
def test_benchmark_feed_is_accepted_and_matches(index: int) -> None:
    data = make_feed(index, 50, random.Random(index))
    assert compare(data, f"http://127.0.0.1:8000/feed/{index}.xml")


# -- hand-written edge cases -----------------------------------------------------------------

RSS_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
    "<channel><title>World &amp; Co</title><link>https://news.example.org/</link>\n"
    '<atom:link href="https://news.example.org/feed.xml" rel="self"'
    ' type="application/rss+xml"/>\n'
)
RSS_TAIL = "</channel></rss>\n"
ATOM_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.net/posts/">\n'
    "<title>Example Blog</title><id>urn:uuid:feed</id>"
    "<updated>2025-06-09T10:00:00Z</updated>\n"
)
ATOM_TAIL = "</feed>\n"


def rss(items: str) -> bytes:
    return (RSS_HEAD + items + RSS_TAIL).encode()


def atom(entries: str) -> bytes:
    return (ATOM_HEAD + entries + ATOM_TAIL).encode()


# Common shapes real news feeds use: the fast path must accept them (and match).
ACCEPTED = {
    "cdata": rss(
        "<item><title><![CDATA[Talks <b>resume</b> & go on]]></title>"
        "<link>https://news.example.org/a</link>"
        "<description><![CDATA[<p>Delegations met &amp; talked.</p>]]></description>"
        "<content:encoded><![CDATA[<p>Long text</p><p>More &nbsp; text</p>]]>"
        "</content:encoded><pubDate>Tue, 10 Jun 2025 09:30:00 +0200</pubDate></item>"
    ),
    "dc-creator-and-date": rss(
        "<item><title>By line</title><link>https://news.example.org/b</link>"
        "<dc:creator>A. Reporter</dc:creator><dc:date>2025-06-09T08:00:00+01:00</dc:date></item>"
    ),
    "media-title-and-description": rss(
        "<item><title>Main title</title><link>https://news.example.org/c</link>"
        '<media:content url="https://cdn.example.org/c.jpg" medium="image">'
        "<media:title>Photo caption</media:title>"
        "<media:description>Photo description</media:description>"
        '<media:thumbnail url="https://cdn.example.org/c-small.jpg"/></media:content>'
        '<media:thumbnail url="https://cdn.example.org/c-t.jpg" width="80" height="60"/>'
        "<description>Item description</description></item>"
        "<item><link>https://news.example.org/c2</link>"
        "<media:title>Only a media title</media:title></item>"
    ),
    "entities": rss(
        "<item><title>Tom &amp; Jerry &lt;3 &#8220;quotes&#8221; &#x2014; &apos;x&apos;</title>"
        "<link>https://news.example.org/d?a=1&amp;b=2</link>"
        "<description>&lt;p&gt;Fish &amp;amp; chips&lt;/p&gt; &#150; &#8217;</description>"
        "<author>desk@news.example.org (News Desk)</author></item>"
    ),
    "relative-links": rss(
        "<item><title>Relative</title><link>/world/relative</link>"
        "<guid>/world/relative#guid</guid></item>"
        "<item><title>Dotted</title><link>../up/one</link></item>"
    ),
    "guid-permalink": rss(
        "<item><title>No link, guid is the link</title><guid>https://news.example.org/g1</guid>"
        "</item>"
        '<item><title>Explicit true</title><guid isPermaLink="true">'
        "https://news.example.org/g2</guid></item>"
        '<item><title>Not a link</title><guid isPermaLink="false">story-3</guid></item>'
        '<item><title>Link and guid</title><guid isPermaLink="false">story-4</guid>'
        "<link>https://news.example.org/g4</link></item>"
        "<item><title>Guid before link</title><guid>https://news.example.org/g5-guid</guid>"
        "<link>https://news.example.org/g5</link></item>"
    ),
    "dates": rss(
        "<item><title>No date</title><link>https://news.example.org/n1</link></item>"
        "<item><title>Empty date</title><link>https://news.example.org/n2</link>"
        "<pubDate></pubDate></item>"
        "<item><title>GMT</title><link>https://news.example.org/n3</link>"
        "<pubDate>Mon, 09 Jun 2025 07:00:00 GMT</pubDate></item>"
        "<item><title>Named zone</title><link>https://news.example.org/n4</link>"
        "<pubDate>Mon, 09 Jun 2025 07:00:00 EST</pubDate></item>"
        "<item><title>No weekday</title><link>https://news.example.org/n5</link>"
        "<pubDate>9 Jun 2025 07:00:00 +0000</pubDate></item>"
        "<item><title>Garbage</title><link>https://news.example.org/n6</link>"
        "<pubDate>yesterday</pubDate></item>"
        "<item><title>Far future</title><link>https://news.example.org/n7</link>"
        "<pubDate>Fri, 01 Jan 2100 00:00:00 +0000</pubDate></item>"
        "<item><title>Too old</title><link>https://news.example.org/n8</link>"
        "<pubDate>Sat, 01 Jan 1980 00:00:00 +0000</pubDate></item>"
        "<item><title>Day rollover</title><link>https://news.example.org/n9</link>"
        "<pubDate>Tue, 31 Dec 2024 23:30:00 -0200</pubDate></item>"
        "<item><title>Bad day</title><link>https://news.example.org/n10</link>"
        "<pubDate>Mon, 31 Feb 2025 10:00:00 +0000</pubDate></item>"
        "<item><title>Fractional ISO</title><link>https://news.example.org/n11</link>"
        "<dc:date>2025-06-09T07:00:00.123456Z</dc:date></item>"
        "<item><title>ISO without zone</title><link>https://news.example.org/n12</link>"
        "<dc:date>2025-06-09T07:00:00</dc:date></item>"
    ),
    "atom-xml-base": atom(
        "<entry><title>Relative to the feed base</title>"
        '<link rel="alternate" href="one.html"/><id>urn:uuid:1</id>'
        "<updated>2025-06-09T10:00:00Z</updated><published>2025-06-08T10:00:00+02:00</published>"
        '<summary>Short</summary><content type="html">&lt;p&gt;Longer text&lt;/p&gt;</content>'
        "<author><name>Jane Doe</name></author></entry>"
        '<entry xml:base="/other/"><title type="html">Ceasefire &amp;amp; aid</title>'
        '<link href="two.html"/><link rel="enclosure" href="two.mp3" type="audio/mpeg"/>'
        "<id>urn:uuid:2</id><updated>2025-06-09T11:00:00+00:00</updated>"
        '<content type="text">Plain &lt;text&gt;</content></entry>'
        '<entry><title type="text">No id</title>'
        '<link rel="alternate" type="text/html" href="https://elsewhere.example/x"/>'
        '<link rel="self" href="three.atom"/><summary type="html">&lt;b&gt;Bold&lt;/b&gt;</summary>'
        "</entry>"
    ),
    "atom-authors": atom(
        "<entry><title>Two authors</title><id>urn:uuid:a1</id>"
        '<link href="a1.html"/><author><name>First</name><uri>https://first.example/</uri>'
        "</author><author><name>Second</name></author></entry>"
        "<entry><title>Contributor only</title><id>urn:uuid:a2</id>"
        '<link href="a2.html"/><contributor><name>Helper</name></contributor></entry>'
    ),
    "whitespace-and-empties": rss(
        "<item>\n  <title>\n   Padded title  \n</title>\n  <link>\n https://news.example.org/w "
        "\n</link>\n <description/>\n <guid/>\n</item>\r\n<item><title/><link/></item>"
    ),
    "category-enclosure-comments": rss(
        "<!-- a comment --><item><title>Enclosure</title>"
        '<link>https://news.example.org/e</link><category domain="x">World</category>'
        '<enclosure url="https://cdn.example.org/e.mp3" length="1" type="audio/mpeg"/>'
        "<comments>https://news.example.org/e#comments</comments>"
        "<?processing instruction?></item>"
    ),
}

ISO_8859_1 = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\n<rss version="2.0"><channel>'
    "<title>Caf\u00e9 news</title><link>https://news.example.org/</link>"
    "<item><title>Na\u00efve r\u00e9sum\u00e9 \u00a3 \u00bd</title>"
    "<link>https://news.example.org/caf\u00e9</link>"
    "<description>\u00c9t\u00e9</description></item></channel></rss>"
)
WINDOWS_1252 = ISO_8859_1.replace("ISO-8859-1", "windows-1252").replace(
    "Na\u00efve", "\u201cSmart\u201d \u2013 quotes \u20ac"
)
KOI8_R = (
    '<?xml version="1.0" encoding="KOI8-R"?>\n<rss version="2.0"><channel>'
    "<title>\u041d\u043e\u0432\u043e\u0441\u0442\u0438</title>"
    "<item><title>\u041f\u0435\u0440\u0435\u0433\u043e\u0432\u043e\u0440\u044b</title>"
    "<link>https://news.example.org/ru/1</link></item></channel></rss>"
)
SHIFT_JIS = (
    '<?xml version="1.0" encoding="Shift_JIS"?>\n<rss version="2.0"><channel>'
    "<title>\u30cb\u30e5\u30fc\u30b9</title>"
    "<item><title>\u4f1a\u8ac7\u304c\u518d\u958b</title>"
    "<link>https://news.example.org/ja/1</link></item></channel></rss>"
)

ENCODINGS = {
    "iso-8859-1-declared": (ISO_8859_1.encode("iso-8859-1"), {}),
    "windows-1252-declared": (WINDOWS_1252.encode("cp1252"), {}),
    "koi8-r-declared": (KOI8_R.encode("koi8-r"), {}),
    "shift-jis-declared": (SHIFT_JIS.encode("shift_jis"), {}),
    "latin-1-declared-but-utf-8": (ISO_8859_1.encode("utf-8"), {}),
    "header-charset-wins": (
        ISO_8859_1.encode("iso-8859-1"),
        {"Content-Type": "application/rss+xml; charset=ISO-8859-1"},
    ),
    "header-says-utf-8-body-is-latin-1": (
        ISO_8859_1.encode("iso-8859-1"),
        {"Content-Type": "text/xml; charset=utf-8"},
    ),
    "utf-8-bom": (b"\xef\xbb\xbf" + rss("<item><title>BOM</title></item>"), {}),
    "utf-16-bom": (
        ISO_8859_1.replace("ISO-8859-1", "UTF-16").encode("utf-16"),
        {},
    ),
    "double-encoded-utf-8": (
        ISO_8859_1.encode("utf-8").decode("latin-1").encode("utf-8"),
        {},
    ),
}

# Feeds the fast path may decline (then feedparser reads them); if it accepts one, it must match.
EITHER = {
    "namespace-unusual-prefix": (
        b'<rss version="2.0" xmlns:dublin="http://purl.org/dc/elements/1.1/"'
        b' xmlns:x="http://unknown.example/ns"><channel><title>T</title>'
        b"<item><title>A</title><dublin:creator>Someone</dublin:creator>"
        b"<x:title>Foreign title</x:title><x:link>https://foreign.example/</x:link>"
        b"<link>https://news.example.org/ns</link></item></channel></rss>"
    ),
    "default-namespace-userland": (
        b'<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>T</title>'
        b"<item><title>A</title><link>https://news.example.org/u</link></item></channel></rss>"
    ),
    "html-in-title-unescaped": rss("<item><title>Hello <b>bold</b> world</title></item>"),
    "doctype-entity": (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY ndash "&#8211;">]>'
        b'<rss version="2.0"><channel><title>T &ndash; U</title>'
        b"<item><title>A &ndash; B</title><link>https://news.example.org/e</link></item>"
        b"</channel></rss>"
    ),
    "comment-before-declaration": (
        "<!-- note -->\n" + RSS_HEAD + "<item><title>x</title></item>" + RSS_TAIL
    ).encode(),
    "author-email-only": rss("<item><title>A</title><author>desk@news.example.org</author></item>"),
    "rss-0.91": (
        b'<rss version="0.91"><channel><title>Old</title><item><title>Old item</title>'
        b"<link>https://news.example.org/old</link></item></channel></rss>"
    ),
    "rdf": (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        b' xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://x.example/">'
        b"<title>RDF</title></channel><item rdf:about='https://x.example/1'><title>One</title>"
        b"<link>https://x.example/1</link></item></rdf:RDF>"
    ),
    "xhtml-content": atom(
        '<entry><title>X</title><id>urn:x</id><content type="xhtml">'
        '<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div></content></entry>'
    ),
    "not-well-formed": rss("<item><title>Broken & unescaped</title></item>"),
    "json-feed": b'{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": []}',
    "html-page": b"<!DOCTYPE html><html><head><title>Not a feed</title></head></html>",
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_common_shape_is_accepted_and_matches(name: str) -> None:
    assert compare(ACCEPTED[name], URL), f"the fast path declined {name}"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_declared_encoding_is_accepted_and_matches(name: str) -> None:
    data, headers = ENCODINGS[name]
    assert compare(data, URL, headers), f"the fast path declined {name}"


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", sorted(EITHER))
def test_unusual_feed_matches_or_is_declined(name: str) -> None:
    compare(EITHER[name], URL)


def test_without_a_base_url_relative_links_match_or_decline() -> None:
    compare(ACCEPTED["relative-links"], "")
    compare(ACCEPTED["atom-xml-base"], "")


# An item nested in an item's element whose end handler reads what its start handler wrote in
# the context: the inner item's end leaves feedparser in the feed's context, where that key is
# missing, and feedparser raises KeyError. The fast path must not answer.
FEEDPARSER_CRASHES = {
    "item-in-media-thumbnail": "<item><media:thumbnail><item><title>In</title></item>x"
    "</media:thumbnail></item>",
    "item-in-media-credit": "<item><media:credit>x<item><title>In</title></item></media:credit>"
    "</item>",
    "item-in-category": "<item><category>x<item><title>In</title></item></category></item>",
    "item-in-media-player": "<item><media:player><item><title>In</title></item></media:player>"
    "</item>",
}


@pytest.mark.parametrize("name", sorted(FEEDPARSER_CRASHES))
def test_feedparser_crash_is_declined_and_reported_as_malformed(name: str) -> None:
    data = rss(FEEDPARSER_CRASHES[name])
    assert fast_parse(data, URL, now=NOW) is None
    for fast_path in (True, False):  # feedparser's KeyError becomes this feed's ParseError
        with pytest.raises(ParseError) as caught:
            parse_feed(data, URL, now=NOW, fast_path=fast_path)
        assert caught.value.kind == "malformed" and "KeyError" in caught.value.message


# -- helpers that must follow feedparser's own -----------------------------------------------


def test_windows_1252_table_is_feedparsers() -> None:
    assert {code: char for code, char in _feedparser_cp1252.items()} == _CP1252


two_digits = st.one_of(st.integers(0, 24), st.integers(0, 99)).map(lambda n: f"{n:02d}")
years = st.one_of(st.integers(1890, 2100), st.integers(0, 9999)).map(lambda n: f"{n:04d}")
offsets = st.tuples(st.sampled_from("+-"), two_digits, two_digits)
RFC822_DATES = st.builds(
    "{}, {} {} {} {}:{}:{} {}".format,
    st.sampled_from(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]),
    st.integers(0, 40),
    st.sampled_from(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Dec"]),
    years,
    two_digits,
    two_digits,
    two_digits,
    st.one_of(st.sampled_from(["GMT", "UTC", "UT", "Z", "EST"]), offsets.map("".join)),
)
W3DTF_DATES = st.builds(
    "{}-{}-{}T{}:{}:{}{}{}".format,
    years,
    two_digits,
    two_digits,
    two_digits,
    two_digits,
    two_digits,
    st.sampled_from(["", ".5", ".123456789"]),
    st.one_of(st.just("Z"), offsets.map(lambda o: f"{o[0]}{o[1]}:{o[2]}")),
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(RFC822_DATES, W3DTF_DATES))
def test_parse_date_is_feedparsers(value: str) -> None:
    expected, got = _feedparser_parse_date(value), parse_date(value)
    # parse_feed reads the first six fields (year to second), as for feedparser's struct_time
    assert (got and tuple(got[:6])) == (expected and tuple(expected[:6]))


# -- generated feeds: any mix of the elements feeds use ----------------------------------------

TEXTS = [
    "Plain", "  padded  ", "", "a &amp; b", "&lt;b&gt;x&lt;/b&gt;", "<![CDATA[<p>c & d</p>]]>",
    "&#8220;q&#8221; &#150;", "caf\u00e9 \u2014 \u20ac", "Ã©tÃ©", "https://x.example/p?a=1&amp;b=2",
    "/rel/path", "rel.html", "Tue, 10 Jun 2025 09:30:00 +0200", "2025-06-09T10:00:00Z",
    "jane@x.example (Jane)", "\n  multi\n line\n", "x<![CDATA[y]]>z",
]  # fmt: skip
ATTRIBUTES = [
    ' isPermaLink="false"', ' xml:base="/base/"', ' type="html"', ' type="text"',
    ' rel="alternate"', ' rel="self"', ' href="h.html"', ' url="u.jpg"', ' x:foo="1"',
]  # fmt: skip
RSS_ELEMENTS = [
    "title", "link", "guid", "description", "content:encoded", "dc:creator", "dc:date", "pubDate",
    "author", "category", "media:title", "media:description", "media:content", "media:thumbnail",
    "media:credit", "itunes:summary", "itunes:author", "atom:link", "source", "enclosure",
    "dc:title", "x:thing", "name", "email", "width", "image", "item", "Title", "DC:creator",
]  # fmt: skip
ATOM_ELEMENTS = [
    "title", "link", "id", "summary", "content", "author", "contributor", "name", "email", "uri",
    "published", "updated", "category", "source", "media:title", "media:group", "dc:creator",
    "x:thing", "content:encoded", "description", "entry",
]  # fmt: skip
NAMESPACES = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:DC="http://purl.org/dc/elements/1.1/"'
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:x="http://unknown.example/ns"'
    ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
)


@st.composite
def elements(draw: st.DrawFn, names: list[str], depth: int = 0) -> str:
    name = draw(st.sampled_from(names))
    attrs = "".join(draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=2, unique=True)))
    if depth < 2 and draw(st.integers(0, 9)) == 0:
        inner = "".join(draw(st.lists(elements(names, depth + 1), min_size=1, max_size=3)))
    else:
        inner = draw(st.sampled_from(TEXTS))
    return f"<{name}{attrs}>{inner}</{name}>"


@st.composite
def generated_feeds(draw: st.DrawFn) -> bytes:
    atom_feed = draw(st.booleans())
    names = ATOM_ELEMENTS if atom_feed else RSS_ELEMENTS
    tag = "entry" if atom_feed else "item"
    head = "".join(draw(st.lists(elements(names), max_size=3)))
    items = "".join(
        f"<{tag}>{''.join(children)}</{tag}>"
        for children in draw(
            st.lists(st.lists(elements(names), min_size=1, max_size=6), max_size=3)
        )
    )
    if atom_feed:
        body = f'<feed xmlns="http://www.w3.org/2005/Atom" {NAMESPACES}>{head}{items}</feed>'
    else:
        atom_ns = 'xmlns:atom="http://www.w3.org/2005/Atom"'
        body = f'<rss version="2.0" {NAMESPACES} {atom_ns}><channel>{head}{items}</channel></rss>'
    encoding = draw(st.sampled_from(["utf-8", "iso-8859-1", "windows-1252", "koi8-r", "utf-16"]))
    declared = f'<?xml version="1.0" encoding="{encoding}"?>\n{body}'
    return declared.encode(encoding, errors="xmlcharrefreplace")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_feeds())
def test_generated_feed_matches_or_is_declined(data: bytes) -> None:
    compare(data, URL)
