"""Out-of-fold evaluation of the learned storyline engine, split by time.

    python bench/storyline_eval.py --cv              # devset + realdev, 5 folds of whole days
    python bench/storyline_cv.py [--folds 5] [--write-results]

Folds are runs of contiguous days over devset + realdev together (no day on both sides).
For each fold the models are trained (thresholds by an inner time-split CV) on the other
folds only; the REAL engine (``detect``) then runs over each corpus in publication order,
fold by fold, with that fold's models, the memory carried from fold to fold as a daily run
would carry it. Alerts are scored with bench/scoring.py. The old rules engine runs in the
same process on the same items for comparison (in-sample for devset: it was built on it).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scoring import Score, score  # noqa: E402

from storywatch.config.seeds import load_seed  # noqa: E402
from storywatch.parse.normalise import Article  # noqa: E402
from storywatch.storyline import Storyline, detect  # noqa: E402
from storywatch.storyline import train as tr  # noqa: E402
from storywatch.storyline.engine import judge_article  # noqa: E402
from storywatch.storyline.features import cheap_features  # noqa: E402
from storywatch.storyline.text import clean_text  # noqa: E402

SEED = ROOT / "seeds" / "ukraine-peace-talks.md"
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- storyline-cv:start -->", "<!-- storyline-cv:end -->"


def article_of(item: tr.Item) -> Article:
    return Article(
        source=item.source,
        url=item.url,
        link=item.url,
        guid=None,
        title=item.title,
        summary=item.body,
        content="",
        published=item.published,
        date_missing=False,
    )


@dataclass
class Run:
    alerts: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    fold_of_alert: list[int]


def run_folds(
    storyline: Storyline,
    items: list[tr.Item],
    folds: list[list[str]],
    models: list[tr.ModelSet] | None,
) -> Run:
    """``detect`` fold by fold in time order, memory carried; ``models`` None: the rules."""
    memory = storyline.initial_memory()
    alerts: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    fold_of: list[int] = []
    for k, days in enumerate(folds):
        held = set(days)
        batch = [article_of(i) for i in items if i.day in held]
        if not batch:
            continue
        storyline.models = models[k] if models is not None else None
        result = detect(storyline, memory, batch)
        memory = result.memory
        for development in result.developments:
            alerts.append(development.export(storyline.id))
            fold_of.append(k)
        verdicts += [
            {"url": v.url, "relevant": v.relevant, "novelty": v.novelty, "dev": v.development_id}
            for v in result.articles
        ]
    # Exports at the end list every article folded into a development, as `export` would.
    final = {d.id: d for d in memory.developments}
    for alert in alerts:
        alert["articles"] = [a.to_dict() for a in final[alert["id"]].articles]
    return Run(alerts, verdicts, fold_of)


def error_classes(run: Run, labels: dict[str, Any], result: Score) -> dict[str, int]:
    """The issue's error classes, counted."""
    verdict = {v["url"]: v for v in run.verdicts}
    alert_event = {}
    for alert in run.alerts:
        keys = [labels.get(a["url"], {}).get("event", "") for a in alert["articles"]]
        counts = Counter(keys)
        alert_event[alert["id"]] = max(keys, key=lambda k: (counts[k], -keys.index(k)))
    classes: Counter[str] = Counter()
    for event in result.missed_events:
        urls = [u for u, lab in labels.items() if lab.get("event") == event]
        vs = [verdict[u] for u in urls if u in verdict]
        if any(v["novelty"] == "known" and v["dev"] in alert_event for v in vs):
            classes["missed: merged into another event's alert"] += 1
        elif any(v["novelty"] == "known" for v in vs):
            classes["missed: taken as known (seed or dismissed)"] += 1
        elif any(v["novelty"] == "new" for v in vs):
            classes["missed: its alert is led by another event's items"] += 1
        elif any(v["relevant"] for v in vs):
            classes["missed: relevant, development score too low"] += 1
        else:
            classes["missed: judged irrelevant"] += 1
    classes["one event alerted twice (extra alerts)"] = (
        result.matching_alerts - result.events_matched
    )
    merged = 0
    for alert in run.alerts:
        events = {labels.get(a["url"], {}).get("event", "") for a in alert["articles"]} - {""}
        merged += len(events) > 1
    classes["alerts merging several events"] = merged
    unmatched: Counter[str] = Counter()
    counted = _counted(labels)
    for alert in run.alerts:
        if alert_event[alert["id"]] not in counted:
            unmatched[tr_kind(labels.get(alert["articles"][0]["url"], {}))] += 1
    for kind, n in sorted(unmatched.items()):
        classes[f"false alarm from {kind}"] = n
    classes["wrong types (matching alerts with Jaccard < 1)"] = len(result.type_errors)
    return dict(classes)


