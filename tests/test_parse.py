"""parse_feed: formats, bozo handling, errors, encodings, dates and entity attacks."""

from __future__ import annotations

import codecs
import gzip
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storywatch.parse.decode import ParsedFeed, ParseError
from storywatch.parse.feedparser import parse_feed

URL = "https://news.example.org/world/feed.xml"
NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>World News</title><link>https://news.example.org/</link>
<item>
  <title>Talks resume in Geneva</title>
  <link>https://news.example.org/world/talks-resume</link>
  <guid isPermaLink="false">story-1</guid>
  <pubDate>Tue, 10 Jun 2025 09:30:00 +0200</pubDate>
  <description>&lt;p&gt;Delegations &lt;b&gt;met&lt;/b&gt; again.&lt;/p&gt;</description>
  <content:encoded><![CDATA[<p>Delegations met again on Tuesday.</p><p>More later.</p>]]>
  </content:encoded>
  <dc:creator>A. Reporter</dc:creator>
</item>
<item>
  <title>Second story</title>
  <link>/world/second</link>
</item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.net/posts/">
  <title>Example Blog</title>
  <id>urn:uuid:feed</id>
  <updated>2025-06-09T10:00:00Z</updated>
  <entry>
    <title type="html">Ceasefire &amp;amp; aid</title>
    <link rel="alternate" href="ceasefire.html"/>
    <id>urn:uuid:entry-1</id>
    <updated>2025-06-09T10:00:00Z</updated>
    <summary>Short summary</summary>
    <content type="html">&lt;p&gt;The full text, longer than the summary.&lt;/p&gt;</content>
    <author><name>Jane Doe</name></author>
  </entry>
</feed>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.com/"><title>RDF site</title>
    <link>https://rdf.example.com/</link><description>d</description></channel>
  <item rdf:about="https://rdf.example.com/1">
    <title>RDF item</title><link>https://rdf.example.com/1</link>
    <dc:date>2025-06-08T07:15:00+03:00</dc:date>
  </item>
