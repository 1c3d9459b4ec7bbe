"""Drafting a seed from an article: front matter proposed from its text, for the user to edit.

Pure: text in, a ``SeedDraft`` and the seed file's text out. What it proposes is a first guess
from surface cues: runs of capitalised words as candidate actors (titles like "President"
dropped; a person's surname as an alias), known countries, capitals and summit cities as places,
the two countries named most as the parties (each also an actor, its capital an alias). Sides,
theatre and topics are left for the user, with a comment saying what each does.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from storywatch.config.places import CAPITALS, COUNTRY_NAMES, OTHER_CITIES, REGIONS
from storywatch.config.seeds import DEVELOPMENT_TYPES, split_front_matter

MAX_ACTORS = 20
MAX_COUNTRY_ACTORS = 4
_WORD = r"(?:al-|el-)?[A-Z][a-zà-ÿ]+(?:[A-Z][a-zà-ÿ]+)?(?:-[A-Za-zà-ÿ]+)*"  # McGurk, Ben-Gvir
_PARTICLE = r"(?:(?:bin|ibn|al|el|de|da|di|van|von|der|du|le|la)[ \t]+)?"
_NAME = re.compile(rf"(?<![\w'’-]){_WORD}(?:[ \t]+{_PARTICLE}{_WORD})+(?![\w'’-])")
_SINGLE = re.compile(rf"(?<![\w'’-]){_WORD}(?![\w-])")
# Words that start or end a capitalised run without belonging to a name (sentence openers,
# days, months).
_NOT_NAME = frozenset(
    """The A An And But Or If In On At By For From Of To With After Before During Since While
    When Where As This That These Those Its It He She They We His Her Their Our Meanwhile
    Also Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March
    April May June July August September October November December Read More Reuters AP AFP
    Photo Officials Negotiators Talks""".split()  # noqa: SIM905
)
# Titles: a run keeps only what follows its last title ("Israeli Prime Minister Benjamin
# Netanyahu" -> "Benjamin Netanyahu").
_TITLES = frozenset(
    """President Prime Minister Foreign Defence Defense Secretary Chancellor King Queen Prince
    Pope Mr Mrs Ms Dr Sen Senator Envoy Chief Deputy Vice Ambassador Spokesman Spokeswoman
    Spokesperson Former Acting Leader Commander Gen Col Lt Sheikh Emir Official Adviser
    Advisor Negotiator Mediator Premier""".split()  # noqa: SIM905
)
# A run with one of these words names a body, not a person: no surname alias.
_BODY_WORDS = frozenset(
    """Union Nations Council Ministry House Party Army Forces Force Bank Court Commission
    Parliament Agency Office Department Organisation Organization Group Committee Front
    Guard Authority Republic Kingdom States Times News Post Service Fund Alliance Assembly
    Company Corporation Institute University Centre Center Movement Brigade Brigades Kremlin
    Pentagon Cabinet Government Senate Congress Federation Emirates Network Press Summit""".split()  # noqa: SIM905
)
_REGION_WORDS = frozenset(
    """North South East West Middle Central Northern Southern Eastern Western Sea
    Gulf""".split()  # noqa: SIM905
)
_MONTHS_ = "January February March April May June July August September October November December"
_MONTHS = _MONTHS_.split()
_ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b")
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}}) ({'|'.join(_MONTHS)}) ((?:19|20)\d\d)\b")
_MONTH_DAY_YEAR = re.compile(rf"\b({'|'.join(_MONTHS)}) (\d{{1,2}}),? ((?:19|20)\d\d)\b")


@dataclass(frozen=True)
class DraftActor:
    name: str
    aliases: list[str] = field(default_factory=list)
    side: str | None = None
    mentions: int = 0


@dataclass(frozen=True)
class SeedDraft:
    id: str
    title: str
    date: str
    dated_from_text: bool  # False: no date found in the text, today's date proposed
    countries: list[tuple[str, int]]  # countries named, most mentioned first (the parties' cue)
    actors: list[DraftActor]
    places: list[str]
    theatre: list[str]  # regions named, most mentioned first
    body: str


def draft_seed(storyline_id: str, document: str, today: date) -> SeedDraft:
    """Propose a seed's front matter from an article (plain text or Markdown; front matter
    it already has is dropped, its body kept)."""
    body = split_front_matter(document)[1] if document.lstrip().startswith("---") else document
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S).strip()  # Markdown comments: not text
    prose = _prose(body)
    found_date = _dateline_date(body)
    places, countries = _places(body)
    theatre = [
        r for r in sorted(REGIONS, key=lambda r: -_mentions(prose, r)) if _mentions(prose, r)
    ]
    named = _named_actors(prose, {*places, *REGIONS})
    return SeedDraft(
        id=storyline_id,
        title=_title(body, storyline_id),
        date=(found_date or today).isoformat(),
        dated_from_text=found_date is not None,
        countries=countries.most_common(),
        actors=[*_country_actors(countries, body), *named],
        places=places,
        theatre=[r for r in theatre if not any(r != o and r in o for o in theatre)] or theatre,
        body=body,
    )


def _title(body: str, storyline_id: str) -> str:
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 100 else line[:100].rsplit(" ", 1)[0] + " …"
    return storyline_id.replace("-", " ").capitalize()


def _prose(body: str) -> str:
    """The body without its headings: Markdown ones, and lines in title case ("A Deal in
    Three Stages"), whose every word is capitalised and would read as a name."""
    kept = []
    for line in body.splitlines():
        words = re.findall(r"[A-Za-z][\w'’-]*", line)
        capitalised = sum(w[0].isupper() for w in words)
        heading = line.lstrip().startswith("#") or (
            words and capitalised >= 0.6 * len(words) and not line.rstrip().endswith((".", '"'))
        )
        kept.append("" if heading else line)
    return "\n".join(kept)


def _dateline_date(body: str) -> date | None:
    """The article's own date: one in its title or the start of its first paragraph (the
    dateline). A date further on is more often background ("the attack of 7 October 2023")."""
    lines = [line.strip() for line in body.splitlines() if line.strip()][:2]
    return _first_date("\n".join(line[:80] for line in lines))


def _first_date(text: str) -> date | None:
    candidates: list[tuple[int, date]] = []
    for match in _ISO_DATE.finditer(text):
        candidates += _dated(match.start(), int(match[1]), int(match[2]), int(match[3]))
    for match in _DAY_MONTH_YEAR.finditer(text):
        month = _MONTHS.index(match[2]) + 1
        candidates += _dated(match.start(), int(match[3]), month, int(match[1]))
    for match in _MONTH_DAY_YEAR.finditer(text):
        month = _MONTHS.index(match[1]) + 1
        candidates += _dated(match.start(), int(match[3]), month, int(match[2]))
    return min(candidates)[1] if candidates else None


def _dated(at: int, year: int, month: int, day: int) -> list[tuple[int, date]]:
    try:
        return [(at, date(year, month, day))]
    except ValueError:
        return []


def _mentions(text: str, phrase: str) -> int:
    return len(re.findall(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text))


def _places(text: str) -> tuple[list[str], Counter[str]]:
    """Places named (in order of first mention) and mentions per country: its name, its other
    names and its adjective ("Israeli", "Ukrainian"; a capital is a venue, so it does not
    count)."""
    first: dict[str, int] = {}
    countries: Counter[str] = Counter()
    for name, country in {**{c: c for c in CAPITALS}, **COUNTRY_NAMES}.items():
        count = _mentions(text, name) + len(re.findall(_adjective(name), text))
        if count:
            countries[country] += count
            at = text.find(name)
            first[country] = min(first.get(country, len(text)), at if at >= 0 else len(text))
    for capital in [*CAPITALS.values(), *OTHER_CITIES]:
        if _mentions(text, capital):
            first[capital] = min(first.get(capital, len(text)), text.find(capital))
    return sorted(first, key=first.__getitem__), countries


def _adjective(country: str) -> str:
    """A regex for the adjective and demonym most English uses ("Russia" -> "Russian(s)",
    "Ukraine" -> "Ukrainian", "China" -> "Chinese", "Israel" -> "Israeli(s)")."""
    stem = country[:-1] if country[-1] in "ae" and " " not in country else country
    return rf"(?<![\w-]){re.escape(stem)}(?:an|ian|ese|i|n)s?(?![\w-])"


def _side_id(country: str) -> str:
    """The storyline engine's id for a country ("united-states"; its short ids for two)."""
    short = {"United Arab Emirates": "uae", "Democratic Republic of the Congo": "congo"}
    return short.get(country) or re.sub(r"[^a-z0-9]+", "-", country.lower()).strip("-")


def _country_actors(countries: Counter[str], text: str) -> list[DraftActor]:
    """The countries named most, each as an actor: its adjective, other names and capital as
    aliases (as the shipped seed names "Russia": Russian, Kremlin, Moscow)."""
    actors = []
    for country, count in countries.most_common(MAX_COUNTRY_ACTORS):
        aliases = sorted(set(re.findall(_adjective(country), text)))
        aliases += [n for n, c in COUNTRY_NAMES.items() if c == country and _mentions(text, n)]
        if _mentions(text, CAPITALS[country]):
            aliases.append(CAPITALS[country])
        actors.append(DraftActor(country, aliases, _side_id(country), count))
    return actors


def _named_actors(text: str, places: set[str]) -> list[DraftActor]:
    """Capitalised runs of two or more words (titles and openers trimmed), and single
    capitalised words named twice or more mid-sentence; most mentioned first."""
    text = re.sub(r"(?<=\w)['’]s\b", "", text)  # "Netanyahu's office": the name is "Netanyahu"
    counts: Counter[str] = Counter()
    for match in _NAME.finditer(text):
        words = match[0].split()
        titled = [i for i, word in enumerate(words) if word.split("-")[0] in _TITLES]
        if titled:
            words = words[titled[-1] + 1 :]
        while words and (words[0] in _NOT_NAME or words[0] == "State"):  # "of State X Y"
            words.pop(0)
        while words and words[-1] in _NOT_NAME:
            words.pop()
        name = " ".join(words)
        if len(words) < 2 or name in places or name in COUNTRY_NAMES or _is_adjective(words[0]):
            continue
        counts[name] += 1
    actors = []
    for name, count in counts.items():
        words = name.split()
        person = not any(word in _BODY_WORDS for word in words)
        surname = " ".join(words[-2:]) if words[-2] in ("Al", "El", "Abu") else words[-1]
        person = person and not any(word in _REGION_WORDS for word in words)
        alias = [surname] if person and surname not in places and surname != name else []
        # a surname alone counts as a mention too ("Netanyahu said ..." after his full name)
        mentions = _mentions(text, surname) if alias else count
        actors.append(DraftActor(name, alias, None, max(count, mentions)))
    known = {word for name in [*places, *(a.name for a in actors)] for word in name.split()}
    for word in _mid_sentence_words(text):
        count = _mentions(text, word)
        if count >= 2 and word not in known and word not in places and not _is_adjective(word):
            actors.append(DraftActor(word, [], None, count))
    actors.sort(key=lambda a: (-a.mentions, text.find(a.name)))
    return _without_shadowed(actors)[:MAX_ACTORS]


def _is_adjective(word: str) -> bool:
    return any(re.fullmatch(_adjective(c), word) for c in CAPITALS)


def _mid_sentence_words(text: str) -> Counter[str]:
    """Capitalised words not at a sentence's or line's start (there, any word is capitalised)."""
    counts: Counter[str] = Counter()
    for match in _SINGLE.finditer(text):
        before = text[: match.start()].rstrip(" \t")
        if not before or before[-1] in '.!?\n"“‘(—–:#' or match[0] in _NOT_NAME:
            continue
        if match[0] in _TITLES or match[0] in COUNTRY_NAMES or match[0] in CAPITALS:
            continue
        counts[match[0]] += 1
    return counts


def _without_shadowed(actors: list[DraftActor]) -> list[DraftActor]:
    """Drop a name that is part of one kept before it, or holds one ("Witkoff" after
    "Steve Witkoff")."""
    kept: list[DraftActor] = []
    for actor in actors:
        words = set(actor.name.split())
        if any(words <= set(other.name.split()) for other in kept):
            continue
        kept.append(actor)
    return kept


def render_seed(draft: SeedDraft, source: str) -> str:
    """The seed file: front matter with a comment on each key, then the article's text."""
    q = _quote
    date_note = (
        "found in the text" if draft.dated_from_text else "no date in the text: today's; edit it"
    )
    lines = [
        "---",
        f"# Drafted by `storywatch seed new` from {source}: edit it, then `storywatch check`.",
        "# Every key is optional; README.md, 'Follow another story', says what each one does.",
        f"id: {q(draft.id)}          # the storyline's id in sources.yaml",
        f"title: {q(draft.title)}",
        f"date: {q(draft.date)}   # {date_note}; what the reader knew as of this day",
        "# parties: the sides in conflict, as lower-case ids (their naming anchors relevance;",
        "# default: the two countries the seed names most). Each actor's side is one of them or",
        "# another camp (e.g. us, europe, mediator). Countries named (mentions):",
        f"# {_counted(draft.countries) or 'none'}",
        "parties: []",
        "# actors: who the story is about; aliases: other names outlets use (a surname, a",
        "# capital for its government); side: which party or camp. Drop the ones that are not.",
        "actors:" if draft.actors else "actors: []",
    ]
    for actor in draft.actors:
        lines.append(f"  - name: {q(actor.name)}")
        lines.append(f"    aliases: {_flow(actor.aliases)}")
        if actor.side:
            lines.append(f"    side: {q(actor.side)}")
        else:
            lines.append("    # side: ")
    lines += [
        "# places: where the story happens and where talks are held",
        f"places: {_flow(draft.places)}",
        "# theatre: regions and front-line places of the conflict itself (an article naming",
        "# them belongs to this storyline's war)",
        f"theatre: {_flow(draft.theatre)}",
        '# topics: phrases of the story, e.g. "peace talks", "hostage deal"',
        "topics: []",
        "# types: the kinds of development to alert on (drop those that do not apply)",
        f"types: {_flow(list(DEVELOPMENT_TYPES))}",
        "---",
        draft.body,
        "",
    ]
    return "\n".join(lines)


def _counted(countries: list[tuple[str, int]]) -> str:
    return ", ".join(f"{_side_id(c)} ({n})" for c, n in countries[:8])


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _flow(values: list[str]) -> str:
    return "[" + ", ".join(_quote(v) for v in values) + "]"
