"""The storyline commands as users run them: the console script in a subprocess, from another
folder; `run` under the session's Prefect test harness, the rest without Prefect."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.factories import rss
from tests.feedserver import FeedServer
from tests.storyfeeds import (
    ITEM_BAKERY,
    ITEM_PHONE,
    ITEM_SWAP,
    ITEM_SWAP_REPEAT,
    ITEM_TALKS,
    ITEM_TALKS_REPEAT,
    STORYLINE,
    canonical,
    write_story_config,
)
from tests.test_cli import storywatch

DEVELOPMENT_KEYS = {
    "id",
    "storyline",
    "types",
    "novelty",
    "title",
    "summary",
    "first_seen",
    "articles",
}


def serve(feed_server: FeedServer, alpha: list[dict], beta: list[dict]) -> None:
    feed_server.set_feed("/alpha.xml", rss("Alpha", alpha))
    feed_server.set_feed("/beta.xml", rss("Beta", beta))


def export(config: Path, kind: str, fmt: str = "json") -> str:
    done = storywatch("--config", str(config), "export", kind, "--format", fmt, cwd=Path("/"))
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.prefect
def test_run_detects_then_export_dismiss_and_redetect(
    tmp_path: Path, feed_server: FeedServer, prefect_api_url: str
) -> None:
    serve(feed_server, [ITEM_TALKS, ITEM_SWAP], [ITEM_PHONE, ITEM_BAKERY, ITEM_TALKS_REPEAT])
    config = write_story_config(
        tmp_path, {"Alpha": feed_server.url("/alpha.xml"), "Beta": feed_server.url("/beta.xml")}
    )
    env = {"PREFECT_API_URL": prefect_api_url}
    done = storywatch("--config", str(config), "run", "--no-email", cwd=Path("/"), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == ""
    assert "2 new developments" in done.stderr

    developments = json.loads(export(config, "developments"))
    assert [d["types"] for d in developments] == [["meeting"], ["prisoner_exchange"]]
    talks, swap = developments
    assert set(talks) >= DEVELOPMENT_KEYS and talks["storyline"] == STORYLINE
    assert talks["novelty"] == "new" and talks["first_seen"] == "2025-04-11T09:00:00Z"
    assert talks["articles"] == [  # every outlet's article, in publication order
        {
            "url": canonical(ITEM_TALKS),
            "title": ITEM_TALKS["title"],
            "source": "Alpha",
            "published": "2025-04-11T09:00:00Z",
        },
        {
            "url": canonical(ITEM_TALKS_REPEAT),
            "title": ITEM_TALKS_REPEAT["title"],
            "source": "Beta",
            "published": "2025-04-11T15:00:00Z",
        },
    ]
    assert talks["evidence"] and talks["evidence"][0]["sentence"]
    assert talks["outlets"] == 2 and swap["outlets"] == 1  # "reported by N outlets"
    assert "(reported by 2 outlets)" in done.stderr

    rows = list(csv.DictReader(io.StringIO(export(config, "developments", "csv"))))
    assert [r["id"] for r in rows] == [talks["id"], swap["id"]]
    assert rows[0]["types"] == "meeting" and json.loads(rows[0]["articles"]) == talks["articles"]

    articles = {a["url"]: a for a in json.loads(export(config, "articles"))}
    assert list(next(iter(articles.values())))[:7] == [
        "url",
        "title",
        "source",
        "published",
        "cluster",
        "relevant",
        "score",
    ]
    assert articles[canonical(ITEM_BAKERY)]["relevant"] is False
    assert articles[canonical(ITEM_TALKS)]["relevant"] is True
    assert articles[canonical(ITEM_TALKS)]["score"] > articles[canonical(ITEM_BAKERY)]["score"]

    # A second run: the swap's repeat folds into it, nothing new is alerted.
    serve(
        feed_server,
        [ITEM_TALKS, ITEM_SWAP],
        [ITEM_PHONE, ITEM_BAKERY, ITEM_TALKS_REPEAT, ITEM_SWAP_REPEAT],
    )
    again = storywatch("--config", str(config), "run", "--no-email", cwd=Path("/"), env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 new developments" in again.stderr
    after = json.loads(export(config, "developments"))
    assert [len(d["articles"]) for d in after] == [2, 2]

    # Re-detection (no Prefect, no refetch) reproduces the same developments.
    requests = len(feed_server.requests_to("/alpha.xml"))
    replay = storywatch("--config", str(config), "redetect", cwd=Path("/"))
    assert replay.returncode == 0, replay.stderr
    assert "6 articles re-assessed" in replay.stderr and replay.stdout == ""
    assert json.loads(export(config, "developments")) == after
    window = storywatch("--config", str(config), "redetect", "--since", "2025-04-13", cwd=Path("/"))
    assert window.returncode == 0 and "2 articles re-assessed" in window.stderr
    assert json.loads(export(config, "developments")) == after
    assert len(feed_server.requests_to("/alpha.xml")) == requests

    # Dismiss: unknown ids fail clearly; a dismissed development leaves the export.
    unknown = storywatch(
        "--config", str(config), "developments", "dismiss", "no-such-id", cwd=Path("/")
    )
    assert unknown.returncode == 1 and "no development with id 'no-such-id'" in unknown.stderr
    dismissed = storywatch(
        "--config", str(config), "developments", "dismiss", swap["id"], cwd=Path("/")
    )
    assert dismissed.returncode == 0, dismissed.stderr
    assert [d["id"] for d in json.loads(export(config, "developments"))] == [talks["id"]]


@pytest.mark.parametrize(
    "command", [["export", "developments"], ["developments", "dismiss", "x"], ["redetect"]]
)
def test_storyline_commands_refuse_an_invalid_config(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "sources.yaml").write_text("sources: []\nextra: 1\n")
    done = storywatch(*command, cwd=tmp_path)
    assert done.returncode == 2 and "sources.yaml" in done.stderr and done.stdout == ""


def test_redetect_rejects_a_bad_date(tmp_path: Path, feed_server: FeedServer) -> None:
    config = write_story_config(tmp_path, {"Alpha": feed_server.url("/alpha.xml")})
    done = storywatch("--config", str(config), "redetect", "--since", "13/04/2025", cwd=tmp_path)
    assert done.returncode == 2 and "YYYY-MM-DD" in done.stderr


def test_export_developments_on_an_empty_database_is_an_empty_list(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = write_story_config(tmp_path, {"Alpha": feed_server.url("/alpha.xml")})
    assert json.loads(export(config, "developments")) == []
    assert export(config, "developments", "csv").startswith("id,storyline,types,novelty,")


def test_check_lists_every_seed_problem_with_its_line(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    config = write_story_config(tmp_path, {"Alpha": feed_server.url("/alpha.xml")})
    seed = tmp_path / "seeds" / "truce.md"
    good = seed.read_text(encoding="utf-8")
    ok = storywatch("--config", str(config), "check", cwd=Path("/"))
    assert ok.returncode == 0, ok.stderr
    seed.write_text(
        good.replace("side: ukraine}", "sidee: ukraine}", 1).replace(
            "topics: [peace talks]", "topics: [peace talks]\ntypes: [meeting, picnic]"
        ),
        encoding="utf-8",
    )
    bad = storywatch("--config", str(config), "check", cwd=Path("/"))
    assert bad.returncode == 2 and bad.stdout == ""
    assert "2 problems" in bad.stderr
    assert f"{seed}:8: front matter: actors.2.sidee" in bad.stderr
    assert f"{seed}:14: unknown development types ['picnic']" in bad.stderr
