"""Near-duplicate detection: pure dedupe, clusters in the store (both databases), the devset."""

from __future__ import annotations

import csv
import io
import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storywatch import dedupe
from storywatch.dedupe import ArticleText, assign_clusters, fingerprint, fingerprint_many
from storywatch.fetch.model import FetchResult
from storywatch.parse.feedparser import parse_feed
from storywatch.parse.normalise import Article, normalise_feed
from storywatch.pipeline.cluster import cluster_new_articles
from storywatch.store.repository import Store
from storywatch.store.schema import BandRow, ClusterRow, FingerprintRow
from storywatch.store.sources import FetchRecord
from tests.conftest import shared_path
from tests.factories import write_config
from tests.test_cli import storywatch

T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)

# Our own words: a harbour story, its syndicated copy, and an unrelated story from the same
# outlet with the same dateline and boilerplate.
HARBOUR_TITLE = "Storm closes Baltic harbour as ferry operators cancel crossings"
HARBOUR = (
    "Gales of up to 110 km/h closed the port of Klaipeda on Tuesday, and three ferry operators "
    "cancelled every crossing to Kiel and Karlshamn until Thursday. Harbour officials said two "
    "cargo ships were sheltering outside the breakwater and that no one had been hurt. "
    "Forecasters expect the wind to ease by Wednesday evening, although heavy rain may delay "
    "the clean-up of the container terminal."
)
HARBOUR_COPY_TITLE = "Baltic port shut by gales; ferries cancelled"
HARBOUR_COPY = (  # retitled, lead trimmed: the last sentence is gone, a clause is shortened
    "Gales of up to 110 km/h closed the port of Klaipeda on Tuesday, and three ferry operators "
    "cancelled every crossing to Kiel and Karlshamn until Thursday. Harbour officials said two "
    "cargo ships were sheltering outside the breakwater."
)
ORCHARD_TITLE = "Late frost cuts apple harvest forecast for Lithuanian orchards"
ORCHARD = (
    "Growers in the south of the country expect to pick about a third fewer apples this autumn "
    "after two nights of frost damaged the blossom in May, the farmers' union said on Tuesday. "
    "The union asked the agriculture ministry for emergency support to cover lost income."
)


def text(n: int, title: str, body: str, source: str = "", hours: int = 0) -> ArticleText:
    return ArticleText(n, T0 + timedelta(hours=hours), title, body, source)


# -- pure --------------------------------------------------------------------------------------


def test_a_syndicated_copy_with_a_new_title_and_trimmed_lead_folds() -> None:
    original = fingerprint(text(1, HARBOUR_TITLE, HARBOUR))
    copy = fingerprint(text(2, HARBOUR_COPY_TITLE, HARBOUR_COPY, hours=3))
    same, similarity = dedupe.is_near_duplicate(original, copy)
    assert same and similarity > dedupe.CONTAINMENT_JACCARD_MIN
    assert set(original.bands) & set(copy.bands)  # the LSH index finds it as a candidate


def test_two_stories_with_the_same_dateline_and_boilerplate_do_not_fold() -> None:
    wrap = "VILNIUS, Lithuania (Baltic Wire) - {} Read more: weather and farming news on our site"
    a = fingerprint(text(1, HARBOUR_TITLE + " - Baltic Wire", wrap.format(HARBOUR)))
    b = fingerprint(text(2, ORCHARD_TITLE + " - Baltic Wire", wrap.format(ORCHARD)))
    assert dedupe.is_near_duplicate(a, b) == (False, pytest.approx(0.0, abs=0.1))
    assert [x.cluster_id for x in assign_clusters([a, b], {})] == [1, 2]


