"""normalise: canonical URLs, HTML to text, entries to articles."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storywatch.parse.decode import FeedEntry, ParsedFeed
from storywatch.parse.normalise import (
    Article,
    canonical_url,
    html_to_text,
    normalise_entry,
    normalise_feed,
)
from tests.conftest import shared_path

FEED_URL = "https://news.example.org/world/rss.xml"
FETCHED = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


# --- canonical_url ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://News.Example.ORG/World/Story?id=7", "https://news.example.org/World/Story?id=7"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:443/a", "https://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("http://example.org:443/a", "http://example.org:443/a"),
        ("https://user:secret@example.org/a", "https://example.org/a"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org?", "https://example.org/"),
        ("https://example.org/a?", "https://example.org/a"),
        (
            "https://example.org/a?utm_source=rss&id=3&utm_medium=feed&fbclid=xyz&page=2",
            "https://example.org/a?id=3&page=2",
        ),
        ("https://example.org/a?UTM_Campaign=x&GCLID=1", "https://example.org/a"),
        ("https://example.org/a?utm%5Fsource=x&b=2", "https://example.org/a?b=2"),
        (
            "https://example.org/a?gclid=1&dclid=2&msclkid=3&mc_cid=4&mc_eid=5&_ga=6&igshid=7"
            "&ocid=8&cmpid=9&yclid=10&at_medium=11&at_campaign=12&ns_mchannel=13&keep=me",
            "https://example.org/a?keep=me",
        ),
        ("https://example.org/a?z=1&&a=2&z=0", "https://example.org/a?z=1&a=2&z=0"),  # order kept
        ("https://example.org/a?q=%2Fx+y", "https://example.org/a?q=%2Fx+y"),  # bytes kept
        ("https://example.org/A/./b/../C//d", "https://example.org/A/./b/../C//d"),  # path kept
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        ("  https://example.org/a  ", "https://example.org/a"),
        ("mailto:desk@example.org", "mailto:desk@example.org"),
        ("urn:storywatch:x:abc", "urn:storywatch:x:abc"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/world/a?utm_source=x", "https://news.example.org/world/a"),
        ("b.html", "https://news.example.org/world/b.html"),
        ("//cdn.example.org/x", "https://cdn.example.org/x"),
        ("https://other.example.com/y", "https://other.example.com/y"),
    ],
)
def test_canonical_url_resolves_relative_urls(url: str, expected: str) -> None:
    assert canonical_url(url, FEED_URL) == expected


def test_canonical_url_survives_broken_hosts() -> None:
    assert canonical_url("http://[::1/x") == "http://[::1/x"


_segment = st.text(alphabet="aAzZ09-._~%/:@!$'()*+,;=", max_size=12)
_param = st.one_of(
    st.sampled_from(["utm_source", "UTM_Medium", "fbclid", "gclid", "at_x", "ns_y", "_ga"]),
    st.text(alphabet="abcXYZ_12%", min_size=1, max_size=6),
)
_query = st.lists(st.tuples(_param, st.text(alphabet="ab1%=?/", max_size=5)), max_size=5).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)
_urls = st.builds(
    lambda scheme, user, host, port, path, query, fragment: (
        f"{scheme}://{user}{host}{port}{path}" + (f"?{query}" if query else "") + fragment
    ),
    st.sampled_from(["http", "https", "HTTP", "HtTpS"]),
    st.sampled_from(["", "user@", "u:p@"]),
    st.sampled_from(["example.org", "EXAMPLE.org", "xn--bcher-kva.example", "[::1]", "10.0.0.1"]),
    st.sampled_from(["", ":80", ":443", ":8080", ":"]),
    st.lists(_segment, max_size=3).map(lambda parts: "".join("/" + p for p in parts)),
    _query,
    st.sampled_from(["", "#", "#frag"]),
)


@given(_urls)
def test_canonical_url_is_idempotent_and_clean(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "#" not in once and "@" not in once.split("/")[2]
    _, mark, query = once.partition("?")
    assert query or not mark  # an empty query leaves no "?"
    keys = [param.split("=", 1)[0].lower() for param in query.split("&")]
    assert not any(k.startswith(("utm_", "at_", "ns_")) or k in ("fbclid", "gclid") for k in keys)


@given(st.text(max_size=60), st.one_of(st.none(), st.just(FEED_URL)))
def test_canonical_url_is_idempotent_on_any_text(url: str, base: str | None) -> None:
    once = canonical_url(url, base)
    assert canonical_url(once) == once


# --- html_to_text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("plain   text\twith  spaces", "plain text with spaces"),
        ("<p>First para.</p><p>Second para.</p>", "First para.\nSecond para."),
        ("one<br>two<br/>three<BR />four", "one\ntwo\nthree\nfour"),
        ("<ul><li>a</li><li>b</li></ul><h2>Head</h2>tail", "a\nb\nHead\ntail"),
        ("<div>cell</div><div>next</div>", "cell\nnext"),
        ("<table><tr><td>1</td><td>2</td></tr></table>", "1\n2"),
        ("<b>bold</b><i>italic</i> <a href='x'>link</a>", "bolditalic link"),
        ("<script>alert('x')</script>kept<style>p{color:red}</style>", "kept"),
        ("a <!-- comment --> b", "a b"),
        ("Fish &amp; chips &lt;3 &quot;q&quot; &#39;s&#39;", "Fish & chips <3 \"q\" 's'"),
        # real-world noise (../shared/realdata): numeric entities, NBSP, double escaping
        ("debris on the ground &#8211; smashed glass", "debris on the ground – smashed glass"),
        ("said&#160;on Friday", "said on Friday"),
        ("Russia\u00a0in 2023 widened", "Russia in 2023 widened"),
        ("take\u00a0the\u00a0first\u00a0step", "take the first step"),
        ("Kyiv &amp;#8211; Moscow", "Kyiv – Moscow"),
        ("a&amp;nbsp;b", "a b"),
        ("&lt;p&gt;Escaped &lt;b&gt;HTML&lt;/b&gt;&lt;/p&gt;", "Escaped HTML"),
        ("thin\u2009space\u202fnarrow\u3000ideographic", "thin space narrow ideographic"),
        ("zero\u200bwidth soft\u00adhyphen \ufeffbom", "zerowidth softhyphen bom"),
        ("AT&T and a < b > c", "AT&T and a < b > c"),
        ("&unknown; &#xZZ;", "&unknown; &#xZZ;"),
        ("  \n\n  ", ""),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_on_real_feed_descriptions() -> None:
    folder = shared_path("realdata", "rumca-rss-2025")
    descriptions = [
        item["description"]
        for path in sorted(folder.rglob("*_entries.json"))
        for item in json.loads(path.read_text())
        if item.get("description")
    ]
    assert len(descriptions) > 300
    for description in descriptions:
        text = html_to_text(description)
        assert "&#" not in text and "\u00a0" not in text and "  " not in text
        assert "<p>" not in text


# --- normalise_entry / normalise_feed -----------------------------------------------------


def entry(**fields: object) -> FeedEntry:
    base = FeedEntry(
        guid="g-1",
        link="https://news.example.org/world/story-1?utm_source=rss",
        title="<b>Talks</b>\n resume",
        summary="<p>Delegations met.</p><p>More soon.</p>",
        content="<p>Full &amp; long text.</p>",
        published=datetime(2025, 6, 9, 8, 0, tzinfo=UTC),
        author=" A.\u00a0Reporter ",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_normalise_entry() -> None:
    article = normalise_entry(entry(), "Example Wire", FEED_URL, FETCHED)
    assert article == Article(
        source="Example Wire",
        url="https://news.example.org/world/story-1",
        link="https://news.example.org/world/story-1?utm_source=rss",
        guid="g-1",
        title="Talks resume",
        summary="Delegations met.\nMore soon.",
        content="Full & long text.",
        published=datetime(2025, 6, 9, 8, 0, tzinfo=UTC),
        date_missing=False,
        author="A. Reporter",
    )


def test_relative_link_is_resolved_against_the_feed_url() -> None:
    article = normalise_entry(entry(link="../europe/x#top"), "s", FEED_URL, FETCHED)
    assert article is not None
    assert article.url == "https://news.example.org/europe/x"
    assert article.link == "https://news.example.org/europe/x#top"


def test_http_guid_stands_in_for_a_missing_link() -> None:
    article = normalise_entry(
        entry(link=None, guid="HTTPS://News.Example.org/p/9"), "s", FEED_URL, FETCHED
    )
    assert article is not None
    assert article.url == "https://news.example.org/p/9"


def test_synthetic_urn_without_any_url() -> None:
    by_guid = normalise_entry(
        entry(link=None, guid="tag:x,2025:1"), "Example Wire", FEED_URL, FETCHED
    )
    again = normalise_entry(
        entry(link=None, guid="tag:x,2025:1"), "Example Wire", FEED_URL, FETCHED
    )
    by_text = normalise_entry(entry(link=None, guid=None), "Example Wire", FEED_URL, FETCHED)
    assert by_guid is not None and again is not None and by_text is not None
    assert by_guid.url.startswith("urn:storywatch:Example%20Wire:")
    assert by_guid.url == again.url  # stable
    assert by_text.url.startswith("urn:storywatch:Example%20Wire:") and by_text.url != by_guid.url
    assert by_guid.link == ""


def test_javascript_links_are_not_links() -> None:
    article = normalise_entry(entry(link="javascript:alert(1)", guid=None), "s", FEED_URL, FETCHED)
    assert article is not None and article.url.startswith("urn:storywatch:s:")


def test_broken_link_is_not_a_link() -> None:
    article = normalise_entry(entry(link="http://[::1/x", guid=None), "s", FEED_URL, FETCHED)
    assert article is not None and article.url.startswith("urn:storywatch:s:")


def test_entry_with_nothing_to_show_is_dropped() -> None:
    empty = entry(title=" <br> ", summary="&nbsp;", link=None, content="<p>text</p>")
    assert normalise_entry(empty, "s", FEED_URL, FETCHED) is None


def test_missing_date_gets_the_fetch_time() -> None:
    article = normalise_entry(entry(published=None), "s", FEED_URL, FETCHED)
    assert article is not None
    assert (article.published, article.date_missing) == (FETCHED, True)


def test_naive_fetch_time_is_taken_as_utc() -> None:
    article = normalise_entry(entry(published=None), "s", FEED_URL, datetime(2025, 6, 10, 12))
    assert article is not None and article.published == FETCHED


def test_long_fields_are_trimmed() -> None:
    article = normalise_entry(
        entry(title="t" * 5_000, content="<p>" + "word " * 100_000 + "</p>", guid="g" * 5_000),
        "s",
        FEED_URL,
        FETCHED,
    )
    assert article is not None
    assert len(article.title) == 1_000
    assert len(article.content) == 100_000
    assert article.guid is not None and article.guid.startswith("sha256:")


def test_normalise_feed_dedupes_and_applies_max_age() -> None:
    feed = ParsedFeed(
        title="f",
        version="rss20",
        entries=[
            entry(guid="a", link="https://e.org/1?utm_source=x"),
            entry(guid="b", link="https://e.org/1#again", title="same URL: dropped"),
            entry(guid="a", link="https://e.org/2", title="same guid: dropped"),
            entry(guid="c", link="https://e.org/3", published=FETCHED - timedelta(days=30)),
            entry(guid="d", link="https://e.org/4", published=None),
            entry(guid=None, link=None, title="", summary="", content=""),
        ],
    )
    every = normalise_feed(feed, "s", FEED_URL, FETCHED)
    assert [a.url for a in every] == ["https://e.org/1", "https://e.org/3", "https://e.org/4"]
    assert every[0].title == "Talks resume"
    recent = normalise_feed(feed, "s", FEED_URL, FETCHED, max_age=timedelta(days=7))
    assert [a.url for a in recent] == ["https://e.org/1", "https://e.org/4"]


def test_control_characters_never_reach_the_store() -> None:
    """A NUL cannot be stored in a PostgreSQL text column: one bad entry must not sink a feed."""
    from storywatch.parse.decode import FeedEntry
    from storywatch.parse.normalise import normalise_entry

    entry = FeedEntry(
        title="Talks\x00 resume\x07",
        link="https://x.test/a\x00/1",
        guid="g\x00-1",
        summary="<p>Delegations\x00 met.</p>",
        content="",
        author="A\x1bB",
        published=None,
    )
    article = normalise_entry(
        entry, "Wire", "https://x.test/feed", datetime(2025, 3, 1, tzinfo=UTC)
    )
    assert article is not None
    fields = [
        article.title,
        article.summary,
        article.url,
        article.link,
        article.guid,
        article.author,
    ]
    assert not any(ch in (f or "") for f in fields for ch in "\x00\x07\x1b")
    assert article.title == "Talks resume" and article.guid == "g-1"
