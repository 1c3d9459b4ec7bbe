"""The learned decisions, applied: judge one article, then place it among developments.

``judge`` runs the relevance model on the cheap features and, for a relevant article only,
the development, known and type models on the full ones. ``best_match`` compares a report
with the FOUNDING report of each open development (never with the articles folded into it
later, so a development's reach never grows) through the pair model. Both the engine and the
trainer's threshold search call these, so what is tuned is what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from storywatch.storyline.actors import ActorIndex
from storywatch.storyline.features import (
    ArticleFeatures,
    cheap_features,
    full_features,
    pair_features,
)
from storywatch.storyline.models import ModelSet

PAIR_WINDOW_DAYS = 7  # reports further apart than this are never one development
# A report within SEED_ECHO_DAYS of a seed development dated the seed's own days restates it
# when P(same) reaches SEED_ECHO_FACTOR x the same threshold. Hand-set, not tuned: every known
# item of the corpora lies in the seed's first days (fold 1), so no inner fold could set them.
# Out of fold: 3 alerts on known items instead of 7, strict F1 unchanged (0.677).
SEED_ECHO_DAYS = 1
SEED_ECHO_FACTOR = 0.5
SURE_TYPE = 0.9  # a type model this sure adds its type to the lexicon's


@dataclass
class StorylineContext:
    """What the features need to know about the storyline."""

    index: ActorIndex
    types: frozenset[str]
    seed_tokens: list[frozenset[str]]
    seed_date: date
    seed_developments: list[tuple[str, str, frozenset[str], date | None]] = field(
        default_factory=list
    )
    # (id, sentence, types, event date the sentence names or None) of each seed development


@dataclass
class Judgement:
    """The article-level decisions with their probabilities."""

    features: ArticleFeatures
    p_relevant: float
    relevant: bool
    p_development: float = 0.0
    development: bool = False
    p_known: float = 0.0
    known: bool = False
    type_scores: dict[str, float] = field(default_factory=dict)
    types: frozenset[str] = frozenset()


def featurize(
    context: StorylineContext, title: str, body: str, published: datetime, full: bool
) -> ArticleFeatures:
    features = cheap_features(context.index, title, body, published)
    if full:
        full_features(
            context.index,
            features,
            title,
            body,
            published,
            context.types,
            context.seed_tokens,
            context.seed_date,
        )
    return features


def judge(
    models: ModelSet, context: StorylineContext, title: str, body: str, published: datetime
) -> Judgement:
    features = featurize(context, title, body, published, full=False)
    p_relevant = models.relevant.score(features.cheap)
    judgement = Judgement(features, p_relevant, p_relevant >= models.relevant.threshold)
    if judgement.relevant:
        full_features(
            context.index,
            features,
            title,
            body,
            published,
            context.types,
            context.seed_tokens,
            context.seed_date,
        )
        decide(models, judgement, context.types)
    return judgement


def decide(models: ModelSet, judgement: Judgement, allowed: frozenset[str]) -> None:
    """Development, known and types from the full features (the article is relevant)."""
    sparse = judgement.features.sparse
    judgement.p_development = models.development.score(sparse)
    judgement.development = judgement.p_development >= models.development.threshold
    judgement.p_known = models.known.score(sparse)
    judgement.known = judgement.p_known >= models.known.threshold
    scores = {k: m.score(sparse) for k, m in models.types.items() if k in allowed}
    judgement.type_scores = scores
    choose_types(models, judgement)


def choose_types(models: ModelSet, judgement: Judgement) -> None:
    """The types of a development (among the allowed ones, the keys of ``type_scores``): the
    lead's lexicon types plus any type scored >= SURE_TYPE; without lexicon types, each type
    model's own threshold; at least one, the likeliest."""
    scores = judgement.type_scores
    chosen = {k for k, p in scores.items() if p >= models.types[k].threshold}
    # The lexicon's types of the lead, when it reads any, plus the types a model is sure of:
    # out of fold (with types not grown by folded reports) type Jaccard 0.73 vs 0.65 for the
    # type models alone.
    rule = {t for c in judgement.features.candidates if c.primary for t in c.types} & set(scores)
    if rule:
        chosen = rule | {k for k, p in scores.items() if p >= SURE_TYPE}
    if not chosen and scores:
        # A development has at least one type: the likeliest.
        chosen = {max(sorted(scores), key=lambda k: scores[k])}
    judgement.types = frozenset(chosen)


