"""Near-duplicate benchmark: quality on shared/devset and shared/realdata, then scale.

    python bench/dedupe.py quality [--details]
    python bench/dedupe.py scale [--db /tmp/sw-dedupe.db] [--sizes 10000,100000,1000000]
                                 [--fast] [--cold]
    python bench/dedupe.py check --db URL [--batch 1000] [--cold]   (one check, this process)
    python bench/dedupe.py reindex --db URL                         (rebuild_index, timed)
    (check and reindex take --bucket-days N: dedupe.BUCKET_DAYS for this process, to compare
    index periods on one database; reindex with N before checking with N)

quality: pair recall and wrong merges over a threshold sweep (the curve behind the thresholds in
storywatch/dedupe/). Devset positives are the `syndicated_of` groups; realdata positives are
the documented re-publications (same Moscow Times `-aNNNNN` suffix, same Sky News trailing
number, the NYT typo-slug twin), counted over all of them and over those whose description the
re-publication kept (a rewritten update is not a copy of the text).

scale: grows one SQLite database (reused when it exists) to each size with generated news-like
articles, clustering them as ingest does (``--fast``: stored by the store, fingerprinted and
saved in bulk, the index written once in key order), and at each size times a check of a batch
of new articles in a fresh process through ``cluster_new_articles``: hash, query the index,
store (``--cold``: the database's files dropped from the page cache).

The clock is a news clock: a steady ``RATE`` articles a day across 50 outlets (1M stored span
333 days), a check's batch published next (the following ~8 hours), and its 10% copies taken
from stored articles published in the last ``RECENT_DAYS`` (8%: syndication comes within hours
or days) and of any age (2%: those further apart than dedupe's window correctly stay apart).

Not a test: figures go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from storywatch import dedupe  # noqa: E402
from storywatch.fetch.model import FetchResult  # noqa: E402
from storywatch.parse.feedparser import parse_feed  # noqa: E402
from storywatch.parse.normalise import Article, html_to_text, normalise_feed, one_line  # noqa: E402
from storywatch.pipeline.cluster import cluster_new_articles  # noqa: E402
from storywatch.store.repository import Store  # noqa: E402
from storywatch.store.sources import FetchRecord  # noqa: E402

SHARED = ROOT.parent / "shared"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
RATE = 3_000  # generated articles published per day, across all outlets
RECENT_DAYS = 3  # a check's recent copies are of articles published this recently
CHECK_URLS = 10_000_000  # a check's articles are numbered from here on (URLs only)

# -- quality ----------------------------------------------------------------------------------


def devset() -> tuple[list[dedupe.ArticleText], list[str]]:
    corpus = SHARED / "devset"
    articles: list[Article] = []
    for path in sorted((corpus / "feeds").glob("*.xml")):
        url = f"https://{path.stem}.test/rss"
        articles += normalise_feed(parse_feed(path.read_bytes(), url, {}), path.stem, url, T0)
    labels = json.loads((corpus / "labels.json").read_text())["items"]
    root = {a.link: labels[a.link].get("syndicated_of") or a.link for a in articles}
    for link in root:
        while root[root[link]] != root[link]:
            root[link] = root[root[link]]
    texts = [
        dedupe.ArticleText(i, a.published, a.title, a.summary, a.source)
        for i, a in enumerate(articles)
    ]
    return texts, [root[a.link] for a in articles]


def realdata() -> tuple[list[dedupe.ArticleText], list[str]]:
    items = []
    for path in sorted((SHARED / "realdata").rglob("*_entries.json")):
        items += json.loads(path.read_text(encoding="utf-8"))
    texts, groups = [], []
    for i, item in enumerate(items):
        link = item["link"]
        found = re.search(r"-(a\d{5})$", link) or re.search(r"-(\d{7,})$", link)
        group = found.group(1) if found else link
        if "nytimes.com" in link and re.search(r"/t(?:ru|ur)mp-ukraine-rare-earth-minerals", link):
            group = "nyt-typo-slug-twin"
        published = datetime.fromisoformat(item["date_published"]).astimezone(UTC)
        source = item.get("source_url") or ""
        title = one_line(item.get("title") or "")
        texts.append(
            dedupe.ArticleText(i, published, title, html_to_text(item.get("description") or ""))
        )
        groups.append(f"{source}|{group}")
    return texts, groups


def score(
    texts: list[dedupe.ArticleText], groups: list[str], pair_filter: Callable[[int, int], bool]
) -> tuple[float, int, int, list[tuple[int, int]]]:
    """(pair recall, positive pairs, wrong-merge pairs, the wrong pairs) for dedupe's rule."""
    fingerprints = dedupe.fingerprint_many(texts)
    cluster = {a.article_id: a.cluster_id for a in dedupe.assign_clusters(fingerprints, {})}
    positives = found = 0
    wrong: list[tuple[int, int]] = []
    for i, j in itertools.combinations(range(len(texts)), 2):
        same = cluster[i] == cluster[j]
        if groups[i] == groups[j]:
            if pair_filter(i, j):
                positives += 1
                found += same
        elif same:
            wrong.append((i, j))
    return (found / positives if positives else 1.0), positives, len(wrong), wrong


