"""Development extraction: one ``Candidate`` per sentence that reports a development.

A sentence reports a development when a type trigger matches in a clause that is not a
stance ("Kyiv must ..."), not negated ("no talks were held") and not the mere topic of talk
("they discussed a ceasefire"). Each candidate carries its signature (types, actors, sides,
place, event date, modality) and its evidence (sentence, matched terms, actor names).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from datetime import datetime

from storywatch.storyline import lexicon as lx
from storywatch.storyline.actors import ActorIndex, venue_country
from storywatch.storyline.text import (
    clean_text,
    drop_background,
    is_background,
    resolve_date,
    split_clauses,
    split_sentences,
)

# One alternation per type: a single scan finds the leftmost trigger of that type.
_COMPILED: dict[str, list[re.Pattern[str]]] = {
    kind: [re.compile("|".join(f"(?:{p})" for p in patterns))]
    for kind, patterns in lx.TYPE_TRIGGERS.items()
}
_GATED: dict[str, list[re.Pattern[str]]] = {
    kind: [re.compile(p) for p in patterns] for kind, patterns in lx.GATED_TRIGGERS.items()
}
_ENCOUNTERS = [re.compile(p) for p in lx.ENCOUNTER_TRIGGERS]
_GATE_WINDOW = 40  # characters before a talk noun searched for evidence of a real round
_GATE_AFTER = 25  # and after it
_NEGATION = re.compile(r"\b(?:no|not|never|nor|without|neither)\b(?:\s+[\w-]+){0,2}\s*$")
# Types that only count when they happened: an unsigned deal is no agreement, a refused
# concession no concession (see the type meanings in the devset SCHEMA).
_FULFILMENT_TYPES = {"agreement", "concession"}
_PREPOSITION_VENUE = re.compile(r"\b(?:in|at|to|inside|near)\s+(?:the\s+)?$")


@dataclass(frozen=True)
class Evidence:
    """Why a candidate exists: the sentence, the trigger terms and the actors it names."""

    sentence: str
    terms: tuple[str, ...]
    actors: tuple[str, ...]


@dataclass
class Candidate:
    """A development reported by one sentence of one article."""

    types: frozenset[str]
    actors: frozenset[str]  # actor ids
    persons: frozenset[str]  # named people, as "side:actor-id"
    sides: frozenset[str]
    place: str | None
    country: str | None
    date: dt.date | None  # the event's date when the text says it (weekday, "May 8")
    reported: dt.date  # publication date of the article
    modality: str  # held | planned | proposed | refused | cancelled
    primary: bool  # from the title or the lead sentence
    evidence: Evidence
    anchored: bool = True  # names a storyline actor or theatre term
    objects: frozenset[str] = field(default_factory=frozenset)  # what aid/sanctions concern

    @property
    def when(self) -> dt.date:
        """Best estimate of when the development happens or happened."""
        return self.date or self.reported


@dataclass(frozen=True)
class _Hit:
    kind: str
    term: str
    modality: str
    date: dt.date | None


def article_sentences(title: str, summary: str) -> list[str]:
    """Title first, then the summary's sentences (both cleaned)."""
    sentences = [clean_text(title)] if title.strip() else []
    sentences.extend(split_sentences(clean_text(summary)))
    return [s for s in sentences if s]


def extract_candidates(
    index: ActorIndex, title: str, summary: str, published: datetime, allowed: frozenset[str]
) -> list[Candidate]:
    """Every development candidate in an article's title and summary, in text order."""
    candidates: list[Candidate] = []
    for position, sentence in enumerate(article_sentences(title, summary)):
        candidate = extract_sentence(index, sentence, published, primary=position <= 1)
        if candidate is not None and candidate.types & allowed:
            candidate.types = candidate.types & allowed
            candidates.append(candidate)
    return candidates


def extract_sentence(
    index: ActorIndex,
    sentence: str,
    published: datetime,
    primary: bool = False,
    lenient: bool = False,
) -> Candidate | None:
    """The development one sentence reports, or None.

    ``lenient`` is for the seed: everything the reader was told is known, including
    background clauses, stances, topics of talk and who was where (a person in a venue).
    """
    if is_background(sentence) and not lenient:
        return None
    main = sentence if lenient else drop_background(sentence)
    actors = index.find_actors(main)
    context = _Context(
        index=index,
        has_venue=_find_place(index, main) is not None,
        sides=len({a.side for a in actors if a.side}),
        lenient=lenient,
    )
    hits = [
        hit for clause in split_clauses(main) for hit in _clause_hits(clause, published, context)
    ]
    if lenient and context.has_venue and any(a.person for a in actors):
        hits.append(_Hit("meeting", "presence", clause_modality(main.lower()), None))
    if not hits:
        return None
    types = {h.kind for h in hits}
    modality = _sentence_modality(hits)
    if modality in ("cancelled", "refused"):
        types -= _FULFILMENT_TYPES
    sides = {a.side for a in actors if a.side}
    if not lenient and len(sides) < 2 and _find_place(index, main) is None:
        types.discard("meeting")
    if not types:
        return None
    place = _find_place(index, main)
    dates = [h.date for h in hits if h.date is not None]
    anchored = bool(actors) or bool(index.theatre and index.theatre.search(main))
    return Candidate(
        types=frozenset(types),
        actors=frozenset(a.id for a in actors),
        persons=frozenset(f"{a.side or '-'}:{a.id}" for a in actors if a.person),
        sides=frozenset(a.side for a in actors if a.side),
        place=place,
        country=venue_country(place) if place else None,
        date=dates[0] if dates else None,
        reported=published.date(),
        modality=modality,
        primary=primary,
        evidence=Evidence(
            sentence=sentence,
            terms=tuple(dict.fromkeys(h.term for h in hits)),
            actors=tuple(a.name for a in actors),
        ),
        anchored=anchored,
        objects=frozenset(w for h in hits for w in h.term.split() if w in lx.OBJECT_WORDS),
    )


