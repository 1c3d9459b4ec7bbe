"""Storyline engine: relevance, extraction, modality, novelty, folding, dismiss, memory.

Every sentence here is invented for the test; none comes from the devset or real feeds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storywatch.config.seeds import load_seed
from storywatch.parse.normalise import Article
from storywatch.storyline import Memory, Signature, Storyline, assess, classify, detect
from storywatch.storyline.engine import SUMMARY_CHARS
from storywatch.storyline.extract import extract_sentence

SEED = """---
id: test-talks
title: Test talks
date: "2025-03-03"
parties: [russia, ukraine]
actors:
  - {name: Vladimir Putin, aliases: [Putin], side: russia}
  - {name: Russia, aliases: [Russian, Kremlin, Moscow], side: russia}
  - {name: Volodymyr Zelensky, aliases: [Zelensky, Zelenskiy], side: ukraine}
  - {name: Ukraine, aliases: [Ukrainian, Kyiv], side: ukraine}
  - {name: Donald Trump, aliases: [Trump], side: us}
  - {name: United States, aliases: [U.S., Washington, White House], side: us}
  - {name: Steve Witkoff, aliases: [Witkoff], side: us}
  - {name: Marco Rubio, aliases: [Rubio], side: us}
places: [Saudi Arabia, Riyadh, Geneva]
theatre: [Crimea, Donbas, Black Sea]
topics: [peace talks, ceasefire, war in Ukraine]
---
Leaders prepare for talks on the war in Ukraine

