"""`export articles` with two storylines: each article carries every storyline's own verdict
(``storylines: {id: {relevant, score, novelty}}``) beside the old any-storyline ``relevant`` and
best ``score``, in JSON and in CSV (one JSON cell). Real feed server, SQLite, no Prefect."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from storywatch.config.config import load_config
from storywatch.pipeline.detect import detect_storyline
from storywatch.pipeline.ingest import ingest_once
from storywatch.store.repository import Store
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

BREAD_SEED = """---
id: bread-prize
title: Bread prize
date: "2025-04-01"
actors:
  - {name: National Bakers Guild, aliases: [Bakers Guild], side: organiser}
places: [Lyon]
topics: [bread, bakery, prize, contest]
types: [agreement, proposal]
---
The national bread prize is awarded every spring; bakeries from every region compete.
"""


@pytest.fixture
def two_storylines(tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("STORYWATCH_DATABASE_URL", raising=False)
    feed_server.set_feed("/alpha.xml", rss("Alpha", [ITEM_TALKS, ITEM_SWAP, ITEM_BAKERY]))
    path = write_story_config(tmp_path, {"Alpha": feed_server.url("/alpha.xml")})
    (tmp_path / "seeds" / "bread.md").write_text(BREAD_SEED, encoding="utf-8")
    data = yaml.safe_load(path.read_text())
    data["storylines"].append({"id": "bread-prize", "title": "Bread", "seed": "seeds/bread.md"})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    config = load_config(path)
    store = Store.open(config.database_url)
    try:
        report = ingest_once(config, store, workers=1)
        for storyline in (STORYLINE, "bread-prize"):
            detect_storyline(config, storyline, store, run_id=report.run_id)
    finally:
        store.close()
    return path


def test_each_article_carries_every_storylines_verdict(two_storylines: Path) -> None:
    done = storywatch("--config", str(two_storylines), "export", "articles", cwd=Path("/"))
    assert done.returncode == 0, done.stderr
    articles = {a["url"]: a for a in json.loads(done.stdout)}
    for article in articles.values():
        verdicts = article["storylines"]
        assert set(verdicts) == {STORYLINE, "bread-prize"}
        assert all(set(v) == {"relevant", "score", "novelty"} for v in verdicts.values())
        # the old fields stay: relevant to any storyline, the best score
        assert article["relevant"] == any(v["relevant"] for v in verdicts.values())
        assert article["score"] == max(v["score"] for v in verdicts.values())
    talks = articles[canonical(ITEM_TALKS)]["storylines"]
    assert talks[STORYLINE]["relevant"] is True and talks[STORYLINE]["novelty"] == "new"
    assert talks["bread-prize"]["relevant"] is False

    as_csv = storywatch(
        "--config", str(two_storylines), "export", "articles", "--format", "csv", cwd=Path("/")
    )
    rows = {r["url"]: r for r in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert json.loads(rows[canonical(ITEM_TALKS)]["storylines"]) == talks


def test_an_article_not_yet_assessed_has_no_verdicts(tmp_path: Path, feed_server: FeedServer):
    feed_server.set_feed("/alpha.xml", rss("Alpha", [ITEM_TALKS]))
    path = write_story_config(tmp_path, {"Alpha": feed_server.url("/alpha.xml")})
    config = load_config(path)
    store = Store.open(config.database_url)
    try:
        ingest_once(config, store, workers=1)
    finally:
        store.close()
    done = storywatch("--config", str(path), "export", "articles", cwd=Path("/"))
    [article] = json.loads(done.stdout)
    assert article["storylines"] == {} and article["relevant"] is None
