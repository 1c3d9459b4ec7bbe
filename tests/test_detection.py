"""Detection against the store (no Prefect): real feed server, real SQLite and PostgreSQL.

Memory survives restarts, repeats fold, dismissals stick, re-detection reproduces, and two
overlapping detections never duplicate a development or a link.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storywatch.config.config import Config, load_config
from storywatch.pipeline.detect import (
    StorylineDetection,
    UnknownDevelopment,
    detect_storyline,
    dismiss_development,
    redetect_storyline,
)
from storywatch.pipeline.ingest import ingest_once
from storywatch.store.repository import Store
from storywatch.store.schema import ArticleRow, AssessmentRow, DevelopmentArticleRow, DevelopmentRow
from tests.factories import rss
from tests.feedserver import FeedServer
from tests.storyfeeds import (
    ITEM_BAKERY,
    ITEM_PHONE,
    ITEM_SWAP,
    ITEM_SWAP_REPEAT,
    ITEM_TALKS,
    ITEM_TALKS_REPEAT,
    STORYLINE,
    canonical,
    write_story_config,
)

World = tuple[Config, Callable[[], Store]]


@pytest.fixture
def world(
    tmp_path: Path, feed_server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """A config over /alpha.xml and /beta.xml; ``open_store()`` opens a NEW store each time
    (a restart), all closed at the end."""
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", database_url)
    config = load_config(
        write_story_config(
            tmp_path, {"Alpha": feed_server.url("/alpha.xml"), "Beta": feed_server.url("/beta.xml")}
        )
    )
    stores: list[Store] = []

    def open_store() -> Store:
        stores.append(Store.open(config.database_url))
        return stores[-1]

    yield config, open_store
    for store in stores:
        store.close()


def serve(feed_server: FeedServer, alpha: list[dict], beta: list[dict]) -> None:
    feed_server.set_feed("/alpha.xml", rss("Alpha", alpha))
    feed_server.set_feed("/beta.xml", rss("Beta", beta))


def run_once(config: Config, store: Store) -> StorylineDetection:
    report = ingest_once(config, store, workers=1)
    return detect_storyline(config, STORYLINE, store, run_id=report.run_id)


def exported(store: Store) -> list[tuple[str, str, list[str], list[str]]]:
    return [
        (d.id, d.novelty, d.types, [a.url for a in d.articles]) for d in store.iter_developments()
    ]


def test_detection_persists_and_memory_survives_a_restart(
    world: World, feed_server: FeedServer
) -> None:
    config, open_store = world
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [ITEM_PHONE, ITEM_BAKERY])
    first = run_once(config, open_store())
    assert first.assessed == 4 and first.relevant == 3
    assert [set(d["types"]) for d in first.developments] == [{"meeting"}, {"prisoner_exchange"}]
    talks_id, swap_id = (d["id"] for d in first.developments)
    assert talks_id.startswith(f"{STORYLINE}-20250411-")

    # A new process (a restart): the memory comes from the database; the repeats fold.
    serve(
        feed_server,
        [ITEM_TALKS, ITEM_SWAP],
        [ITEM_PHONE, ITEM_BAKERY, ITEM_TALKS_REPEAT, ITEM_SWAP_REPEAT],
    )
    store = open_store()
    second = run_once(config, store)
    assert second.assessed == 2 and second.developments == []
    assert sorted(second.extended) == sorted([talks_id, swap_id])
    assert exported(store) == [
        (talks_id, "new", ["meeting"], [canonical(ITEM_TALKS), canonical(ITEM_TALKS_REPEAT)]),
        (
            swap_id,
            "new",
            ["prisoner_exchange"],
            [canonical(ITEM_SWAP), canonical(ITEM_SWAP_REPEAT)],
        ),
    ]
    # Nothing pending: a third pass assesses nothing and changes nothing.
    assert detect_storyline(config, STORYLINE, store).assessed == 0
    assert len(exported(store)) == 2


def test_article_relevance_and_scores_come_from_assessments(
    world: World, feed_server: FeedServer
) -> None:
    config, open_store = world
    serve(feed_server, [ITEM_TALKS], [ITEM_BAKERY, ITEM_PHONE])
    store = open_store()
    run_once(config, store)
    relevance = store.article_relevance()
    by_url = {a.url: relevance[a.id] for a in store.iter_articles()}
    assert by_url[canonical(ITEM_BAKERY)][0] is False
    assert by_url[canonical(ITEM_TALKS)][0] is True and by_url[canonical(ITEM_TALKS)][1] > 0.5
    assert by_url[canonical(ITEM_PHONE)][0] is True  # relevant, but known: no development


def test_dismissed_development_leaves_the_export_and_its_repeat_stays_quiet(
    world: World, feed_server: FeedServer
) -> None:
    config, open_store = world
    serve(feed_server, [ITEM_SWAP], [])
    store = open_store()
    (swap,) = run_once(config, store).developments
    assert dismiss_development(config, store, swap["id"]) is True
    assert dismiss_development(config, store, swap["id"]) is False  # already
    assert exported(store) == []
    with pytest.raises(UnknownDevelopment):
        dismiss_development(config, store, "truce-talks-20990101-01")

    serve(feed_server, [ITEM_SWAP], [ITEM_SWAP_REPEAT])
    again = run_once(config, open_store())
    assert again.developments == [] and again.assessed == 1
    with store.session() as session:
        verdict = session.execute(
            select(AssessmentRow.novelty, AssessmentRow.development_id)
            .join(ArticleRow, ArticleRow.id == AssessmentRow.article_id)
            .where(ArticleRow.url == canonical(ITEM_SWAP_REPEAT))
        ).one()
    assert tuple(verdict) == ("known", swap["id"])  # folded into the dismissed development


def test_redetect_reproduces_the_developments_without_refetching(
    world: World, feed_server: FeedServer
) -> None:
    config, open_store = world
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [ITEM_PHONE, ITEM_BAKERY])
    store = open_store()
    run_once(config, store)
    serve(
        feed_server,
        [ITEM_TALKS, ITEM_SWAP],
        [ITEM_PHONE, ITEM_BAKERY, ITEM_TALKS_REPEAT, ITEM_SWAP_REPEAT],
    )
    run_once(config, store)
    before = exported(store)
    requests = len(feed_server.requests_to("/alpha.xml")) + len(
        feed_server.requests_to("/beta.xml")
    )

    full = redetect_storyline(config, STORYLINE, store)
    assert full.assessed == 6 and len(full.developments) == 2
    assert exported(store) == before

    since = datetime(2025, 4, 13, tzinfo=UTC)  # the swap and its repeat only
    window = redetect_storyline(config, STORYLINE, store, since=since)
    assert window.assessed == 2 and [d["types"] for d in window.developments] == [
        ["prisoner_exchange"]
    ]
    assert exported(store) == before
    assert (
        len(feed_server.requests_to("/alpha.xml")) + len(feed_server.requests_to("/beta.xml"))
        == requests
    )
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(AssessmentRow)) == 6


def test_redetect_keeps_a_dismissal(world: World, feed_server: FeedServer) -> None:
    config, open_store = world
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [])
    store = open_store()
    talks, swap = run_once(config, store).developments
    dismiss_development(config, store, swap["id"])
    replay = redetect_storyline(config, STORYLINE, store)
    assert [d["id"] for d in replay.developments] == [talks["id"]]
    assert [d[0] for d in exported(store)] == [talks["id"]]


def test_overlapping_detections_never_duplicate(world: World, feed_server: FeedServer) -> None:
    config, open_store = world
    serve(
        feed_server,
        [ITEM_TALKS, ITEM_SWAP],
        [ITEM_PHONE, ITEM_BAKERY, ITEM_TALKS_REPEAT, ITEM_SWAP_REPEAT],
    )
    ingest_once(config, open_store(), workers=1)
    stores = [open_store() for _ in range(3)]
    barrier = threading.Barrier(len(stores))
    reports: list[StorylineDetection] = []
    errors: list[BaseException] = []

    def detect_in(store: Store) -> None:
        barrier.wait()
        try:
            reports.append(detect_storyline(config, STORYLINE, store))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=detect_in, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.assessed for r in reports) == 6  # each article assessed exactly once
    assert sum(len(r.developments) for r in reports) == 2
    with stores[0].session() as session:
        assert session.scalar(select(func.count()).select_from(DevelopmentRow)) == 2
        assert session.scalar(select(func.count()).select_from(DevelopmentArticleRow)) == 4
        assert session.scalar(select(func.count()).select_from(AssessmentRow)) == 6


def test_a_seed_with_text_only_detects_nothing_and_does_not_fail(
    tmp_path: Path, feed_server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.factories import news_items, write_config

    monkeypatch.setenv("STORYWATCH_DATABASE_URL", database_url)
    feed_server.set_feed("/a.xml", rss("A", news_items("alpha", 3)))
    config = load_config(write_config(tmp_path, {"A": feed_server.url("/a.xml")}))
    store = Store.open(config.database_url)
    try:
        report = ingest_once(config, store, workers=1)
        detection = detect_storyline(config, "test-story", store, run_id=report.run_id)
        assert (detection.assessed, detection.relevant, detection.developments) == (3, 0, [])
        assert all(not r for r, _ in store.article_relevance().values())
    finally:
        store.close()


def test_the_artifact_table_lists_each_new_development_with_its_outlets(
    world: World, feed_server: FeedServer
) -> None:
    config, open_store = world
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [ITEM_TALKS_REPEAT, ITEM_BAKERY])
    rows = run_once(config, open_store()).table()
    assert [(r["types"], r["articles"], r["outlets"]) for r in rows] == [
        ("meeting", 2, 2),
        ("prisoner_exchange", 1, 1),
    ]
    assert rows[0]["title"] == ITEM_TALKS["title"] and rows[0]["novelty"] == "new"
    # A second run over the same feeds: nothing new, so the table is empty.
    assert run_once(config, open_store()).table() == []


# -- computing outside the database lock (the storyline's lease) ------------------------------


def _during_compute(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> list[int]:
    """Run ``action`` inside the engine's first computation (no later ones); return a list
    that counts every computation."""
    import storywatch.pipeline.detect as detection

    real = detection.detect
    calls: list[int] = []

    def detect_with_action(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            action()
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(detection, "detect", detect_with_action)
    return calls


def test_a_detection_computes_without_holding_the_database(
    world: World, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a detection (here a full replay) computes, ingest can write: SQLite's one write
    lock is free (a write with a 0.5 s busy timeout goes through), and a live detection of
    the same storyline does not queue behind it: it defers at once (wait=0)."""
    config, open_store = world
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [ITEM_PHONE, ITEM_BAKERY])
    store = open_store()
    run_once(config, store)
    seen: dict[str, object] = {}

    def meanwhile() -> None:
        if config.database_url.startswith("sqlite"):
            import sqlite3

            other = sqlite3.connect(config.database_url.removeprefix("sqlite:///"), timeout=0.5)
            other.execute("BEGIN IMMEDIATE")  # the write lock, as an ingest takes it
            other.execute("COMMIT")
            other.close()
            seen["wrote"] = True
        live = detect_storyline(config, STORYLINE, open_store(), wait=0)
        seen["live deferred"] = live.deferred

    calls = _during_compute(monkeypatch, meanwhile)
    replay = redetect_storyline(config, STORYLINE, store)
    assert seen["live deferred"] is True
    assert seen.get("wrote", True) is True
    assert len(calls) == 1 and replay.assessed == 4 and len(replay.developments) == 2


