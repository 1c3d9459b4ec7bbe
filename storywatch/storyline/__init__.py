"""Storyline stage: relevance, development extraction and novelty against the storyline memory.

Pure library code: no I/O beyond the ``Seed`` the caller loaded, no database, no Prefect.

Public API::

    storyline = Storyline.from_seed(seed)            # compile actors, places, theatre; the seed's
                                                     # own developments form storyline.seed_memory
    memory = storyline.initial_memory()              # or Memory.from_dict(stored_json)
    assessment = assess(storyline, article)          # Assessment(relevant, score, developments,
                                                     #            reasons); developments are
                                                     # per-sentence Candidates with evidence
    result = detect(storyline, memory, articles)     # DetectionResult(developments, articles,
                                                     #                 memory, extended)
    result.developments[0].export(storyline.id)      # the `export developments` object
    result.memory.to_dict()                          # JSON-able; Memory.from_dict reads it back
    result.memory.dismiss(development_id)            # "not new": it and its repeats stay quiet
    classify(memory, Signature.of(candidate))        # Classification(novelty new|update|known,
                                                     #                match)
    explain(storyline, memory, article)              # plain dict: relevance, each learned
                                                     # decision with its strongest features,
                                                     # evidence, the development matched

Two engines behind the same API. The LEARNED one (models/storyline.json, trained by
``python -m storywatch.storyline.train``, weights printed by ``... train --print-weights``)
decides when ``Storyline.from_seed(seed, with_models=True)`` or STORYLINE_ENGINE=learned; the
hand-set RULES described below decide otherwise (the default for now: see bench/RESULTS.md for
both engines' out-of-fold figures). The learned engine (features.py, models.py, learned.py):

- features.py: storyline-relative features: the seed's names become role tokens (PARTY,
  NEGOTIATOR_P, SEED_PLACE ...) before title/lead n-grams are counted; the rules below (trigger
  hits per type and modality, relevance parts, hedges, seed overlap) are features, not gates.
- models.py: logistic models as JSON (weights by feature name, threshold), applied in pure
  Python: relevant, development, known, one per type, and a pair model "same development".
- learned.py: ``judge`` runs the relevance model on cheap features, the others only on relevant
  articles; ``route`` sends a development report to the seed (known), into the open
  development whose FOUNDING report the pair model matches best (never a folded article's
  words), or opens a new one.
- train.py (+ corpus.py, tuning.py): labelled corpora and feedback labels, time-split
  cross-validation (folds of whole days), thresholds by an inner one; deterministic JSON.
- explain.py: ``explain`` / ``format_explanation``: each decision's strongest features.

How it decides (see each module's docstring):

- relevance.py: parties at war (their leaders, capitals, regions) anchor an article; negotiators
  count only beside a party; another theatre in the title or with no party named pulls down.
- extract.py + lexicon.py: per sentence, general trigger terms per type, gated by context (a
  negated, hypothetical, stance or "discussed a ceasefire" mention is no development); actors,
  venue, event date (weekday or explicit date) and modality per clause; background clauses
  ("after the clash", "following the call") are dropped.
- novelty.py: signature matching (types, principals, sides, venue, date, modality): same
  development, advance of a plan (update) or new; a peace plan's days of coverage fold into it.
- engine.py: an article's title and lead decide: any new or advancing lead candidate makes a
  development (types from the lead and from related sentences); otherwise the article folds
  into the development it repeats (seed ones are known and never alerted).
"""

from storywatch.storyline.engine import (
    ArticleVerdict,
    Assessment,
    DetectionResult,
    Storyline,
    assess,
    detect,
)
from storywatch.storyline.explain import explain
from storywatch.storyline.extract import Candidate, Evidence
from storywatch.storyline.memory import ArticleRef, Development, Memory, Signature
from storywatch.storyline.models import LinearModel, ModelSet, load_models
from storywatch.storyline.novelty import Classification, classify

__all__ = [
    "ArticleRef",
    "ArticleVerdict",
    "Assessment",
    "Candidate",
    "Classification",
    "DetectionResult",
    "Development",
    "Evidence",
    "LinearModel",
    "Memory",
    "ModelSet",
    "Signature",
    "Storyline",
    "assess",
    "classify",
    "detect",
    "explain",
    "load_models",
]