On Monday Trump spoke by phone with Putin for ninety minutes about ending the war.
Rubio said he would travel to Geneva next week for talks with Ukrainian officials.
"""


@pytest.fixture(scope="module")
def storyline(tmp_path_factory: pytest.TempPathFactory) -> Storyline:
    path = tmp_path_factory.mktemp("seeds") / "test-talks.md"
    path.write_text(SEED, encoding="utf-8")
    return Storyline.from_seed(load_seed(path))


def article(title: str, summary: str, day: int, hour: int = 12, source: str = "a") -> Article:
    url = f"https://{source}.example/{day}/{abs(hash(title)) % 10**8}"
    return Article(
        source=source,
        url=url,
        link=url,
        guid=None,
        title=title,
        summary=summary,
        content="",
        published=datetime(2025, 3, day, hour, tzinfo=UTC),
        date_missing=False,
    )


def candidate(storyline: Storyline, sentence: str, day: int = 10):
    published = datetime(2025, 3, day, 12, tzinfo=UTC)
    return extract_sentence(storyline.index, sentence, published, primary=True)


# --- relevance -----------------------------------------------------------------------------


def test_relevant_when_both_parties_and_diplomacy(storyline: Storyline) -> None:
    item = article(
        "Kyiv and Moscow envoys trade proposals",
        "Ukrainian and Russian envoys "
        "exchanged written proposals on a ceasefire along the front line.",
        10,
    )
    result = assess(storyline, item)
    assert result.relevant and result.score >= 0.5


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "Witkoff lands in Doha for hostage talks",
            "The U.S. envoy met Hamas mediators in "
            "Qatar to push a Gaza truce and the release of captives.",
        ),
        (
            "New Delhi and Islamabad agree border ceasefire",
            "Indian and Pakistani commanders agreed to stop firing along the Kashmir frontier.",
        ),
        (
            "Washington and Beijing open trade talks",
            "U.S. and Chinese negotiators met in "
            "Geneva to discuss tariffs on steel and electronics.",
        ),
        (
            "White House raises tariffs on car imports",
            "Trump signed an order lifting duties on cars from Mexico and Canada to 30%.",
        ),
        (
            "Central bank in Moscow keeps rates on hold",
            "Russian policymakers left the key rate unchanged, citing sticky inflation.",
        ),
    ],
)
def test_look_alikes_are_not_relevant(storyline: Storyline, title: str, summary: str) -> None:
    assert not assess(storyline, article(title, summary, 10)).relevant


# --- extraction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Witkoff met Putin in the Kremlin on Tuesday for four hours.", "meeting"),
        ("Kyiv agreed to drop its demand for an immediate return of Crimea.", "concession"),
        ("Putin ordered a three-day truce along the whole front.", "ceasefire"),
        ("Washington and Kyiv signed a deal on a joint reconstruction fund.", "agreement"),
        ("Rubio presented a 12-point peace plan to Ukrainian officials.", "proposal"),
        ("Russia and Ukraine exchanged 90 prisoners of war on Sunday.", "prisoner_exchange"),
        ("The EU imposed new sanctions on Russian oil tankers.", "sanctions"),
        ("The U.S. resumed weapons deliveries to Ukraine on Friday.", "aid"),
    ],
)
def test_extracts_each_type(storyline: Storyline, sentence: str, expected: str) -> None:
    found = candidate(storyline, sentence)
    assert found is not None and expected in found.types
    assert found.evidence.sentence == sentence and found.evidence.terms


def test_extraction_keeps_actors_place_and_date(storyline: Storyline) -> None:
    found = candidate(storyline, "Rubio met Ukrainian negotiators in Riyadh on Tuesday.", day=13)
    assert found is not None
    assert {"marco-rubio", "ukraine"} <= found.actors
    assert found.place == "Riyadh"
    assert found.date is not None and found.date.isoformat() == "2025-03-11"


@pytest.mark.parametrize(
    "sentence",
    [
        "Analysts discussed whether a ceasefire is possible this year.",
        "No talks have been held since the spring.",
        "Kyiv must never accept a deal that rewards aggression.",
        "The move was meant to push Kyiv toward peace talks with Moscow.",
        "Putin visited a command post near the front line.",
    ],
)
def test_topics_stances_and_negations_are_no_development(
    storyline: Storyline, sentence: str
) -> None:
    assert candidate(storyline, sentence) is None


# --- modality ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "modality"),
    [
        ("Witkoff met Putin in Moscow on Thursday.", "held"),
        ("Witkoff will meet Putin in Moscow next week.", "planned"),
        ("Rubio proposed a truce covering energy sites.", "proposed"),
        ("Moscow rejected the U.S. proposal for a truce.", "refused"),
        ("The summit in Riyadh was cancelled at the last minute.", "cancelled"),
    ],
)
def test_modality(storyline: Storyline, sentence: str, modality: str) -> None:
    found = candidate(storyline, sentence)
    assert found is not None and found.modality == modality


def test_refused_deal_is_not_an_agreement(storyline: Storyline) -> None:
    found = candidate(storyline, "Kyiv refused to sign the deal drafted in Washington.")
    assert found is None or "agreement" not in found.types


# --- novelty -------------------------------------------------------------------------------


def test_seed_restatement_is_known(storyline: Storyline) -> None:
    found = candidate(storyline, "Trump spoke by phone with Putin on Monday.", day=4)
    assert found is not None
    verdict = classify(storyline.initial_memory(), Signature.of(found), storyline.index.parties)
    assert verdict.novelty == "known"


def test_new_call_weeks_later_is_new(storyline: Storyline) -> None:
    found = candidate(storyline, "Trump spoke by phone with Putin on Monday.", day=24)
    assert found is not None
    verdict = classify(storyline.initial_memory(), Signature.of(found), storyline.index.parties)
    assert verdict.novelty == "new"


def test_planned_talks_now_held_is_update(storyline: Storyline) -> None:
    found = candidate(
        storyline, "Rubio held talks with Ukrainian officials in Geneva on Monday.", day=10
    )
    assert found is not None
    verdict = classify(storyline.initial_memory(), Signature.of(found), storyline.index.parties)
    assert verdict.novelty == "update"


def test_call_with_other_leader_is_not_the_same(storyline: Storyline) -> None:
    found = candidate(storyline, "Trump spoke by phone with Zelensky on Monday.", day=4)
    assert found is not None
    verdict = classify(storyline.initial_memory(), Signature.of(found), storyline.index.parties)
    assert verdict.novelty != "known"


# --- detect: folding, updates, dismiss, memory ---------------------------------------------

SUMMIT_A = article(
    "Witkoff and Putin hold five hours of talks in Moscow",
    "U.S. envoy Steve Witkoff met Vladimir Putin in Moscow on Thursday to discuss a pause in "
    "strikes on Ukrainian power plants.",
    20,
    18,
    "wire",
)
SUMMIT_B = article(
    "Kremlin hosts Trump envoy for marathon session",
    "Putin received Witkoff in Moscow on Thursday for talks the Kremlin called businesslike.",
    21,
    8,
    "daily",
)
SWAP = article(
    "Russia and Ukraine swap 120 prisoners each",
    "Ukraine and Russia exchanged 120 prisoners of war on Saturday with help from the UAE.",
    22,
    15,
    "kyiv",
)
GAZA = article(
    "Witkoff presses Hamas on hostage deal",
    "The U.S. envoy met Qatari mediators in Doha to extend the Gaza truce.",
    22,
    16,
    "gulf",
)


def test_outlets_fold_into_one_development(storyline: Storyline) -> None:
    result = detect(storyline, storyline.initial_memory(), [SUMMIT_B, SWAP, SUMMIT_A, GAZA])
    titles = {d.title: d for d in result.developments}
    assert len(result.developments) == 2
    summit = titles[SUMMIT_A.title]  # publication order: the earlier report leads
    assert [a.url for a in summit.articles] == [SUMMIT_A.url, SUMMIT_B.url]
    assert summit.novelty == "new" and "meeting" in summit.types
    assert "prisoner_exchange" in titles[SWAP.title].types
    verdicts = {v.url: v for v in result.articles}
    assert not verdicts[GAZA.url].relevant
    assert verdicts[SUMMIT_B.url].development_id == summit.id


def test_later_run_folds_into_reported_development(storyline: Storyline) -> None:
    first = detect(storyline, storyline.initial_memory(), [SUMMIT_A])
    second = detect(storyline, first.memory, [SUMMIT_B])
    assert second.developments == []
    summit = second.memory.get(first.developments[0].id)
    assert len(summit.articles) == 2
    assert second.extended == [summit.id]


def test_dismissed_development_stays_quiet(storyline: Storyline) -> None:
    first = detect(storyline, storyline.initial_memory(), [SWAP])
    memory = first.memory
    memory.dismiss(first.developments[0].id)
    repeat = article(
        "120 soldiers home after exchange with Russia",
        "Ukraine and Russia swapped 120 prisoners of war on Saturday.",
        22,
        20,
        "b",
    )
    second = detect(storyline, memory, [repeat])
    assert second.developments == []
    assert second.articles[0].novelty == "known"


def test_memory_round_trips_through_json(storyline: Storyline) -> None:
    result = detect(storyline, storyline.initial_memory(), [SUMMIT_A, SWAP])
    data = json.loads(json.dumps(result.memory.to_dict()))
    restored = Memory.from_dict(data)
    assert restored.to_dict() == result.memory.to_dict()
    again = detect(storyline, restored, [SUMMIT_B])
    assert again.developments == []


def test_export_shape(storyline: Storyline) -> None:
    development = detect(storyline, storyline.initial_memory(), [SUMMIT_A]).developments[0]
    exported = development.export(storyline.id)
    assert {
        "id",
        "storyline",
        "types",
        "novelty",
        "title",
        "summary",
        "first_seen",
        "articles",
    } <= set(exported)
    assert exported["articles"][0]["url"] == SUMMIT_A.url
    assert exported["evidence"][0]["terms"]


def test_a_long_summary_is_cut_at_a_word_and_ends_with_an_ellipsis(storyline: Storyline) -> None:
    body = SUMMIT_A.summary + " Officials called the atmosphere constructive." * 12
    long = article(SUMMIT_A.title, body, 20, 18, "wire")
    summary = detect(storyline, storyline.initial_memory(), [long]).developments[0].summary
    assert len(summary) <= SUMMARY_CHARS and summary.endswith("…")
    kept = summary.removesuffix("…")
    assert body.startswith(kept) and body[len(kept)] == " "  # whole words only


def test_input_memory_is_not_modified(storyline: Storyline) -> None:
    memory = storyline.initial_memory()
    before = memory.to_dict()
    detect(storyline, memory, [SUMMIT_A, SWAP])
    assert memory.to_dict() == before


def test_seed_without_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text(
        "Russian President Vladimir Putin and Ukrainian President Volodymyr Zelensky traded "
        "accusations as the war in Ukraine entered its fourth year. Russia and Ukraine "
        "exchanged prisoners in February.\n",
        encoding="utf-8",
    )
    plain = Storyline.from_seed(load_seed(path), seed_date=datetime(2025, 3, 1).date())
    assert plain.index.parties == {"russia", "ukraine"}
    news = article(
        "Putin and Zelensky envoys meet in Istanbul",
        "Russian and Ukrainian delegations held talks in Istanbul on Friday.",
        14,
    )
    result = detect(plain, plain.initial_memory(), [news])
    assert result.articles[0].relevant
    assert len(result.developments) == 1 and "meeting" in result.developments[0].types


def test_seed_naming_no_known_actor_relevates_nothing(tmp_path: Path) -> None:
    """A seed with no front matter and no actor the engine knows must not match every text."""
    path = tmp_path / "vague.md"
    path.write_text("A seed text about nothing in particular.\n", encoding="utf-8")
    vague = Storyline.from_seed(load_seed(path), seed_date=datetime(2025, 3, 1).date())
    news = article("Markets rally", "Shares rose on Friday -- growth beat forecasts.", 14)
    result = detect(vague, vague.initial_memory(), [news])
    assert not result.articles[0].relevant and not result.developments


def test_seed_development_title_is_cut_at_a_word_boundary(tmp_path: Path) -> None:
    long_sentence = (
        "On Monday Trump spoke by phone with Putin for ninety minutes about ending the war, "
        "about a pause in strikes on power plants and about an exchange of prisoners."
    )
    path = tmp_path / "long-seed.md"
    path.write_text(
        SEED.replace(
            "On Monday Trump spoke by phone with Putin for ninety minutes about ending the war.",
            long_sentence,
        ),
        encoding="utf-8",
    )
    storyline = Storyline.from_seed(load_seed(path))
    (call,) = [d for d in storyline.seed_memory.developments if "ninety" in d.summary]
    assert len(long_sentence) > 120 and call.summary == long_sentence
    assert call.title.endswith("…") and len(call.title) <= 120
    stem = call.title[:-1]
    assert long_sentence.startswith(stem) and long_sentence[len(stem)] in " ,"


def test_the_stored_memory_format_is_its_own_not_the_public_export() -> None:
    # The memory row format was the export minus two keys: a new export field would have
    # changed what every database holds. Its keys are now written out on their own.
    from storywatch.storyline.memory import Development, Memory

    stored = {
        "id": "x-20250411-01", "types": ["meeting"], "novelty": "new", "title": "Talks",
        "summary": "Talks held.", "first_seen": "2025-04-11T09:00:00Z", "articles": [],
        "evidence": [], "updates": None, "origin": "article", "signatures": [],
    }  # fmt: skip
    development = Development.from_dict(stored)
    assert development.to_dict() == stored
    assert Memory.from_dict({"developments": [stored]}).to_dict()["developments"] == [stored]
    assert {"storyline", "outlets"} <= set(development.export("x")) - set(stored)