def sweep(details: bool) -> None:
    dev_texts, dev_groups = devset()
    real_texts, real_groups = realdata()
    bodies = [re.sub(r"\W+", " ", t.body.lower()).strip() for t in real_texts]

    def any_pair(i: int, j: int) -> bool:
        return True

    def kept_text(i: int, j: int) -> bool:
        return bool(bodies[i]) and bodies[i] == bodies[j]

    rules: list[tuple[str, dict[str, float]]] = [
        (f"J >= {j:.2f} only", {"JACCARD_MIN": j, "CONTAINMENT_MIN": 2.0})
        for j in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8)
    ]
    rules.insert(
        5,
        (
            f"**shipped: J >= {dedupe.JACCARD_MIN} or (C >= {dedupe.CONTAINMENT_MIN} and "
            f"J >= {dedupe.CONTAINMENT_JACCARD_MIN})**",
            {},
        ),
    )
    print("| rule | devset recall | devset wrong | realdata recall (all / kept text) | "
          "realdata wrong |")  # fmt: skip
    print("|---|---|---|---|---|")
    saved = {k: getattr(dedupe, k) for k in ("JACCARD_MIN", "CONTAINMENT_MIN")}
    for name, values in rules:
        for key, value in {**saved, **values}.items():
            setattr(dedupe, key, value)
        dr, dp, dw, _ = score(dev_texts, dev_groups, any_pair)
        rr, rp, rw, wrong = score(real_texts, real_groups, any_pair)
        kr, kp, _, _ = score(real_texts, real_groups, kept_text)
        real = f"{rr:.3f} ({rp}) / {kr:.3f} ({kp})"
        print(f"| {name} | {dr:.3f} ({dp} pairs) | {dw} | {real} | {rw} |")
        if details and not values:
            for i, j in wrong:
                print(f"    wrong: {real_texts[i].title!r} ~ {real_texts[j].title!r}")
    for key, value in saved.items():
        setattr(dedupe, key, value)
    started = time.perf_counter()
    dedupe.fingerprint_many(real_texts * 10)
    rate = len(real_texts) * 10 / (time.perf_counter() - started)
    print(f"\nfingerprinting: {rate:,.0f} articles/s ({len(real_texts) * 10} realdata texts)")


# -- scale ------------------------------------------------------------------------------------