def tr_kind(label: dict[str, Any]) -> str:
    if label.get("novelty") == "known":
        return "a known (seed) item"
    if not label.get("relevant"):
        return "an irrelevant item"
    if label.get("novelty") == "none":
        return "coverage (relevant, no development)"
    return "an untyped or uncounted event"


def _counted(labels: dict[str, Any]) -> set[str]:
    return {
        lab["event"]
        for lab in labels.values()
        if lab.get("novelty") == "new" and lab.get("relevant") and lab.get("types")
    }


ROWS = (
    ("strict F1", "strict_f1", "{:.3f}"),
    ("precision", "precision", "{:.3f}"),
    ("strict precision", "strict_precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("alerts / event", "alerts_per_event", "{:.2f}"),
    ("type Jaccard", "type_jaccard", "{:.3f}"),
    ("alerts", "alerts", "{}"),
    ("events", "events", "{}"),
    ("alerts on known items", "false_alarms_known", "{}"),
    ("alerts on irrelevant items", "false_alarms_irrelevant", "{}"),
    ("alerts on no-development items", "false_alarms_no_development", "{}"),
    ("relevance P", "relevance_precision", "{:.3f}"),
    ("relevance R", "relevance_recall", "{:.3f}"),
)


def table(columns: dict[str, Score]) -> str:
    names = list(columns)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for title, attr, fmt in ROWS:
        cells = [fmt.format(getattr(columns[n], attr)) for n in names]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def prefixed(labels: dict[str, Any], corpus: str) -> dict[str, Any]:
    """Labels with event keys made unique per corpus (for the pooled column)."""
    return {
        u: {**lab, "event": f"{corpus}/{lab['event']}" if lab.get("event") else ""}
        for u, lab in labels.items()
    }


def cheap_rate(storyline: Storyline, items: list[tr.Item], rounds: int = 3) -> float:
    """Articles/s through the cheap features + relevance model (the gate before the rest)."""
    assert storyline.models is not None
    model = storyline.models.relevant
    index = storyline.index
    started = time.perf_counter()
    for _ in range(rounds):
        for item in items:
            features = cheap_features(
                index, clean_text(item.title), clean_text(item.body), item.published
            )
            model.decide(features.cheap)
    return rounds * len(items) / (time.perf_counter() - started)


def assess_rate(storyline: Storyline, items: list[tr.Item]) -> float:
    started = time.perf_counter()
    for item in items:
        judge_article(storyline, article_of(item))
    return len(items) / (time.perf_counter() - started)


def evaluate(k: int = 5) -> str:
    started = time.perf_counter()
    items = [i for path in tr.DEFAULT_CORPORA for i in tr.load_corpus(path)]
    items.sort(key=lambda i: (i.published, i.corpus, i.url))
    storyline = Storyline.from_seed(load_seed(SEED), with_models=False)
    tr.featurize_items(storyline.context, items)
    folds, models = tr.cross_validate(items, storyline.context, k)
    corpora = sorted({i.corpus for i in items})
    learned: dict[str, Score] = {}
    rules: dict[str, Score] = {}
    runs: dict[str, Run] = {}
    pooled_alerts: dict[str, list[dict[str, Any]]] = {"learned": [], "rules": []}
    pooled_verdicts: dict[str, list[dict[str, Any]]] = {"learned": [], "rules": []}
    pooled_labels: dict[str, Any] = {}
    for corpus in corpora:
        subset = [i for i in items if i.corpus == corpus]
        labels = {i.url: i.label for i in subset}
        pooled_labels.update(prefixed(labels, corpus))
        for name, fold_models, into in (("learned", models, learned), ("rules", None, rules)):
            run = run_folds(storyline, subset, folds, fold_models)
            into[corpus] = score(run.alerts, run.verdicts, labels)
            pooled_alerts[name] += run.alerts
            pooled_verdicts[name] += run.verdicts
            if name == "learned":
                runs[corpus] = run
    learned["both"] = score(pooled_alerts["learned"], pooled_verdicts["learned"], pooled_labels)
    rules["both"] = score(pooled_alerts["rules"], pooled_verdicts["rules"], pooled_labels)
    out = [
        f"Time-split out-of-fold, {len(folds)} folds of whole days over devset + realdev "
        f"({len(items)} items): "
        + "; ".join(f"fold {n + 1}: {f[0]}..{f[-1]} ({len(f)} days)" for n, f in enumerate(folds)),
        "",
        "### Learned engine, out of fold",
        "",
        table(learned),
        "",
        "### Old rules engine, same run (in-sample on devset, which it was built on)",
        "",
        table(rules),
        "",
        "### Error classes (learned, out of fold)",
        "",
        "| class | " + " | ".join(corpora) + " |",
        "|---|" + "---|" * len(corpora),
    ]
    classes = {
        c: error_classes(runs[c], {i.url: i.label for i in items if i.corpus == c}, learned[c])
        for c in corpora
    }
    names = sorted({n for cl in classes.values() for n in cl})
    out += [
        f"| {n} | " + " | ".join(str(classes[c].get(n, 0)) for c in corpora) + " |" for n in names
    ]
    out += ["", "### Per fold (learned, both corpora pooled; alerts first seen in the fold)", ""]
    per_fold: dict[str, Score] = {}
    for n, days in enumerate(folds):
        held = set(days)
        fold_labels = {u: lab for u, lab in pooled_labels.items() if _day_of(items, u) in held}
        fold_alerts = [
            a
            for c in corpora
            for a, k_ in zip(runs[c].alerts, runs[c].fold_of_alert, strict=True)
            if k_ == n
        ]
        fold_verdicts = [v for c in corpora for v in runs[c].verdicts if v["url"] in fold_labels]
        per_fold[f"fold {n + 1}"] = score(fold_alerts, fold_verdicts, fold_labels)
    out.append(table(per_fold))
    both = learned["both"]
    checks = [
        ("strict F1 >= 0.85", both.strict_f1 >= 0.85, f"{both.strict_f1:.3f}"),
        ("type Jaccard >= 0.80", both.type_jaccard >= 0.80, f"{both.type_jaccard:.3f}"),
        ("alerts per event <= 1.15", both.alerts_per_event <= 1.15, f"{both.alerts_per_event:.2f}"),
        ("zero alerts on known items", both.false_alarms_known == 0, str(both.false_alarms_known)),
    ]
    out += [
        "",
        "Targets (issue 13), out of fold over devset + realdev: "
        + "; ".join(f"{name}: {value} {'met' if ok else 'MISSED'}" for name, ok, value in checks)
        + ".",
    ]
    out += ["", second_storyline()]
    storyline.models = models[-1]
    realdev = [i for i in items if i.corpus == "realdev"]
    out += [
        "",
        f"Speed, one process on a shared 2-core machine, realdev's {len(realdev)} items: "
        f"cheap features + relevance model {cheap_rate(storyline, realdev):,.0f} articles/s; "
        f"all article models (`assess`) {assess_rate(storyline, realdev):,.0f} articles/s. "
        f"Whole evaluation {time.perf_counter() - started:.0f} s.",
    ]
    return "\n".join(out)


SECOND = ROOT / "tests" / "data" / "caucasus_peace"


def second_storyline() -> str:
    """The second storyline (our own seed and corpus), on the SHIPPED models: no retraining."""
    items = tr.load_corpus(SECOND)
    labels = {i.url: i.label for i in items}
    columns = {}
    storyline = Storyline.from_seed(load_seed(SECOND / "seed.md"), with_models=False)
    days = [sorted({i.day for i in items})]  # one run over everything
    for name, models in (("learned (shipped models)", [tr.load_models()]), ("rules", None)):
        run = run_folds(storyline, items, days, models)
        columns[name] = score(run.alerts, run.verdicts, labels)
    return (
        f"### Second storyline: {SECOND.name} ({len(items)} items written for the tests, "
        "its own seed; models trained on the first storyline only)\n\n" + table(columns)
    )


_DAYS: dict[str, str] = {}


def _day_of(items: list[tr.Item], url: str) -> str:
    if not _DAYS:
        _DAYS.update({i.url: i.day for i in items})
    return _DAYS.get(url, "")


def write_results(text: str, command: str) -> None:
    title = f"## Learned storyline engine, time-split out-of-fold (`{command}`)"
    section = f"{START}\n{title}\n\n{text}\n{END}"
    body = RESULTS.read_text(encoding="utf-8")
    if START in body:
        head, rest = body.split(START, 1)
        body = head + section + rest.split(END, 1)[1]
    else:
        marker = "<!-- storyline-eval:end -->"
        body = body.replace(marker, marker + "\n\n" + section, 1)
    RESULTS.write_text(body, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    text = evaluate(args.folds)
    print(text)
    if args.write_results:
        write_results(text, "python bench/storyline_cv.py --write-results")


if __name__ == "__main__":
    main()