@dataclass(frozen=True)
class Founding:
    """An open development as the pair model sees it: its first report."""

    key: str
    features: ArticleFeatures
    types: frozenset[str]
    known: bool = False  # a seed (or dismissed) development: a match is no news
    echo: bool = False  # a seed development of the seed's own days (see SEED_ECHO_DAYS)


PairScorer = Callable[["Judgement", "Founding"], float]


def best_match(
    models: ModelSet,
    judgement: Judgement,
    open_developments: Sequence[Founding],
    score_pair: PairScorer | None = None,
) -> tuple[Founding | None, float]:
    """The development whose founding report is likeliest the same development, and P(same).
    ``score_pair`` may memoise the pair model (the trainer's threshold search does)."""
    best: Founding | None = None
    best_p = 0.0
    day = judgement.features.day
    for founding in open_developments:
        if abs((day - founding.features.day).days) > PAIR_WINDOW_DAYS:
            continue
        if score_pair is not None:
            p = score_pair(judgement, founding)
        else:
            p = same_probability(models, judgement, founding)
        if p > best_p:
            best, best_p = founding, p
    return best, best_p


def same_probability(models: ModelSet, judgement: Judgement, founding: Founding) -> float:
    pair = pair_features(judgement.features, founding.features, judgement.types, founding.types)
    return models.same.score(pair)


@dataclass(frozen=True)
class Route:
    """Where an article goes: nowhere, into the seed (known), into a development, or new."""

    kind: str  # none | known | fold | new
    match: Founding | None = None
    p_same: float = 0.0
    why: str = ""


def route(
    models: ModelSet,
    judgement: Judgement,
    open_developments: Sequence[Founding],
    score_pair: PairScorer | None = None,
) -> Route:
    if not judgement.relevant:
        return Route("none", why="not relevant")
    if not judgement.development:
        return Route("none", why="relevant, but reports no development")
    if judgement.known:
        return Route("known", why="restates the seed")
    match, p_same = best_match(models, judgement, open_developments, score_pair)
    if match is not None and p_same >= models.same.threshold:
        if match.known:
            return Route("known", match, p_same, f"same development as {match.key} (known)")
        return Route("fold", match, p_same, f"same development as {match.key}")
    # Around the seed's own day, coverage mostly restates the seed: a weaker match to one of
    # its developments is enough to call a report known.
    day = judgement.features.day
    near = [
        f
        for f in open_developments
        if f.echo and abs((day - f.features.day).days) <= SEED_ECHO_DAYS
    ]
    seed, p_seed = best_match(models, judgement, near, score_pair)
    if seed is not None and p_seed >= SEED_ECHO_FACTOR * models.same.threshold:
        return Route("known", seed, p_seed, f"echoes the seed's {seed.key} (known)")
    if match is not None:
        return Route("new", match, p_same, f"closest development {match.key} below threshold")
    return Route("new", why=f"no open development within {PAIR_WINDOW_DAYS} days")


def seed_foundings(context: StorylineContext) -> list[Founding]:
    """The seed's developments as founding reports, dated the event day the sentence names
    (else the seed day): a report the pair model matches to one restates the seed (known).
    A seed that tells of a swap on 13 April reaches the reports of 13 April, whatever its
    own date."""
    foundings = []
    for key, sentence, types, when in context.seed_developments:
        published = datetime.combine(when or context.seed_date, time(12), tzinfo=UTC)
        features = featurize(context, sentence, "", published, full=True)
        echo = abs((features.day - context.seed_date).days) <= SEED_ECHO_DAYS
        foundings.append(Founding(key, features, types, known=True, echo=echo))
    return foundings
