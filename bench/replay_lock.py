"""How long a long replay keeps ingest waiting on SQLite (a review asked: "a long replay holds
the write lock, and a live run can wait out its 30 s busy timeout").

A fresh SQLite database gets N articles (the devset's and realdata's real items, copied under
new URLs and shifted dates until there are N), a first detection judges them all, then
``redetect_storyline`` replays them all in a thread while the main thread plays ingest: every
0.2 s it takes SQLite's write lock (BEGIN IMMEDIATE, as an ingest transaction does) and times
how long it waited. Printed for the detection as it is (compute from a snapshot under the
storyline's lease, lock only to write) and, in the same process, for the old way (everything
inside one locked transaction: ``DETECTION_ATTEMPTS = 1`` takes the locked path at once).

    python bench/replay_lock.py [--articles 40000]

Not a test: figures go to bench/RESULTS.md by hand, with the machine, its load and the date.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from storyline_eval import SHARED, load_feed_articles, load_realdata_articles  # noqa: E402

import storywatch.pipeline.detect as detection  # noqa: E402
from storywatch.config.config import load_config  # noqa: E402
from storywatch.parse.normalise import Article  # noqa: E402
from storywatch.store.articles import insert_articles  # noqa: E402
from storywatch.store.repository import Store  # noqa: E402
from storywatch.store.schema import utcnow  # noqa: E402

STORYLINE = "ukraine-peace-talks"


def corpus_articles(count: int) -> list[Article]:
    """``count`` articles: the real items, then copies under new URLs, 30 days later each."""
    real = load_feed_articles(SHARED / "devset") + load_realdata_articles(SHARED / "realdata")
    out: list[Article] = []
    copy = 0
    while len(out) < count:
        for a in real[: count - len(out)]:
            url = a.url if copy == 0 else f"{a.url}#copy{copy}"
            later = a.published + timedelta(days=30 * copy)
            out.append(replace(a, url=url, link=url, guid=None, published=later))
        copy += 1
    return out


def build_database(folder: Path, count: int) -> tuple[Path, Store]:
    """A config with the shipped seed, and its SQLite database holding ``count`` articles,
    all judged once (as live runs would have left them)."""
    shutil.copy(ROOT / "seeds/ukraine-peace-talks.md", folder / "seed.md")
    config_path = folder / "sources.yaml"
    config_path.write_text(
        f"storylines:\n  - id: {STORYLINE}\n    title: Ukraine peace talks\n    seed: seed.md\n"
        "sources:\n  - name: Bench\n    url: http://127.0.0.1:9/feed.xml\n"
        "digest:\n  from: bench@example.org\n  to: [desk@example.org]\n",
        encoding="utf-8",
    )
    config = load_config(config_path)
    store = Store.open(config.database_url)
    articles = [replace(a, source="Bench") for a in corpus_articles(count)]
    source_ids = store.sync_sources([("Bench", "http://127.0.0.1:9/feed.xml")])
    with store.engine.begin() as conn:
        for start in range(0, len(articles), 2000):
            insert_articles(conn, articles[start : start + 2000], source_ids, None, utcnow())
    detection.detect_storyline(config, STORYLINE, store)
    return config_path, store


def replay_while_ingesting(config_path: Path, store: Store) -> dict[str, float]:
    """Replay everything in a thread; meanwhile take the write lock every 0.2 s."""
    config = load_config(config_path)
    database = config.database_url.removeprefix("sqlite:///")
    done = threading.Event()
    replay_seconds: list[float] = []

    def replay() -> None:
        start = time.perf_counter()
        detection.redetect_storyline(config, STORYLINE, store)
        replay_seconds.append(time.perf_counter() - start)
        done.set()

    waits: list[float] = []
    thread = threading.Thread(target=replay)
    thread.start()
    time.sleep(0.1)
    while not done.is_set():
        ingest = sqlite3.connect(database, timeout=600, isolation_level=None)
        start = time.perf_counter()
        ingest.execute("BEGIN IMMEDIATE")
        waits.append(time.perf_counter() - start)
        ingest.execute("COMMIT")
        ingest.close()
        done.wait(0.2)
    thread.join()
    return {
        "replay": replay_seconds[0],
        "max_wait": max(waits, default=0.0),
        "median_wait": statistics.median(waits) if waits else 0.0,
        "writes": float(len(waits)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=40_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="storywatch-replay-lock-"))
    try:
        start = time.perf_counter()
        config_path, store = build_database(work, args.articles)
        one, five, _ = os.getloadavg()
        print(
            f"{args.articles:,} articles stored and judged in {time.perf_counter() - start:.1f} s "
            f"(load {one:.2f} / {five:.2f})"
        )
        results = {}
        for name, attempts in (("locked (old)", 1), ("snapshot (now)", 3)):
            detection.DETECTION_ATTEMPTS = attempts
            results[name] = r = replay_while_ingesting(config_path, store)
            print(
                f"{name:15s} replay {r['replay']:6.1f} s   ingest lock waits: "
                f"max {r['max_wait']:6.2f} s, median {r['median_wait']:.3f} s "
                f"over {r['writes']:.0f} writes"
            )
        old, new = results["locked (old)"], results["snapshot (now)"]
        print(
            f"longest ingest wait now / old: {new['max_wait'] / old['max_wait']:.3f}; "
            f"replay time now / old: {new['replay'] / old['replay']:.2f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
