"""Actors and places: who and where, compiled from the seed (front matter or text alone).

An ``ActorIndex`` finds storyline actors by their aliases (case-sensitive: names are capitalised
in news copy, and "US" must not match "us") and maps each to a side. Places come from a small
generic gazetteer of countries, capitals and diplomatic venues, so a storyline without front
matter still knows that Riyadh is in Saudi Arabia and that Gaza is somewhere else.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from storywatch.config.seeds import Seed

# Country -> names, demonyms and main cities. Generic world knowledge, not storyline terms.
COUNTRIES: dict[str, tuple[str, ...]] = {
    "russia": (
        "Russia",
        "Russian",
        "Russians",
        "Moscow",
        "Kremlin",
        "St Petersburg",
        "St. Petersburg",
        "Kursk",
        "Belgorod",
        "Sochi",
        "Magadan",
    ),
    "ukraine": (
        "Ukraine",
        "Ukrainian",
        "Ukrainians",
        "Kyiv",
        "Kiev",
        "Kharkiv",
        "Odesa",
        "Odessa",
        "Sumy",
        "Dnipro",
        "Zaporizhzhia",
        "Kherson",
        "Donetsk",
        "Luhansk",
        "Donbas",
        "Crimea",
        "Kryvyi Rih",
        "Lviv",
        "Mariupol",
        "Chernobyl",
    ),
    "united-states": (
        "United States",
        "U.S.",
        "US",
        "USA",
        "American",
        "Americans",
        "Washington",
        "White House",
        "Pentagon",
        "State Department",
        "Alaska",
        "Anchorage",
        "Florida",
        "Miami",
        "Palm Beach",
        "Mar-a-Lago",
        "New York",
    ),
    "united-kingdom": (
        "Britain",
        "British",
        "United Kingdom",
        "U.K.",
        "UK",
        "London",
        "Downing Street",
        "Lancaster House",
    ),
    "france": ("France", "French", "Paris", "Élysée", "Elysee"),
    "germany": ("Germany", "German", "Berlin", "Munich"),
    "european-union": ("European Union", "EU", "E.U.", "Brussels", "European Commission"),
    "saudi-arabia": ("Saudi Arabia", "Saudi", "Riyadh", "Jeddah", "Diriyah"),
    "turkey": ("Turkey", "Türkiye", "Turkish", "Istanbul", "Ankara", "Antalya"),
    "uae": ("United Arab Emirates", "UAE", "Emirati", "Abu Dhabi", "Dubai"),
    "qatar": ("Qatar", "Qatari", "Doha"),
    "switzerland": ("Switzerland", "Swiss", "Geneva", "Bern", "Davos", "Bürgenstock"),
    "vatican": ("Vatican", "Pope", "St. Peter's", "St Peter's"),
    "belarus": ("Belarus", "Belarusian", "Minsk", "Lukashenko"),
    "poland": ("Poland", "Polish", "Warsaw"),
    "italy": ("Italy", "Italian", "Rome"),
    "hungary": ("Hungary", "Hungarian", "Budapest", "Orban", "Orbán"),
    "finland": ("Finland", "Finnish", "Helsinki"),
    "norway": ("Norway", "Norwegian", "Oslo"),
    "denmark": ("Denmark", "Danish", "Copenhagen", "Greenland", "Greenlandic"),
    "netherlands": ("Netherlands", "Dutch", "The Hague", "Amsterdam"),
    "israel": ("Israel", "Israeli", "Israelis", "Jerusalem", "Tel Aviv", "Netanyahu"),
    "palestine": (
        "Gaza",
        "Hamas",
        "Palestinian",
        "Palestinians",
        "West Bank",
        "Khan Younis",
        "Rafah",
    ),
    "lebanon": ("Lebanon", "Lebanese", "Beirut", "Hezbollah"),
    "iran": ("Iran", "Iranian", "Tehran", "Araghchi", "Khamenei"),
    "oman": ("Oman", "Omani", "Muscat"),
    "syria": ("Syria", "Syrian", "Damascus", "Assad", "SDF", "Sharaa"),
    "yemen": ("Yemen", "Yemeni", "Houthi", "Houthis", "Sanaa"),
    "egypt": ("Egypt", "Egyptian", "Cairo"),
    "china": ("China", "Chinese", "Beijing", "Xi Jinping", "Taiwan", "Taiwanese"),
    "india": ("India", "Indian", "New Delhi", "Delhi", "Modi", "Kashmir"),
    "pakistan": ("Pakistan", "Pakistani", "Islamabad"),
    "north-korea": ("North Korea", "North Korean", "Pyongyang", "Kim Jong Un"),
    "japan": ("Japan", "Japanese", "Tokyo"),
    "south-korea": ("South Korea", "South Korean", "Seoul"),
    "congo": ("Congo", "Congolese", "DRC", "Kinshasa", "M23", "Goma", "Tshisekedi"),
    "rwanda": ("Rwanda", "Rwandan", "Kigali", "Kagame"),
    "sudan": ("Sudan", "Sudanese", "Khartoum", "Darfur"),
    "ethiopia": ("Ethiopia", "Ethiopian", "Addis Ababa", "Tigray"),
    "armenia": ("Armenia", "Armenian", "Yerevan"),
    "azerbaijan": ("Azerbaijan", "Azerbaijani", "Baku"),
    "georgia": ("Georgia", "Georgian", "Tbilisi"),
    "moldova": ("Moldova", "Moldovan", "Chisinau", "Transnistria"),
    "serbia": ("Serbia", "Serbian", "Belgrade", "Kosovo"),
    "venezuela": ("Venezuela", "Venezuelan", "Caracas", "Maduro"),
    "colombia": ("Colombia", "Colombian", "Bogota"),
    "mexico": ("Mexico", "Mexican"),
    "canada": ("Canada", "Canadian", "Ottawa"),
    "afghanistan": ("Afghanistan", "Afghan", "Kabul", "Taliban"),
    "myanmar": ("Myanmar", "Burma"),
    "thailand": ("Thailand", "Thai", "Bangkok"),
    "cambodia": ("Cambodia", "Cambodian", "Phnom Penh"),
    "south-africa": ("South Africa", "South African", "Pretoria", "Johannesburg"),
    "brazil": ("Brazil", "Brazilian", "Brasilia"),
    "austria": ("Austria", "Austrian", "Vienna"),
    "kazakhstan": ("Kazakhstan", "Astana"),
    "libya": ("Libya", "Libyan", "Tripoli"),
    "somalia": ("Somalia", "Somali", "Mogadishu"),
}
# Venues: cities where talks are held. A place in a development signature is the most specific
# venue named (Riyadh, Jeddah), mapped to its country for compatibility checks.
VENUES = (
    "Riyadh",
    "Jeddah",
    "Diriyah",
    "Istanbul",
    "Ankara",
    "Antalya",
    "Abu Dhabi",
    "Dubai",
    "Doha",
    "Geneva",
    "Bern",
    "Munich",
    "Berlin",
    "Paris",
    "London",
    "Brussels",
    "Rome",
    "Vatican",
    "Moscow",
    "St Petersburg",
    "St. Petersburg",
    "Kyiv",
    "Washington",
    "White House",
    "Oval Office",
    "Alaska",
    "Anchorage",
    "Miami",
    "Florida",
    "Palm Beach",
    "Mar-a-Lago",
    "Helsinki",
    "Budapest",
    "Minsk",
    "Muscat",
    "Cairo",
    "Oslo",
    "New York",
    "Davos",
    "Lancaster House",
    "Élysée",
    "Elysee",
    "Sochi",
    "Magadan",
    "Warsaw",
    "The Hague",
    "Kigali",
    "Kinshasa",
    "Beijing",
    "Tehran",
    "Baku",
    "Yerevan",
    "Tbilisi",
    "Vienna",
)
# Countries that commonly host other parties' talks: naming them is no sign of another war.
MEDIATOR_COUNTRIES = frozenset({"saudi-arabia", "turkey", "uae", "qatar", "switzerland", "vatican"})
_VENUE_ALIASES = {
    "St. Petersburg": "St Petersburg",
    "Oval Office": "White House",
    "Élysée": "Paris",
    "Elysee": "Paris",
    "Lancaster House": "London",
    "Diriyah": "Riyadh",
    "Anchorage": "Alaska",
    "Mar-a-Lago": "Palm Beach",
}


_ALIASES: dict[re.Pattern[str], list[str]] = {}


def _alias_pattern(aliases: list[str]) -> re.Pattern[str]:
    ordered = sorted({a for a in aliases if a}, key=len, reverse=True)
    # No aliases (a seed without front matter may name no actor): match nothing, not "".
    body = "|".join(re.escape(a) for a in ordered) or "(?!)"
    # Names may be followed by possessives; dotted abbreviations must not run into words.
    pattern = re.compile(r"(?<![\w.])(?:" + body + r")(?![\w])")
    _ALIASES[pattern] = ordered
    return pattern


def _aliases_of(pattern: re.Pattern[str]) -> list[str]:
    return _ALIASES[pattern]


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    side: str | None
    person: bool  # a named person (principal) rather than a country, capital or institution


@dataclass
class ActorIndex:
    """Compiled actors and places of one storyline."""

    actors: list[Actor]
    patterns: list[tuple[Actor, re.Pattern[str]]]
    parties: frozenset[str]  # the sides at war: their presence anchors relevance
    theatre: re.Pattern[str] | None  # storyline-specific theatre terms (front matter)
    topics: re.Pattern[str] | None
    country_patterns: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    venue_pattern: re.Pattern[str] | None = None
    venue_countries: frozenset[str] = frozenset()
    storyline_places: re.Pattern[str] | None = None  # front-matter places: match anywhere

    def __post_init__(self) -> None:
        # One pass over the text per lookup: all aliases in one longest-first alternation.
        self._actor_by_alias = {
            alias: actor for actor, pattern in self.patterns for alias in _aliases_of(pattern)
        }
        self._actors_re = _alias_pattern(list(self._actor_by_alias))
        self._country_by_name = {
            name: country
            for country, pattern in self.country_patterns
            for name in _aliases_of(pattern)
        }
        self._countries_re = _alias_pattern(list(self._country_by_name))

    def find_actors(self, text: str) -> list[Actor]:
        """Actors named in ``text``, in order of first appearance."""
        found: dict[str, Actor] = {}
        for match in self._actors_re.finditer(text):
            actor = self._actor_by_alias[match.group(0)]
            found.setdefault(actor.id, actor)
        return list(found.values())

    @property
    def actors_pattern(self) -> re.Pattern[str]:
        """One alternation of every actor alias (longest first)."""
        return self._actors_re

    @property
    def countries_pattern(self) -> re.Pattern[str]:
        return self._countries_re

    def actor_by_alias(self, alias: str) -> Actor | None:
        return self._actor_by_alias.get(alias)

    def country_of(self, name: str) -> str | None:
        return self._country_by_name.get(name)

    def find_countries(self, text: str) -> set[str]:
        return {self._country_by_name[m.group(0)] for m in self._countries_re.finditer(text)}

    def names_country(self, country: str, text: str) -> bool:
        return country in self.find_countries(text)

    def find_venue(self, text: str) -> str | None:
        if self.venue_pattern is None:
            return None
        match = self.venue_pattern.search(text)
        if not match:
            return None
        return _VENUE_ALIASES.get(match.group(0), match.group(0))


def venue_country(venue: str) -> str | None:
    for country, names in COUNTRIES.items():
        if venue in names:
            return country
    return None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def build_index(seed: Seed) -> ActorIndex:
    """Compile the storyline's actors: from front matter when present, else from the text."""
    meta = seed.meta
    actors: list[Actor] = []
    aliases: dict[str, list[str]] = {}
    if meta.actors:
        for entry in meta.actors:
            person = _looks_like_person(entry.name)
            actor = Actor(id=_slug(entry.name), name=entry.name, side=entry.side, person=person)
            actors.append(actor)
            aliases[actor.id] = [entry.name, *entry.aliases]
    else:
        actors, aliases = _actors_from_text(seed.text)
    parties = frozenset(getattr(meta, "parties", None) or _default_parties(seed.text))
    theatre_terms = list(getattr(meta, "theatre", None) or [])
    for party in parties:
        theatre_terms.extend(COUNTRIES.get(party, ()))
    return ActorIndex(
        actors=actors,
        patterns=[(a, _alias_pattern(aliases[a.id])) for a in actors],
        parties=parties,
        theatre=_alias_pattern(theatre_terms) if theatre_terms else None,
        topics=_topic_pattern(meta.topics),
        country_patterns=[(c, _alias_pattern(list(n))) for c, n in COUNTRIES.items()],
        venue_pattern=_alias_pattern([*VENUES, *meta.places]),
        storyline_places=_alias_pattern(list(meta.places)) if meta.places else None,
        venue_countries=frozenset(
            c for c in (venue_country(p) for p in meta.places) if c is not None
        )
        | MEDIATOR_COUNTRIES,
    )


