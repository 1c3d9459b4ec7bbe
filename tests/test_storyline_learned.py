"""The learned storyline engine: storyline-relative features, each model decision, training
reproducibility, explain().

Every sentence here and in tests/data/storyline_mini is invented for the test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from storywatch.config.seeds import load_seed
from storywatch.parse.normalise import Article
from storywatch.storyline import Storyline, detect
from storywatch.storyline.engine import judge_article
from storywatch.storyline.explain import explain, format_explanation
from storywatch.storyline.features import cheap_features, role_tokens
from storywatch.storyline.learned import Founding, same_probability
from storywatch.storyline.models import ModelSet, load_models

MINI = Path(__file__).parent / "data" / "storyline_mini"

# The same storyline with every name changed: another war, other people, other places.
RENAMED = """---
id: other-talks
title: Other talks
date: "2025-03-01"
parties: [armenia, azerbaijan]
actors:
  - {name: Nikol Pashinyan, aliases: [Pashinyan], side: armenia}
  - {name: Armenia, aliases: [Armenian, Yerevan], side: armenia}
  - {name: Ilham Aliyev, aliases: [Aliyev], side: azerbaijan}
  - {name: Azerbaijan, aliases: [Azerbaijani, Baku], side: azerbaijan}
  - {name: Donald Trump, aliases: [Trump], side: us}
  - {name: United States, aliases: [U.S., US, Washington], side: us}
places: [Geneva]
theatre: [Karabakh]
topics: [peace talks]
---
Leaders talk about ending the conflict

