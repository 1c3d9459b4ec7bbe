"""Measure the storyline engine on a labelled corpus (and look at unlabelled real items).

    python bench/storyline_eval.py                         # devset, in-process, prints a table
    python bench/storyline_eval.py --details               # + misses, extra alerts, type errors
    python bench/storyline_eval.py --export-dir DIR        # score a real pipeline's exports:
                                                           # DIR/developments.json, articles.json
    python bench/storyline_eval.py --realdata DIR          # unlabelled real items: counts + sample
    python bench/storyline_eval.py --write-results         # also update bench/RESULTS.md

The in-process path reads the corpus feeds with feedparser (the real pipeline's local server,
`run` and `export` are not wired yet) and calls ``detect`` once over all articles in
publication order, as a first run on an empty database would.
"""

from __future__ import annotations

import argparse
import calendar
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scoring import format_table, score  # noqa: E402

from storywatch.normalise import Article  # noqa: E402
from storywatch.seeds import load_seed  # noqa: E402
from storywatch.storyline import Storyline, assess, detect  # noqa: E402

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


def evaluate_devset(storyline: Storyline, corpus: Path, details: bool) -> str:
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))["items"]
    articles = load_feed_articles(corpus)
    alerts, verdicts, elapsed = run_engine(storyline, articles)
    rate = assess_rate(storyline, articles)
    result = score(alerts, verdicts, labels)
    table = format_table(
        result,
        {
            "articles": str(len(articles)),
            "assess (relevance + extraction), articles/s": f"{rate:,.0f}",
            "detect (all stages), articles/s": f"{len(articles) / elapsed:,.0f}",
        },
    )
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


def evaluate_export(export_dir: Path, corpus: Path) -> str:
    labels = json.loads((corpus / "labels.json").read_text(encoding="utf-8"))["items"]
    alerts = json.loads((export_dir / "developments.json").read_text(encoding="utf-8"))
    verdicts = json.loads((export_dir / "articles.json").read_text(encoding="utf-8"))
    return format_table(score(alerts, verdicts, labels))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--corpus", type=Path, default=SHARED / "devset")
    parser.add_argument("--export-dir", type=Path)
    parser.add_argument("--realdata", type=Path)
    parser.add_argument("--sample", type=int, default=400)
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    storyline = Storyline.from_seed(load_seed(args.seed))
    if args.export_dir:
        print(evaluate_export(args.export_dir, args.corpus))
        return
    if args.realdata:
        print(look_at_realdata(storyline, args.realdata, args.sample))
        return
    table = evaluate_devset(storyline, args.corpus, args.details)
    print(table)
    if args.write_results:
        (ROOT / "bench" / "RESULTS.md").write_text(
            "# Storyline engine on shared/devset (in-process, first run, empty memory)\n\n"
            f"Measured {datetime.now(UTC):%Y-%m-%d} with `python bench/storyline_eval.py`.\n\n"
            + table.split("\n\nmissed events")[0]
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
