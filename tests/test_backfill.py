"""Backfill: windows, paging (RFC 5005, paged and dated templates), idempotency, resume and
novelty as of the time, against the real feed server and both databases (no Prefect here;
tests/test_backfill_cli.py runs the flow and the command)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from storywatch.config.config import load_config
from storywatch.parse.normalise import Article
from storywatch.pipeline.backfill.collect import SourceReach, backfill_collect
from storywatch.pipeline.backfill.judge import detect_window
from storywatch.pipeline.backfill.settle import (
    compose_window_digests,
    record_window_quietly,
    settle_window,
)
from storywatch.pipeline.backfill.window import (
    Window,
    WindowError,
    page_is_older,
    template_pages,
    window_label,
)
from storywatch.pipeline.detect import detect_storyline
from storywatch.pipeline.ingest import new_run_id
from storywatch.store.repository import Store
from tests import storyfeeds
from tests.factories import rss
from tests.feedserver import FeedServer


def story_item(slug: str, day: int, hour: int = 10) -> dict[str, str]:
    return {
        "title": f"Story {slug}",
        "link": f"https://wire.test/news/{slug}",
        "guid": f"wire-{slug}",
        "description": f"Report number {slug}.",
        "pubDate": format_datetime(datetime(2025, 4, day, hour, tzinfo=UTC)),
    }


def atom(items: list[dict[str, str]], prev_archive: str | None = None) -> bytes:
    """An Atom feed of ``items`` with an optional RFC 5005 prev-archive link."""
    link = f'<link rel="prev-archive" href="{prev_archive}"/>' if prev_archive else ""
    entries = "".join(
        f'<entry><title>{i["title"]}</title><id>{i["guid"]}</id><link href="{i["link"]}"/>'
        f"<updated>{_iso(i['pubDate'])}</updated><summary>{i['description']}</summary></entry>"
        for i in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Wire</title><id>urn:wire</id><updated>2025-04-30T00:00:00Z</updated>{link}"
        f"{entries}</feed>"
    ).encode()


def _iso(rfc822: str) -> str:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(rfc822).isoformat().replace("+00:00", "Z")


def write_config(folder: Path, sources: list[dict[str, Any]]) -> Path:
    path = storyfeeds.write_story_config(folder, {})
    data = yaml.safe_load(path.read_text())
    data["sources"] = sources
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def stored_guids(store: Store) -> set[str]:
    return {a.url.rsplit("/", 1)[-1] for a in store.iter_articles()}


# -- windows and pages (pure) ------------------------------------------------------------------


def test_window_is_whole_utc_days_both_ends_included() -> None:
    window = Window.parse("2025-04-11", "2025-04-13")
    assert window.contains(datetime(2025, 4, 11, 0, 0, tzinfo=UTC))
    assert window.contains(datetime(2025, 4, 13, 23, 59, 59, tzinfo=UTC))
    assert not window.contains(datetime(2025, 4, 14, 0, 0, tzinfo=UTC))
    assert not window.contains(datetime(2025, 4, 10, 23, 59, tzinfo=UTC))
    assert window.days() == [date(2025, 4, 11), date(2025, 4, 12), date(2025, 4, 13)]


TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("2025-04-13", "2025-04-11", "after --until"),
        ("13/04/2025", "2025-04-14", "not a date"),
        ("2025-04-01", "yesterday", "not a date"),
        ("20250411", "2025-04-12", "not a date"),
        ("2025-W15-1", "2025-04-12", "not a date"),
        (TOMORROW, TOMORROW, "is in the future"),
    ],
)
def test_bad_windows_are_refused_with_the_reason(since: str, until: str, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        Window.parse(since, until)


def test_window_labels_read_naturally() -> None:
    assert window_label(Window.parse("2025-02-12", "2025-02-12")) == "12 Feb 2025"
    assert window_label(Window.parse("2025-02-12", "2025-02-18")) == "12–18 Feb 2025"
    assert window_label(Window.parse("2025-02-28", "2025-03-03")) == "28 Feb–3 Mar 2025"
    assert window_label(Window.parse("2024-12-30", "2025-01-02")) == "30 Dec 2024–2 Jan 2025"


def test_paged_template_counts_pages_and_dated_template_goes_day_by_day() -> None:
    window = Window.parse("2025-04-11", "2025-04-12")
    (paged,) = template_pages("https://x.test/feed?paged={page}", window)
    assert [next(paged) for _ in range(3)] == [f"https://x.test/feed?paged={n}" for n in (1, 2, 3)]
    days = [
        list(s)
        for s in template_pages("https://x.test/s?q=a+after:{since}+before:{before}", window)
    ]
    assert days == [
        ["https://x.test/s?q=a+after:2025-04-12+before:2025-04-13"],
        ["https://x.test/s?q=a+after:2025-04-11+before:2025-04-12"],
    ]


def test_a_page_is_older_only_when_every_dated_entry_is() -> None:
    window = Window.parse("2025-04-11", "2025-04-12")

    def art(day: int, missing: bool = False) -> Article:
        moment = datetime(2025, 4, day, tzinfo=UTC)
        return Article("s", f"u{day}", "", None, "t", "", "", moment, missing)

    assert page_is_older([art(9), art(10)], window)
    assert not page_is_older([art(9), art(11)], window)
    assert not page_is_older([art(20, missing=True)], window)  # undated: cannot tell


def test_reach_says_how_far_back_a_source_went() -> None:
    window = Window.parse("2025-04-05", "2025-04-12")
    reach = SourceReach("Wire", pages=1, via=["feed"])
    reach.see(datetime(2025, 4, 8, tzinfo=UTC))
    assert not reach.reached(window)
    assert "reaches back only to 2025-04-08: the first 3 day(s) not covered" in reach.describe(
        window
    )
    reach.see(datetime(2025, 4, 1, tzinfo=UTC))
    assert reach.reached(window) and "the whole window" in reach.describe(window)


# -- collecting against the real feed server ---------------------------------------------------


def collect(config_path: Path, since: str, until: str, **kw: Any) -> Any:
    config = load_config(config_path)
    store = Store.open(config.database_url)
    try:
        return backfill_collect(config, store, Window.parse(since, until), new_run_id(), **kw)
    finally:
        store.close()


@pytest.fixture
def db_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", database_url)
    return database_url


def test_only_entries_published_in_the_window_are_stored(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    items = [story_item(f"d{day}", day) for day in (9, 10, 11, 12, 13)]
    feed_server.set_feed("/wire.xml", rss("Wire", items))
    path = write_config(tmp_path, [{"name": "Wire", "url": feed_server.url("/wire.xml")}])
    report = collect(path, "2025-04-10", "2025-04-12")
    assert stored_guids(Store.open(db_env)) == {"d10", "d11", "d12"}
    (reach,) = report.sources
    assert (reach.in_window, reach.new, reach.pages) == (3, 3, 1)
    assert reach.reached(report.window)
    # The same window again stores nothing (and the live feed's validators were not touched).
    again = collect(path, "2025-04-10", "2025-04-12")
    assert again.new_articles == 0 and again.in_window == 3
    assert Store.open(db_env).fetch_requests(["Wire"])[0].etag is None


def test_a_backfill_reads_feeds_with_the_ingest_parse_step_and_says_when_one_is_malformed(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    # The backfill's walk re-implemented parsing and dropped the not-well-formed note (and
    # ingest.max_age_days, which a backfill must not apply: it is there to read old entries).
    items = [story_item(f"d{day}", day) for day in (10, 11)]
    broken = rss("Wire", items).replace(b"</channel></rss>", b"<junk></channel></rss>")
    feed_server.set_feed("/wire.xml", broken)
    path = write_config(tmp_path, [{"name": "Wire", "url": feed_server.url("/wire.xml")}])
    data = yaml.safe_load(path.read_text())
    data.setdefault("ingest", {})["max_age_days"] = 1  # the April 2025 items are older
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    report = collect(path, "2025-04-10", "2025-04-12")
    (reach,) = report.sources
    assert reach.new == 2 and stored_guids(Store.open(db_env)) == {"d10", "d11"}
    assert any("not well-formed" in note for note in reach.notes)
    assert "not well-formed" in reach.describe(report.window)


def test_rfc5005_archive_pages_are_followed_until_older_than_the_window(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    feed_server.set_feed(
        "/feed.atom",
        atom([story_item("d20", 20)], prev_archive="/archive/2.atom"),
        "application/atom+xml",
    )
    feed_server.set_feed(
        "/archive/2.atom",
        atom([story_item("d12", 12), story_item("d11", 11)], "/archive/1.atom"),
        "application/atom+xml",
    )
    feed_server.set_feed(
        "/archive/1.atom", atom([story_item("d5", 5)], "/archive/0.atom"), "application/atom+xml"
    )
    feed_server.set_feed("/archive/0.atom", atom([story_item("d1", 1)]), "application/atom+xml")
    path = write_config(tmp_path, [{"name": "Wire", "url": feed_server.url("/feed.atom")}])
    report = collect(path, "2025-04-10", "2025-04-15")
    assert stored_guids(Store.open(db_env)) == {"d11", "d12"}
    (reach,) = report.sources
    assert reach.via == ["feed", "prev-archive"] and reach.pages == 3
    assert feed_server.requests_to("/archive/0.atom") == []  # page 1 was already too old
    assert reach.reached(report.window)


def test_an_archive_link_loop_ends_the_walk(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    feed_server.set_feed(
        "/feed.atom", atom([story_item("d20", 20)], "/archive/a.atom"), "application/atom+xml"
    )
    feed_server.set_feed(
        "/archive/a.atom", atom([story_item("d14", 14)], "/feed.atom"), "application/atom+xml"
    )
    path = write_config(tmp_path, [{"name": "Wire", "url": feed_server.url("/feed.atom")}])
    (reach,) = collect(path, "2025-04-10", "2025-04-15").sources
    assert reach.stopped == "archive links loop"
    assert stored_guids(Store.open(db_env)) == {"d14"}


def test_paged_template_stops_at_the_end_or_a_repeat(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    pages = {1: [20, 19], 2: [15, 14], 3: [12, 11]}
    for number, days in pages.items():
        body = rss("Wire", [story_item(f"d{d}", d) for d in days])
        feed_server.set_feed(f"/wp/feed?paged={number}", body)
    feed_server.set_feed("/wp/feed", rss("Wire", [story_item("d20", 20), story_item("d19", 19)]))
    # Past page 3 the server answers 404: the end of the archive, not a failure.
    sources = [
        {
            "name": "Blog",
            "url": feed_server.url("/wp/feed"),
            "archive": feed_server.url("/wp/feed?paged={page}"),
        }
    ]
    path = write_config(tmp_path, sources)
    report = collect(path, "2025-04-11", "2025-04-14")
    assert stored_guids(Store.open(db_env)) == {"d14", "d11", "d12"}
    (reach,) = report.sources
    assert reach.error is None and reach.reached(report.window)
    assert reach.via == ["feed", "archive template"]
    assert len(feed_server.requests_to("/wp/feed?paged=4")) == 1

    # A server that answers every page number with the same page: stops at the repeat.
    feed_server.set_feed("/wp/feed?paged=4", rss("Wire", [story_item("d12", 12)]))
    feed_server.set_feed("/wp/feed?paged=5", rss("Wire", [story_item("d12", 12)]))
    feed_server.set_feed("/wp/feed?paged=3", rss("Wire", [story_item("d12", 12)]))
    report = collect(path, "2025-04-01", "2025-04-14")
    assert feed_server.requests_to("/wp/feed?paged=5") == []
    assert not report.sources[0].reached(report.window)
    assert "back only to 2025-04-12: the first 11 day(s) not covered" in report.sources[0].describe(
        report.window
    )


def test_dated_search_template_is_queried_day_by_day(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    feed_server.set_feed("/live.xml", rss("Live", [story_item("d30", 30)]))
    for day in (11, 12, 13):
        body = rss("Search", [story_item(f"s{day}", day), story_item(f"t{day}", day, 18)])
        feed_server.set_feed(f"/search?from=2025-04-{day}&to=2025-04-{day}", body)
    sources = [
        {
            "name": "Search",
            "url": feed_server.url("/live.xml"),
            "archive": feed_server.url("/search?from={since}&to={until}"),
        }
    ]
    report = collect(write_config(tmp_path, sources), "2025-04-11", "2025-04-13")
    assert stored_guids(Store.open(db_env)) == {f"{p}{d}" for p in "st" for d in (11, 12, 13)}
    assert report.sources[0].in_window == 6


def test_one_broken_source_does_not_stop_the_others(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    feed_server.set_feed("/ok.xml", rss("Ok", [story_item("d11", 11)]))
    feed_server.set_status("/broken.xml", 500, times=100)
    sources = [
        {"name": "Ok", "url": feed_server.url("/ok.xml")},
        {"name": "Broken", "url": feed_server.url("/broken.xml")},
    ]
    report = collect(write_config(tmp_path, sources), "2025-04-10", "2025-04-12")
    by_name = {r.source: r for r in report.sources}
    assert by_name["Broken"].error and "500" in by_name["Broken"].error
    assert by_name["Ok"].new == 1 and (report.fetched, report.failed) == (1, 1)
    assert "failed" in by_name["Broken"].describe(report.window)


def test_source_filter_reads_only_the_named_sources(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    feed_server.set_feed("/a.xml", rss("A", [story_item("a11", 11)]))
    feed_server.set_feed("/b.xml", rss("B", [story_item("b11", 11)]))
    sources = [
        {"name": "A", "url": feed_server.url("/a.xml")},
        {"name": "B", "url": feed_server.url("/b.xml")},
    ]
    path = write_config(tmp_path, sources)
    collect(path, "2025-04-10", "2025-04-12", sources=["B"])
    assert stored_guids(Store.open(db_env)) == {"b11"}
    with pytest.raises(KeyError, match="no source named 'C'"):
        collect(path, "2025-04-10", "2025-04-12", sources=["C"])


# -- novelty as of the time, digests --------------------------------------------------------


def _developments(store: Store) -> list[Any]:
    return list(store.iter_developments())


def _live_swap_then_its_archive(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> tuple[Path, Any, Store]:
    """A live run found the swap from its later repeat (14 April; not mailed); the feed now
    also holds the first swap report and the talks (11-13 April), for a backfill to find."""
    from storywatch.pipeline.ingest import ingest_once

    s = storyfeeds
    feed_server.set_feed("/live.xml", rss("Beta", [s.ITEM_SWAP_REPEAT]))
    path = write_config(tmp_path, [{"name": "Beta", "url": feed_server.url("/live.xml")}])
    config = load_config(path)
    store = Store.open(db_env)
    ingest_once(config, store)
    detect_storyline(config, s.STORYLINE, store)
    feed_server.set_feed("/live.xml", rss("Beta", [s.ITEM_SWAP_REPEAT, s.ITEM_SWAP, s.ITEM_TALKS]))
    return path, config, store


def test_a_window_before_what_was_judged_is_replayed_as_of_its_time(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    """Live runs saw only the later repeat of the swap; the backfill finds the first report,
    which becomes the development's first sighting; the repeat folds into it, and the reader
    who was mailed the swap already is not mailed it again."""
    s = storyfeeds
    _, config, store = _live_swap_then_its_archive(feed_server, tmp_path, db_env)
    (live,) = _developments(store)
    assert live.first_seen.date() == date(2025, 4, 14)
    from storywatch.pipeline.digests import compose_digests

    assert len(compose_digests(config, store)) == 1  # the reader got it

    # The backfill of 11-13 April: the archive still holds the talks and the first swap report.
    feed_server.set_feed(
        "/live.xml", rss("Beta", [s.ITEM_SWAP_REPEAT, s.ITEM_SWAP, s.ITEM_TALKS, s.ITEM_PHONE])
    )
    window = Window.parse("2025-04-11", "2025-04-13")
    backfill_collect(config, store, window, new_run_id())
    detect_window(config, s.STORYLINE, store, window, None)
    developments = {d.id: d for d in _developments(store)}
    swap = next(d for d in developments.values() if "prisoner_exchange" in d.types)
    assert swap.first_seen.date() == date(2025, 4, 13)  # as of its time: the first report
    assert {a.url for a in swap.articles} == {
        s.canonical(s.ITEM_SWAP),
        s.canonical(s.ITEM_SWAP_REPEAT),
    }
    assert any("meeting" in d.types for d in developments.values())
    assert all(d.novelty == "new" for d in developments.values())
    # With --email the reader gets the window's news once: the talks, not the swap again.
    composed = compose_window_digests(config, store, window, [s.STORYLINE], None)
    assert len(composed) == 1 and composed[0].developments == 1
    assert compose_window_digests(config, store, window, [s.STORYLINE], None) == []
    with store.digest_transaction() as tx:
        unsent = tx.unsent_developments(s.STORYLINE, "desk@example.org", hold_backfills=False)
        assert unsent == []


def test_a_backfill_without_email_is_recorded_and_never_mailed_later(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    s = storyfeeds
    feed_server.set_feed("/live.xml", rss("Alpha", [s.ITEM_TALKS, s.ITEM_SWAP]))
    path = write_config(tmp_path, [{"name": "Alpha", "url": feed_server.url("/live.xml")}])
    config = load_config(path)
    store = Store.open(db_env)
    window, run_id = Window.parse("2025-04-10", "2025-04-13"), new_run_id()
    backfill_collect(config, store, window, run_id)
    detect_window(config, s.STORYLINE, store, window, run_id)
    assert len(_developments(store)) == 2
    assert record_window_quietly(config, store, window, [s.STORYLINE], None) == 2
    assert record_window_quietly(config, store, window, [s.STORYLINE], None) == 0
    assert settle_window(config, store, window, [s.STORYLINE], False, run_id) == []
    assert store.stopped_backfills(s.STORYLINE) == []  # settled: let go
    from storywatch.pipeline.digests import compose_digests

    assert compose_digests(config, store) == []  # the next live run mails none of it


def test_an_interrupted_backfill_continues_where_it_stopped(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    """Stored but not yet judged (the process died between stages): the rerun stores nothing
    twice and judges what is pending; the result equals an uninterrupted backfill's."""
    s = storyfeeds
    items = [s.ITEM_TALKS, s.ITEM_TALKS_REPEAT, s.ITEM_SWAP, s.ITEM_SWAP_REPEAT]
    feed_server.set_feed("/live.xml", rss("Alpha", items))
    path = write_config(tmp_path, [{"name": "Alpha", "url": feed_server.url("/live.xml")}])
    config = load_config(path)
    store = Store.open(db_env)
    window = Window.parse("2025-04-11", "2025-04-14")
    first = backfill_collect(config, store, window, new_run_id())
    assert first.new_articles == 4
    # ... interrupted here. The rerun:
    again = backfill_collect(config, store, window, new_run_id())
    assert again.new_articles == 0
    detect_window(config, s.STORYLINE, store, window, None)
    developments = _developments(store)
    assert sorted(len(d.articles) for d in developments) == [2, 2]
    assert store.count_articles() == 4


