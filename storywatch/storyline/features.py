"""Storyline-relative features of an article and of a pair of reports.

Names, never weights, tie a feature to a storyline: actors and places the seed names become
role tokens (PARTY, PARTY_P for a party's person, NEGOTIATOR, MEDIATOR, SEED_PLACE, VENUE,
PARTY_PLACE, OTHER_COUNTRY ...) before words are counted, so "Putin met Witkoff" and a second
storyline's "Netanyahu met Witkoff" give the same tokens. The old rules (lexicon triggers,
modality, relevance parts) are features here, not gates.

Two stages, so a mostly irrelevant stream stays fast: ``cheap_features`` (one pass of the
actor and country patterns plus word n-grams) feeds the relevance model; ``full_features``
adds the extraction rules and seed similarity, computed only for relevant articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import pairwise

from storywatch.storyline import lexicon as lx
from storywatch.storyline.actors import MEDIATOR_COUNTRIES, ActorIndex
from storywatch.storyline.extract import Candidate, extract_candidates
from storywatch.storyline.text import split_sentences

Sparse = dict[str, float]

# Generic world knowledge: these countries are everywhere in diplomacy news, not another war.
NEUTRAL_COUNTRIES = frozenset(
    {"united-states", "european-union", "united-kingdom", "france", "germany"}
)
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*|[A-Z_]{4,}")
_NUMBER = re.compile(r"^\d[\d,.]*$")
_DATE_WORDS = frozenset((*lx.WEEKDAYS, *lx.MONTHS))
_HEDGES = re.compile(
    r"\b(?:could|may|might|should|would|likely|possible|possibly|reportedly|expected|"
    r"considering|consider|ready to|open to|hopes?|wants?|seeks?|if)\b"
)
_NEGATIONS = re.compile(r"\b(?:no|not|never|without|nor|denies|denied)\b")
_COVERAGE = re.compile(
    r"\b(?:what to know|explainer|analysis|opinion|why|how|live|latest|timeline|"
    r"what we know|markets?|stocks?|shares|investors|react(?:s|ed|ion)?|says|said|warns?|"
    r"ahead of|before|after)\b"
)
# Broad, ungated word groups per type: they pool evidence over paraphrases the gated lexicon
# misses (remains handed over, pressure on oil buyers, a frozen front line). Generic news
# words; a weight, never a gate.
SOFT_GROUPS: dict[str, re.Pattern[str]] = {
    kind: re.compile(r"\b(?:" + body + r")")
    for kind, body in {
        "meeting": r"meet|met\b|talks|summit|call(?:ed|s)?\b|phone|visit|envoy|delegation|host"
        r"|round|negotiat|sit down|face-to-face|conversation",
        "prisoner_exchange": r"swap|exchang|prisoner|pows?\b|captive|detainee|bodies|remains"
        r"|repatriat|freed|releas|return(?:ed)? home|children",
        "sanctions": r"sanction|tariff|oil (?:buyers|price|exports)|secondary|embargo|price cap"
        r"|blacklist|asset freeze|frozen assets|penalt",
        "aid": r"aid\b|weapons|arms|patriot|missile|air defen|package|intelligence|shipment"
        r"|deliver|military (?:support|assistance)|funding|loan",
        "ceasefire": r"ceasefire|cease-fire|truce|pause|halt|freez|moratorium|stop (?:the )?fight"
        r"|energy strikes|hostilities",
        "proposal": r"plan\b|proposal|propos|framework|points?\b|offer|draft|initiative|roadmap"
        r"|terms|memorandum|blueprint",
        "agreement": r"deal\b|agreement|agreed|sign|accord|pact|memorandum|treaty|settle",
        "concession": r"concession|accept|agree|drop(?:s|ped)?\b|withdraw|give up|cede|yield"
        r"|back(?:s|ed)? down|recogni",
    }.items()
}
_RAW_TRIGGERS = {
    kind: re.compile("|".join(f"(?:{p})" for p in ps)) for kind, ps in lx.TYPE_TRIGGERS.items()
}

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "by",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "his",
        "her",
        "their",
        "has",
        "have",
        "had",
    ]
)


@dataclass
class ArticleFeatures:
    """Everything the models read about one article."""

    cheap: Sparse  # stage 1 features (relevance model)
    sparse: Sparse  # stage 1 + 2 features (the other article models)
    tokens: frozenset[str]  # role-abstracted content words of title + lead, for pairs
    title_tokens: frozenset[str]
    actors: frozenset[str]  # actor ids named
    persons: frozenset[str]
    sides: frozenset[str]
    places: frozenset[str]  # seed places and venues named
    numbers: frozenset[str]
    day: date
    candidates: list[Candidate] = field(default_factory=list)
    lead: str = ""  # the title and first sentence, the evidence shown
    bigrams: frozenset[str] = frozenset()  # title + lead word pairs, role tokens kept

    @property
    def content(self) -> frozenset[str]:
        """Content words only: no role tokens, numbers or dates (everything shares those)."""
        return frozenset(w for w in self.tokens if not w.isupper())


def lead_text(title: str, body: str) -> str:
    """Title plus the first sentence of the body: where an article states its news."""
    first = split_sentences(body)[:1]
    return f"{title}. {first[0]}" if first else title


def role_tokens(index: ActorIndex, text: str) -> list[str]:
    """Lower-cased words of ``text`` with the storyline's names replaced by role tokens."""

    def actor_role(match: re.Match[str]) -> str:
        actor = index.actor_by_alias(match.group(0))
        if actor is None:
            return match.group(0)
        if actor.side in index.parties:
            role = "PARTY"
        elif actor.side == "mediator":
            role = "MEDIATOR"
        else:
            role = "NEGOTIATOR"
        return f" {role}_P " if actor.person else f" {role} "

    def country_role(match: re.Match[str]) -> str:
        country = index.country_of(match.group(0))
        if country in index.parties:
            return " PARTY_PLACE "
        if country in MEDIATOR_COUNTRIES or country in index.venue_countries:
            return " MEDIATOR_PLACE "
        if country in NEUTRAL_COUNTRIES:
            return " NEUTRAL_PLACE "
        return " OTHER_COUNTRY "

    if index.storyline_places is not None:
        text = index.storyline_places.sub(" SEED_PLACE ", text)
    text = index.actors_pattern.sub(actor_role, text)
    if index.venue_pattern is not None:
        text = index.venue_pattern.sub(" VENUE ", text)
    text = index.countries_pattern.sub(country_role, text)
    out = []
    for word in _WORD.findall(text):
        if not word.isupper() or len(word) < 4:
            word = word.lower()
        if _NUMBER.match(word):
            word = "NUM"
        elif word in _DATE_WORDS:
            word = "DATE"
        out.append(word)
    return out