@pytest.mark.parametrize(
    ("title", "body", "source", "expected"),
    [
        ("Talks resume - Example Wire", "KYIV, Ukraine (Reuters) - Envoys met.", "", "Envoys met."),
        ("Talks resume | The Daily Planet", "LONDON — Envoys met.", "", "Envoys met."),
        ("Talks resume", "Reuters - Envoys met on Monday.", "", "Envoys met on Monday."),
        ("Talks resume", "By Ann Lee and Bo Park\nEnvoys met.", "", "Envoys met."),
        ("Talks resume", "Envoys met. Read more: a different story", "", "Envoys met."),
        ("Talks resume", "Envoys met. Reporting by Ann Lee; editing by Bo Park", "", "Envoys met."),
        (
            "Talks resume",
            "Envoys met. The post Talks resume appeared first on Daily Planet.",
            "",
            "Envoys met.",
        ),
        ("Talks resume", "Envoys met, officials said. (AFP)", "", "Envoys met, officials said."),
        (
            "Talks resume",
            "Envoys met. © 2025 Daily Planet. All rights reserved.",
            "",
            "Envoys met.",
        ),
        ("Planet: talks resume", "Daily Planet reports envoys met.", "Daily Planet", "reports"),
    ],
)
def test_boilerplate_is_stripped(title: str, body: str, source: str, expected: str) -> None:
    stripped_title, stripped = dedupe.strip_boilerplate(title, body, source)
    assert stripped_title.strip().lower().endswith("talks resume")
    assert expected in stripped
    assert "Planet" not in stripped and "Reuters" not in stripped and "Read more" not in stripped


def test_boilerplate_stripping_keeps_ordinary_sentences() -> None:
    body = "Analysts expect to see more talks. The reporting by state media was brief."
    assert dedupe.strip_boilerplate("Talks", body) == ("Talks", body)


def test_short_texts_never_fold_and_a_batch_folds_its_own_copies() -> None:
    short = fingerprint_many([text(1, "Live updates", ""), text(2, "Live updates", "")])
    assert [a.cluster_id for a in assign_clusters(short, {})] == [1, 2]
    batch = fingerprint_many(
        [
            text(7, HARBOUR_COPY_TITLE, HARBOUR_COPY, hours=5),
            text(5, HARBOUR_TITLE, HARBOUR, hours=1),
            text(6, ORCHARD_TITLE, ORCHARD, hours=2),
        ]
    )
    by_id = {a.article_id: a for a in assign_clusters(batch, {})}
    assert (by_id[5].cluster_id, by_id[6].cluster_id, by_id[7].cluster_id) == (5, 6, 5)
    assert by_id[7].matched == 5 and by_id[5].matched is None


def test_signatures_are_deterministic() -> None:
    a = fingerprint(text(1, HARBOUR_TITLE, HARBOUR))
    assert a.signature == fingerprint(text(2, HARBOUR_TITLE, HARBOUR)).signature
    assert len(a.signature) == 4 * dedupe.NUM_PERM and len(a.bands) == dedupe.BANDS


def test_confirmed_matches_keep_exactly_the_candidates_that_can_fold() -> None:
    stored_texts = [
        text(1, HARBOUR_TITLE, HARBOUR),
        text(2, ORCHARD_TITLE, ORCHARD),
        text(3, "Live updates", ""),  # too short to fold
    ]
    stored = {
        f.article_id: dedupe.StoredSignature(
            f.article_id, f.shingles, f.signature, f.bands, f.bucket
        )
        for f in fingerprint_many(stored_texts)
    }
    new = fingerprint_many([text(9, HARBOUR_COPY_TITLE, HARBOUR_COPY), text(8, "Live updates", "")])
    assert dedupe.confirmed_matches(new, stored) == [1]
    # every band key shared (as if by chance): still only the verified copy is kept
    everything = tuple(k for f in new for k in f.bands)
    loose = {
        i: dedupe.StoredSignature(i, s.shingles, s.signature, everything, s.bucket)
        for i, s in stored.items()
    }
    assert dedupe.confirmed_matches(new, loose) == [1]


def test_copies_fold_within_the_time_window_and_never_far_outside_it() -> None:
    """Copies up to BUCKET_DAYS apart (before or after) always fold; 2 x BUCKET_DAYS or more
    apart never do, within one batch as across batches (confirmed_matches)."""
    period = timedelta(days=dedupe.BUCKET_DAYS)
    original = text(1, HARBOUR_TITLE, HARBOUR)
    for gap, folds in [
        (period, True),
        (-period, True),
        (timedelta(hours=1), True),
        (2 * period, False),
        (-2 * period - timedelta(days=3), False),
    ]:
        copy = ArticleText(2, original.published + gap, HARBOUR_COPY_TITLE, HARBOUR_COPY)
        fps = fingerprint_many([original, copy])
        got = {a.article_id: a.cluster_id for a in assign_clusters(fps, {})}
        assert (got[1] == got[2]) is folds, gap
        f = fps[0]
        stored = {1: dedupe.StoredSignature(1, f.shingles, f.signature, f.bands, f.bucket)}
        assert dedupe.confirmed_matches(fps[1:], stored) == ([1] if folds else []), gap
        assert (f.bucket in dedupe.index_probes(fps[1:])) is folds, gap  # the store's lookup


