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


def test_an_update_names_the_development_it_updates(tmp_path: Path, feed_server: FeedServer):
    # The Gaza talks corpus (bench/corpora): some reports advance a development, the seed's
    # own included; `updates` names it by id ("seed-06"), updates_development says which.
    corpus = Path(__file__).resolve().parent.parent / "bench" / "corpora" / "gaza-ceasefire-talks"
    feeds = sorted((corpus / "feeds").glob("*.xml"))
    for feed in feeds:
        feed_server.set_feed(f"/{feed.name}", feed.read_bytes())
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "gaza.md").write_text((corpus / "seed.md").read_text())
    config_data = {
        "storylines": [{"id": "gaza-ceasefire-talks", "title": "Gaza", "seed": "seeds/gaza.md"}],
        "sources": [{"name": f.stem, "url": feed_server.url(f"/{f.name}")} for f in feeds],
    }
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(config_data))
    config = load_config(path)
    store = Store.open(config.database_url)
    try:
        report = ingest_once(config, store, workers=1)
        detect_storyline(config, "gaza-ceasefire-talks", store, run_id=report.run_id)
    finally:
        store.close()
    done = storywatch("--config", str(path), "export", "developments", cwd=Path("/"))
    developments = json.loads(done.stdout)
    assert list(developments[0])[-1] == "updates_development"  # added last
    assert any(d["updates"] for d in developments), developments
    for development in developments:
        named = development["updates_development"]
        if development["updates"] is None:
            assert named is None
        else:
            assert named["id"] == development["updates"] and named["title"]
            assert named["from_seed"] is development["updates"].startswith("seed-")
    as_csv = storywatch(
        "--config", str(path), "export", "developments", "--format", "csv", cwd=Path("/")
    )
    header = as_csv.stdout.splitlines()[0].split(",")
    assert header[-1] == "updates_development" and header[-2] == "evidence"


def test_article_csv_keeps_its_columns_and_adds_storylines_last(two_storylines: Path) -> None:
    done = storywatch(
        "--config", str(two_storylines), "export", "articles", "--format", "csv", cwd=Path("/")
    )
    header = done.stdout.splitlines()[0].split(",")
    assert header == [
        *("url", "title", "source", "published", "cluster", "relevant", "score"),
        *("date_missing", "summary", "storylines"),
    ]