def test_a_write_during_the_computation_makes_it_compute_again(
    world: World, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dismissal lands while a replay computes from its snapshot: the replay's write sees
    the storyline moved, computes again from the new state, and the dismissal stands."""
    config, open_store = world
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [])
    store = open_store()
    talks, swap = run_once(config, store).developments
    calls = _during_compute(
        monkeypatch, lambda: dismiss_development(config, open_store(), swap["id"])
    )
    replay = redetect_storyline(config, STORYLINE, store)
    assert len(calls) == 2  # the first result was dropped, not written over the dismissal
    assert [d["id"] for d in replay.developments] == [talks["id"]]
    assert [d[0] for d in exported(store)] == [talks["id"]]


def test_a_lease_left_by_a_dead_process_is_taken_over(
    world: World, feed_server: FeedServer
) -> None:
    """A lease beaten within LEASE_QUIET defers a live detection; one silent for longer was
    left by a process that died and does not hold the storyline."""
    from datetime import timedelta

    from sqlalchemy import update

    from storywatch.store.schema import utcnow
    from storywatch.store.storylines import LEASE_QUIET
    from storywatch.store.tables import STORYLINES

    config, open_store = world
    serve(feed_server, [ITEM_TALKS], [])
    store = open_store()
    ingest_once(config, store, workers=1)
    detect_storyline(config, STORYLINE, store)  # registers the storyline

    def leave_lease(age: timedelta) -> None:
        with store.engine.begin() as conn:
            conn.execute(
                update(STORYLINES).values(lease_owner="dead-process", lease_beat=utcnow() - age)
            )

    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [])
    ingest_once(config, store, workers=1)
    leave_lease(LEASE_QUIET - timedelta(seconds=30))
    assert detect_storyline(config, STORYLINE, store, wait=0).deferred is True
    leave_lease(LEASE_QUIET + timedelta(seconds=30))
    report = detect_storyline(config, STORYLINE, store, wait=0)
    assert not report.deferred and report.assessed == 1
    with store.engine.connect() as conn:  # and it let go when it was done
        assert conn.scalar(select(STORYLINES.c.lease_owner)) is None