# -- store: both databases -------------------------------------------------------------------


def article(source: str, slug: str, title: str, body: str, hours: float = 0) -> Article:
    url = f"https://{source}.test/{slug}"
    return Article(
        source=source,
        url=url,
        link=url,
        guid=slug,
        title=title,
        summary=body,
        content="",
        published=T0 + timedelta(hours=hours),
        date_missing=False,
    )


def store_articles(store: Store, articles: list[Article]) -> dict[str, int]:
    """Store articles (any sources) the way ingest does; return url -> article id."""
    ids = store.sync_sources((s, f"https://{s}.test/rss") for s in {a.source for a in articles})
    for source in sorted(ids):
        mine = [a for a in articles if a.source == source]
        result = FetchResult(source=source, url="https://x.test/", status="ok", started_at=T0,
                             duration=0.1, content=b"<rss/>")  # fmt: skip
        store.save_fetch(FetchRecord(result, mine, len(mine)), ids, None)
    return {a.url: a.id for a in store.iter_articles()}


def clusters(store: Store) -> dict[str, int | None]:
    return {a.url: a.cluster for a in store.iter_articles()}


def count(store: Store, table: type) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


@pytest.fixture
def store(database_url: str):
    store = Store.open(database_url)
    yield store
    store.close()


def test_store_clusters_copies_and_keeps_every_article(store: Store) -> None:
    ids = store_articles(
        store,
        [
            article("wire", "harbour", HARBOUR_TITLE, HARBOUR),
            article("paper", "port-shut", HARBOUR_COPY_TITLE, HARBOUR_COPY, hours=2),
            article("wire", "orchards", ORCHARD_TITLE, ORCHARD, hours=1),
        ],
    )
    report = cluster_new_articles(store)
    assert (report.articles, report.folded) == (3, 1)
    got = clusters(store)
    harbour, copy = ids["https://wire.test/harbour"], ids["https://paper.test/port-shut"]
    assert got["https://paper.test/port-shut"] == got["https://wire.test/harbour"] == harbour
    assert got["https://wire.test/orchards"] == ids["https://wire.test/orchards"]
    assert store.cluster_members(harbour) == [harbour, copy]
    assert store.cluster_representatives()[harbour] == harbour
    assert cluster_new_articles(store).articles == 0  # nothing pending: nothing hashed