class NewsText:
    """Generated news-like text: a word-bigram chain trained on the shared corpora's titles and
    leads (so shingle statistics are news-like), with random numbers and names mixed in."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.next: dict[str, list[str]] = {}
        texts, _ = devset()
        real, _ = realdata()
        for t in texts + real:
            for sentence in re.split(r"(?<=[.!?])\s+", f"{t.title}. {t.body}"):
                words = ["<s>", *sentence.split(), "</s>"]
                for a, b in itertools.pairwise(words):
                    self.next.setdefault(a, []).append(b)

    def sentence(self, limit: int) -> str:
        words, word = [], "<s>"
        while len(words) < limit:
            word = self.rng.choice(self.next.get(word) or ["</s>"])
            if word == "</s>":
                break
            if self.rng.random() < 0.04:  # numbers and names vary as in real copy
                words.append(str(self.rng.randint(2, 99_999)))
            words.append(word)
        return " ".join(words)

    def article(self) -> tuple[str, str]:
        title = self.sentence(14).rstrip(".")
        body = " ".join(self.sentence(30) for _ in range(self.rng.randint(2, 4)))
        return title, body


def make_articles(start: int, count: int, gen: NewsText, numbers: int = 0) -> list[Article]:
    """Articles ``start`` .. on the news clock (``RATE`` a day), numbered from ``numbers +
    start`` in their URLs."""
    articles = []
    for n in range(start, start + count):
        title, body = gen.article()
        url = f"https://outlet{n % 50}.test/news/{numbers + n}"
        stamp = T0 + timedelta(days=n / RATE)
        articles.append(Article(f"outlet{n % 50}", url, url, None, title, body, "", stamp, False))
    return articles


def store_batch(store: Store, articles: list[Article]) -> None:
    ids = store.sync_sources((f"outlet{n}", f"https://outlet{n}.test/rss") for n in range(50))
    by_source: dict[str, list[Article]] = {}
    for a in articles:
        by_source.setdefault(a.source, []).append(a)
    for source, mine in by_source.items():
        result = FetchResult(source=source, url="https://x.test/", status="ok", started_at=T0,
                             duration=0.0, content=b"")  # fmt: skip
        store.save_fetch(FetchRecord(result, mine, len(mine)), ids, None)


def grow(store: Store, target: int, gen: NewsText) -> float:
    """Add generated articles (clustered as ingest does) until ``target`` are stored."""
    have = store.count_articles()
    started = time.perf_counter()
    while have < target:
        chunk = min(20_000, target - have)
        store_batch(store, make_articles(have, chunk, gen))
        cluster_new_articles(store, batch_size=5_000)
        have += chunk
        print(f"  stored {have:,}", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def build(store: Store, target: int, gen: NewsText) -> float:
    """The fast path to a large index: generated articles stored by the store, fingerprinted and
    saved per chunk by the clustering transaction's own ``save`` (clusters assigned within the
    chunk: generated texts are unrelated), band rows left out; then the whole index written once,
    in key order, by the store's ``rebuild_index``. Same rows as ``grow``, far fewer seeks."""
    have = store.count_articles()
    started = time.perf_counter()
    while have < target:
        chunk = min(20_000, target - have)
        store_batch(store, make_articles(have, chunk, gen))
        with store.cluster_transaction() as tx:
            pending = tx.unclustered(chunk)
            fingerprints = dedupe.fingerprint_many(
                [dedupe.ArticleText(a.id, a.published, a.title, a.summary, a.source)
                 for a in pending]
            )  # fmt: skip
            assignments = dedupe.assign_clusters(fingerprints, {})
            tx.save([replace(f, bands=()) for f in fingerprints], assignments)
        have += chunk
        print(f"  stored {have:,}", file=sys.stderr, flush=True)
    with store.cluster_transaction() as tx:
        rows = tx.rebuild_index()
    print(f"  index: {rows:,} band rows", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def evict(url: str) -> None:
    """Drop a SQLite database's files from the OS page cache (a cold start)."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal"):
            path = Path(url.removeprefix("sqlite:///") + suffix)
            if path.exists():
                fd = os.open(path, os.O_RDONLY)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                os.close(fd)


def peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM): ru_maxrss carries over the parent's peak
    across fork and exec, so a check started by a large build would report the build's."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check(url: str, batch: int, cold: bool = False) -> dict[str, float]:
    """Store ``batch`` new articles published next on the clock, 10% of them lightly edited
    copies (4 in 5 of articles from the last ``RECENT_DAYS``, 1 in 5 of any age), then time
    clustering them: hash, index lookup, verification, writes (``cold``: the database's files
    dropped from the OS page cache first). Reports which copies folded."""
    from storywatch.store.schema import ArticleRow

    store = Store.open(url)
    have = store.count_articles()
    rng = random.Random(have)
    fresh = make_articles(have, batch, NewsText(rng), numbers=CHECK_URLS)
    recent = range(max(1, have - RECENT_DAYS * RATE + 1), have + 1)
    picks = [("recent", n) for n in rng.sample(recent, min(len(recent), batch * 8 // 100))]
    picks += [("any age", n) for n in rng.sample(range(1, have + 1), batch * 2 // 100)]
    copies: dict[str, tuple[str, bool]] = {}  # url -> (kind, within dedupe's window)
    with store.session() as session:
        for k, (kind, n) in enumerate(picks):
            row = session.get(ArticleRow, n)
            if row is None:
                continue
            body = row.summary.rsplit(". ", 1)[0] + "."  # trimmed: last sentence dropped
            fresh[k] = replace(fresh[k], title="Update: " + row.title, summary=body)
            window = dedupe.in_window(
                dedupe.time_bucket(row.published_at), dedupe.time_bucket(fresh[k].published)
            )
            copies[fresh[k].url] = (kind, window)
    store_batch(store, fresh)
    if cold:
        store.close()
        evict(url)
        store = Store.open(url)
    started = time.perf_counter()
    report = cluster_new_articles(store, batch_size=batch)
    elapsed = time.perf_counter() - started
    rss = peak_rss_mb()
    with store.session() as session:
        rows = session.execute(
            select(ArticleRow.url, ArticleRow.id, ArticleRow.cluster_id).where(
                ArticleRow.url.in_(list(copies))
            )
        ).all()
    folded = {u: cluster != i for u, i, cluster in rows}
    store.close()

    def tally(kind: str, window: bool | None = None, folded_only: bool = False) -> int:
        return sum(
            1
            for u, (k, w) in copies.items()
            if k == kind and window in (None, w) and (folded.get(u) or not folded_only)
        )

    return {
        "stored": have,
        "batch": report.articles,
        "folded": report.folded,
        "copies": len(copies),
        "recent": tally("recent"),
        "recent_folded": tally("recent", folded_only=True),
        "old": tally("any age"),
        "old_in_window": tally("any age", True),
        "old_folded": tally("any age", folded_only=True),
        "old_folded_in_window": tally("any age", True, folded_only=True),
        "seconds": elapsed,
        "ms_per_article": elapsed * 1000 / max(1, report.articles),
        "peak_rss_mb": rss,
    }


def reindex(url: str) -> dict[str, float]:
    """Rebuild the index with ``rebuild_index`` (e.g. after ``--bucket-days``), timed."""
    store = Store.open(url)
    started = time.perf_counter()
    with store.cluster_transaction() as tx:
        rows = tx.rebuild_index()
    elapsed = time.perf_counter() - started
    store.close()
    return {"rows": rows, "seconds": elapsed, "peak_rss_mb": peak_rss_mb()}


def scale(db: Path, sizes: list[int], batch: int, repeat: int, fast: bool, cold: bool) -> None:
    """Grow the database to each size (``fast``: by ``build``, else through ingest's clustering);
    there, run ``repeat`` checks (each in a fresh process, each adding its batch; ``cold``: the
    database out of the OS page cache first) and report the median time and the largest RSS."""
    url = f"sqlite:///{db}"
    store = Store.open(url)
    gen = NewsText(random.Random(42))
    print(f"batch of {batch:,} new articles, median of {repeat} checks per size\n")
    print("| stored | build (s, this step) | check of a batch (s) | ms per article | "
          "recent copies folded | any-age copies folded (in window) | "
          "peak RSS of the check (MB) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    per_article: dict[int, float] = {}
    for size in sizes:
        built = (build if fast else grow)(store, size, gen)
        runs = []
        for _ in range(repeat):
            out = subprocess.run(
                [sys.executable, __file__, "check", "--db", url, "--batch", str(batch)]
                + (["--cold"] if cold else []),
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            runs.append(json.loads(out.stdout))
        runs.sort(key=lambda r: r["seconds"])
        mid = runs[len(runs) // 2]
        per_article[size] = mid["ms_per_article"]
        times = "/".join(f"{r['seconds']:.2f}" for r in runs)
        print(
            f"| {mid['stored']:,} | {built:,.0f} | {mid['seconds']:.2f} ({times}) | "
            f"{mid['ms_per_article']:.3f} | {mid['recent_folded']}/{mid['recent']} | "
            f"{mid['old_folded']}/{mid['old']} ({mid['old_folded_in_window']}/"
            f"{mid['old_in_window']}) | "
            f"{max(r['peak_rss_mb'] for r in runs):.0f} |",
            flush=True,
        )
    store.close()
    first = per_article[sizes[0]]
    for size in sizes[1:]:
        print(f"per-article time at {size:,} / at {sizes[0]:,}: {per_article[size] / first:.2f}x")
    print(f"\ndatabase: {db} ({db.stat().st_size / 1e6:,.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--details", action="store_true")
    s = sub.add_parser("scale")
    s.add_argument("--db", type=Path, default=Path("/tmp/sw-dedupe-bench.db"))
    s.add_argument("--sizes", default="10000,100000,1000000")
    s.add_argument("--batch", type=int, default=1000)
    s.add_argument("--repeat", type=int, default=3)
    s.add_argument("--fast", action="store_true", help="build each size in bulk (see build)")
    s.add_argument("--cold", action="store_true", help="each check starts with a cold cache")
    c = sub.add_parser("check")
    c.add_argument("--db", required=True)
    c.add_argument("--batch", type=int, default=1000)
    c.add_argument("--cold", action="store_true")
    r = sub.add_parser("reindex")
    r.add_argument("--db", required=True)
    for p in (c, r):
        p.add_argument("--bucket-days", type=int, default=dedupe.BUCKET_DAYS)
    args = parser.parse_args()
    if args.command == "quality":
        sweep(args.details)
    elif args.command == "scale":
        sizes = [int(x) for x in args.sizes.split(",")]
        scale(args.db, sizes, args.batch, args.repeat, args.fast, args.cold)
    else:
        dedupe.BUCKET_DAYS = args.bucket_days  # for this process only
        if args.command == "check":
            print(json.dumps(check(args.db, args.batch, args.cold)))
        else:
            print(json.dumps(reindex(args.db)))


if __name__ == "__main__":
    main()
