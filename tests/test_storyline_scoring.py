"""bench/scoring.py implements the storyline scoring rules; small hand-made cases."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from scoring import score

LABELS = {
    "u1": {"relevant": True, "types": ["meeting"], "novelty": "new", "event": "e1"},
    "u2": {"relevant": True, "types": ["meeting", "agreement"], "novelty": "new", "event": "e1"},
    "u3": {"relevant": True, "types": ["aid"], "novelty": "new", "event": "e2"},
    "u4": {"relevant": True, "types": [], "novelty": "new", "event": "untyped"},
    "u5": {"relevant": True, "types": ["meeting"], "novelty": "known", "event": "seed"},
    "u6": {"relevant": False, "types": [], "novelty": "none", "event": ""},
}


def alert(name: str, types: list[str], *urls: str) -> dict[str, object]:
    return {
        "id": name,
        "types": types,
        "novelty": "new",
        "title": name,
        "articles": [{"url": u} for u in urls],
    }


def test_strict_precision_counts_second_alerts_against() -> None:
    alerts = [
        alert("a", ["meeting"], "u1", "u2"),
        alert("b", ["meeting"], "u2"),
        alert("c", ["aid"], "u6"),
    ]
    result = score(alerts, [], LABELS)
    assert result.events == 2  # the untyped event does not count
    assert result.matching_alerts == 2 and result.events_matched == 1
    assert result.precision == 2 / 3 and result.strict_precision == 1 / 3
    assert result.recall == 1 / 2
    assert result.type_jaccard == 0.5  # {meeting} vs union {meeting, agreement}
    assert result.alerts_per_event == 2.0
    assert result.false_alarms_irrelevant == 1


def test_majority_event_and_known_items() -> None:
    result = score([alert("a", ["aid"], "u3", "u5", "u3")], [], LABELS)
    assert result.events_matched == 1 and result.false_alarms_known == 1


def test_relevance_precision_recall() -> None:
    verdicts = [
        {"url": "u1", "relevant": True},
        {"url": "u6", "relevant": True},
        {"url": "u3", "relevant": False},
    ]
    result = score([], verdicts, LABELS)
    assert result.relevance_precision == 0.5 and result.relevance_recall == 0.5
