"""Why the learned engine decided what it did about one article, as plain data.

``explain(storyline, memory, article)`` returns a JSON-able dict: the relevance, each article
decision (development, known, every type) with its probability, threshold and strongest
features (name, value, weight x value), the evidence sentence(s), and the memory development
the article matched (with the pair model's strongest features) or why none. The CLI's
`storywatch explain URL` and the digest's "why flagged" are meant to print this.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from storywatch.storyline.article import StoryArticle
from storywatch.storyline.engine import Storyline, founding_of, judge_article
from storywatch.storyline.features import Sparse, pair_features
from storywatch.storyline.learned import route
from storywatch.storyline.memory import Memory
from storywatch.storyline.models import LinearModel, load_models

TOP = 5


def _decision(model: LinearModel, features: Sparse, top: int = TOP) -> dict[str, Any]:
    p = model.score(features)
    return {
        "p": round(p, 3),
        "threshold": model.threshold,
        "decision": p >= model.threshold,
        "features": [
            {"name": n, "value": round(v, 3), "contribution": round(c, 3)}
            for n, v, c in model.contributions(features, top)
        ],
    }


def explain(storyline: Storyline, memory: Memory, article: StoryArticle) -> dict[str, Any]:
    """The learned engine's reasons for ``article`` against ``memory`` (shipped models if the
    storyline runs the rules)."""
    if storyline.models is None:
        storyline = dataclasses.replace(storyline, models=load_models(), _foundings={})
    models = storyline.models
    assert models is not None
    judgement = judge_article(storyline, article)
    features = judgement.features
    out: dict[str, Any] = {
        "url": article.url,
        "title": article.title,
        "relevance": _decision(models.relevant, features.cheap),
        "development": None,
        "known": None,
        "types": {},
        "evidence": [],
        "match": None,
    }
    open_developments = [founding_of(storyline, d) for d in memory.developments]
    decision = route(models, judgement, open_developments)
    out["route"], out["why"] = decision.kind, decision.why
    if not judgement.relevant:
        return out
    sparse = features.sparse
    out["development"] = _decision(models.development, sparse)
    out["known"] = _decision(models.known, sparse)
    out["types"] = {
        t: {**_decision(m, sparse, 3), "chosen": t in judgement.types}
        for t, m in sorted(models.types.items())
        if t in storyline.types
    }
    out["evidence"] = [c.evidence.sentence for c in features.candidates if c.primary] or [
        features.lead
    ]
    if decision.match is not None:
        pair = pair_features(
            features, decision.match.features, judgement.types, decision.match.types
        )
        development = memory.get(decision.match.key)
        out["match"] = {
            "development_id": development.id,
            "title": development.title,
            "origin": development.origin,
            "same": _decision(models.same, pair),
        }
    return out


def format_explanation(why: dict[str, Any]) -> str:
    """``explain``'s dict as the lines `storywatch explain URL` is meant to print."""

    def line(label: str, decision: dict[str, Any] | None) -> list[str]:
        if decision is None:
            return []
        verdict = "yes" if decision["decision"] else "no"
        out = [f"{label}: {verdict} (p {decision['p']:.2f}, threshold {decision['threshold']})"]
        out += [
            f"    {f['contribution']:+.2f}  {f['name']} = {f['value']:g}"
            for f in decision["features"]
        ]
        return out

    lines = [why["title"], why["url"], ""]
    lines += line("relevant", why["relevance"])
    lines += line("reports a development", why["development"])
    lines += line("restates the seed (known model)", why["known"])
    chosen = [t for t, d in why["types"].items() if d["chosen"]]
    if chosen:
        lines.append("types: " + ", ".join(chosen))
    for sentence in why["evidence"]:
        lines.append(f"evidence: {sentence}")
    match = why["match"]
    if match is not None:
        lines += line(
            f"same development as {match['development_id']} ({match['title']})", match["same"]
        )
    lines.append(f"decision: {why['route']} ({why['why']})")
    return "\n".join(lines)