</rdf:RDF>"""


def rss_item(title: str = "t", extra: str = "", prolog: str = "") -> bytes:
    body = (
        f'{prolog}<rss version="2.0"><channel><title>c</title>'
        f"<item><title>{title}</title><link>https://e.org/a</link>{extra}</item>"
        "</channel></rss>"
    )
    return body.encode()


def parse(content: bytes, headers: dict[str, str] | None = None) -> ParsedFeed:
    return parse_feed(content, URL, headers, now=NOW)


def test_rss20_fields() -> None:
    feed = parse(RSS)
    assert (feed.title, feed.version, feed.bozo, feed.bozo_message) == (
        "World News",
        "rss20",
        False,
        None,
    )
    first, second = feed.entries
    assert first.title == "Talks resume in Geneva"
    assert first.link == "https://news.example.org/world/talks-resume"
    assert first.guid == "story-1"
    assert first.published == datetime(2025, 6, 10, 7, 30, tzinfo=UTC)
    assert first.summary == "<p>Delegations <b>met</b> again.</p>"
    assert first.content == "<p>Delegations met again on Tuesday.</p><p>More later.</p>"
    assert first.author == "A. Reporter"
    assert second.link == "https://news.example.org/world/second"  # relative to the feed URL
    assert second.published is None
    assert second.content == ""


def test_atom_fields_and_xml_base() -> None:
    feed = parse(ATOM)
    assert feed.version == "atom10"
    (entry,) = feed.entries
    assert entry.link == "https://blog.example.net/posts/ceasefire.html"
    assert entry.guid == "urn:uuid:entry-1"
    assert entry.title == "Ceasefire &amp; aid"  # HTML title: cleaned by normalise
    assert entry.published == datetime(2025, 6, 9, 10, 0, tzinfo=UTC)  # from <updated>
    assert entry.summary == "Short summary"
    assert entry.content.startswith("<p>The full text")
    assert entry.author == "Jane Doe"


def test_rdf() -> None:
    feed = parse(RDF)
    assert feed.version == "rss10"
    assert feed.entries[0].title == "RDF item"
    assert feed.entries[0].published == datetime(2025, 6, 8, 4, 15, tzinfo=UTC)


def test_longest_content_wins() -> None:
    body = rss_item(
        extra="<content:encoded>short</content:encoded>"
        "<content:encoded>the longer one</content:encoded><content:encoded>mid</content:encoded>"
    ).replace(b"<rss ", b'<rss xmlns:content="http://purl.org/rss/1.0/modules/content/" ')
    assert parse(body).entries[0].content == "the longer one"


def test_well_formed_feed_without_entries_is_not_an_error() -> None:
    feed = parse(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>')
    assert feed.entries == [] and feed.title == "Quiet" and not feed.bozo


def test_bozo_feed_keeps_its_entries() -> None:
    broken = rss_item("Fish & chips", "<description>a &colon; b</description>")
    feed = parse(broken)
    assert feed.bozo
    assert feed.bozo_message and "not well-formed XML" in feed.bozo_message
    assert [e.title for e in feed.entries] == ["Fish & chips"]


def test_a_document_cut_inside_its_last_entry_leaves_that_entry_out() -> None:
    # The cut took the last item's date: stored, it would be dated at the fetch time.
    cut = RSS[: RSS.index(b"</item>")] + b"</item><item><title>Half a story</title><link>/half"
    feed = parse(cut)
    assert [e.title for e in feed.entries] == ["Talks resume in Geneva"]
    assert feed.bozo_message and "cut short inside its last entry" in feed.bozo_message
    # Cut between entries, or an entry left open in a complete document: every entry is kept.
    between = RSS[: RSS.index(b"</item>") + len(b"</item>")]
    assert [e.title for e in parse(between).entries] == ["Talks resume in Geneva"]
    unclosed = rss_item("Kept").replace(b"</item>", b"")
    assert [e.title for e in parse(unclosed).entries] == ["Kept"]


def test_junk_and_control_characters_are_dropped_with_a_note() -> None:
    feed = parse(b"PHP Warning: oops\n" + rss_item("A\x02B"))
    assert feed.entries[0].title == "AB"
    assert feed.bozo_message is not None
    assert "before the first tag" in feed.bozo_message
    assert "control characters" in feed.bozo_message


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (b"", "empty", "the response body is empty"),
        (b"  \r\n\t ", "empty", "the response body is empty"),
        (codecs.BOM_UTF8, "empty", "the response body is empty"),
        (
            b"<!DOCTYPE html>\n<html><head><title>Hi</title></head><body>x</body></html>",
            "not_a_feed",
            "got an HTML page, not a feed",
        ),
        (b"<html><body><p>moved</body></html>", "not_a_feed", "got an HTML page, not a feed"),
        (b"Service Unavailable", "not_a_feed", "got plain text, not a feed"),
        (b"<opml version='2.0'><body/></opml>", "not_a_feed", "root element is <opml>"),
        (b"<rss version='2.0'><channel><title>cut", "malformed", "not well-formed XML"),
        (b"<rss><<<>>>", "malformed", "not well-formed XML"),
        (b'{"items": [}', "malformed", "not valid JSON"),
        (b"[" * 100_000, "malformed", "not valid JSON"),
        (b'{"hello": "world"}', "not_a_feed", "got JSON that is not a JSON Feed"),
        (codecs.BOM_UTF8 + b'<rss version="2.0">\xff<channel>', "bad_encoding", "not valid utf-8"),
        (codecs.BOM_UTF16_LE + b"<rss></rss>", "bad_encoding", "no markup"),
        (b"\x1f\x8b\x08\x00garbage", "malformed", "could not be decompressed"),
    ],
)
def test_unusable_bodies_raise_parse_error(body: bytes, kind: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(body)
    assert caught.value.kind == kind
    assert message in caught.value.message


def test_invalid_bytes_are_replaced_with_a_note_when_entries_survive() -> None:
    feed = parse(codecs.BOM_UTF8 + rss_item("cafX").replace(b"X", b"\xe9"))
    assert feed.entries[0].title == "caf\ufffd"
    assert feed.bozo and "not valid utf-8" in (feed.bozo_message or "")


def test_html_page_wrapping_a_feed_is_read() -> None:
    wrapped = b"<html><body>" + ATOM.split(b"?>", 1)[1] + b"</body></html>"
    assert parse(wrapped).entries[0].guid == "urn:uuid:entry-1"


def test_gzip_body_without_content_encoding_is_read() -> None:
    assert parse(gzip.compress(RSS)).entries[0].title == "Talks resume in Geneva"


def test_feedparser_never_touches_files_or_network(tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(RSS)
    for body in (str(feed_file).encode(), b"http://127.0.0.1:9/feed.xml", b"/etc/hostname"):
        with pytest.raises(ParseError) as caught:
            parse(body)
        assert caught.value.kind == "not_a_feed"


JSON_FEED = b"""{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "JSON news",
  "home_page_url": "https://json.example.org/",
  "items": [
    {"id": "1", "url": "https://json.example.org/1", "title": "Deal <signed>",
     "content_html": "<p>Signed today.</p>", "summary": "A deal",
     "date_published": "2025-06-09T08:00:00+02:00", "authors": [{"name": "Ann"}]},
    {"id": 2, "external_url": "/2", "content_text": "a < b",
     "date_modified": "2025-06-09T08:00:00Z", "author": {"name": "Bob"}},
    {"id": "3", "title": "no date", "date_published": "yesterday"},
    "not an object"
  ]
}"""


def test_json_feed() -> None:
    feed = parse(JSON_FEED)
    assert (feed.title, feed.version, len(feed.entries)) == ("JSON news", "json11", 3)
    first, second, third = feed.entries
    assert first.title == "Deal &lt;signed&gt;"  # JSON text is escaped: it is not HTML
    assert first.content == "<p>Signed today.</p>"
    assert first.published == datetime(2025, 6, 9, 6, 0, tzinfo=UTC)
    assert first.author == "Ann"
    assert (second.guid, second.link, second.content) == ("2", "/2", "a &lt; b")
    assert second.published == datetime(2025, 6, 9, 8, 0, tzinfo=UTC)
    assert second.author == "Bob"
    assert third.published is None


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 09 Jun 2025 23:59:59 GMT", datetime(2025, 6, 9, 23, 59, 59, tzinfo=UTC)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", None),  # before 1990: a placeholder, not a date
        ("Wed, 11 Jun 2025 12:00:00 GMT", datetime(2025, 6, 11, 12, tzinfo=UTC)),  # +1 day ok
        ("Fri, 13 Jun 2025 12:00:00 GMT", None),  # more than 2 days ahead of now
        ("Sat, 01 Jan 2999 00:00:00 GMT", None),
        ("not a date", None),
        ("", None),
    ],
)
def test_dates_are_utc_and_sane(date: str, expected: datetime | None) -> None:
    entry = parse(rss_item(extra=f"<pubDate>{date}</pubDate>")).entries[0]
    assert entry.published == expected
    assert entry.published is None or entry.published.tzinfo is UTC


def test_absurd_published_falls_back_to_updated() -> None:
    atom = ATOM.replace(
        b"<updated>2025-06-09T10:00:00Z</updated>\n    <summary>",
        b"<published>1900-01-01T00:00:00Z</published>"
        b"<updated>2025-06-09T10:00:00Z</updated><summary>",
    )
    assert parse(atom).entries[0].published == datetime(2025, 6, 9, 10, tzinfo=UTC)


# --- encodings -------------------------------------------------------------------------


def cyrillic_feed(declaration: str = "") -> bytes:
    return (
        declaration.encode()
        + "<rss version='2.0'><channel><item><title>Мирные переговоры".encode("windows-1251")
        + b"</title></item></channel></rss>"
    )


def test_charset_from_the_content_type_header() -> None:
    headers = {"Content-Type": "application/rss+xml; charset=windows-1251"}
    assert parse(cyrillic_feed(), headers).entries[0].title == "Мирные переговоры"
    assert parse(cyrillic_feed()).entries[0].title != "Мирные переговоры"  # header mattered


def test_charset_from_the_xml_declaration() -> None:
    body = cyrillic_feed('<?xml version="1.0" encoding="windows-1251"?>')
    assert parse(body).entries[0].title == "Мирные переговоры"


def test_header_charset_wins_over_declaration() -> None:
    body = cyrillic_feed('<?xml version="1.0" encoding="iso-8859-5"?>')
    headers = {"content-type": "text/xml; charset=windows-1251"}
    assert parse(body, headers).entries[0].title == "Мирные переговоры"


def test_utf8_bytes_declared_as_latin1_are_read_as_utf8() -> None:
    body = rss_item("Zelenskyy — Kyiv", prolog='<?xml version="1.0" encoding="ISO-8859-1"?>')
    feed = parse(body, {"Content-Type": "text/xml; charset=iso-8859-1"})
    assert feed.entries[0].title == "Zelenskyy — Kyiv"


def test_latin1_label_reads_windows_1252_smart_quotes() -> None:
    body = b"<?xml version='1.0' encoding='iso-8859-1'?>" + rss_item("\x93quoted\x94 caf\xe9")
    assert parse(body).entries[0].title == "\u201cquoted\u201d caf\xe9"


def test_utf8_declared_as_utf16_is_read() -> None:
    body = rss_item("Ceasefire — day 2", prolog='<?xml version="1.0" encoding="utf-16"?>')
    assert parse(body).entries[0].title == "Ceasefire — day 2"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_utf16_and_utf32_with_and_without_bom(codec: str) -> None:
    text = '<?xml version="1.0" encoding="' + codec + '"?>' + rss_item("Київ").decode()
    assert parse(text.encode(codec)).entries[0].title == "Київ"


# --- entity attacks ----------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol0 "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    + "]>\n"
    + '<rss version="2.0"><channel><title>&lol9;</title>'
    "<item><title>laugh &lol9;</title><description>&lol8;&lol9;</description></item>"
    "</channel></rss>"
)


def _parse_timed(body: bytes) -> tuple[ParsedFeed, float, int]:
    started = time.perf_counter()
    feed = parse(body)
    elapsed = time.perf_counter() - started
    size = len(feed.title) + sum(
        len(e.title) + len(e.summary) + len(e.content) for e in feed.entries
    )
    return feed, elapsed, size


def _rejected_timed(body: bytes) -> tuple[ParseError, float]:
    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        parse(body)
    return caught.value, time.perf_counter() - started


@pytest.mark.timeout(10)
@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-7"])
def test_billion_laughs_is_a_rejected_feed(codec: str) -> None:
    # Rejected, not read with its references unexpanded: that stored a junk "&lol9;" article.
    text = BILLION_LAUGHS
    if codec != "utf-8":
        text = text.replace('encoding="', "").replace("?>", f' encoding="{codec}"?>', 1)
    error, elapsed = _rejected_timed(text.encode(codec))
    assert elapsed < 1.0
    assert error.kind == "malformed"
    assert error.message.startswith(
        "rejected an entity bomb: the DOCTYPE declares entities that expand into other entities"
    )


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "place",
    ["after a comment", "second DOCTYPE", "inside the root", "lower-case doctype keyword"],
)
def test_billion_laughs_elsewhere_is_not_expanded(place: str) -> None:
    doctype = BILLION_LAUGHS.split("\n", 1)[1].split("]>", 1)[0] + "]>"
    feed_xml = '<rss version="2.0"><channel><item><title>a&lol9;</title></item></channel></rss>'
    body = {
        "after a comment": "<!-- c -->\n" + doctype + feed_xml,
        "second DOCTYPE": "<!DOCTYPE rss>\n" + doctype + feed_xml,
        "inside the root": feed_xml.replace("<channel>", doctype + "<channel>"),
        "lower-case doctype keyword": doctype.replace("DOCTYPE", "doctype") + feed_xml,
    }[place]
    started = time.perf_counter()
    try:
        feed, elapsed, size = _parse_timed(body.encode())
    except ParseError as error:  # a DOCTYPE in the prolog: the bomb is rejected
        assert "entity bomb" in error.message and time.perf_counter() - started < 1.0
    else:  # a DOCTYPE where XML allows none: never read as one
        assert elapsed < 1.0 and size < 1_000 and feed.bozo


@pytest.mark.timeout(10)
def test_quadratic_blowup_is_not_expanded() -> None:
    big = "A" * 50_000
    refs = "&big;" * 20_000  # 100 KB of references to a 50 KB entity: 1 GB if expanded
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "{big}">\n]>\n'
        f'<rss version="2.0"><channel><item><title>t</title><description>{refs}</description>'
        "</item></channel></rss>"
    ).encode()
    feed, elapsed, size = _parse_timed(body)
    assert elapsed < 2.0
    assert size < 1_000_000
    assert feed.entries[0].title == "t"


@pytest.mark.timeout(10)
def test_many_small_entities_within_the_budget_are_expanded_and_beyond_it_are_not() -> None:
    def body(refs: int) -> bytes:
        return (
            '<!DOCTYPE rss [\n<!ENTITY org "Example Organisation">\n]>'
            f'<rss version="2.0"><channel><item><title>&org;</title>'
            f"<description>{'&org;' * refs}</description></item></channel></rss>"
        ).encode()

    assert parse(body(1)).entries[0].title == "Example Organisation"
    error, elapsed = _rejected_timed(body(100_000))  # 2 MB if expanded
    assert elapsed < 2.0 and error.message == (
        "rejected an entity bomb: its entities would expand to over 1,000,000 characters"
    )


def test_character_reference_entity_is_kept() -> None:
    body = rss_item("a&nbsp;b", prolog='<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>')
    feed = parse(body)
    assert feed.entries[0].title == "a\u00a0b" and not feed.bozo


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    yield server
    server.close()


@pytest.mark.timeout(10)
def test_external_entities_are_never_resolved(tmp_path: Path, listener: socket.socket) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "file://{secret}">')
    port = listener.getsockname()[1]
    bodies = [
        f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file://{secret}">\n]>',
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/x">]>',
        f'<!DOCTYPE rss [\n<!ENTITY % p SYSTEM "file://{dtd}">\n%p;\n]>',
        f'<!DOCTYPE rss SYSTEM "file://{dtd}">',
        f'<!DOCTYPE rss PUBLIC "-//x//y" "http://127.0.0.1:{port}/rss.dtd">',
    ]
    for prolog in bodies:
        body = rss_item("a&xxe;&leak;b", "<description>&xxe;</description>", prolog=prolog)
        feed = parse(body)
        text = repr(feed)
        assert "TOP-SECRET" not in text
        assert feed.entries and feed.entries[0].link == "https://e.org/a"
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected


@pytest.mark.timeout(10)
def test_attribute_bomb_is_refused_quickly() -> None:
    attributes = " ".join(f"a{i}='1'" for i in range(50_000))  # minutes in xml.sax if parsed
    body = rss_item(extra=f"<category {attributes}>x</category>")
    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        parse(body)
    assert caught.value.kind == "malformed" and time.perf_counter() - started < 1.0
    long_but_fine = rss_item(extra=f"<enclosure url='https://e.org/{'x' * 20_000}' length='1'/>")
    assert parse(long_but_fine).entries


def test_netscape_rss091_doctype_is_kept_for_the_version() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC'
        b' "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>n</title>'
        b"<item><title>x</title></item></channel></rss>"
    )
    feed = parse(body)
    assert feed.version == "rss091n" and not feed.bozo


def test_unterminated_doctype_is_malformed() -> None:
    with pytest.raises(ParseError) as caught:
        parse(b'<!DOCTYPE rss [ <!ENTITY a "x"> <rss><channel>')
    assert caught.value.kind == "malformed"


def test_now_defaults_to_the_current_time() -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    body = rss_item(extra=f"<pubDate>{soon.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>")
    assert parse_feed(body, URL).entries[0].published is not None
