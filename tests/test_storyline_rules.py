"""General rules found by reading real feed items (shared/realdata): what looked like a
development but was not, and repeats of one development in other words.

Every sentence here is invented for the test; none comes from the devset or real feeds.
"""

from __future__ import annotations

import pytest

from storywatch.storyline import Signature, Storyline, classify, detect
from tests.test_storyline import article, candidate, storyline  # noqa: F401  (fixture)

# --- extraction: look-alikes of a development --------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Kyiv accused Russian troops of shooting three prisoners of war near the front.",
        "Ukraine says prisoners held in Russia face torture, a UN report found.",
    ],
)
def test_prisoners_without_a_swap_or_release_are_no_exchange(
    storyline: Storyline,  # noqa: F811
    sentence: str,
) -> None:
    found = candidate(storyline, sentence)
    assert found is None or "prisoner_exchange" not in found.types


@pytest.mark.parametrize(
    "sentence",
    [
        "Russia and Ukraine exchanged 90 prisoners of war on Sunday.",
        "Moscow released 40 Ukrainian prisoners in a swap brokered by the UAE.",
        "Kyiv said 150 prisoners returned home on Friday.",
    ],
)
def test_swaps_and_releases_are_exchanges(
    storyline: Storyline,  # noqa: F811
    sentence: str,
) -> None:
    found = candidate(storyline, sentence)
    assert found is not None and "prisoner_exchange" in found.types


def test_talks_with_someone_outside_the_storyline_are_no_meeting(
    storyline: Storyline,  # noqa: F811
) -> None:
    # One side only, no venue: a Kremlin official's talks with a businessman.
    found = candidate(storyline, "A Kremlin envoy said he will hold talks with a tech billionaire.")
    assert found is None or "meeting" not in found.types
    both = candidate(storyline, "Witkoff will hold talks with Putin next week.")
    assert both is not None and "meeting" in both.types


def test_declining_to_comment_is_no_refusal(storyline: Storyline) -> None:  # noqa: F811
    found = candidate(
        storyline, "The Kremlin declined to say whether it backs the U.S. peace plan."
    )
    assert found is None or found.modality != "refused"
    rejected = candidate(storyline, "The Kremlin declined the U.S. peace plan on Monday.")
    assert rejected is not None and rejected.modality == "refused"


def test_expecting_someone_at_talks_is_a_plan(storyline: Storyline) -> None:  # noqa: F811
    found = candidate(
        storyline, "Zelensky said he expected Russian leader Putin to attend talks in Geneva."
    )
    assert found is not None and "meeting" in found.types and found.modality == "planned"


# --- novelty: one development in several words ----------------------------------------------


def test_a_truce_quoted_with_other_parties_is_the_same_truce(
    storyline: Storyline,  # noqa: F811
) -> None:
    first = detect(
        storyline,
        storyline.initial_memory(),
        [
            article(
                "Kyiv agrees to a 30-day truce proposed by Washington",
                "Ukraine agreed to a 30-day ceasefire after talks with U.S. officials.",
                11,
                15,
                "wire",
            )
        ],
    )
    again = candidate(
        storyline, "Zelensky agreed to a 30-day ceasefire with Russia on Tuesday.", day=11
    )
    assert again is not None
    verdict = classify(first.memory, Signature.of(again), storyline.index.parties)
    assert verdict.novelty == "known"
    assert verdict.development_id == first.developments[0].id


def test_a_meeting_with_other_participants_stays_apart(storyline: Storyline) -> None:  # noqa: F811
    first = detect(
        storyline,
        storyline.initial_memory(),
        [article("Witkoff meets Putin in Moscow", "Witkoff met Putin on Thursday.", 13)],
    )
    other = candidate(storyline, "Witkoff met Zelensky's team in Kyiv on Thursday.", day=13)
    assert other is not None
    verdict = classify(first.memory, Signature.of(other), storyline.index.parties)
    assert verdict.novelty != "known"


PLAN = article(
    "U.S. drafts a 20-point plan to end the war",
    "Washington has drawn up a 20-point peace plan for Ukraine and Russia, officials said.",
    20,
    9,
    "wire",
)
REACTIONS = [
    article(
        "Markets rise on reports of a peace plan",
        "Russian shares rose after reports of a U.S.-drafted peace plan for Ukraine.",
        21,
        10,
        "markets",
    ),
    article(
        "Kremlin says it has not received the plan",
        "The Kremlin said it had not seen the 20-point plan and declined to say whether it "
        "would back it.",
        21,
        13,
        "moscow",
    ),
    article(
        "Zelensky to offer alternatives to the U.S. plan",
        "Zelensky said he would present alternatives to the 20-point plan drafted by Trump's team.",
        22,
        17,
        "kyiv",
    ),
]


def test_reactions_to_a_peace_plan_fold_into_it(storyline: Storyline) -> None:  # noqa: F811
    result = detect(storyline, storyline.initial_memory(), [PLAN, *REACTIONS])
    assert [d.title for d in result.developments] == [PLAN.title]  # one alert, not four
    plan = result.developments[0]
    verdicts = {v.url: v for v in result.articles}
    for reaction in REACTIONS:  # folded into the plan, or no development at all
        verdict = verdicts[reaction.url]
        assert verdict.development_id in (plan.id, None), reaction.title
    # Zelensky's answer (a plan of his own: "would present") folds in, days later.
    assert verdicts[REACTIONS[2].url].development_id == plan.id
    assert plan.export(storyline.id)["outlets"] == len({a.source for a in plan.articles}) == 2


def test_a_plan_weeks_later_is_a_new_plan(storyline: Storyline) -> None:  # noqa: F811
    first = detect(storyline, storyline.initial_memory(), [PLAN])
    later = candidate(
        storyline, "Washington has drawn up a new peace plan for Ukraine and Russia.", day=30
    )
    assert later is not None
    verdict = classify(first.memory, Signature.of(later), storyline.index.parties)
    assert verdict.novelty == "new"
