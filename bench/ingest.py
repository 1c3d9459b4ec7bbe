"""Ingest benchmark: 200 generated feeds x 50 items served on 127.0.0.1, measured in ONE process.

Prints: bare feedparser.parse with its defaults over the same bytes (the naive baseline), the
cold ingest flow (empty database), the warm flow (every feed answers 304), the ratio
cold / bare (target <= 0.5), entries/s, MB/s, peak RSS, and the wall time of one-off
`storywatch run` commands in fresh processes (with a local Prefect server, and cold).

    python bench/ingest.py [--feeds 200] [--items 50] [--skip-oneoff]

Not a test: figures go to bench/RESULTS.md by hand, with the machine and date.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "talks",
    "ceasefire",
    "delegation",
    "minister",
    "envoy",
    "summit",
    "agreement",
    "proposal",
    "security",
    "guarantees",
    "energy",
    "infrastructure",
    "sanctions",
    "prisoners",
    "exchange",
    "negotiators",
    "capital",
    "officials",
    "said",
    "statement",
    "government",
    "border",
    "region",
    "forces",
    "drone",
    "attack",
    "overnight",
    "president",
    "meeting",
    "framework",
    "draft",
    "plan",
    "week",
    "discussions",
    "partners",
    "allies",
    "european",
    "washington",
    "moscow",
    "kyiv",
    "market",
    "shares",
    "economy",
    "growth",
    "inflation",
    "rate",
    "central",
    "bank",
    "report",
    "analysts",
    "quarter",
    "results",
]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_feed(index: int, items: int, rng: random.Random) -> bytes:
    """An RSS 2.0 feed of realistic size (~1 KB per item, HTML in descriptions like real feeds)."""
    start = datetime(2025, 3, 1, tzinfo=UTC)
    parts = []
    for n in range(items):
        paragraphs = "".join(f"<p>{sentence(rng, 18)} {sentence(rng, 14)}</p>" for _ in range(3))
        link = f"https://outlet{index}.example/world/{n}-{rng.randrange(10**8)}?utm_source=rss"
        description = (
            f'{paragraphs}<p>Read more at <a href="{link}">outlet {index}</a> &amp; partners.</p>'
        )
        parts.append(
            f"<item><title>{escape(sentence(rng, 9))}</title><link>{escape(link)}</link>"
            f'<guid isPermaLink="false">outlet{index}-{n}</guid>'
            f"<pubDate>{format_datetime(start + timedelta(minutes=37 * n + index))}</pubDate>"
            f"<description>{escape(description)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Outlet {index}</title><link>https://outlet{index}.example/</link>"
        f"<description>Generated feed {index}</description>{''.join(parts)}</channel></rss>"
    ).encode()


def write_config(folder: Path, urls: list[str]) -> Path:
    import yaml

    (folder / "seeds").mkdir(parents=True, exist_ok=True)
    (folder / "seeds" / "story.md").write_text("A seed text.\n")
    config = {
        "storylines": [{"id": "bench", "title": "Bench", "seed": "seeds/story.md"}],
        "sources": [{"name": f"Outlet {i}", "url": url} for i, url in enumerate(urls)],
        # One local host serves every feed, so per_host must rise; 8 in flight was fastest here
        # (httpcore scans its whole pool per request: 32 connections cost twice the time).
        "ingest": {"concurrency": 8, "per_host": 8},
    }
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def time_oneoff(config: Path, env: dict[str, str]) -> float:
    exe = str(Path(sys.executable).parent / "storywatch")
    start = time.perf_counter()
    done = subprocess.run(
        [exe, "--config", str(config), "run"], env=env, capture_output=True, text=True, timeout=600
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return elapsed


def start_prefect_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/health", seconds=120)
    except OSError:
        proc.kill()
        raise
    return proc


@contextmanager
def serve_folder(folder: Path, port: int = 8765) -> Iterator[str]:
    """Serve ``folder`` from bench/feedhost.py in its own process (not sharing our GIL)."""
    host = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "feedhost.py"), str(folder), str(port)]
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base_url}/feed0.xml")
        yield base_url
    finally:
        host.terminate()
        host.wait(timeout=10)


def wait_for(url: str, seconds: float = 30) -> None:
    import urllib.request

    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--skip-oneoff", action="store_true", help="skip the one-off CLI timings")
    args = parser.parse_args()

    import feedparser
    from prefect import flow

    import flows  # noqa: F401  (storywatch's Prefect defaults)
    from flows.ingest import ingest
    from flows.run import run

    work = Path(tempfile.mkdtemp(prefix="storywatch-bench-"))
    rng = random.Random(42)
    bodies = [make_feed(i, args.items, rng) for i in range(args.feeds)]
    total_mb = sum(map(len, bodies)) / 1e6
    entries = args.feeds * args.items
    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )
    print(f"input: {args.feeds} feeds x {args.items} items = {entries} entries, {total_mb:.1f} MB")

    @flow
    def warm_up() -> None:
        pass

    t = time.perf_counter()
    warm_up()  # Prefect is started before anything is measured
    print(f"prefect start-up in this process (first flow call): {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    parsed = sum(len(feedparser.parse(body).entries) for body in bodies)
    bare = time.perf_counter() - t
    print(
        f"bare feedparser.parse (defaults): {bare:.2f} s, {parsed / bare:,.0f} entries/s, "
        f"{total_mb / bare:.2f} MB/s"
    )

    feeds = work / "feeds"
    feeds.mkdir()
    for i, body in enumerate(bodies):
        (feeds / f"feed{i}.xml").write_bytes(body)
    with serve_folder(feeds) as base_url:
        urls = [f"{base_url}/feed{i}.xml" for i in range(len(bodies))]
        config = write_config(work, urls)
        # Three cold runs, each on a fresh database (no stored validators): the median counts.
        colds = []
        for attempt in range(3):
            os.environ["STORYWATCH_DATABASE_URL"] = f"sqlite:///{work / f'bench{attempt}.db'}"
            t = time.perf_counter()
            report = asyncio.run(ingest(str(config))).unquote()
            colds.append(time.perf_counter() - t)
        cold = sorted(colds)[1]
        print(
            f"cold ingest flow (median of {', '.join(f'{c:.2f}' for c in colds)} s): {cold:.2f} s,"
            f" {report.new_articles} new, {report.new_articles / cold:,.0f} entries/s,"
            f" {total_mb / cold:.2f} MB/s ({report.failed} failed)"
        )
        print(f"ratio cold / bare default parse: {cold / bare:.2f} (target <= 0.5)")

        t = time.perf_counter()
        report = asyncio.run(ingest(str(config))).unquote()
        warm = time.perf_counter() - t
        statuses = {s.status for s in report.sources}
        print(
            f"warm ingest flow (all 304): {warm:.2f} s, statuses {sorted(statuses)} (target <= 1 s)"
        )
        print(
            f"peak RSS: this process {peak_rss_mb():.0f} MB, "
            f"largest child {children_peak_rss_mb():.0f} MB (target <= 300 MB)"
        )

        # The whole `storywatch run` pipeline on a fresh database, for reference (not a target
        # of this benchmark): ingest, then near-duplicate clustering, then detection.
        os.environ["STORYWATCH_DATABASE_URL"] = f"sqlite:///{work / 'bench-run.db'}"
        t = time.perf_counter()
        asyncio.run(run(str(config)))
        print(
            f"cold run flow (ingest + cluster + detect, reference): {time.perf_counter() - t:.2f} s"
        )
        print(f"  peak RSS after it: {peak_rss_mb():.0f} MB")
        if not args.skip_oneoff:
            oneoff(work, config)
    shutil.rmtree(work, ignore_errors=True)


def oneoff(work: Path, config: Path) -> None:
    """One-off `storywatch run` in fresh processes: with a local Prefect server, and cold."""
    base_env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # The database the run flow above filled: every feed answers 304 and nothing is new, so
    # the wall time is almost all start-up and orchestration (the warm ingest figure is the work).
    base_env["STORYWATCH_DATABASE_URL"] = f"sqlite:///{work / 'bench-run.db'}"
    home = work / "prefect-home"
    cold_env = {**base_env, "PREFECT_HOME": str(home)}
    cold = time_oneoff(config, cold_env)
    print(f"one-off `storywatch run`, no Prefect server, fresh PREFECT_HOME: {cold:.1f} s")
    again = time_oneoff(config, cold_env)
    print(f"one-off `storywatch run`, no Prefect server, existing PREFECT_HOME: {again:.1f} s")
    server_proc = start_prefect_server(home, 4299)
    try:
        warm_env = {
            **base_env,
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": "http://127.0.0.1:4299/api",
        }
        time_oneoff(config, warm_env)  # first contact registers the flow
        served = time_oneoff(config, warm_env)
        print(f"one-off `storywatch run` with a local Prefect server: {served:.1f} s")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import storywatch.cli.commands"], check=True)
        print(f"  of which Python + CLI import (no Prefect): {time.perf_counter() - t:.2f} s")
    finally:
        server_proc.terminate()
        server_proc.wait(timeout=30)


if __name__ == "__main__":
    main()
