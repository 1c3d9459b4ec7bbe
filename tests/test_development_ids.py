"""Development ids stay put across re-detection and are never given twice (SQLite and PostgreSQL).

An id names one development for good: it is in mailed digests (the ledger of what each reader
was told) and in `developments dismiss ID`. A re-detection after a seed or engine change, or
after an article is gone, keeps the id of every development it finds again (by its articles)
and gives a genuinely new development a number never used in the storyline before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from storywatch.config.config import Config, load_config
from storywatch.pipeline.detect import detect_storyline, dismiss_development, redetect_storyline
from storywatch.pipeline.digests import compose_digests
from storywatch.pipeline.ingest import ingest_once
from storywatch.store.repository import Store
from storywatch.store.schema import ArticleRow, DigestDevelopmentRow
from storywatch.storyline import Development, Memory
from storywatch.storyline.memory import ArticleRef, carry_ids
from tests.factories import rss
from tests.feedserver import FeedServer
from tests.storyfeeds import ITEM_SWAP, SEED, STORYLINE, canonical, item, write_story_config

DAY = f"{STORYLINE}-20250413"
# Three more developments on the swap's day (13 April), invented for these tests.
ITEM_TRUCE = item(
    "truce",
    "beta",
    "Russia and Ukraine agree to halt strikes on power plants",
    "Moscow and Kyiv agreed on Sunday to stop attacking each other's energy facilities for "
    "30 days.",
    13,
    12,
)
ITEM_AID = item(
    "aid",
    "alpha",
    "Germany pledges new air defence aid to Ukraine",
    "Germany promised Ukraine four more air defence systems on Sunday, Berlin said.",
    13,
    18,
)
ITEM_GENEVA = item(
    "geneva",
    "beta",
    "Witkoff meets Zelensky in Geneva",
    "Steve Witkoff met Volodymyr Zelensky in Geneva on Sunday to discuss a peace plan.",
    13,
    20,
)
# A seed that already tells the reader about the swap: re-detected, the swap is known.
SEED_WITH_SWAP = SEED + "\nOn 13 April Ukraine and Russia swapped 200 prisoners of war.\n"
RECIPIENT = "desk@example.org"

World = tuple[Config, Store, Callable[[list[dict], list[dict]], None]]


@pytest.fixture
def world(
    tmp_path: Path, feed_server: FeedServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """The truce-talks config over /alpha.xml and /beta.xml, its store, and ``serve``."""
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", database_url)
    config = load_config(
        write_story_config(
            tmp_path, {"Alpha": feed_server.url("/alpha.xml"), "Beta": feed_server.url("/beta.xml")}
        )
    )

    def serve(alpha: list[dict], beta: list[dict]) -> None:
        feed_server.set_feed("/alpha.xml", rss("Alpha", alpha))
        feed_server.set_feed("/beta.xml", rss("Beta", beta))

    store = Store.open(config.database_url)
    yield config, store, serve
    store.close()


def run_once(config: Config, store: Store) -> None:
    report = ingest_once(config, store, workers=1)
    detect_storyline(config, STORYLINE, store, run_id=report.run_id)


def ids_by_url(store: Store) -> dict[str, str]:
    """First article's URL -> the development's id, for every exported development."""
    return {d.articles[0].url: d.id for d in store.iter_developments()}


def mailed(store: Store) -> list[str]:
    with store.session() as session:
        query = select(DigestDevelopmentRow.development_id).where(
            DigestDevelopmentRow.recipient == RECIPIENT
        )
        return sorted(session.scalars(query))


def write_seed(config: Config, text: str) -> None:
    config.seed_path(config.storylines[0]).write_text(text, encoding="utf-8")


def drop_article(store: Store, entry: dict[str, str]) -> None:
    with store.session() as session, session.begin():
        session.execute(delete(ArticleRow).where(ArticleRow.url == canonical(entry)))


def test_redetect_after_an_article_is_dropped_keeps_the_other_ids(world: World) -> None:
    config, store, serve = world
    serve([ITEM_SWAP, ITEM_AID], [ITEM_TRUCE])
    run_once(config, store)
    assert ids_by_url(store) == {
        canonical(ITEM_SWAP): f"{DAY}-01",
        canonical(ITEM_TRUCE): f"{DAY}-02",
        canonical(ITEM_AID): f"{DAY}-03",
    }
    drop_article(store, ITEM_SWAP)
    survivors = {canonical(ITEM_TRUCE): f"{DAY}-02", canonical(ITEM_AID): f"{DAY}-03"}
    replay = redetect_storyline(config, STORYLINE, store)
    assert [d["id"] for d in replay.developments] == [f"{DAY}-02", f"{DAY}-03"]
    assert ids_by_url(store) == survivors
    redetect_storyline(config, STORYLINE, store, since=datetime(2025, 4, 13, tzinfo=UTC))
    assert ids_by_url(store) == survivors

    # The swap's id is spent: a later development of that day takes a fresh number.
    serve([ITEM_AID], [ITEM_TRUCE, ITEM_GENEVA])
    run_once(config, store)
    assert ids_by_url(store) == {**survivors, canonical(ITEM_GENEVA): f"{DAY}-04"}


def test_what_was_mailed_keeps_its_id_and_is_not_mailed_again(world: World) -> None:
    config, store, serve = world
    serve([ITEM_SWAP], [ITEM_TRUCE])
    run_once(config, store)
    (digest,) = compose_digests(config, store)
    assert digest.developments == 2 and mailed(store) == [f"{DAY}-01", f"{DAY}-02"]

    # The seed now tells the swap: re-detected, it is known; the truce stays the -02 mailed.
    write_seed(config, SEED_WITH_SWAP)
    replay = redetect_storyline(config, STORYLINE, store)
    assert [d["id"] for d in replay.developments] == [f"{DAY}-02"]
    assert ids_by_url(store) == {canonical(ITEM_TRUCE): f"{DAY}-02"}
    assert compose_digests(config, store) == []

    # A genuinely new development of that day never takes the mailed (now unused) -01.
    serve([ITEM_SWAP, ITEM_AID], [ITEM_TRUCE])
    run_once(config, store)
    assert ids_by_url(store)[canonical(ITEM_AID)] == f"{DAY}-03"
    (digest,) = compose_digests(config, store)
    assert digest.developments == 1
    assert mailed(store) == [f"{DAY}-01", f"{DAY}-02", f"{DAY}-03"]


def test_a_development_found_again_gets_its_old_id_back(world: World) -> None:
    config, store, serve = world
    serve([ITEM_SWAP], [ITEM_TRUCE])
    run_once(config, store)
    compose_digests(config, store)
    write_seed(config, SEED_WITH_SWAP)
    redetect_storyline(config, STORYLINE, store)
    # The seed change is undone: the swap is news again, under the id the reader was mailed.
    write_seed(config, SEED)
    redetect_storyline(config, STORYLINE, store)
    assert ids_by_url(store) == {
        canonical(ITEM_SWAP): f"{DAY}-01",
        canonical(ITEM_TRUCE): f"{DAY}-02",
    }
    assert compose_digests(config, store) == []
    assert dismiss_development(config, store, f"{DAY}-01") is True
    assert ids_by_url(store) == {canonical(ITEM_TRUCE): f"{DAY}-02"}


def test_a_new_development_never_takes_a_mailed_id_of_a_redetected_window(world: World) -> None:
    """A window re-detection from the swap's day with the swap's article gone."""
    config, store, serve = world
    serve([ITEM_SWAP], [])
    run_once(config, store)
    compose_digests(config, store)
    drop_article(store, ITEM_SWAP)
    redetect_storyline(config, STORYLINE, store, since=datetime(2025, 4, 13, tzinfo=UTC))
    assert ids_by_url(store) == {}
    serve([ITEM_AID], [ITEM_TRUCE])
    run_once(config, store)
    assert ids_by_url(store) == {
        canonical(ITEM_TRUCE): f"{DAY}-02",
        canonical(ITEM_AID): f"{DAY}-03",
    }
    (digest,) = compose_digests(config, store)
    assert digest.developments == 2


# -- the pure part: which earlier id a re-detected development keeps ------------------------


def development(dev_id: str, *urls: str) -> Development:
    return Development(
        id=dev_id,
        origin="detected",
        novelty="new",
        types={"meeting"},
        title=dev_id,
        summary="",
        first_seen="2025-04-13T10:00:00+00:00",
        articles=[ArticleRef(url=u) for u in urls],
    )


def test_carry_ids_follows_the_largest_article_overlap() -> None:
    earlier = [development("old-1", "a", "b", "c"), development("old-2", "d")]
    # "a" alone splits off; "b" and "c" are the bulk of old-1; "e" is news.
    again = [development("n-1", "a"), development("n-2", "b", "c"), development("n-3", "e")]
    assert carry_ids(earlier, again) == {"n-2": "old-1"}


def test_carry_ids_breaks_a_tie_by_the_first_article() -> None:
    earlier = [development("old-1", "a", "b")]
    again = [development("n-1", "b"), development("n-2", "a")]
    assert carry_ids(earlier, again) == {"n-2": "old-1"}
    assert carry_ids([], again) == {}


def test_next_id_skips_reserved_ids_and_the_memory_keeps_them() -> None:
    memory = Memory([development(f"{DAY}-02")], reserved={f"{DAY}-01", f"{DAY}-03"})
    assert memory.next_id(STORYLINE, datetime(2025, 4, 13, 9, tzinfo=UTC)) == f"{DAY}-04"
    restored = Memory.from_dict(memory.to_dict())
    assert restored.reserved == memory.reserved
    assert memory.copy().next_id(STORYLINE, datetime(2025, 4, 13, tzinfo=UTC)) == f"{DAY}-04"
    assert "reserved" not in Memory().to_dict()  # the stored shape is unchanged without any
