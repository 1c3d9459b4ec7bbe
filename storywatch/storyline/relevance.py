"""Relevance: is an article about this storyline's war and its diplomacy?

Scored from who and where, not from shared wording. The parties at war (their leaders,
capitals, regions) anchor an article; negotiators and allies only count next to a party; war
and diplomacy vocabulary adds a little. Another theatre named where no party is (Gaza talks
with the same envoy, another war's ceasefire, tariffs on China) pulls the score down.
"""

from __future__ import annotations

from dataclasses import dataclass

from storywatch.storyline import lexicon as lx
from storywatch.storyline.actors import ActorIndex

THRESHOLD = 0.5
_NEUTRAL_COUNTRIES = {"united-states", "european-union", "united-kingdom", "france", "germany"}


@dataclass(frozen=True)
class Relevance:
    score: float  # 0..1
    relevant: bool
    reasons: tuple[str, ...]  # short explanation shown with the score


def score_relevance(index: ActorIndex, title: str, body: str) -> Relevance:
    """Score one article from its title and body text (plain, cleaned)."""
    text = f"{title}. {body}"
    actors = index.find_actors(text)
    title_actors = index.find_actors(title)
    party_sides = {a.side for a in actors if a.side in index.parties}
    theatre_hit = bool(index.theatre and index.theatre.search(text))
    if theatre_hit:
        party_sides |= {p for p in index.parties if _party_named(index, p, text)}
    reasons: list[str] = []
    score = 0.0
    # One party alone (Russian domestic news) is not enough: it needs the other party, a
    # negotiator, or the storyline's own topic words beside it.
    if party_sides:
        score += 0.3 + 0.2 * (len(party_sides) - 1)
        reasons.append("parties: " + ", ".join(sorted(party_sides)))
    if any(a.side in index.parties for a in title_actors):
        score += 0.1
        reasons.append("party in title")
    negotiators = {a.name for a in actors if a.side and a.side not in index.parties}
    if negotiators and party_sides:
        score += 0.15
        reasons.append("negotiators: " + ", ".join(sorted(negotiators)[:4]))
    lowered = text.lower()
    war_terms = set(lx.WAR_TOPIC.findall(lowered))
    topic_terms = set(index.topics.findall(lowered)) if index.topics is not None else set()
    if party_sides and (war_terms or topic_terms):
        score += min(0.2, 0.05 * len(war_terms)) + min(0.2, 0.1 * len(topic_terms))
        reasons.append("topic: " + ", ".join(sorted(war_terms | topic_terms)[:5]))
    elsewhere = _other_theatres(index, title, text)
    if elsewhere:
        score -= 0.25 * len(elsewhere)
        reasons.append("elsewhere: " + ", ".join(sorted(elsewhere)))
    score = max(0.0, min(1.0, score))
    return Relevance(score=round(score, 3), relevant=score >= THRESHOLD, reasons=tuple(reasons))


def _party_named(index: ActorIndex, party: str, text: str) -> bool:
    return index.names_country(party, text)


def _other_theatres(index: ActorIndex, title: str, text: str) -> set[str]:
    """Countries of other conflicts that dominate: no party named at all, or a title about
    another country that names no party. Venues (a country hosting talks) never count."""
    ignored = set(index.parties) | _NEUTRAL_COUNTRIES | index.venue_countries
    if not _any_party(index, text):
        return index.find_countries(text) - ignored
    in_title = index.find_countries(title) - ignored
    if in_title and not _any_party(index, title):
        return in_title
    return set()


def _any_party(index: ActorIndex, text: str) -> bool:
    return any(_party_named(index, p, text) for p in index.parties)