def _ngrams(prefix: str, words: list[str], into: Sparse) -> None:
    for i, word in enumerate(words):
        into[f"{prefix}:{word}"] = 1.0
        if i + 1 < len(words):
            into[f"{prefix}:{word}_{words[i + 1]}"] = 1.0


def cheap_features(
    index: ActorIndex, title: str, body: str, published: datetime
) -> ArticleFeatures:
    """Stage 1: role n-grams of title and lead, who and where: enough to judge relevance."""
    lead = lead_text(title, body)
    title_words = role_tokens(index, title)
    lead_words = role_tokens(index, lead[len(title) :]) if lead != title else []
    sparse: Sparse = {"bias": 1.0}
    _ngrams("t", title_words, sparse)
    _ngrams("l", lead_words, sparse)
    text = f"{title}. {body}"
    actors = index.find_actors(text)
    sides = {a.side for a in actors if a.side}
    parties = sides & index.parties
    countries = index.find_countries(text)
    party_places = countries & index.parties
    other = countries - index.parties - NEUTRAL_COUNTRIES - index.venue_countries
    title_actors = index.find_actors(title)
    lowered = text.lower()
    war_terms = set(lx.WAR_TOPIC.findall(lowered))
    topics = set(index.topics.findall(lowered)) if index.topics is not None else set()
    dense = {
        "d:party_sides": float(len(parties | party_places)),
        "d:both_parties": float(len(parties | party_places) >= 2),
        "d:party_in_title": float(any(a.side in index.parties for a in title_actors)),
        "d:negotiator": float(bool(sides - index.parties - {"mediator"})),
        "d:mediator": float("mediator" in sides),
        "d:other_countries": min(3.0, float(len(other))),
        "d:other_no_party": float(bool(other) and not (parties | party_places)),
        "d:other_in_title": float(bool(index.find_countries(title) & other)),
        "d:war_terms": min(4.0, float(len(war_terms))) / 2,
        "d:topics": min(2.0, float(len(topics))),
        "d:theatre": float(bool(index.theatre and index.theatre.search(text))),
        "d:no_actor": float(not actors),
    }
    sparse.update({k: v for k, v in dense.items() if v})
    words = {w for w in title_words + lead_words if w not in STOPWORDS}
    return ArticleFeatures(
        cheap=sparse,
        sparse=sparse,
        tokens=frozenset(words),
        title_tokens=frozenset(w for w in title_words if w not in STOPWORDS),
        actors=frozenset(a.id for a in actors),
        persons=frozenset(f"{a.side}:{a.id}" for a in actors if a.person),
        sides=frozenset(sides),
        places=frozenset(p for p in (index.find_venue(lead),) if p),
        numbers=frozenset(re.findall(r"\b\d[\d,]*\b", lead)),
        day=published.date(),
        lead=lead,
        bigrams=frozenset(
            f"{a}_{b}"
            for words_ in (title_words, lead_words)
            for a, b in pairwise(words_)
            if a not in STOPWORDS or b not in STOPWORDS
        ),
    )


