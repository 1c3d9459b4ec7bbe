"""Scoring of exported developments against a labelled corpus (the storyline rules, exactly).

Inputs are export-shaped, so the same code scores the engine run in-process or the real
pipeline's `export developments` / `export articles` output:

- alerts: [{id, types, novelty, title, articles: [{url, ...}]}, ...]  every one is an alert
- verdicts: [{url, relevant, score}, ...]                                per-article relevance
- labels: labels.json's "items" mapping: url -> {relevant, types, novelty, event, ...}

Rules: a labelled event counts only if its items are new, relevant and typed. An alert matches
the event most of its articles belong to (ties: the event of its earliest-listed article).
precision = alerts matching a counted event / alerts; recall = counted events matched / counted
events; strict precision = counted events matched / alerts (a second alert for one event counts
against it); strict F1 from strict precision and recall. Type Jaccard: an alert's types against
the union of its event's item types, averaged over matching alerts. Alerts per event = matching
alerts / events matched. False alarms: alerts listing a `known` item, an irrelevant item, or a
relevant item with no development (novelty none).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Label = Mapping[str, Any]


@dataclass
class Score:
    alerts: int
    events: int
    matching_alerts: int
    events_matched: int
    precision: float
    recall: float
    strict_precision: float
    strict_f1: float
    type_jaccard: float
    alerts_per_event: float
    false_alarms_known: int
    false_alarms_irrelevant: int
    false_alarms_no_development: int
    relevance_precision: float
    relevance_recall: float
    missed_events: list[str] = field(default_factory=list)
    unmatched_alerts: list[str] = field(default_factory=list)
    duplicate_alerts: list[str] = field(default_factory=list)
    type_errors: list[str] = field(default_factory=list)


def counted_events(labels: Mapping[str, Label]) -> dict[str, set[str]]:
    """Events to alert on (key -> union of its items' types): new, relevant and typed items."""
    union: dict[str, set[str]] = {}
    for label in labels.values():
        if label.get("event"):
            union.setdefault(label["event"], set()).update(label.get("types", []))
    counted = {
        label["event"]
        for label in labels.values()
        if label.get("novelty") == "new" and label.get("relevant") and label.get("types")
    }
    return {event: union[event] for event in counted}


def alert_event(alert: Mapping[str, Any], labels: Mapping[str, Label]) -> str:
    """The event most of the alert's articles belong to ("" for none or unlabelled)."""
    keys = [labels.get(a["url"], {}).get("event", "") for a in alert.get("articles", [])]
    if not keys:
        return ""
    counts = Counter(keys)
    top = max(counts.values())
    return next(k for k in keys if counts[k] == top)


def _category(label: Label) -> str:
    if label.get("novelty") == "known":
        return "known"
    if not label.get("relevant"):
        return "irrelevant"
    if label.get("novelty") == "none":
        return "no_development"
    return "new"


def score(
    alerts: Iterable[Mapping[str, Any]],
    verdicts: Iterable[Mapping[str, Any]],
    labels: Mapping[str, Label],
) -> Score:
    alerts = list(alerts)
    events = counted_events(labels)
    matched: dict[str, list[Mapping[str, Any]]] = {}
    unmatched: list[str] = []
    false_alarms: Counter[str] = Counter()
    for alert in alerts:
        event = alert_event(alert, labels)
        if event in events:
            matched.setdefault(event, []).append(alert)
        else:
            unmatched.append(f"{alert.get('id')} [{event or '-'}] {alert.get('title', '')}")
        categories = {_category(labels.get(a["url"], {})) for a in alert.get("articles", [])}
        false_alarms.update(categories - {"new"})
    matching = sum(len(v) for v in matched.values())
    jaccards: list[float] = []
    type_errors: list[str] = []
    for event, event_alerts in matched.items():
        for alert in event_alerts:
            value = _jaccard(set(alert.get("types", [])), events[event])
            jaccards.append(value)
            if value < 1.0:
                type_errors.append(
                    f"{event}: alert {sorted(alert.get('types', []))} vs {sorted(events[event])}"
                )
    precision = matching / len(alerts) if alerts else 0.0
    recall = len(matched) / len(events) if events else 0.0
    strict_precision = len(matched) / len(alerts) if alerts else 0.0
    rel_p, rel_r = _relevance(verdicts, labels)
    return Score(
        alerts=len(alerts),
        events=len(events),
        matching_alerts=matching,
        events_matched=len(matched),
        precision=precision,
        recall=recall,
        strict_precision=strict_precision,
        strict_f1=_f1(strict_precision, recall),
        type_jaccard=sum(jaccards) / len(jaccards) if jaccards else 0.0,
        alerts_per_event=matching / len(matched) if matched else 0.0,
        false_alarms_known=false_alarms["known"],
        false_alarms_irrelevant=false_alarms["irrelevant"],
        false_alarms_no_development=false_alarms["no_development"],
        relevance_precision=rel_p,
        relevance_recall=rel_r,
        missed_events=sorted(set(events) - set(matched)),
        unmatched_alerts=unmatched,
        duplicate_alerts=[f"{e}: {len(a)} alerts" for e, a in matched.items() if len(a) > 1],
        type_errors=type_errors,
    )


def _relevance(
    verdicts: Iterable[Mapping[str, Any]], labels: Mapping[str, Label]
) -> tuple[float, float]:
    true_pos = false_pos = false_neg = 0
    for verdict in verdicts:
        label = labels.get(verdict["url"])
        if label is None:
            continue
        predicted, actual = bool(verdict["relevant"]), bool(label.get("relevant"))
        true_pos += predicted and actual
        false_pos += predicted and not actual
        false_neg += actual and not predicted
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 0.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 0.0
    return precision, recall


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def format_table(result: Score, extra: Mapping[str, str] | None = None) -> str:
    """A Markdown table of the headline figures."""
    rows = [
        ("alerts (exported developments)", str(result.alerts)),
        ("events to find (new, relevant, typed)", str(result.events)),
        ("events matched", str(result.events_matched)),
        ("precision (alerts matching an event)", f"{result.precision:.3f}"),
        ("recall (events matched)", f"{result.recall:.3f}"),
        ("strict precision (events matched / alerts)", f"{result.strict_precision:.3f}"),
        ("**strict F1**", f"**{result.strict_f1:.3f}**"),
        ("type Jaccard (matching alerts)", f"{result.type_jaccard:.3f}"),
        ("alerts per matched event", f"{result.alerts_per_event:.2f}"),
        ("alerts listing a known item", str(result.false_alarms_known)),
        ("alerts listing an irrelevant item", str(result.false_alarms_irrelevant)),
        ("alerts listing a relevant no-development item", str(result.false_alarms_no_development)),
        ("relevance precision", f"{result.relevance_precision:.3f}"),
        ("relevance recall", f"{result.relevance_recall:.3f}"),
    ]
    rows.extend((extra or {}).items())
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'metric':<{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines.extend(f"| {k:<{width}} | {v} |" for k, v in rows)
    return "\n".join(lines)