def test_second_batch_joins_existing_clusters_without_rehashing_the_first(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [article("wire", f"story-{n}", f"{HARBOUR_TITLE} {n}", HARBOUR) for n in range(1)]
    first.append(article("wire", "orchards", ORCHARD_TITLE, ORCHARD, hours=1))
    ids = store_articles(store, first)
    cluster_new_articles(store)
    before = clusters(store)
    hashed: list[int] = []
    real = dedupe.fingerprint_many

    def recording(texts: list[dedupe.ArticleText]) -> list[dedupe.Fingerprint]:
        hashed.extend(t.article_id for t in texts)
        return real(texts)

    monkeypatch.setattr(dedupe, "fingerprint_many", recording)
    ids = store_articles(
        store,
        [
            article("paper", "port-shut", HARBOUR_COPY_TITLE, HARBOUR_COPY, hours=4),
            # an earlier-dated copy arriving late: it becomes the representative, the id stays
            article("herald", "frost", ORCHARD_TITLE, ORCHARD, hours=0.5),
        ],
    )
    cluster_new_articles(store)
    after = clusters(store)
    late = [ids["https://paper.test/port-shut"], ids["https://herald.test/frost"]]
    assert sorted(hashed) == sorted(late)
    assert {u: c for u, c in after.items() if u in before} == before  # stable ids
    assert after["https://paper.test/port-shut"] == before["https://wire.test/story-0"]
    orchard = before["https://wire.test/orchards"]
    assert after["https://herald.test/frost"] == orchard
    assert store.cluster_representatives()[orchard] == ids["https://herald.test/frost"]
    assert count(store, FingerprintRow) == 4 and count(store, ClusterRow) == 2
    assert count(store, BandRow) <= 4 * dedupe.BANDS


def test_rebuilt_index_is_the_index_clustering_wrote(store: Store) -> None:
    store_articles(
        store,
        [  # published over several index periods
            article("wire", f"s{n}", f"{HARBOUR_TITLE} {n}", f"{ORCHARD} {n}", n * 24 * 5)
            for n in range(5)
        ]
        + [article("wire", "short", "Live updates", "")],
    )
    cluster_new_articles(store)

    def bands() -> list[tuple[int, int, int]]:
        with store.session() as session:
            query = select(BandRow.bucket, BandRow.band_key, BandRow.article_id)
            return sorted(tuple(row) for row in session.execute(query))

    written = bands()
    assert len({bucket for bucket, _, _ in written}) >= 3
    with store.cluster_transaction() as tx:
        assert tx.rebuild_index() == len(written) == 5 * dedupe.BANDS
    assert bands() == written


def test_the_store_folds_copies_within_the_time_window_only(store: Store) -> None:
    """A stored story, then in a later run: a copy a period later and one a period earlier
    (fetched late) fold into its cluster; a copy three periods later starts its own. The index
    rows carry each article's period."""
    days = 24 * dedupe.BUCKET_DAYS
    ids = store_articles(store, [article("wire", "harbour", HARBOUR_TITLE, HARBOUR)])
    cluster_new_articles(store)
    ids = store_articles(
        store,
        [
            article("paper", "later", HARBOUR_COPY_TITLE, HARBOUR_COPY, hours=days),
            article("herald", "earlier", HARBOUR_COPY_TITLE, HARBOUR_COPY, hours=-days),
            article("gazette", "far", HARBOUR_COPY_TITLE, HARBOUR_COPY, hours=3 * days),
        ],
    )
    report = cluster_new_articles(store)
    assert (report.articles, report.folded) == (3, 2)
    got = clusters(store)
    harbour = ids["https://wire.test/harbour"]
    assert got["https://paper.test/later"] == got["https://herald.test/earlier"] == harbour
    assert got["https://gazette.test/far"] == ids["https://gazette.test/far"]
    assert store.cluster_representatives()[harbour] == ids["https://herald.test/earlier"]
    published = {a.id: a.published for a in store.iter_articles()}
    with store.session() as session:
        rows = session.execute(select(BandRow.bucket, BandRow.article_id).distinct()).all()
        assert {a: b for b, a in rows} == {a: dedupe.time_bucket(p) for a, p in published.items()}


def test_overlapping_runs_cluster_in_turn(database_url: str) -> None:
    """Two processes' worth of stores store copies of the same stories at the same moment and
    cluster at once: every article lands in one cluster, copies together, nothing twice."""
    stores = [Store.open(database_url), Store.open(database_url)]
    try:
        for round_ in range(3):
            batches = [
                [article(src, f"r{round_}-{n}", f"{HARBOUR_TITLE} {round_} {n}",
                         f"{HARBOUR} Round {round_} item {n} of {src}.", hours=n)
                 for n in range(5)]
                for src in ("east", "west")
            ]  # fmt: skip
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def run(
                store: Store,
                batch: list[Article],
                barrier: threading.Barrier = barrier,
                errors: list[BaseException] = errors,
            ) -> None:
                try:
                    store_articles(store, batch)
                    barrier.wait(timeout=30)
                    cluster_new_articles(store, batch_size=3)
                except BaseException as exc:  # pragma: no cover - reported below
                    errors.append(exc)

            threads = [
                threading.Thread(target=run, args=(s, b))
                for s, b in zip(stores, batches, strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert not errors
        got = clusters(stores[0])
        assert None not in got.values() and len(got) == 30
        assert len(set(got.values())) == 1  # all are copies of one harbour story
        assert count(stores[0], FingerprintRow) == 30
        assert count(stores[0], ClusterRow) == 1
    finally:
        for s in stores:
            s.close()


# -- quality on the shared devset ---------------------------------------------------------------


def devset_articles(corpus: Path) -> list[Article]:
    articles: list[Article] = []
    for path in sorted((corpus / "feeds").glob("*.xml")):
        url = f"https://{path.stem}.test/rss"
        feed = parse_feed(path.read_bytes(), url, {})
        articles += normalise_feed(feed, path.stem, url, T0)
    return articles


def syndication_groups(corpus: Path, articles: list[Article]) -> dict[str, str]:
    """link -> the link of its group's original (syndicated_of followed to the root)."""
    labels = json.loads((corpus / "labels.json").read_text())["items"]
    root = {a.link: a.link for a in articles}
    for link, label in labels.items():
        if label.get("syndicated_of"):
            root[link] = label["syndicated_of"]
    for link in root:
        while root[root[link]] != root[link]:
            root[link] = root[root[link]]
    return root


def test_devset_copies_share_a_cluster_and_nothing_else_does(store: Store) -> None:
    """Issue 4's quality target through the real store: pair recall >= 0.97 over every pair of
    articles in one `syndicated_of` group, and no two articles of different groups share a
    cluster (a wrong merge)."""
    corpus = shared_path("devset")
    articles = devset_articles(corpus)
    groups = syndication_groups(corpus, articles)
    articles.sort(key=lambda a: a.published)
    for start in range(0, len(articles), 40):  # four runs, in publication order
        store_articles(store, articles[start : start + 40])
        cluster_new_articles(store)
    cluster_of = {a.url: a.cluster for a in store.iter_articles()}
    assert None not in cluster_of.values() and len(cluster_of) == len(articles)
    by_link = {a.link: cluster_of[a.url] for a in articles}
    same_group = [
        (x, y) for x, y in itertools.combinations(sorted(by_link), 2) if groups[x] == groups[y]
    ]
    assert len(same_group) >= 10  # the devset labels its copies
    missed = [p for p in same_group if by_link[p[0]] != by_link[p[1]]]
    assert 1 - len(missed) / len(same_group) >= 0.97, missed
    members: dict[int | None, set[str]] = {}
    for link, cluster in by_link.items():
        members.setdefault(cluster, set()).add(groups[link])
    wrong = {c: roots for c, roots in members.items() if len(roots) > 1}
    assert wrong == {}


# -- export: `storywatch export articles` gives each article's cluster ----------------------------


def test_export_articles_gives_each_article_its_cluster(tmp_path: Path, database_url: str) -> None:
    config = write_config(
        tmp_path, {"wire": "https://wire.test/rss", "paper": "https://paper.test/rss"}
    )
    store = Store.open(database_url)
    try:
        ids = store_articles(
            store,
            [
                article("wire", "harbour", HARBOUR_TITLE, HARBOUR),
                article("paper", "port-shut", HARBOUR_COPY_TITLE, HARBOUR_COPY, hours=2),
                article("wire", "orchards", ORCHARD_TITLE, ORCHARD, hours=1),
            ],
        )
        cluster_new_articles(store)
    finally:
        store.close()
    env = {"STORYWATCH_DATABASE_URL": database_url}
    args = ("--config", str(config), "export", "articles", "--format")
    done = storywatch(*args, "json", cwd=Path("/"), env=env)
    assert done.returncode == 0, done.stderr
    exported = {a["url"]: a["cluster"] for a in json.loads(done.stdout)}
    harbour = ids["https://wire.test/harbour"]
    assert exported == {
        "https://wire.test/harbour": harbour,  # the cluster id: its first article's id
        "https://paper.test/port-shut": harbour,  # the syndicated copy: the same cluster
        "https://wire.test/orchards": ids["https://wire.test/orchards"],
    }
    done = storywatch(*args, "csv", cwd=Path("/"), env=env)
    assert done.returncode == 0, done.stderr
    rows = csv.DictReader(io.StringIO(done.stdout))
    assert {r["url"]: int(r["cluster"]) for r in rows} == exported
