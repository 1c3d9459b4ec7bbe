"""README, "Follow another story", as a user follows it: draft a seed from an article with
`seed new`, edit it, import the feeds from OPML, add the storyline, check, run, preview its
digest and read the per-storyline verdicts in the export. The console script in subprocesses;
the Gaza talks corpus (bench/corpora, written for storywatch) served on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storywatch.config.opml import render_opml
from storywatch.config.seeds import split_front_matter
from tests.feedserver import FeedServer
from tests.test_cli import storywatch

CORPUS = Path(__file__).resolve().parent.parent / "bench" / "corpora" / "gaza-ceasefire-talks"

DESK = """\
# My desk.
storylines:
  - id: ukraine-peace-talks
    title: Ukraine peace talks
    seed: seeds/ukraine-peace-talks.md

sources:
  - name: Levant Wire
    url: {first}

digest:
  from: storywatch@localhost.localdomain
  to: [me@localhost.localdomain]
"""

EDITS = [  # what the README's step 2 does to the draft
    ("parties: []", "parties: [israel, hamas]"),
    ('  - name: "Hamas"\n    aliases: []\n    # side: ', '  - name: "Hamas"\n    aliases: []\n'
     "    side: hamas"),
    ('side: "qatar"', "side: mediator"),
    ('topics: []', 'topics: ["hostage deal", "hostages"]'),
]  # fmt: skip


@pytest.mark.prefect
def test_follow_another_story_end_to_end(
    tmp_path: Path, feed_server: FeedServer, prefect_api_url: str
) -> None:
    feeds = sorted((CORPUS / "feeds").glob("*.xml"))
    for feed in feeds:
        feed_server.set_feed(f"/{feed.name}", feed.read_bytes())
    (tmp_path / "seeds").mkdir()
    ukraine = Path(__file__).resolve().parent.parent / "seeds" / "ukraine-peace-talks.md"
    (tmp_path / "seeds" / ukraine.name).write_text(ukraine.read_text())
    (tmp_path / "sources.yaml").write_text(DESK.format(first=feed_server.url(f"/{feeds[0].name}")))
    (tmp_path / "article.md").write_text(split_front_matter((CORPUS / "seed.md").read_text())[1])
    opml = render_opml("feeds", [(f.stem, feed_server.url(f"/{f.name}")) for f in feeds])
    (tmp_path / "feeds.opml").write_text(opml)

    drafted = storywatch("seed", "new", "gaza-talks", "--from", "article.md", cwd=tmp_path)
    assert drafted.returncode == 0, drafted.stderr
    assert "actor:   Benjamin Netanyahu (aliases: Netanyahu)" in drafted.stderr
    seed = tmp_path / "seeds" / "gaza-talks.md"
    text = seed.read_text()
    for old, new in EDITS:
        assert old in text, old
        text = text.replace(old, new)
    seed.write_text(text.replace('date: "', 'date: "2025-01-16"  # was "', 1))

    imported = storywatch("sources", "import", "feeds.opml", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert f"added {len(feeds) - 1} sources, 1 skipped" in imported.stderr
    config = (tmp_path / "sources.yaml").read_text()
    config = config.replace(
        "    seed: seeds/ukraine-peace-talks.md\n",
        "    seed: seeds/ukraine-peace-talks.md\n  - id: gaza-talks\n"
        "    title: Gaza ceasefire talks\n    seed: seeds/gaza-talks.md\n",
    )
    (tmp_path / "sources.yaml").write_text(config)

    checked = storywatch("check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert f"OK — {len(feeds)} sources ({len(feeds)} enabled), 2 storylines" in checked.stderr
    assert "warning" not in checked.stderr

    env = {"PREFECT_API_URL": prefect_api_url}
    ran = storywatch("run", "--no-email", cwd=tmp_path, env=env, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert f"{len(feeds)} sources fetched, 0 failed" in ran.stderr
    assert "  new    gaza-talks-" in ran.stderr

    preview = storywatch(
        "digest", "--preview", "gaza.html", "--storyline", "gaza-talks", cwd=tmp_path
    )
    assert preview.returncode == 0, preview.stderr
    assert "gaza.html: Gaza ceasefire talks: " in preview.stderr
    assert 'data-development-id="gaza-talks-' in (tmp_path / "gaza.html").read_text()

    articles = json.loads(storywatch("export", "articles", cwd=tmp_path).stdout)
    gaza = [a for a in articles if a["storylines"]["gaza-talks"]["relevant"]]
    assert gaza and all(
        set(a["storylines"]) == {"gaza-talks", "ukraine-peace-talks"} for a in articles
    )
