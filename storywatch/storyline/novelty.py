"""Novelty: is a candidate the same development as one in memory, an advance of one, or new?

Two signatures describe the SAME development when they share a type, their places agree,
their dates fall within a couple of days, and their principals agree (no side is represented
by different named people: Trump-Putin is not Trump-Zelenskiy; a meeting with a new guest is
not the last meeting). A candidate ADVANCES a memory signature when the memory holds a plan or
proposal and the candidate reports it held, cancelled or refused, or pins down a place or date
the plan lacked. A peace plan (proposal only) is one development through days of coverage:
its reactions and leaks fold into it whatever their modality. Everything else is NEW.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from storywatch.storyline.actors import COUNTRIES
from storywatch.storyline.memory import Development, Memory, Signature

Relation = Literal["same", "advance"]
Novelty = Literal["new", "update", "known"]

# Only plans wait to happen; a proposal put forward is itself an occurrence with a date.
PENDING = frozenset({"planned"})
NEGATIVE = frozenset({"cancelled", "refused"})
HELD_TOLERANCE_DAYS = 2  # coverage of one event spreads over a day or two
PLAN_MEMORY_DAYS = 30  # a plan not acted on for a month is stale
SAME_THRESHOLD = 3.0
PARTICIPANT_TYPES = frozenset({"meeting", "agreement", "prisoner_exchange"})
PLAN_TYPES = frozenset({"proposal"})
PLAN_DISCUSSION_DAYS = 4  # a plan's coverage (leaks, answers, counter-drafts) runs for days
_COUNTRY_NAMES = {names[0] for names in COUNTRIES.values()} | {"Saudi Arabia", "Black Sea"}


@dataclass(frozen=True)
class Match:
    development: Development
    relation: Relation
    score: float


@dataclass(frozen=True)
class Classification:
    """The verdict on one candidate (or an article's lead candidates) against memory."""

    novelty: Novelty
    match: Match | None  # the memory development it repeats or advances

    @property
    def development_id(self) -> str | None:
        return self.match.development.id if self.match else None


def classify(
    memory: Memory, signature: Signature, parties: frozenset[str] = frozenset()
) -> Classification:
    """new / update / known for one signature.

    ``known`` means it repeats a development in memory (seed, dismissed or already reported:
    the caller folds the article into it); ``update`` that it advances one.
    """
    best = best_match(memory, signature, parties)
    if best is None:
        return Classification("new", None)
    if best.relation == "advance":
        return Classification("update", best)
    return Classification("known", best)


def best_match(
    memory: Memory, signature: Signature, parties: frozenset[str] = frozenset()
) -> Match | None:
    """The closest memory development: a same-development match beats an advance."""
    best: Match | None = None
    for development in memory.developments:
        for remembered in development.signatures:
            found = relate(signature, remembered, parties)
            if found is None:
                continue
            relation, score = found
            match = Match(development, relation, score)
            if best is None or _rank(match) > _rank(best):
                best = match
    return best


def _rank(match: Match) -> tuple[int, float]:
    return (1 if match.relation == "same" else 0, match.score)


def relate(
    new: Signature, old: Signature, parties: frozenset[str] = frozenset()
) -> tuple[Relation, float] | None:
    """How ``new`` relates to ``old``: the same development, an advance of it, or unrelated."""
    shared = new.types & old.types
    if not shared or not _places_agree(new, old) or _principals_differ(new, old, parties):
        return None
    if _parties_differ(new, old, shared) or _objects_differ(new, old, shared):
        return None
    if shared == PLAN_TYPES:
        return _same_plan(new, old, shared)
    timing = _timing(new, old)
    if timing is None:
        return None
    relation, date_score = timing
    score = (
        2.0 * len(shared) / len(new.types | old.types)
        + _place_score(new, old)
        + _person_score(new, old)
        + _jaccard(new.sides, old.sides)
        + date_score
    )
    if relation == "advance":
        return ("advance", score) if score >= SAME_THRESHOLD - 1.0 else None
    return ("same", score) if score >= SAME_THRESHOLD else None


def _same_plan(
    new: Signature, old: Signature, shared: frozenset[str]
) -> tuple[Relation, float] | None:
    """A peace plan stays one development while it is discussed: later reports of it (its
    leaked terms, who drafted it, a party's answer) are reactions, whatever their modality,
    unless they name a different place or proposer."""
    gap = (new.when - old.when).days
    if not 0 <= gap <= PLAN_DISCUSSION_DAYS:
        return None
    score = (
        2.0 * len(shared) / len(new.types | old.types)
        + _place_score(new, old)
        + _person_score(new, old)
        + _jaccard(new.sides, old.sides)
        + {0: 1.0, 1: 0.5}.get(gap, 0.0)
    )
    return ("same", score) if score >= SAME_THRESHOLD - 0.5 else None


def _timing(new: Signature, old: Signature) -> tuple[Relation, float] | None:
    """Relation implied by modality and dates, with a closeness score; None if too far apart."""
    gap = abs((new.when - old.when).days)
    if old.modality in PENDING:
        if new.modality in PENDING:
            if (new.reported - old.reported).days > PLAN_MEMORY_DAYS:
                return None
            if new.date and old.date and abs((new.date - old.date).days) > HELD_TOLERANCE_DAYS:
                return None
            if _more_specific(new, old):
                return ("advance", 0.5)
            return ("same", 0.5 if new.date and old.date else 0.0)
        # Held, cancelled or refused after a plan: the thread moved on.
        if new.when < old.reported or (old.date and gap > HELD_TOLERANCE_DAYS + 1):
            return None
        if (new.reported - old.reported).days > PLAN_MEMORY_DAYS:
            return None
        return ("advance", 1.0 if old.date and gap <= 1 else 0.5)
    if new.modality in PENDING:
        # A plan for something already held: only a restatement if it names that date.
        if new.date and gap <= HELD_TOLERANCE_DAYS:
            return ("same", 0.5)
        return None
    if (new.modality in NEGATIVE) != (old.modality in NEGATIVE):
        return None
    if gap > HELD_TOLERANCE_DAYS:
        return None
    return ("same", {0: 1.0, 1: 0.5}.get(gap, 0.0))


def _more_specific(new: Signature, old: Signature) -> bool:
    """A plan that now has a venue or a date it lacked is news about the plan."""
    return bool((new.place and not old.place) or (new.date and not old.date))


def _places_agree(new: Signature, old: Signature) -> bool:
    if not new.place or not old.place or new.place == old.place:
        return True
    if new.country and new.country == old.country:
        # "Saudi Arabia" agrees with "Riyadh"; Riyadh and Jeddah are different rounds.
        return new.place in _COUNTRY_NAMES or old.place in _COUNTRY_NAMES
    return False


def _place_score(new: Signature, old: Signature) -> float:
    if new.place and old.place:
        return 1.5 if new.place == old.place else 0.5
    return 0.0


def _person_score(new: Signature, old: Signature) -> float:
    """Shared people count for; a side named through different people counts against (the
    envoys' meeting is not the leaders' summit), though outlets may quote other officials."""
    common = len(new.persons & old.persons)
    score = {0: 0.0, 1: 1.0}.get(common, 1.5)
    for side in new.sides & old.sides:
        mine, theirs = _side_persons(new, side), _side_persons(old, side)
        if mine and theirs and not mine & theirs:
            score -= 1.5
    return score


def _principals_differ(new: Signature, old: Signature, parties: frozenset[str]) -> bool:
    """Both name people of the parties at war, none in common: a call with Putin is not a
    call with Zelenskiy."""
    new_party = {p for p in new.persons if p.split(":", 1)[0] in parties}
    old_party = {p for p in old.persons if p.split(":", 1)[0] in parties}
    return bool(new_party and old_party and not new_party & old_party)


def _side_persons(signature: Signature, side: str) -> frozenset[str]:
    # Persons are stored as "side:actor-id".
    return frozenset(p for p in signature.persons if p.split(":", 1)[0] == side)


def _parties_differ(new: Signature, old: Signature, shared: frozenset[str]) -> bool:
    """Each names a side the other lacks: a different set of participants. Only for what
    has participants (who met, who signed, who swapped); a truce or a plan is between the
    parties at war whoever an outlet quotes on it."""
    if not shared & PARTICIPANT_TYPES:
        return False
    if len(new.sides) < 2 or len(old.sides) < 2:
        return False
    return bool(new.sides - old.sides) and bool(old.sides - new.sides)


def _objects_differ(new: Signature, old: Signature, shared: frozenset[str]) -> bool:
    """Aid or sanctions about different things (intelligence vs weapons) are different."""
    if not shared <= {"aid", "sanctions"}:
        return False
    return bool(new.objects and old.objects and not new.objects & old.objects)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0
