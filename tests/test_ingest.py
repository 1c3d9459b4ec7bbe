"""The ingest runner end to end (without Prefect): real feed server, real databases."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from storywatch.config.config import load_config
from storywatch.pipeline.ingest import IngestReport, ingest_once
from storywatch.store.repository import Store
from tests.factories import BASE_DATE, news_items, rss, write_config
from tests.feedserver import FeedServer
from tests.test_parse import BILLION_LAUGHS


@pytest.fixture
def setup(
    tmp_path: Path, feed_server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., tuple[Callable[[], IngestReport], Store]]]:
    """Make a config over feed-server paths; return (run once, the store)."""
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", database_url)
    stores: list[Store] = []

    def make(paths: dict[str, str], **ingest: object) -> tuple[Callable[[], IngestReport], Store]:
        sources = {
            name: feed_server.url(path) if path.startswith("/") else path
            for name, path in paths.items()
        }
        config = load_config(write_config(tmp_path, sources, **ingest))
        store = Store.open(config.database_url)
        stores.append(store)
        return (lambda: ingest_once(config, store)), store

    yield make
    for store in stores:
        store.close()


def by_source(report: IngestReport) -> dict[str, tuple[str, int]]:
    return {s.source: (s.status, s.new) for s in report.sources}


def test_first_run_stores_every_entry_then_304s_then_only_new_entries(setup, feed_server) -> None:
    feed_server.set_feed("/a.xml", rss("A", news_items("alpha", 5)))
    feed_server.set_feed("/b.xml", rss("B", news_items("beta", 3)))
    run, store = setup({"Alpha": "/a.xml", "Beta": "/b.xml"})

    assert by_source(run()) == {"Alpha": ("ok", 5), "Beta": ("ok", 3)}
    assert store.count_articles() == 8

    second = run()
    assert by_source(second) == {"Alpha": ("not_modified", 0), "Beta": ("not_modified", 0)}
    assert second.fetched == 2 and store.count_articles() == 8
    assert "if-none-match" in {k.lower() for k in feed_server.requests_to("/a.xml")[-1].headers}

    feed_server.set_feed("/a.xml", rss("A", news_items("alpha", 7)))  # two more items
    third = run()
    assert by_source(third) == {"Alpha": ("ok", 2), "Beta": ("not_modified", 0)}
    assert [s.seen for s in third.sources if s.source == "Alpha"] == [5]
    assert store.count_articles() == 10


def test_canonical_urls_drop_tracking_and_one_story_in_two_feeds_is_stored_once(
    setup, feed_server
) -> None:
    items = news_items("alpha", 2)
    feed_server.set_feed("/a.xml", rss("A", items))
    copy = [
        dict(
            items[0],
            guid="other-guid",
            link=items[0]["link"].replace("utm_source=rss", "utm_medium=x"),
        )
    ]
    feed_server.set_feed("/b.xml", rss("B", copy))
    run, store = setup({"Alpha": "/a.xml", "Beta": "/b.xml"})
    run()
    urls = sorted(a.url for a in store.iter_articles())
    assert urls == ["https://alpha.test/news/story-0", "https://alpha.test/news/story-1"]


FAULTS: dict[str, Callable[[FeedServer], str]] = {
    "stall": lambda s: (s.set_feed("/bad"), s.set_stall("/bad", 10))[-1] or "/bad",
    "trickle": lambda s: s.set_trickle("/bad", 0.5) or "/bad",
    "http 404": lambda s: s.set_status("/bad", 404) or "/bad",
    "http 500": lambda s: s.set_status("/bad", 500) or "/bad",
    "http 429": lambda s: s.set_status("/bad", 429, retry_after="600") or "/bad",
    "redirect loop": lambda s: (
        (s.set_redirect("/bad", "/bad2"), s.set_redirect("/bad2", "/bad")) and "/bad"
    ),
    "html page": lambda s: s.set_html("/bad") and "/bad",
    "malformed xml": lambda s: (
        s.set_raw(
            "/bad",
            b'<?xml version="1.0"?><rss version="2.0"><<<>>>',
            {"Content-Type": "application/rss+xml"},
        )
        or "/bad"
    ),
    "bad encoding": lambda s: (
        s.set_raw(
            "/bad",
            b"\x1f\x8b\x08\x00garbage-gzip",
            {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
        )
        or "/bad"
    ),
    "over the cap": lambda s: s.set_huge("/bad", 1024 * 1024) or "/bad",
    "entity bomb": lambda s: (
        s.set_raw("/bad", BILLION_LAUGHS.encode(), {"Content-Type": "application/rss+xml"})
        or "/bad"
    ),
    "dns": lambda s: "http://no-such-host.invalid/feed.xml",
    "refused": lambda s: "http://127.0.0.1:9/feed.xml",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_failing_feed_is_recorded_and_the_others_are_stored(
    setup, feed_server, fault: str
) -> None:
    feed_server.set_feed("/good.xml", rss("Good", news_items("good", 4)))
    bad = FAULTS[fault](feed_server)
    run, store = setup({"Good": "/good.xml", "Bad": bad})
    report = run()
    assert by_source(report)["Good"] == ("ok", 4)
    assert by_source(report)["Bad"][0] == "error"
    assert report.fetched == 1 and report.failed == 1
    health = {h.name: h for h in store.source_health()}
    assert health["Bad"].consecutive_failures == 1 and health["Bad"].last_error
    assert health["Bad"].articles == 0  # a failed feed stores nothing
    assert health["Good"].articles == 4 and health["Good"].last_error is None
    run()
    assert {h.name: h for h in store.source_health()}["Bad"].consecutive_failures == 2


def test_an_entity_bomb_is_a_failed_source_that_says_why(setup, feed_server) -> None:
    feed_server.set_raw("/bomb.xml", BILLION_LAUGHS.encode(), {"Content-Type": "application/xml"})
    run, store = setup({"Bomb": "/bomb.xml"})
    assert by_source(run())["Bomb"] == ("error", 0)
    (health,) = store.source_health()  # what `storywatch sources status` shows
    assert health.last_status == "error" and health.articles == 0
    assert "rejected an entity bomb" in (health.last_error or "")
    assert list(store.iter_articles()) == []


def test_a_bozo_feed_keeps_the_entries_it_could_read(setup, feed_server) -> None:
    # An undefined entity makes the XML not well-formed; feedparser still reads both items.
    body = rss("Bozo", news_items("bozo", 2)).replace(b"story number 0", b"story &nosuch; 0")
    feed_server.set_feed("/bozo.xml", body)
    run, store = setup({"Bozo": "/bozo.xml"})
    report = run()
    assert by_source(report) == {"Bozo": ("ok", 2)}
    assert report.sources[0].note and "not well-formed" in report.sources[0].note
    assert store.count_articles() == 2


def test_an_entry_cut_off_by_a_truncated_body_is_stored_whole_from_the_next_copy(
    setup, feed_server
) -> None:
    body = rss("Cut", news_items("cut", 3))
    feed_server.set_feed("/cut.xml", body[: body.rindex(b"<pubDate>")])  # the last date is lost
    run, store = setup({"Cut": "/cut.xml"})
    report = run()
    assert by_source(report) == {"Cut": ("ok", 2)}
    assert report.sources[0].note and "cut short inside its last entry" in report.sources[0].note
    (health,) = store.source_health()  # `sources status` shows the warning
    assert health.last_status == "ok" and "cut short" in (health.last_note or "")
    feed_server.set_feed("/cut.xml", body)
    assert by_source(run()) == {"Cut": ("ok", 1)}
    assert store.source_health()[0].last_note is None  # clean again
    stored = {a.title: a for a in store.iter_articles()}
    last = stored["cut story number 2"]
    assert not last.date_missing  # the feed's own date, not the fetch time
    assert last.published == BASE_DATE + timedelta(hours=2)


def test_all_sources_failing_means_nothing_fetched(setup, feed_server) -> None:
    feed_server.set_status("/x", 503)
    run, _ = setup({"Down": "/x"}, retries=0)
    report = run()
    assert report.fetched == 0 and report.failed == 1


def test_a_big_run_parses_in_worker_processes_and_loses_nothing(
    setup, feed_server, monkeypatch
) -> None:
    """From PARALLEL_PARSE_MIN_SOURCES sources the parse pool starts; a broken feed among
    them still fails alone, and every other entry is stored once."""
    from storywatch.pipeline import ingest
    from storywatch.pipeline.ingest import PARALLEL_PARSE_MIN_SOURCES

    pools: list[object] = []
    make_pool = ingest._Parsers._make_pool
    monkeypatch.setattr(
        ingest._Parsers, "_make_pool", lambda self: pools.append(make_pool(self)) or pools[-1]
    )

    count = PARALLEL_PARSE_MIN_SOURCES + 5
    paths = {f"Feed {n}": f"/f{n}.xml" for n in range(count)}
    for n in range(count):
        feed_server.set_feed(f"/f{n}.xml", rss(f"F{n}", news_items(f"feed{n}-", 3)))
    feed_server.set_feed("/f7.xml", b"<rss><channel><item><title>cut off")
    run, store = setup(paths, concurrency=8, per_host=8)

    report = run()
    statuses = by_source(report)
    assert statuses.pop("Feed 7")[0] == "error"
    assert set(statuses.values()) == {("ok", 3)} and len(statuses) == count - 1
    assert store.count_articles() == 3 * (count - 1)
    assert [s.source for s in report.sources] == list(paths)  # reports in config order
    assert len(pools) == (1 if (os.cpu_count() or 1) > 1 else 0)  # the pool started, once
