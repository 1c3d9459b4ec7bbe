"""Measure the storyline engine on a labelled corpus (and look at unlabelled real items).

    python bench/storyline_eval.py                         # devset through the REAL pipeline
    python bench/storyline_eval.py --runs 10               # 10 runs over feeds growing by date
    python bench/storyline_eval.py --backfill reversed     # backfills, later half first
    python bench/storyline_eval.py --in-process            # engine only, no server/database
    python bench/storyline_eval.py --details               # + misses, extra alerts, type errors
    python bench/storyline_eval.py --export-dir DIR        # score saved exports:
                                                           # DIR/developments.json, articles.json
    python bench/storyline_eval.py --realdata DIR          # unlabelled real items: counts + sample
    python bench/storyline_eval.py --write-results         # also update bench/RESULTS.md
    python bench/storyline_eval.py --cv [--write-results]  # learned engine, time-split
                                                           # out-of-fold over devset + realdev
    python bench/storyline_eval.py --engine learned ...    # the shipped models decide (in
                                                           # process and in the pipeline);
                                                           # default: STORYLINE_ENGINE or rules

The real pipeline (default): the corpus feeds are served on 127.0.0.1, a temporary folder gets
a sources.yaml (one source per feed, the seed copied beside it) and a fresh SQLite database,
the console script runs `storywatch run --no-email` (Prefect flow: fetch, parse, store,
detect), then `storywatch export developments` and `export articles` (JSON) are scored.
Prefect: PREFECT_API_URL if set, else a local server on :4200, else a temporary one (+10-25 s).

The in-process path reads the corpus feeds with feedparser and calls ``detect`` once over all
articles in publication order, as a first run on an empty database would; it also measures
the engine's speed. URLs are compared canonically on both sides (labels may key an item by
its link with tracking parameters; the store keeps the canonical URL).
"""

from __future__ import annotations

import argparse
import calendar
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import feedparser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scoring import format_table, score  # noqa: E402

from storywatch.config.seeds import load_seed  # noqa: E402
from storywatch.parse.normalise import Article, canonical_url  # noqa: E402
from storywatch.storyline import Storyline, assess, detect  # noqa: E402
from storywatch.storyline.engine import ENGINE_ENV  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_SEED = ROOT / "seeds" / "ukraine-peace-talks.md"


def load_feed_articles(corpus: Path) -> list[Article]:
    articles: list[Article] = []
    for feed in sorted((corpus / "feeds").glob("*.xml")):
        parsed = feedparser.parse(feed.read_bytes())
        for entry in parsed.entries:
            stamp = entry.get("published_parsed")
            published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
            articles.append(
                Article(
                    source=feed.stem,
                    url=entry.link,
                    link=entry.link,
                    guid=entry.get("id"),
                    title=entry.get("title", ""),
                    summary=entry.get("summary", ""),
                    content="",
                    published=published or datetime.now(UTC),
                    date_missing=published is None,
                )
            )
    return articles


def load_realdata_articles(folder: Path) -> list[Article]:
    articles: list[Article] = []
    for path in sorted(folder.rglob("*_entries.json")):
        for item in json.loads(path.read_text(encoding="utf-8")):
            published = datetime.fromisoformat(item["date_published"].replace("Z", "+00:00"))
            articles.append(
                Article(
                    source=item.get("source_url") or path.name,
                    url=item["link"],
                    link=item["link"],
                    guid=None,
                    title=item.get("title") or "",
                    summary=item.get("description") or "",
                    content="",
                    published=published.astimezone(UTC),
                    date_missing=False,
                )
            )
    return articles


def run_engine(
    storyline: Storyline, articles: list[Article]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    started = time.perf_counter()
    result = detect(storyline, storyline.initial_memory(), articles)
    elapsed = time.perf_counter() - started
    alerts = [d.export(storyline.id) for d in result.developments]
    verdicts = [
        {"url": v.url, "relevant": v.relevant, "score": v.score, "novelty": v.novelty}
        for v in result.articles
    ]
    return alerts, verdicts, elapsed


def assess_rate(storyline: Storyline, articles: list[Article], rounds: int = 5) -> float:
    """Articles per second for relevance + extraction (``assess``) on one core."""
    started = time.perf_counter()
    for _ in range(rounds):
        for article in articles:
            assess(storyline, article)
    return rounds * len(articles) / (time.perf_counter() - started)


def load_labels(corpus: Path) -> dict[str, Any]:
    """labels.json's items keyed by canonical URL (the store's identity for an article)."""
    items = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))["items"]
    return {canonical_url(url): label for url, label in items.items()}