def full_features(
    index: ActorIndex,
    features: ArticleFeatures,
    title: str,
    body: str,
    published: datetime,
    types: frozenset[str],
    seed_tokens: list[frozenset[str]],
    seed_date: date,
) -> ArticleFeatures:
    """Stage 2, for relevant articles: the rules' triggers, modality, hedges and seed overlap."""
    candidates = extract_candidates(index, title, body, published, types)
    features.candidates = candidates
    sparse = dict(features.cheap)
    features.sparse = sparse
    for c in candidates:
        where = "lead" if c.primary else "later"
        for kind in c.types:
            sparse[f"r:{where}:{kind}"] = 1.0
            sparse[f"r:{where}:{kind}:{c.modality}"] = 1.0
        sparse[f"r:{where}:modality:{c.modality}"] = 1.0
        if c.primary and c.place:
            sparse["r:lead:place"] = 1.0
        if c.primary and c.date:
            sparse["r:lead:date"] = 1.0
    if not any(c.primary for c in candidates):
        sparse["r:no_lead_trigger"] = 1.0
    lowered_title = title.lower()
    lowered_rest = features.lead[len(title) :].lower()
    for kind in sorted(types):
        for where, text in (("title", lowered_title), ("lead", lowered_rest)):
            if kind in _RAW_TRIGGERS and _RAW_TRIGGERS[kind].search(text):
                sparse[f"x:{where}:{kind}"] = 1.0
            if kind in SOFT_GROUPS:
                hits = len(SOFT_GROUPS[kind].findall(text))
                if hits:
                    sparse[f"g:{where}:{kind}"] = min(3.0, float(hits)) / 3
    lowered_lead = features.lead.lower()
    sparse["d:hedges"] = min(3.0, float(len(_HEDGES.findall(lowered_lead)))) / 3
    sparse["d:negations"] = min(2.0, float(len(_NEGATIONS.findall(lowered_lead)))) / 2
    sparse["d:coverage_cues"] = min(3.0, float(len(_COVERAGE.findall(title.lower())))) / 3
    sparse["d:title_question"] = float("?" in title)
    sparse["d:title_quote"] = float(bool(re.search(r"['\"]|:", title)))
    # Restating the seed needs both: words of a seed sentence, and days close to the seed.
    # No day feature alone, or everything in the seed's first week would read as known.
    sim = max((jaccard(features.tokens, s) for s in seed_tokens), default=0.0)
    gap = (published.date() - seed_date).days
    sparse["k:seed_sim"] = sim
    sparse["k:seed_sim_days_le2"] = sim * (gap <= 2)
    sparse["k:seed_sim_days_le5"] = sim * (gap <= 5)
    return features


def jaccard(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def pair_features(
    new: ArticleFeatures,
    old: ArticleFeatures,
    new_types: frozenset[str],
    old_types: frozenset[str],
) -> Sparse:
    """Is ``new`` the same development as the report ``old``? Overlaps and conflicts."""
    # Types as the lexicon reads the leads: the type models' choice would tie the pair model to
    # their thresholds (balanced type models doubled duplicate alerts when they fed it).
    new_types, old_types = _rule_types(new) or new_types, _rule_types(old) or old_types
    gap = abs((new.day - old.day).days)
    new_mod = _lead_modality(new)
    old_mod = _lead_modality(old)
    both_places = bool(new.places and old.places)
    return {
        "bias": 1.0,
        "p:type_jaccard": jaccard(new_types, old_types),
        "p:no_shared_type": float(not new_types & old_types),
        "p:gap0": float(gap == 0),
        "p:gap1": float(gap == 1),
        "p:gap2_3": float(2 <= gap <= 3),
        "p:gap4_7": float(4 <= gap <= 7),
        "p:gap_gt7": float(gap > 7),
        "p:token_jaccard": jaccard(new.tokens, old.tokens),
        "p:title_jaccard": jaccard(new.title_tokens, old.title_tokens),
        "p:content_jaccard": jaccard(new.content, old.content),
        "p:bigram_jaccard": jaccard(new.bigrams, old.bigrams),
        "p:actor_jaccard": jaccard(new.actors, old.actors),
        "p:person_jaccard": jaccard(new.persons, old.persons),
        "p:persons_disjoint": float(
            bool(new.persons and old.persons and not new.persons & old.persons)
        ),
        "p:side_jaccard": jaccard(new.sides, old.sides),
        "p:same_place": float(both_places and bool(new.places & old.places)),
        "p:place_conflict": float(both_places and not new.places & old.places),
        "p:shared_number": float(bool(new.numbers & old.numbers)),
        "p:number_conflict": float(
            bool(new.numbers and old.numbers and not new.numbers & old.numbers)
        ),
        "p:same_modality": float(new_mod == old_mod),
        "p:planned_vs_held": float({new_mod, old_mod} == {"planned", "held"}),
        "p:later_planned": float(new_mod == "planned" and new.day > old.day),
    }


def _lead_modality(features: ArticleFeatures) -> str:
    leads = [c for c in features.candidates if c.primary]
    return leads[0].modality if leads else "none"


def _rule_types(features: ArticleFeatures) -> frozenset[str]:
    return frozenset(t for c in features.candidates if c.primary for t in c.types)
