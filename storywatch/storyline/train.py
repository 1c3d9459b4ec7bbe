"""Train the storyline models from labelled corpora and write models/storyline.json.

    python -m storywatch.storyline.train                       # devset + realdev -> shipped JSON
    python -m storywatch.storyline.train --corpus DIR ... --labels feedback.json --out FILE
    python -m storywatch.storyline.train --print-weights [--top 15]   # the shipped models

Every choice is made out of fold, split by time: folds are runs of whole days (never items of
one day on both sides). Thresholds come from an inner cross-validation over the training
days: the article thresholds maximise item F1, the development / same-development thresholds
the event-level strict F1 of the very ``route`` the engine runs. Deterministic: items sorted,
solver without randomness, weights rounded, JSON with sorted keys, so the same data gives the
same bytes. Needs scikit-learn (the ``train`` extra); running the models does not.
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from storywatch.normalise import canonical_url
from storywatch.seeds import load_seed
from storywatch.storyline.features import ArticleFeatures, Sparse, pair_features
from storywatch.storyline.learned import (
    PAIR_WINDOW_DAYS,
    Founding,
    Judgement,
    StorylineContext,
    decide,
    featurize,
    route,
    seed_foundings,
)
from storywatch.storyline.models import DEFAULT_MODELS, LinearModel, ModelSet, load_models

TRAIN_VERSION = "storyline-train/1"
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPORA = (ROOT.parent / "shared" / "devset", ROOT.parent / "shared" / "realdev")
DEFAULT_SEED = ROOT / "seeds" / "ukraine-peace-talks.md"
C_ARTICLE = 0.1  # L2 strength of the article models (inverse; 0.1 best of 0.1-3 by outer CV)
C_PAIR = 0.1  # pair model (0.1 of 0.03, 0.1, 1 and 10 by outer CV: 0.64, 0.67, 0.64, 0.65)
# Balanced class weights for every article model: rare types (prisoner_exchange, sanctions)
# otherwise never pass. Item type Jaccard 0.64 vs 0.57 unbalanced (out of fold). The pair model
# reads the lexicon's types, not these, so they only decide what an alert shows.
BALANCED_TYPES = True
C_TYPES = 1.0  # the type models (1.0 of 0.1-1.0 by outer CV)
DENSE_PREFIXES = ("d:", "k:", "p:", "g:")
# Models whose dense features are scaled before the penalty. Out of fold, pooled strict F1 /
# type Jaccard: none 0.667 / 0.59, types 0.677 / 0.65, types+same 0.643, types+development
# 0.656, types+relevant 0.653, all 0.636.
SCALED = frozenset({"types"})
# The known model keeps its prior (known items are rare): balanced, its few weak features left
# it at p 0.45 for any report, one threshold step from calling news "known".
C_KNOWN = 1.0
MIN_COUNT = 2  # a word n-gram must occur in two training items to get a weight
DEV_GRID = (0.3, 0.4, 0.5, 0.6, 0.7)
SAME_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
KNOWN_GRID = (0.3, 0.5, 0.7)


@dataclass
class Item:
    """One labelled article."""

    corpus: str
    url: str
    source: str
    title: str
    body: str
    published: datetime
    label: dict[str, Any]
    features: ArticleFeatures | None = None

    @property
    def day(self) -> str:
        return self.published.date().isoformat()

    @property
    def is_development(self) -> bool:
        label = self.label
        return bool(
            label.get("relevant")
            and label.get("novelty") in ("new", "known")
            and label.get("types")
        )


def load_corpus(folder: Path, name: str | None = None) -> list[Item]:
    """feeds/*.xml + labels.json (../shared/devset/SCHEMA.md); unlabelled items are skipped."""
    labels = {
        canonical_url(url): label
        for url, label in json.loads((folder / "labels.json").read_text(encoding="utf-8"))[
            "items"
        ].items()
    }
    items: dict[str, Item] = {}
    for feed in sorted((folder / "feeds").glob("*.xml")):
        for entry in feedparser.parse(feed.read_bytes()).entries:
            url = canonical_url(entry.link)
            stamp = entry.get("published_parsed")
            if url not in labels or stamp is None or url in items:
                continue
            items[url] = Item(
                corpus=name or folder.name,
                url=url,
                source=feed.stem,
                title=entry.get("title", ""),
                body=entry.get("summary", ""),
                published=datetime.fromtimestamp(calendar.timegm(stamp), UTC),
                label=labels[url],
            )
    return sorted(items.values(), key=lambda i: (i.published, i.url))


def apply_feedback(items: list[Item], path: Path) -> None:
    """Labels from the reader (labels.json format) override the corpus labels by URL."""
    extra = json.loads(path.read_text(encoding="utf-8"))["items"]
    by_url = {i.url: i for i in items}
    for url, label in sorted(extra.items()):
        item = by_url.get(canonical_url(url))
        if item is not None:
            item.label = {**item.label, **label}


def data_hash(items: Sequence[Item]) -> str:
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: (i.corpus, i.url)):
        record = [item.corpus, item.url, item.title, item.body, item.published.isoformat()]
        digest.update(json.dumps([record, item.label], sort_keys=True).encode())
    return digest.hexdigest()


def context_for(seed_path: Path) -> StorylineContext:
    from storywatch.storyline.engine import Storyline  # engine imports models lazily

    return Storyline.from_seed(load_seed(seed_path), with_models=False).context


def featurize_items(context: StorylineContext, items: Iterable[Item]) -> None:
    for item in items:
        if item.features is None:
            item.features = featurize(context, item.title, item.body, item.published, full=True)


# -- folds -----------------------------------------------------------------------------------


def time_folds(items: Sequence[Item], k: int) -> list[list[str]]:
    """``k`` runs of contiguous days with about equal item counts (days across all corpora)."""
    per_day = Counter(i.day for i in items)
    days = sorted(per_day)
    total = sum(per_day.values())
    folds: list[list[str]] = [[] for _ in range(k)]
    seen = 0
    for day in days:
        fold = min(k - 1, seen * k // total)
        folds[fold].append(day)
        seen += per_day[day]
    return [f for f in folds if f]


# -- fitting ---------------------------------------------------------------------------------


def fit_lr(
    name: str,
    rows: Sequence[Sparse],
    y: Sequence[int],
    c: float,
    balanced: bool = False,
    scaled: bool = False,
) -> LinearModel:
    """L2 logistic regression over sparse rows; the intercept is the "bias" weight."""
    import numpy as np
    from scipy.sparse import csr_matrix, diags
    from sklearn.linear_model import LogisticRegression

    if len(set(y)) < 2:  # nothing to learn: a constant model
        return LinearModel(name, {"bias": 4.0 if y and y[0] else -4.0})
    counts = Counter(f for row in rows for f in row if f != "bias")
    vocab = sorted(
        f
        for f, n in counts.items()
        if n >= MIN_COUNT or f[:2] in DENSE_PREFIXES or f[:2] in ("x:", "r:")
    )
    column = {f: j for j, f in enumerate(vocab)}
    data, indices, indptr = [], [], [0]
    for row in rows:
        for f in sorted(row):
            if f in column:
                indices.append(column[f])
                data.append(row[f])
        indptr.append(len(indices))
    matrix = csr_matrix((data, indices, indptr), shape=(len(rows), len(vocab)), dtype=np.float64)
    # Dense features (overlaps in 0..0.3, counts) are scaled to unit spread before the L2
    # penalty, so it does not shrink them merely for their small range; the weights are
    # scaled back, so the JSON applies to raw values. Word features stay 0/1.
    scale = np.ones(len(vocab))
    if scaled:
        spread = np.sqrt(np.asarray(matrix.multiply(matrix).mean(axis=0)).ravel())
        for j, f in enumerate(vocab):
            if f[:2] in DENSE_PREFIXES and spread[j] > 0:
                scale[j] = 1.0 / spread[j]
        matrix = csr_matrix(matrix @ diags(scale))
    model = LogisticRegression(
        C=c, max_iter=5000, tol=1e-6, class_weight="balanced" if balanced else None
    )
    model.fit(matrix, np.asarray(y))
    coef = model.coef_[0] * scale
    weights = {f: float(w) for f, w in zip(vocab, coef, strict=True) if abs(w) >= 1e-3}
    weights["bias"] = float(model.intercept_[0])
    return LinearModel(name, weights)


def known_rows(items: Sequence[Item]) -> list[Sparse]:
    # The known model reads only the seed-overlap features: few labels, few weights.
    return [{k: v for k, v in feats(i).sparse.items() if k.startswith("k:")} for i in items]


def pair_rows(items: Sequence[Item]) -> tuple[list[Sparse], list[int]]:
    """Every pair of development reports of one corpus within the pair window."""
    rows: list[Sparse] = []
    y: list[int] = []
    reports = [i for i in items if i.is_development and i.label.get("novelty") == "new"]
    for a, b in itertools.combinations(reports, 2):
        if a.corpus != b.corpus:
            continue
        if abs((a.published - b.published).days) > PAIR_WINDOW_DAYS:
            continue
        new, old = (a, b) if a.published >= b.published else (b, a)
        types_new, types_old = frozenset(new.label["types"]), frozenset(old.label["types"])
        rows.append(pair_features(feats(new), feats(old), types_new, types_old))
        y.append(int(a.label["event"] == b.label["event"]))
    return rows, y


def fit_models(items: Sequence[Item], types: Sequence[str]) -> ModelSet:
    """Every model on ``items``, default thresholds."""
    relevant = [i for i in items if i.label.get("relevant")]
    developments = [i for i in relevant if i.is_development]
    pairs, same = pair_rows(items)
    return ModelSet(
        relevant=fit_lr(
            "relevant",
            [feats(i).cheap for i in items],
            [int(bool(i.label.get("relevant"))) for i in items],
            C_ARTICLE,
            scaled="relevant" in SCALED,
        ),
        development=fit_lr(
            "development",
            [feats(i).sparse for i in relevant],
            [int(i.is_development) for i in relevant],
            C_ARTICLE,
            balanced=True,
            scaled="development" in SCALED,
        ),
        known=fit_lr(
            "known",
            known_rows(developments),
            [int(i.label["novelty"] == "known") for i in developments],
            C_KNOWN,
        ),
        types={
            t: fit_lr(
                f"type:{t}",
                [feats(i).sparse for i in developments],
                [int(t in i.label["types"]) for i in developments],
                C_TYPES,
                balanced=BALANCED_TYPES,
                scaled="types" in SCALED,
            )
            for t in types
        },
        same=fit_lr("same", pairs, same, C_PAIR, scaled="same" in SCALED),
    )


def feats(item: Item) -> ArticleFeatures:
    assert item.features is not None, item.url
    return item.features


# -- judging and the event-level search --------------------------------------------------------


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
    scores = judgement.type_scores
    chosen = {k for k, p in scores.items() if p >= models.types[k].threshold}
    if not chosen and scores:
        chosen = {max(sorted(scores), key=lambda k: scores[k])}
    judgement.types = frozenset(chosen)


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


def out_of_fold(
    items: Sequence[Item],
    folds: Sequence[Sequence[str]],
    train: Callable[[Sequence[Item]], ModelSet],
    allowed: frozenset[str],
) -> tuple[dict[str, Judgement], list[ModelSet]]:
    """Judgements of every item by the models trained without its fold."""
    judgements: dict[str, Judgement] = {}
    fold_models: list[ModelSet] = []
    for days in folds:
        held = set(days)
        models = train([i for i in items if i.day not in held])
        fold_models.append(models)
        for item in items:
            if item.day in held:
                judgements[item.url] = judge_item(models, item, allowed)
    return judgements, fold_models


def train_models(
    items: Sequence[Item], context: StorylineContext, inner_folds: int = 4
) -> ModelSet:
    """Fit on ``items``; thresholds from an inner time-split cross-validation over them."""
    types = sorted(context.types)
    allowed = frozenset(types)
    inner = time_folds(items, inner_folds)
    judgements, _ = out_of_fold(items, inner, lambda part: fit_models(part, types), allowed)
    models = fit_models(items, types)
    thresholds = tune_thresholds(models, items, judgements, seed_foundings(context))
    models.meta["thresholds"] = thresholds
    return models


def cross_validate(
    items: Sequence[Item], context: StorylineContext, k: int = 5
) -> tuple[list[list[str]], list[ModelSet]]:
    """The outer time-split folds and the models trained without each (thresholds nested)."""
    folds = time_folds(items, k)
    models = []
    for days in folds:
        held = set(days)
        models.append(train_models([i for i in items if i.day not in held], context))
    return folds, models


# -- the command -------------------------------------------------------------------------------


@dataclass
class TrainInputs:
    corpora: list[Path]
    seed: Path
    feedback: list[Path] = field(default_factory=list)


def build(inputs: TrainInputs) -> ModelSet:
    items = [i for path in inputs.corpora for i in load_corpus(path)]
    for path in inputs.feedback:
        apply_feedback(items, path)
    items.sort(key=lambda i: (i.published, i.corpus, i.url))
    context = context_for(inputs.seed)
    featurize_items(context, items)
    models = train_models(items, context)
    models.meta.update(
        {
            "version": TRAIN_VERSION,
            "data_sha256": data_hash(items),
            "items": len(items),
            "corpora": [p.name for p in inputs.corpora],
            "feedback_files": [p.name for p in inputs.feedback],
            "command": "python -m storywatch.storyline.train",
        }
    )
    return models


def print_weights(models: ModelSet, top: int) -> str:
    lines = [json.dumps(models.meta, sort_keys=True)]
    for model in models.all_models():
        lines.append(f"\n{model.name}  (threshold {model.threshold}, {len(model.weights)} weights)")
        for name, weight in model.top_weights(top):
            lines.append(f"  {weight:+8.3f}  {name}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, action="append", help="labelled corpus folder")
    parser.add_argument("--labels", type=Path, action="append", default=[], help="feedback labels")
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--print-weights", action="store_true")
    parser.add_argument("--models", type=Path, help="with --print-weights: this file")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    if args.print_weights:
        print(print_weights(load_models(args.models), args.top))
        return
    inputs = TrainInputs(list(args.corpus or DEFAULT_CORPORA), args.seed, list(args.labels))
    models = build(inputs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(models.dumps(), encoding="utf-8")
    print(
        f"wrote {args.out} ({models.meta['items']} items, data {models.meta['data_sha256'][:12]})"
    )


if __name__ == "__main__":
    main()