Trump spoke by phone with Aliyev on Friday about ending the conflict with Armenia.
"""


@pytest.fixture(scope="module")
def storyline() -> Storyline:
    return Storyline.from_seed(load_seed(MINI / "seed.md"), with_models=True)


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Storyline:
    path = tmp_path_factory.mktemp("seeds") / "other-talks.md"
    path.write_text(RENAMED, encoding="utf-8")
    return Storyline.from_seed(load_seed(path), with_models=True)


def article(title: str, summary: str, day: int, hour: int = 12, source: str = "a") -> Article:
    url = f"https://{source}.example/{day}/{abs(hash(title)) % 10**8}"
    when = datetime(2025, 3, day, hour, tzinfo=UTC)
    return Article(source, url, url, None, title, summary, "", when, False)


# -- features ---------------------------------------------------------------------------------


def test_names_become_role_tokens(storyline: Storyline) -> None:
    words = role_tokens(storyline.index, "Putin met Witkoff in Riyadh as Kremlin aides watched")
    assert words[:4] == ["PARTY_P", "met", "NEGOTIATOR_P", "in"]
    assert "SEED_PLACE" in words and "PARTY" in words
    assert not {"putin", "witkoff", "riyadh", "kremlin"} & set(words)


def test_renamed_storyline_gives_the_same_features(
    storyline: Storyline, renamed: Storyline
) -> None:
    when = datetime(2025, 3, 5, 12, tzinfo=UTC)
    ours = cheap_features(
        storyline.index,
        "Putin and Zelensky agree to meet in Riyadh",
        "Russia and Ukraine said talks would start on Monday, Trump said.",
        when,
    )
    theirs = cheap_features(
        renamed.index,
        "Aliyev and Pashinyan agree to meet in Geneva",
        "Azerbaijan and Armenia said talks would start on Monday, Trump said.",
        when,
    )
    assert ours.cheap == theirs.cheap
    assert "t:PARTY_P_and" in ours.cheap and "l:NEGOTIATOR_P_said" in ours.cheap


# -- each decision (the shipped models) -------------------------------------------------------

SWAP_A = article(
    "Russia and Ukraine swap 200 prisoners of war",
    "Ukraine and Russia exchanged 200 prisoners each on Wednesday, Zelensky said.",
    5,
    9,
)
SWAP_B = article(
    "Ukraine brings home 200 soldiers in a prisoner exchange with Russia",
    "Zelensky said 200 Ukrainian soldiers came home on Wednesday in a swap with Moscow.",
    5,
    15,
    "b",
)
AID = article(
    "US pauses military aid to Ukraine",
    "Washington halted weapons deliveries to Kyiv on Wednesday, officials said.",
    5,
    10,
)
SPORT = article("City win the derby", "A late goal settled a tense match in the rain.", 5)
STRIKES = article(
    "Drones hit Kharkiv overnight",
    "Russian drones struck apartment blocks in Kharkiv, Ukrainian officials said.",
    5,
)


def test_relevance_model(storyline: Storyline) -> None:
    assert judge_article(storyline, SWAP_A).relevant
    assert not judge_article(storyline, SPORT).relevant


def test_development_model(storyline: Storyline) -> None:
    swap, strikes = judge_article(storyline, SWAP_A), judge_article(storyline, STRIKES)
    assert swap.development and swap.p_development > strikes.p_development


def test_type_models(storyline: Storyline) -> None:
    assert "prisoner_exchange" in judge_article(storyline, SWAP_A).types
    assert "aid" in judge_article(storyline, AID).types


def test_pair_model(storyline: Storyline) -> None:
    a, b, aid = (judge_article(storyline, x) for x in (SWAP_A, SWAP_B, AID))
    founding = Founding("swap", a.features, a.types)
    models = storyline.models
    assert models is not None
    same = same_probability(models, b, founding)
    other = same_probability(models, aid, founding)
    assert same >= models.same.threshold > other


def test_known_model_near_the_seed(storyline: Storyline) -> None:
    recap = article(
        "Trump and Putin spoke by phone on Friday, the Kremlin says",
        "The Kremlin said Putin and Trump talked about ending the war in Ukraine.",
        1,
    )
    result = detect(storyline, storyline.initial_memory(), [recap])
    assert result.developments == []


def test_detect_folds_the_second_report_and_alerts_once(storyline: Storyline) -> None:
    result = detect(storyline, storyline.initial_memory(), [SWAP_A, SWAP_B, SPORT])
    assert len(result.developments) == 1
    development = result.developments[0]
    assert [a.url for a in development.articles] == [SWAP_A.url, SWAP_B.url]
    assert development.evidence and development.export("mini")["evidence"][0]["sentence"]
    again = detect(storyline, result.memory, [SWAP_B])
    assert again.developments == []


def test_a_dismissed_development_stays_quiet(storyline: Storyline) -> None:
    first = detect(storyline, storyline.initial_memory(), [SWAP_A])
    memory = first.memory
    memory.dismiss(first.developments[0].id)
    assert detect(storyline, memory, [SWAP_B]).developments == []


# -- training ---------------------------------------------------------------------------------


def test_training_is_reproducible(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from storywatch.storyline import train

    inputs = train.TrainInputs([MINI], MINI / "seed.md")
    first, second = train.build(inputs).dumps(), train.build(inputs).dumps()
    assert first == second
    models = ModelSet.from_dict(__import__("json").loads(first))
    assert models.meta["data_sha256"] and models.meta["version"] == train.TRAIN_VERSION
    assert set(models.types) >= {"meeting", "aid", "prisoner_exchange"}
    out = tmp_path / "m.json"
    train.main(["--corpus", str(MINI), "--seed", str(MINI / "seed.md"), "--out", str(out)])
    assert out.read_text(encoding="utf-8") == first
    assert "relevant" in train.print_weights(load_models(out), 3)


def test_time_folds_never_split_a_day() -> None:
    from storywatch.storyline import train

    items = train.load_corpus(MINI)
    folds = train.time_folds(items, 3)
    days = [d for fold in folds for d in fold]
    assert len(days) == len(set(days)) == len({i.day for i in items})
    assert days == sorted(days)


# -- explain ----------------------------------------------------------------------------------


def test_explain_gives_features_evidence_and_match(storyline: Storyline) -> None:
    memory = detect(storyline, storyline.initial_memory(), [SWAP_A]).memory
    why = explain(storyline, memory, SWAP_B)
    assert why["relevance"]["decision"] is True
    assert why["relevance"]["features"][0]["name"]
    assert why["development"]["p"] > 0 and why["types"]["prisoner_exchange"]["chosen"]
    assert why["evidence"] and why["route"] == "fold"
    assert why["match"]["development_id"] == memory.developments[-1].id
    assert why["match"]["same"]["decision"] is True
    text = format_explanation(why)
    assert "relevant: yes" in text and "decision: fold" in text
    sport = explain(storyline, memory, SPORT)
    assert sport["route"] == "none" and sport["why"] == "not relevant"


# -- a second storyline, no retraining ------------------------------------------------------

CAUCASUS = Path(__file__).parent / "data" / "caucasus_peace"


def test_a_second_storyline_runs_on_the_shipped_models() -> None:
    from storywatch.storyline import train

    storyline = Storyline.from_seed(load_seed(CAUCASUS / "seed.md"), with_models=True)
    items = train.load_corpus(CAUCASUS)
    articles = [
        Article(i.source, i.url, i.url, None, i.title, i.body, "", i.published, False)
        for i in items
    ]
    result = detect(storyline, storyline.initial_memory(), articles)
    labels = {i.url: i.label for i in items}
    events = [labels[d.articles[0].url]["event"] for d in result.developments]
    wanted = {lab["event"] for lab in labels.values() if lab["novelty"] == "new"}
    assert all(labels[d.articles[0].url]["novelty"] == "new" for d in result.developments)
    assert len(set(events) & wanted) >= len(wanted) - 1
    assert len(events) <= len(wanted) + 1


def test_feedback_labels_change_the_training_data(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    import json

    from storywatch.storyline import train

    # The reader says the cup final was news (a silly label, but a label): the data changes.
    feedback = tmp_path / "feedback.json"
    url = "https://beta.example/news/cup-final"
    label = {"relevant": True, "types": ["meeting"], "novelty": "new", "event": "reader-1"}
    feedback.write_text(json.dumps({"items": {url: label}}), encoding="utf-8")
    items = train.load_corpus(MINI)
    before = train.data_hash(items)
    train.apply_feedback(items, feedback)
    assert next(i for i in items if i.url == url).label["event"] == "reader-1"
    assert train.data_hash(items) != before
    plain = train.build(train.TrainInputs([MINI], MINI / "seed.md"))
    taught = train.build(train.TrainInputs([MINI], MINI / "seed.md", [feedback]))
    assert taught.meta["feedback_files"] == ["feedback.json"]
    assert taught.meta["data_sha256"] != plain.meta["data_sha256"]


def test_the_shipped_models_say_where_they_came_from() -> None:
    models = load_models()
    assert len(models.meta["data_sha256"]) == 64 and models.meta["items"] > 1000
    assert set(models.meta["thresholds"]) == {"relevant", "development", "same", "known"}
    assert {m.name for m in models.all_models()} >= {"relevant", "same", "type:aid"}