def _topic_pattern(topics: list[str]) -> re.Pattern[str] | None:
    if not topics:
        return None
    body = "|".join(re.escape(t.lower()) for t in sorted(topics, key=len, reverse=True))
    return re.compile(r"\b(?:" + body + r")\b")


_TITLE_WORDS = re.compile(
    r"\b(?:President|Minister|Secretary|envoy|Envoy|adviser|Chancellor|Prime|aide|Director|"
    r"spokesman|leader)\s+((?:[A-Z][a-z]+\s){0,2}[A-Z][a-z]+)"
)


def _looks_like_person(name: str) -> bool:
    parts = name.split()
    return (
        len(parts) >= 2
        and all(p[:1].isupper() for p in parts)
        and name not in {n for names in COUNTRIES.values() for n in names}
    )


def _actors_from_text(text: str) -> tuple[list[Actor], dict[str, list[str]]]:
    """Without front matter: countries named in the seed become sides, titled names persons."""
    actors: list[Actor] = []
    aliases: dict[str, list[str]] = {}
    for country, names in COUNTRIES.items():
        if _alias_pattern(list(names)).search(text):
            actors.append(Actor(id=country, name=names[0], side=country, person=False))
            aliases[country] = list(names)
    for match in _TITLE_WORDS.finditer(text):
        full = match.group(1)
        side = _nearest_country(text[max(0, match.start() - 40) : match.start()])
        actor_id = _slug(full)
        if actor_id in aliases or len(full.split()) < 2:
            continue
        actors.append(Actor(id=actor_id, name=full, side=side, person=True))
        aliases[actor_id] = [full, full.split()[-1]]
    return actors, aliases


def _nearest_country(window: str) -> str | None:
    best: tuple[int, str] | None = None
    for country, names in COUNTRIES.items():
        for name in names:
            position = window.rfind(name)
            if position >= 0 and (best is None or position > best[0]):
                best = (position, country)
    return best[1] if best else None


def _default_parties(text: str) -> list[str]:
    """The two sides the seed names most often: in a war story, the belligerents."""
    counts: Counter[str] = Counter()
    for country, names in COUNTRIES.items():
        counts[country] = len(_alias_pattern(list(names)).findall(text))
    return [country for country, n in counts.most_common(2) if n]
