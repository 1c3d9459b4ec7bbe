"""The second storyline's corpus (bench/corpora/gaza-ceasefire-talks, written by the team):
every feed parses through storywatch's own parser, every item has exactly one label, the
labels use the schema's vocabulary, and the seed loads as a storyline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from storywatch.config.seeds import load_seed
from storywatch.parse.feedparser import parse_feed
from storywatch.parse.normalise import normalise_feed
from storywatch.storyline import Storyline

CORPUS = Path(__file__).resolve().parent.parent / "bench" / "corpora" / "gaza-ceasefire-talks"
TYPES = {"meeting", "concession", "ceasefire", "agreement", "proposal", "prisoner_exchange",
         "sanctions", "aid"}  # fmt: skip


def corpus_links() -> list[str]:
    links = []
    for feed in sorted((CORPUS / "feeds").glob("*.xml")):
        url = f"https://feeds.test/{feed.name}"
        parsed = parse_feed(feed.read_bytes(), url, {"content-type": "application/rss+xml"})
        articles = normalise_feed(parsed, feed.stem, url, datetime.now(UTC))
        assert articles, feed.name
        links += [entry.link for entry in parsed.entries]
    return links


def test_every_item_has_exactly_one_label_in_the_schema_vocabulary() -> None:
    labels = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))
    assert labels["storyline"] == "gaza-ceasefire-talks"
    links = corpus_links()
    assert len(links) == len(set(links)) == len(labels["items"]) >= 100
    assert set(links) == set(labels["items"])
    for link, label in labels["items"].items():
        assert set(label["types"]) <= TYPES, link
        assert label["novelty"] in ("new", "known", "none"), link
        assert (label["novelty"] == "none") == (label["event"] == ""), link
        assert label["relevant"] or label["novelty"] == "none", link
    events = {x["event"] for x in labels["items"].values() if x["novelty"] == "new"}
    assert len(events) >= 25


def test_the_seed_compiles_into_a_storyline_with_its_own_sides() -> None:
    seed = load_seed(CORPUS / "seed.md")
    storyline = Storyline.from_seed(seed)
    assert storyline.id == "gaza-ceasefire-talks"
    assert set(seed.meta.parties) == {"israel", "hamas"}
