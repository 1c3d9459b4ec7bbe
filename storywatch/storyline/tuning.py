"""Thresholds from out-of-fold judgements: item F1 for relevance and types, and for the
development / same / known thresholds the event-level strict F1 of the engine's own ``route``
replayed over each corpus in publication order (``simulate``), as bench/scoring.py counts it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

from storywatch.storyline.corpus import Item, feats
from storywatch.storyline.features import pair_features
from storywatch.storyline.learned import Founding, Judgement, choose_types, decide, route
from storywatch.storyline.models import ModelSet

DEV_GRID = (0.3, 0.4, 0.5, 0.6, 0.7)
SAME_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
KNOWN_GRID = (0.3, 0.5, 0.7)


def judge_item(models: ModelSet, item: Item, allowed: frozenset[str]) -> Judgement:
    f = feats(item)
    p = models.relevant.score(f.cheap)
    judgement = Judgement(f, p, p >= models.relevant.threshold)
    decide(models, judgement, allowed)
    return judgement


def rethreshold(models: ModelSet, judgement: Judgement) -> None:
    """Re-apply the (changed) thresholds to stored probabilities."""
    judgement.relevant = judgement.p_relevant >= models.relevant.threshold
    judgement.development = judgement.p_development >= models.development.threshold
    judgement.known = judgement.p_known >= models.known.threshold
    choose_types(models, judgement)


def simulate(
    models: ModelSet,
    items: Sequence[Item],
    judgements: dict[str, Judgement],
    seeds: Sequence[Founding],
    cache: dict[tuple[int, str], float] | None = None,
) -> list[list[str]]:
    """The alerts (URL lists) ``route`` gives over one corpus in publication order."""
    clusters: dict[str, list[str]] = {}
    open_developments: list[Founding] = list(seeds)
    pair_cache = cache if cache is not None else {}

    def score_pair(judgement: Judgement, founding: Founding) -> float:
        key = (id(judgement), founding.key)
        if key not in pair_cache:
            pair = pair_features(
                judgement.features, founding.features, judgement.types, founding.types
            )
            pair_cache[key] = models.same.score(pair)
        return pair_cache[key]

    for item in items:
        judgement = judgements[item.url]
        decision = route(models, judgement, open_developments, score_pair)
        if decision.kind == "fold" and decision.match is not None:
            clusters[decision.match.key].append(item.url)
        elif decision.kind == "new":
            clusters[item.url] = [item.url]
            open_developments.append(Founding(item.url, judgement.features, judgement.types))
    return list(clusters.values())


def event_f1(alerts: Sequence[Sequence[str]], labels: dict[str, dict[str, Any]]) -> float:
    """Strict F1 as bench/scoring.py counts it: events matched / alerts, and recall."""
    events = {
        lab["event"]
        for lab in labels.values()
        if lab.get("novelty") == "new" and lab.get("relevant") and lab.get("types")
    }
    matched = set()
    for alert in alerts:
        keys = [labels.get(u, {}).get("event", "") for u in alert]
        counts = Counter(keys)
        top = max(counts.values())
        event = next(k for k in keys if counts[k] == top)
        if event in events:
            matched.add(event)
    if not alerts or not events or not matched:
        return 0.0
    p, r = len(matched) / len(alerts), len(matched) / len(events)
    return 2 * p * r / (p + r)


def _best_threshold(scores: Sequence[float], y: Sequence[int]) -> float:
    """The threshold with the best F1 (ties: the one nearest 0.5)."""
    best = (-1.0, 0.0, 0.5)
    for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        tp = sum(1 for s, v in zip(scores, y, strict=True) if s >= t and v)
        fp = sum(1 for s, v in zip(scores, y, strict=True) if s >= t and not v)
        fn = sum(1 for s, v in zip(scores, y, strict=True) if s < t and v)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        best = max(best, (f1, -abs(t - 0.5), t))
    return best[2]


def tune_thresholds(
    models: ModelSet,
    items: Sequence[Item],
    judgements: dict[str, Judgement],
    seeds: Sequence[Founding],
) -> dict[str, float]:
    """Thresholds from out-of-fold judgements of ``items``: set on ``models`` and returned."""
    js = [judgements[i.url] for i in items]
    models.relevant.threshold = _best_threshold(
        [j.p_relevant for j in js], [int(bool(i.label.get("relevant"))) for i in items]
    )
    developments = [i for i in items if i.is_development]
    for t, model in models.types.items():
        model.threshold = _best_threshold(
            [judgements[i.url].type_scores.get(t, 0.0) for i in developments],
            [int(t in i.label["types"]) for i in developments],
        )
    corpora = sorted({i.corpus for i in items})
    by_corpus = {c: [i for i in items if i.corpus == c] for c in corpora}
    labels = {c: {i.url: i.label for i in by_corpus[c]} for c in corpora}
    caches: dict[str, dict[tuple[int, str], float]] = {c: {} for c in corpora}
    best: tuple[float, float, float, float] | None = None
    for t_dev, t_same, t_known in itertools.product(DEV_GRID, SAME_GRID, KNOWN_GRID):
        models.development.threshold, models.same.threshold = t_dev, t_same
        models.known.threshold = t_known
        for j in js:
            rethreshold(models, j)
        # Weighted by events: each corpus's F1 counts as much as it has events to find.
        total = 0.0
        for c in corpora:
            weight = len(
                {i.label["event"] for i in by_corpus[c] if i.label.get("novelty") == "new"}
            )
            total += weight * event_f1(
                simulate(models, by_corpus[c], judgements, seeds, caches[c]), labels[c]
            )
        key = (total, -abs(t_dev - 0.5) - abs(t_same - 0.5) - abs(t_known - 0.5), t_dev, t_same)
        if best is None or key[:2] > best[:2]:
            best = (key[0], key[1], t_dev, t_same)
            chosen_known = t_known
    assert best is not None
    models.development.threshold, models.same.threshold = best[2], best[3]
    models.known.threshold = chosen_known
    return {
        "relevant": models.relevant.threshold,
        "development": best[2],
        "same": best[3],
        "known": chosen_known,
    }