def test_a_failed_page_is_said_while_past_the_last_page_is_the_end(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    feed_server.set_feed("/wp/feed", rss("Wire", [story_item("d20", 20)]))
    feed_server.set_feed("/wp/feed?paged=1", rss("Wire", [story_item("d15", 15)]))
    feed_server.set_status("/wp/feed?paged=2", 500, times=100)
    sources = [
        {
            "name": "Blog",
            "url": feed_server.url("/wp/feed"),
            "archive": feed_server.url("/wp/feed?paged={page}"),
        }
    ]
    (reach,) = collect(write_config(tmp_path, sources), "2025-04-10", "2025-04-16").sources
    assert reach.error is None and "page 2:" in reach.stopped and "500" in reach.stopped
    assert "stopped: page 2:" in reach.describe(Window.parse("2025-04-10", "2025-04-16"))


def test_an_unexpected_error_in_one_source_stays_with_that_source(
    feed_server: FeedServer, tmp_path: Path, db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storywatch.pipeline.ingest as parse_step  # the backfill's walk parses with it

    real = parse_step.normalise_feed

    def breaks_for_bad(feed: Any, source: str, *args: Any, **kwargs: Any) -> list[Article]:
        if source == "Bad":
            raise RuntimeError("a bug in normalising")
        return real(feed, source, *args, **kwargs)

    monkeypatch.setattr(parse_step, "normalise_feed", breaks_for_bad)
    feed_server.set_feed("/ok.xml", rss("Ok", [story_item("d11", 11)]))
    feed_server.set_feed("/bad.xml", rss("Bad", [story_item("b11", 11)]))
    sources = [
        {"name": "Bad", "url": feed_server.url("/bad.xml")},
        {"name": "Ok", "url": feed_server.url("/ok.xml")},
    ]
    report = collect(write_config(tmp_path, sources), "2025-04-10", "2025-04-12")
    by_name = {r.source: r for r in report.sources}
    assert by_name["Bad"].error == "unexpected error: RuntimeError: a bug in normalising"
    assert by_name["Ok"].new == 1 and stored_guids(Store.open(db_env)) == {"d11"}


def test_without_email_live_news_in_the_window_is_still_mailed(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    """A development a live run found (waiting for a scheduled digest) is news, not history:
    a backfill without --email over its days must not silence it."""
    s = storyfeeds
    feed_server.set_feed("/live.xml", rss("Alpha", [s.ITEM_TALKS]))
    path = write_config(tmp_path, [{"name": "Alpha", "url": feed_server.url("/live.xml")}])
    config = load_config(path)
    store = Store.open(db_env)
    from storywatch.pipeline.ingest import ingest_once

    ingest_once(config, store)  # a live run: the talks, not mailed yet
    detect_storyline(config, s.STORYLINE, store)
    feed_server.set_feed("/live.xml", rss("Alpha", [s.ITEM_TALKS, s.ITEM_SWAP]))
    window, run_id = Window.parse("2025-04-10", "2025-04-13"), new_run_id()
    backfill_collect(config, store, window, run_id)  # finds the swap, a day later
    detect_window(config, s.STORYLINE, store, window, run_id)
    from storywatch.pipeline.digests import compose_digests

    assert compose_digests(config, store) == []  # the window is the backfill's until it settles
    settle_window(config, store, window, [s.STORYLINE], False, run_id)
    assert record_window_quietly(config, store, window, [s.STORYLINE], None) == 0  # the swap's in
    (digest,) = compose_digests(config, store)
    assert digest.developments == 1  # the live talks still go out


def test_a_live_run_between_a_backfills_stages_leaves_the_window_to_it(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    """A scheduled run that detects after the backfill stored the window but before it judged
    it must not judge the window against today's memory (nor mail it): the backfill's own
    replay does, as of the time."""
    s = storyfeeds
    _, config, store = _live_swap_then_its_archive(feed_server, tmp_path, db_env)
    from storywatch.pipeline.digests import compose_digests

    assert len(compose_digests(config, store)) == 1  # the live swap, mailed
    window = Window.parse("2025-04-11", "2025-04-13")
    backfill_collect(config, store, window, new_run_id())
    # ... the live run comes in here:
    live = detect_storyline(config, s.STORYLINE, store)
    assert live.assessed == 0 and compose_digests(config, store) == []
    # ... and the backfill goes on: the replay judges the window as of its time.
    detect_window(config, s.STORYLINE, store, window, None)
    swap = next(d for d in _developments(store) if "prisoner_exchange" in d.types)
    assert swap.first_seen.date() == date(2025, 4, 13) and len(swap.articles) == 2


def test_a_retried_collect_still_counts_what_its_first_attempt_stored(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    feed_server.set_feed("/wire.xml", rss("Wire", [story_item("d11", 11), story_item("d12", 12)]))
    path = write_config(tmp_path, [{"name": "Wire", "url": feed_server.url("/wire.xml")}])
    config = load_config(path)
    store = Store.open(db_env)
    window, run_id = Window.parse("2025-04-10", "2025-04-12"), new_run_id()
    assert backfill_collect(config, store, window, run_id).new_articles == 2
    retry = backfill_collect(config, store, window, run_id)  # the task's retry: same run
    assert retry.new_articles == 2 and retry.sources[0].new == 2
    assert backfill_collect(config, store, window, new_run_id()).new_articles == 0  # a rerun


def test_no_digest_is_composed_while_a_replay_runs(
    feed_server: FeedServer, tmp_path: Path, db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What readers were told is read inside the replay's transaction, and a digest composed
    meanwhile waits for it to commit: it then mails the replayed window, never the shape the
    replay is about to replace."""
    import threading

    import storywatch.pipeline.backfill.judge as replay
    from storywatch.pipeline.digests import ComposedDigest, compose_digests

    s = storyfeeds
    _, config, store = _live_swap_then_its_archive(feed_server, tmp_path, db_env)  # not mailed
    window = Window.parse("2025-04-11", "2025-04-13")
    backfill_collect(config, store, window, new_run_id(), storylines=[])  # owns no window

    composed: list[ComposedDigest] = []
    meanwhile = threading.Thread(
        target=lambda: composed.extend(compose_digests(config, Store.open(db_env)))
    )
    waited_for_replay: list[bool] = []
    real_told = replay.store_backfill.told_articles

    def told_with_a_digest_coming(*args: Any, **kwargs: Any) -> Any:
        meanwhile.start()  # the replay is writing: from here to its commit, no digest
        meanwhile.join(1.0)
        waited_for_replay.append(meanwhile.is_alive())
        return real_told(*args, **kwargs)

    monkeypatch.setattr(replay.store_backfill, "told_articles", told_with_a_digest_coming)
    detect_window(config, s.STORYLINE, store, window, None)
    meanwhile.join(60)
    assert waited_for_replay == [True]
    (digest,) = composed  # after the replay: the talks and the swap as first reported
    assert digest.developments == 2
    swap = next(d for d in _developments(store) if "prisoner_exchange" in d.types)
    assert swap.first_seen.date() == date(2025, 4, 13)
    assert compose_window_digests(config, store, window, [s.STORYLINE], None) == []


def _quiet_for(store: Store, run_id: str, minutes: int) -> None:
    """As if the backfill ``run_id`` was last heard from ``minutes`` ago (it died then)."""
    from datetime import timedelta

    from sqlalchemy import update

    from storywatch.store.schema import utcnow
    from storywatch.store.tables import RUNS

    with store.engine.begin() as conn:
        conn.execute(
            update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(heartbeat_at=utcnow() - timedelta(minutes=minutes))
        )


@pytest.mark.parametrize("email", [False, True], ids=["without-email", "with-email"])
def test_a_live_run_finishes_a_stopped_backfill_as_of_its_time(
    feed_server: FeedServer, tmp_path: Path, db_env: str, email: bool
) -> None:
    """A backfill that died between its stages (quiet past BACKFILL_QUIET) is finished by the
    next live detection: it replays the window as of the time, not against today's memory,
    and settles it as the backfill would have (--email: one backfill digest), once."""
    from storywatch.pipeline.digests import compose_digests
    from storywatch.pipeline.tasks import detect_configured
    from storywatch.store.backfill import BACKFILL_QUIET

    s = storyfeeds
    path, config, store = _live_swap_then_its_archive(feed_server, tmp_path, db_env)
    (live_swap,) = _developments(store)
    assert len(compose_digests(config, store)) == 1  # the live swap, mailed
    window, run_id = Window.parse("2025-04-11", "2025-04-13"), new_run_id()
    backfill_collect(config, store, window, run_id, email=email)
    # ... and the backfill dies here. While it might still be at work, live runs wait:
    quiet = int(BACKFILL_QUIET.total_seconds() // 60)
    _quiet_for(store, run_id, minutes=quiet - 1)
    assert store.stopped_backfills(s.STORYLINE) == []
    assert detect_configured(str(path), s.STORYLINE).assessed == 0
    # Quiet for longer: the next live run finishes the backfill itself.
    _quiet_for(store, run_id, minutes=quiet + 1)
    (stopped,) = store.stopped_backfills(s.STORYLINE)
    assert (stopped.run_id, stopped.email) == (run_id, email)
    assert (stopped.start, stopped.end) == (window.start, window.end)
    report = detect_configured(str(path), s.STORYLINE)
    assert sorted(t for d in report.developments for t in d["types"]) == [
        "meeting",
        "prisoner_exchange",
    ]
    swap = next(d for d in _developments(store) if "prisoner_exchange" in d.types)
    assert swap.id == live_swap.id  # found again: the id the reader was mailed
    assert swap.first_seen.date() == date(2025, 4, 13) and len(swap.articles) == 2
    assert store.stopped_backfills(s.STORYLINE) == []  # settled
    assert detect_configured(str(path), s.STORYLINE).assessed == 0  # finished once
    with store.digest_transaction() as tx:  # the talks: in a backfill digest or recorded
        assert tx.unsent_developments(s.STORYLINE, "desk@example.org") == []
    assert compose_digests(config, store) == []
    assert _digest_kinds(store).count("backfill") == (1 if email else 0)


def test_a_backfill_that_ended_unsettled_holds_its_window_until_settled(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    """Ended (released) without settling, a backfill still owns its window: live detection
    leaves it alone (only the finishing replay may judge it); settling lets go."""
    s = storyfeeds
    feed_server.set_feed("/live.xml", rss("Alpha", [s.ITEM_TALKS]))
    path = write_config(tmp_path, [{"name": "Alpha", "url": feed_server.url("/live.xml")}])
    config = load_config(path)
    store = Store.open(db_env)
    window, run_id = Window.parse("2025-04-10", "2025-04-13"), new_run_id()
    backfill_collect(config, store, window, run_id)
    assert store.stopped_backfills(s.STORYLINE) == []  # at work
    store.release_backfill(run_id)
    (stopped,) = store.stopped_backfills(s.STORYLINE)
    assert stopped.run_id == run_id
    assert detect_storyline(config, s.STORYLINE, store).assessed == 0  # still its window
    settle_window(config, store, window, [s.STORYLINE], False, run_id)
    assert store.stopped_backfills(s.STORYLINE) == []
    assert detect_storyline(config, s.STORYLINE, store).assessed == 1


def test_a_busy_storyline_leaves_a_stopped_backfill_for_the_next_run(
    feed_server: FeedServer, tmp_path: Path, db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The finishing replay waits for the storyline like any live detection; when another
    detection holds it, the window stays the backfill's, unjudged, and the next run
    finishes it."""
    import storywatch.pipeline.backfill.finish as replay
    from storywatch.pipeline.tasks import detect_configured

    monkeypatch.setattr(replay, "LIVE_WAIT_SECONDS", 0)
    s = storyfeeds
    feed_server.set_feed("/live.xml", rss("Alpha", [s.ITEM_TALKS, s.ITEM_SWAP]))
    path = write_config(tmp_path, [{"name": "Alpha", "url": feed_server.url("/live.xml")}])
    config = load_config(path)
    store = Store.open(db_env)
    window, run_id = Window.parse("2025-04-10", "2025-04-13"), new_run_id()
    backfill_collect(config, store, window, run_id)
    store.release_backfill(run_id)
    detect_storyline(config, s.STORYLINE, store)  # registers the storyline
    assert store.take_lease(s.STORYLINE, "another-detection")
    busy = detect_configured(str(path), s.STORYLINE)
    assert busy.deferred and busy.assessed == 0
    assert [b.run_id for b in store.stopped_backfills(s.STORYLINE)] == [run_id]
    store.drop_lease(s.STORYLINE, "another-detection")
    done = detect_configured(str(path), s.STORYLINE)
    assert done.assessed == 2 and not done.deferred
    assert store.stopped_backfills(s.STORYLINE) == []


def test_a_rerun_owns_its_window_though_it_stores_nothing_new(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    """Ownership goes by window, not by which run stored an article first: a rerun of a
    settled window (or a retried day) holds it again while it works."""
    s = storyfeeds
    feed_server.set_feed("/live.xml", rss("Alpha", [s.ITEM_TALKS]))
    path = write_config(tmp_path, [{"name": "Alpha", "url": feed_server.url("/live.xml")}])
    config = load_config(path)
    store = Store.open(db_env)
    window, first = Window.parse("2025-04-10", "2025-04-13"), new_run_id()
    backfill_collect(config, store, window, first)
    settle_window(config, store, window, [s.STORYLINE], False, first)  # nothing judged yet
    rerun = new_run_id()
    assert backfill_collect(config, store, window, rerun).new_articles == 0
    assert detect_storyline(config, s.STORYLINE, store).assessed == 0  # the rerun's window
    assert detect_window(config, s.STORYLINE, store, window, rerun).assessed == 1


def _digest_kinds(store: Store) -> list[str]:
    from sqlalchemy import select

    from storywatch.store.tables import DIGESTS

    with store.engine.connect() as conn:
        return list(conn.scalars(select(DIGESTS.c.kind)))


def test_a_backfill_for_one_storyline_leaves_the_others_news_judged_as_of_the_time(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    """``--storyline X`` stores articles every storyline reads. Another storyline does not
    judge them as today's news: the backfill holds its window while it works, then the next
    live run replays it as of the time and records it without mailing (nobody asked for that
    storyline's past); with --email, only X's readers get a backfill digest."""
    from storywatch.pipeline.digests import compose_digests
    from storywatch.pipeline.tasks import detect_configured

    s = storyfeeds
    path, _, store = _live_swap_then_its_archive(feed_server, tmp_path, db_env)
    data = yaml.safe_load(path.read_text())
    other = "desk-two"  # the same seed: it sees the same news
    data["storylines"].append({"id": other, "title": "Desk two", "seed": "seeds/truce.md"})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    config = load_config(path)
    detect_storyline(config, other, store)  # the live swap repeat, for both storylines
    assert len(compose_digests(config, store)) == 2  # ... mailed to both
    window, run_id = Window.parse("2025-04-11", "2025-04-13"), new_run_id()
    backfill_collect(config, store, window, run_id, email=True, storylines=[s.STORYLINE])
    # At work for X: the other storyline leaves the window's articles alone.
    assert detect_configured(str(path), other).assessed == 0
    assert detect_window(config, s.STORYLINE, store, window, run_id).assessed == 3
    settle_window(config, store, window, [s.STORYLINE], True, run_id)
    store.release_backfill(run_id)
    (stopped,) = store.stopped_backfills(other)
    assert (stopped.run_id, stopped.asked, stopped.email) == (run_id, False, False)
    report = detect_configured(str(path), other)
    assert sorted(t for d in report.developments for t in d["types"]) == [
        "meeting",
        "prisoner_exchange",
    ]
    mine = [d for d in _developments(store) if d.storyline == other]
    swap = next(d for d in mine if "prisoner_exchange" in d.types)
    assert swap.first_seen.date() == date(2025, 4, 13)  # as of the time, not a 14 April fold
    assert store.stopped_backfills(other) == []
    assert detect_configured(str(path), other).assessed == 0  # once
    assert compose_digests(config, store) == []  # nothing old goes out as today's news
    kinds = _digest_kinds(store)
    assert kinds.count("backfill") == 1  # X's readers only


def test_a_story_a_replay_dropped_comes_back_under_the_id_its_reader_was_mailed(
    feed_server: FeedServer, tmp_path: Path, db_env: str
) -> None:
    """A replay deletes and re-detects its window's developments. When one places a mailed
    article in no development (the user narrowed the seed), the development it was in is
    retired, not forgotten: a later replay that makes it news again finds it under the id
    the reader was mailed, so it is never mailed twice."""
    from storywatch.pipeline.digests import compose_digests

    s = storyfeeds
    path, config, store = _live_swap_then_its_archive(feed_server, tmp_path, db_env)
    assert len(compose_digests(config, store)) == 1  # the swap, from its 14 April repeat
    (mailed,) = _developments(store)
    seed = tmp_path / "seeds" / "truce.md"
    original = seed.read_text(encoding="utf-8")
    # The user narrows the storyline to meetings: the swap is no development of it now.
    seed.write_text(original.replace("topics:", "types: [meeting]\ntopics:", 1))
    first = Window.parse("2025-04-11", "2025-04-13")
    config = load_config(path)
    backfill_collect(config, store, first, (run := new_run_id()))
    detect_window(config, s.STORYLINE, store, first, run)
    settle_window(config, store, first, [s.STORYLINE], False, run)
    assert not [d for d in _developments(store) if "prisoner_exchange" in d.types]
    seed.write_text(original)  # the seed as it was: the swap is news again
    feed_server.set_feed(
        "/live.xml",
        rss("Beta", [s.ITEM_SWAP_REPEAT, s.ITEM_SWAP, s.ITEM_TALKS, s.ITEM_PHONE]),
    )
    earlier = Window.parse("2025-04-02", "2025-04-02")
    config = load_config(path)
    backfill_collect(config, store, earlier, (run := new_run_id()))
    detect_window(config, s.STORYLINE, store, earlier, run)  # replays from 2 April on
    settle_window(config, store, earlier, [s.STORYLINE], False, run)
    (swap,) = [d for d in _developments(store) if "prisoner_exchange" in d.types]
    assert swap.id == mailed.id and swap.first_seen.date() == date(2025, 4, 13)
    assert compose_digests(config, store) == []  # the swap is the reader's already