def canonical_urls(
    alerts: list[dict[str, Any]], verdicts: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The same exports with every article URL canonical, to meet ``load_labels``."""
    alerts = [
        {**a, "articles": [{**x, "url": canonical_url(x["url"])} for x in a["articles"]]}
        for a in alerts
    ]
    return alerts, [{**v, "url": canonical_url(v["url"])} for v in verdicts]


def scored_table(
    alerts: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
    labels: dict[str, Any],
    extra: dict[str, str],
    details: bool,
) -> str:
    result = score(*canonical_urls(alerts, verdicts), labels)
    table = format_table(result, extra)
    if details:
        sections = {
            "missed events": result.missed_events,
            "alerts matching no event": result.unmatched_alerts,
            "events with several alerts": result.duplicate_alerts,
            "type mismatches": result.type_errors,
        }
        for name, rows in sections.items():
            table += f"\n\n{name} ({len(rows)}):\n" + "\n".join(f"  {r}" for r in rows)
    return table


def evaluate_devset(storyline: Storyline, corpus: Path, details: bool) -> str:
    articles = load_feed_articles(corpus)
    alerts, verdicts, elapsed = run_engine(storyline, articles)
    rate = assess_rate(storyline, articles)
    extra = {
        "articles": str(len(articles)),
        "assess (relevance + extraction), articles/s": f"{rate:,.0f}",
        "detect (all stages), articles/s": f"{len(articles) / elapsed:,.0f}",
    }
    return scored_table(alerts, verdicts, load_labels(corpus), extra, details)


# -- the real pipeline: local HTTP server, `storywatch run`, `storywatch export` ---------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_pipeline_config(folder: Path, base_url: str, corpus: Path, seed: Path) -> Path:
    (folder / "seeds").mkdir(parents=True, exist_ok=True)
    shutil.copy(seed, folder / "seeds" / seed.name)
    storyline_id = seed.stem
    lines = [
        "storylines:",
        f"  - id: {storyline_id}",
        f"    title: {storyline_id}",
        f"    seed: seeds/{seed.name}",
        "sources:",
    ]
    for feed in sorted((corpus / "feeds").glob("*.xml")):
        lines += [f"  - name: {feed.stem}", f"    url: {base_url}/{feed.name}"]
    path = folder / "sources.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def storywatch_command() -> list[str]:
    script = Path(sys.executable).parent / "storywatch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "storywatch.cli"]


def run_storywatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
    done = subprocess.run(
        [*storywatch_command(), "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"storywatch {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done


def item_dates(corpus: Path) -> list[datetime]:
    """Every item's publication date across the corpus feeds, sorted."""
    dates = [
        parsedate_to_datetime(item.findtext("pubDate") or "")
        for feed in sorted((corpus / "feeds").glob("*.xml"))
        for item in ElementTree.parse(feed).iter("item")
    ]
    return sorted(dates)


def run_cutoffs(corpus: Path, runs: int) -> list[datetime | None]:
    """``runs`` chronological slices of equal item counts: run k sees the items published up
    to cutoff k (None: everything), as a feed grows between scheduled runs."""
    dates = item_dates(corpus)
    cuts: list[datetime | None] = [dates[len(dates) * k // runs - 1] for k in range(1, runs)]
    return [*cuts, None]


def write_feeds_until(corpus: Path, served: Path, cutoff: datetime | None, stamp: float) -> None:
    """The corpus feeds as they stood at ``cutoff`` (items published later left out), with a
    fresh modification time so conditional GETs see the change."""
    served.mkdir(parents=True, exist_ok=True)
    for feed in sorted((corpus / "feeds").glob("*.xml")):
        target = served / feed.name
        if cutoff is None:  # the corpus file itself, byte for byte
            shutil.copyfile(feed, target)
            os.utime(target, (stamp, stamp))
            continue
        tree = ElementTree.parse(feed)
        channel = tree.getroot().find("channel")
        assert channel is not None, feed
        for item in list(channel.iter("item")):
            if cutoff and parsedate_to_datetime(item.findtext("pubDate") or "") > cutoff:
                channel.remove(item)
        tree.write(target, encoding="utf-8", xml_declaration=True)
        os.utime(target, (stamp, stamp))


def run_pipeline(
    corpus: Path, seed: Path, keep: Path | None = None, runs: int = 1
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """`storywatch run` (once, or ``runs`` times over growing feeds: the memory carries the
    earlier runs' developments) then both exports, in a temporary folder (or ``keep``)."""
    folder = keep or Path(tempfile.mkdtemp(prefix="storywatch-eval-"))
    folder.mkdir(parents=True, exist_ok=True)
    served = folder / "served"
    seconds: list[float] = []
    new_per_run: list[str] = []
    try:
        with serve_folder(served) as base_url:
            config = write_pipeline_config(folder, base_url, corpus, seed)
            for k, cutoff in enumerate(run_cutoffs(corpus, runs)):
                write_feeds_until(corpus, served, cutoff, time.time() - 3600 + 60 * k)
                started = time.perf_counter()
                done = run_storywatch(config, "run", "--no-email")
                seconds.append(time.perf_counter() - started)
                found = re.findall(r"^(\d+) new developments$", done.stderr, re.MULTILINE)
                new_per_run.append(found[-1] if found else "?")
        alerts = json.loads(run_storywatch(config, "export", "developments").stdout)
        verdicts = json.loads(run_storywatch(config, "export", "articles").stdout)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    extra = {"articles (stored by the pipeline)": str(len(verdicts))}
    if runs == 1:
        extra["`storywatch run` wall time, s (Prefect start-up included)"] = f"{seconds[0]:.1f}"
    else:
        extra["runs over growing feeds"] = str(runs)
        extra["new developments reported per run"] = " + ".join(new_per_run)
        extra["`storywatch run` wall time per run, s (mean)"] = f"{sum(seconds) / runs:.1f}"
    return alerts, verdicts, extra


def backfill_windows(corpus: Path, mode: str) -> list[tuple[str, str]]:
    """The windows a backfill evaluation replays: the corpus's whole span at once ("whole"),
    or its later half first and then the earlier half ("reversed": the replay must judge
    the earlier half as of its time, and the later half's developments fold in)."""
    dates = item_dates(corpus)
    first, last = dates[0].date(), dates[-1].date()
    if mode == "whole":
        return [(first.isoformat(), last.isoformat())]
    middle = dates[len(dates) // 2].date()
    before = middle.fromordinal(middle.toordinal() - 1)
    return [(middle.isoformat(), last.isoformat()), (first.isoformat(), before.isoformat())]


def run_backfills(
    corpus: Path, seed: Path, mode: str, keep: Path | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """`storywatch backfill` over the corpus (feeds served whole), then both exports."""
    folder = keep or Path(tempfile.mkdtemp(prefix="storywatch-eval-"))
    folder.mkdir(parents=True, exist_ok=True)
    served = folder / "served"
    windows = backfill_windows(corpus, mode)
    seconds = []
    try:
        with serve_folder(served) as base_url:
            config = write_pipeline_config(folder, base_url, corpus, seed)
            write_feeds_until(corpus, served, None, time.time() - 3600)
            for since, until in windows:
                started = time.perf_counter()
                run_storywatch(config, "backfill", "--since", since, "--until", until)
                seconds.append(time.perf_counter() - started)
        alerts = json.loads(run_storywatch(config, "export", "developments").stdout)
        verdicts = json.loads(run_storywatch(config, "export", "articles").stdout)
    finally:
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    extra = {
        "articles (stored by the pipeline)": str(len(verdicts)),
        "backfill windows, in order": ", ".join(f"{a}..{b}" for a, b in windows),
        "`storywatch backfill` wall time per window, s": ", ".join(f"{x:.1f}" for x in seconds),
    }
    return alerts, verdicts, extra


def evaluate_pipeline(
    corpus: Path, seed: Path, details: bool, keep: Path | None, runs: int = 1
) -> str:
    alerts, verdicts, extra = run_pipeline(corpus, seed, keep, runs)
    return scored_table(alerts, verdicts, load_labels(corpus), extra, details)


def evaluate_export(export_dir: Path, corpus: Path, details: bool) -> str:
    alerts = json.loads((export_dir / "developments.json").read_text(encoding="utf-8"))
    verdicts = json.loads((export_dir / "articles.json").read_text(encoding="utf-8"))
    return scored_table(alerts, verdicts, load_labels(corpus), {}, details)


def look_at_realdata(storyline: Storyline, folder: Path, sample: int) -> str:
    articles = load_realdata_articles(folder)
    alerts, verdicts, elapsed = run_engine(storyline, articles)
    relevant = sum(v["relevant"] for v in verdicts)
    lines = [
        f"real items: {len(articles)}, relevant: {relevant}, developments alerted: "
        f"{len(alerts)}, articles in alerts: {sum(len(a['articles']) for a in alerts)}, "
        f"detect {len(articles) / elapsed:,.0f} articles/s",
        "",
    ]
    for alert in alerts[:sample]:
        lines.append(
            f"- {alert['first_seen'][:10]} {alert['novelty']:<6} {','.join(alert['types']):<32}"
            f" ({len(alert['articles'])}) {alert['title']}"
        )
    return "\n".join(lines)


# -- bench/RESULTS.md: only the storyline section between these markers is rewritten ------------

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION_START = "<!-- storyline-eval:start -->"
SECTION_END = "<!-- storyline-eval:end -->"


def write_results(pipeline_table: str, in_process_table: str) -> None:
    day = f"{datetime.now(UTC):%Y-%m-%d}"
    section = (
        f"{SECTION_START}\n"
        "# Storyline engine on shared/devset\n\n"
        f"## Through the real pipeline (measured {day}, `python bench/storyline_eval.py`)\n\n"
        "Feeds served on 127.0.0.1, `storywatch run --no-email` on a fresh SQLite database "
        "(ingest, then the detect flow), scored from `storywatch export developments` and "
        "`export articles` (JSON), URLs compared canonically.\n\n"
        + _headline(pipeline_table)
        + "\n\n## Engine in-process (`python bench/storyline_eval.py --in-process`)\n\n"
        "One `detect` call over all articles in publication order (first run, seed memory); "
        "the speed figures are the engine's.\n\n" + _headline(in_process_table) + f"\n{SECTION_END}"
    )
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if SECTION_START in text and SECTION_END in text:
        head, rest = text.split(SECTION_START, 1)
        text = head + section + rest.split(SECTION_END, 1)[1]
    else:
        text = section + "\n\n" + text
    RESULTS.write_text(text, encoding="utf-8")


def _headline(table: str) -> str:
    return table.split("\n\nmissed events")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--corpus", type=Path, default=SHARED / "devset")
    parser.add_argument("--in-process", action="store_true", help="engine only (old mode)")
    parser.add_argument("--keep", type=Path, help="pipeline mode: keep config + db here")
    parser.add_argument(
        "--runs", type=int, default=1, help="pipeline mode: N runs over feeds growing by date"
    )
    parser.add_argument(
        "--backfill",
        choices=["whole", "reversed"],
        help="pipeline mode through `storywatch backfill`: the whole span, or later half first",
    )
    parser.add_argument("--export-dir", type=Path)
    parser.add_argument("--realdata", type=Path)
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--cv", action="store_true", help="learned engine, out-of-fold")
    parser.add_argument("--folds", type=int, default=5, help="with --cv")
    parser.add_argument(
        "--engine", choices=["rules", "learned"], help="default: $STORYLINE_ENGINE or rules"
    )
    args = parser.parse_args()
    if args.cv:
        import storyline_cv

        text = storyline_cv.evaluate(args.folds)
        print(text)
        if args.write_results:
            storyline_cv.write_results(text, "python bench/storyline_eval.py --cv --write-results")
        return
    if args.engine:  # the pipeline's subprocesses read it too
        os.environ[ENGINE_ENV] = args.engine
    if args.export_dir:
        print(evaluate_export(args.export_dir, args.corpus, args.details))
        return
    storyline = Storyline.from_seed(load_seed(args.seed))
    if args.realdata:
        print(look_at_realdata(storyline, args.realdata, args.sample))
        return
    if args.in_process:
        print(evaluate_devset(storyline, args.corpus, args.details))
        return
    if args.backfill:
        alerts, verdicts, extra = run_backfills(args.corpus, args.seed, args.backfill, args.keep)
        labels = load_labels(args.corpus)
        print(scored_table(alerts, verdicts, labels, extra, args.details))
        return
    table = evaluate_pipeline(args.corpus, args.seed, args.details, args.keep, args.runs)
    print(table)
    if args.write_results:
        write_results(table, evaluate_devset(storyline, args.corpus, details=False))


if __name__ == "__main__":
    main()