@dataclass(frozen=True)
class _Context:
    index: ActorIndex
    has_venue: bool  # the sentence places something in a venue
    sides: int  # how many sides the sentence names
    lenient: bool


def _clause_hits(clause: str, published: datetime, context: _Context) -> list[_Hit]:
    lowered = clause.lower()
    lenient = context.lenient
    if lx.STANCE.search(lowered) and not lenient:
        return []
    modality = clause_modality(lowered)
    when = resolve_date(lowered, published, future=modality == "planned")
    hits: list[_Hit] = []
    for kind, patterns in _COMPILED.items():
        term = _first_live_match(lowered, patterns, lenient)
        if term:
            hits.append(_Hit(kind, term, modality, when))
    if "meeting" not in {h.kind for h in hits}:
        term = _gated_talks(lowered, context.has_venue)
        if term is None and context.sides >= 2:
            term = _encounter(clause, lowered, context)
        if term:
            hits.append(_Hit("meeting", term, modality, when))
    return hits


def _first_live_match(
    lowered: str, patterns: list[re.Pattern[str]], lenient: bool = False
) -> str | None:
    """The first trigger match that is neither negated nor only the topic of talk."""
    for pattern in patterns:
        for match in pattern.finditer(lowered):
            before = lowered[: match.start()]
            if _NEGATION.search(before) or (is_topic(before) and not lenient):
                continue
            return match.group(0).strip()
    return None


def _encounter(clause: str, lowered: str, context: _Context) -> str | None:
    """A visit, hosting or delegation with a storyline actor right after it ("visited Kyiv")."""
    for pattern in _ENCOUNTERS:
        for match in pattern.finditer(lowered):
            if _NEGATION.search(lowered[: match.start()]):
                continue
            if context.index.find_actors(clause[match.end() : match.end() + 40]):
                return match.group(0)
    return None


def _gated_talks(lowered: str, has_venue: bool) -> str | None:
    for pattern in _GATED["meeting"]:
        for match in pattern.finditer(lowered):
            before = lowered[: match.start()]
            if _NEGATION.search(before) or is_topic(before):
                continue
            if lx.PROSPECT_TALKS.search(lowered[: match.end()]):
                continue
            window = lowered[max(0, match.start() - _GATE_WINDOW) : match.end() + _GATE_AFTER]
            if has_venue or lx.TALK_GATE.search(window) or _has_day(window):
                return match.group(0)
    return None


def is_topic(before: str) -> bool:
    """The text before a trigger makes it a topic, wish or hypothesis, not an event."""
    match = lx.TOPIC_BEFORE.search(before)
    return match is not None and not lx.TOPIC_BREAKERS.search(match.group("gap"))


def _has_day(lowered: str) -> bool:
    return any(day in lowered for day in lx.WEEKDAYS)


def clause_modality(lowered: str) -> str:
    """held / planned / proposed / refused / cancelled from the cue words of one clause."""
    for name in lx.MODALITY_ORDER:
        cue = lx.MODALITY_CUES[name]
        if cue.search(lowered):
            # "met on Friday and agreed to meet again": what happened wins, but the cue's own
            # words ("agreed to meet") are no sign that something happened.
            if name in ("planned", "proposed") and lx.HELD_CUES.search(cue.sub(" ", lowered)):
                return "held"
            return name
    return "held"


def _sentence_modality(hits: list[_Hit]) -> str:
    """The modality of the sentence's main development: its first clause with a hit."""
    return hits[0].modality


def _find_place(index: ActorIndex, sentence: str) -> str | None:
    """The venue a sentence places its development in ("talks in Riyadh", "Riyadh hosted").

    The storyline's own places count wherever they appear ("the Black Sea deal"); other venues
    only after a preposition, so that "Moscow said" is no venue.
    """
    if index.storyline_places is not None:
        match = index.storyline_places.search(sentence)
        if match:
            return index.find_venue(match.group(0)) or match.group(0)
    if index.venue_pattern is None:
        return None
    for match in index.venue_pattern.finditer(sentence):
        before = sentence[max(0, match.start() - 12) : match.start()]
        after = sentence[match.end() : match.end() + 8]
        if _PREPOSITION_VENUE.search(before) or re.match(r"\s+host", after):
            return index.find_venue(match.group(0))
    return None
