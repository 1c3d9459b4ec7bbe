"""Reader feedback (`developments missed`, `developments dismiss`) becomes labelled data in the
corpus format, which training reads like any other corpus."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storywatch.parse.feedparser import parse_feed
from storywatch.parse.normalise import normalise_feed
from tests.factories import rss
from tests.feedserver import FeedServer
from tests.storyfeeds import (
    ITEM_BAKERY,
    ITEM_SWAP,
    ITEM_TALKS,
    STORYLINE,
    canonical,
    write_story_config,
)
from tests.test_cli import storywatch


@pytest.mark.prefect
def test_missed_and_dismissed_articles_are_labelled_in_the_feedback_corpus(
    tmp_path: Path, feed_server: FeedServer, prefect_api_url: str
) -> None:
    feed_server.set_feed("/alpha.xml", rss("Alpha", [ITEM_TALKS, ITEM_SWAP, ITEM_BAKERY]))
    config = write_story_config(tmp_path, {"Alpha": feed_server.url("/alpha.xml")})
    args = ("--config", str(config))
    env = {"PREFECT_API_URL": prefect_api_url}
    done = storywatch(*args, "run", "--no-email", cwd=Path("/"), env=env)
    assert done.returncode == 0, done.stderr[-3000:]

    # explain: the learned decisions with their strongest features, and the match.
    why = storywatch(*args, "explain", ITEM_SWAP["link"], cwd=Path("/"))
    assert why.returncode == 0, why.stderr
    assert why.stdout.startswith(ITEM_SWAP["title"])
    for part in (
        "relevant: yes",
        "reports a development:",
        "types: prisoner_exchange",
        "decision:",
    ):
        assert part in why.stdout, why.stdout
    as_json = json.loads(storywatch(*args, "explain", canonical(ITEM_SWAP), "--json",
                                    cwd=Path("/")).stdout)  # fmt: skip
    assert as_json["relevance"]["decision"] is True and as_json["relevance"]["features"]
    assert as_json["match"]["development_id"].startswith(STORYLINE)

    missed = storywatch(*args, "developments", "missed", ITEM_BAKERY["link"], "--type", "aid",
                        cwd=Path("/"))  # fmt: skip
    assert missed.returncode == 0, missed.stderr
    assert "labelled a new development (aid)" in missed.stderr
    folder = tmp_path / "feedback" / STORYLINE
    labels = json.loads((folder / "labels.json").read_text())
    assert labels["storyline"] == STORYLINE
    bakery = canonical(ITEM_BAKERY)  # the tracking parameter dropped, as the store keeps it
    assert labels["items"][bakery] == {
        "relevant": True,
        "types": ["aid"],
        "novelty": "new",
        "event": labels["items"][bakery]["event"],
    }
    assert labels["items"][bakery]["event"].startswith("feedback-")

    developments = json.loads(
        storywatch(*args, "export", "developments", "--format", "json", cwd=Path("/")).stdout
    )
    swap = next(d for d in developments if d["types"] == ["prisoner_exchange"])
    dismissed = storywatch(*args, "developments", "dismiss", swap["id"], cwd=Path("/"))
    assert dismissed.returncode == 0, dismissed.stderr
    labels = json.loads((folder / "labels.json").read_text())
    assert labels["items"][canonical(ITEM_SWAP)] == {
        "relevant": True, "types": [], "novelty": "none", "event": ""
    }  # fmt: skip

    # The feed file holds every labelled article's title and lead, as the engine saw them.
    feed = (folder / "feeds" / "feedback.xml").read_bytes()
    parsed = parse_feed(feed, "https://feedback.test/", {"content-type": "application/rss+xml"})
    articles = normalise_feed(parsed, "feedback", "https://feedback.test/", datetime.now(UTC))
    assert {a.url for a in articles} == set(labels["items"])
    assert {a.title for a in articles} == {ITEM_BAKERY["title"], ITEM_SWAP["title"]}

    # Said again with another type: the later word replaces the earlier one.
    again = storywatch(*args, "developments", "missed", bakery, "--type", "sanctions",
                       cwd=Path("/"))  # fmt: skip
    assert again.returncode == 0
    labels = json.loads((folder / "labels.json").read_text())
    assert labels["items"][bakery]["types"] == ["sanctions"] and len(labels["items"]) == 2

    # train --feedback: the feedback joins the corpora, under the storyline's own seed, and
    # the models go only where --out says.
    pytest.importorskip("sklearn")
    refused = storywatch(*args, "train", "--feedback", cwd=Path("/"))
    assert refused.returncode == 2 and "--feedback needs --out FILE" in refused.stderr
    mini = Path(__file__).parent / "data" / "storyline_mini"
    out = tmp_path / "models.json"
    trained = storywatch(*args, "train", "--feedback", "--corpus", str(mini), "--out", str(out),
                         cwd=Path("/"), timeout=300)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    meta = json.loads(out.read_text())["meta"]
    assert STORYLINE in meta["corpora"] and meta["items"] > 2  # the feedback folder is named so


def test_train_writes_the_same_models_twice_and_prints_their_weights(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    mini = Path(__file__).parent / "data" / "storyline_mini"
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    for out in outs:
        done = storywatch("train", "--corpus", str(mini), "--seed", str(mini / "seed.md"),
                          "--out", str(out), cwd=Path("/"), timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    assert outs[0].read_bytes() == outs[1].read_bytes()
    meta = json.loads(outs[0].read_text())
    assert meta["meta"]["data_sha256"]
    weights = storywatch("train", "--print-weights", "--models", str(outs[0]), cwd=Path("/"))
    assert weights.returncode == 0 and "relevant" in weights.stdout


def test_missed_refuses_an_unknown_article_or_type_clearly(tmp_path: Path) -> None:
    config = write_story_config(tmp_path, {"Alpha": "http://127.0.0.1:9/alpha.xml"})
    args = ("--config", str(config), "developments", "missed")
    unknown = storywatch(*args, "https://nowhere.test/x", "--type", "aid", cwd=Path("/"))
    assert unknown.returncode == 1
    assert "no stored article has the URL" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_type = storywatch(*args, "https://nowhere.test/x", "--type", "weather", cwd=Path("/"))
    assert bad_type.returncode == 2 and "unknown type weather" in bad_type.stderr
    # A development without a type would train as "no development": the type is required.
    no_type = storywatch(*args, "https://nowhere.test/x", cwd=Path("/"))
    assert no_type.returncode == 2 and "--type" in no_type.stderr
