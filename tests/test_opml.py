"""OPML: `sources import FILE.opml` adds a feed reader's list to sources.yaml, keeping the file's
comments and order; `sources export` writes the sources as OPML. Parsing refuses DOCTYPEs (no
entities), non-OPML and oversized files. Real files, the console script in a subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from storywatch.config.config import load_config
from storywatch.config.opml import OPML_MAX_BYTES, OpmlError, parse_opml, render_opml
from tests.test_cli import storywatch

DATA = Path(__file__).parent / "data" / "opml"

CONFIG = """\
# My desk's sources: a comment at the top.
storylines:
  - id: test-story
    title: Test story
    seed: seeds/story.md   # the seed

sources:
  # Wires first
  - name: Wire
    url: http://wire.example/wire.xml
  - name: Daily
    url: https://daily.example/rss   # a trailing comment

# Digest: who gets the mail.
digest:
  from: sw@example.org
  to: desk@example.org
"""

ADDED = """\
  - name: Harbour & Coast
    url: https://harbour.example/rss
  - name: Daily (2)
    url: https://other-daily.example/feed
  - name: Steppe Courier
    url: https://steppe.example/atom.xml
"""


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "story.md").write_text("---\nid: test-story\n---\nA seed text.\n")
    (tmp_path / "sources.yaml").write_text(CONFIG)
    return tmp_path


def test_parse_flattens_folders_and_skips_what_is_not_a_feed() -> None:
    listed = parse_opml((DATA / "reader-export.opml").read_bytes())
    assert [(f.name, f.url, f.folder) for f in listed.feeds] == [
        ("Wire", "http://WIRE.example/wire.xml/", "World"),
        ("Harbour & Coast", "https://harbour.example/rss", "World"),
        ("Daily", "https://other-daily.example/feed", "Regional"),
        ("Steppe Courier", "https://steppe.example/atom.xml", None),
    ]
    assert listed.skipped == [("Old gopher feed", "not an http(s) URL")]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<opml><body><outline text="&b;" xmlUrl="https://x.example/"/></body></opml>',
            "DOCTYPE",
        ),
        (
            b'<!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml><body/></opml>',
            "DOCTYPE",
        ),
        (b"<rss><channel/></rss>", "not <opml>"),
        (b"<opml><body>", "not well-formed"),
        (b"", "not well-formed"),
        (b" " * (OPML_MAX_BYTES + 1), "larger than"),
    ],
    ids=["entity-bomb", "external-dtd", "rss", "truncated", "empty", "too-big"],
)
def test_parse_refuses_what_is_not_plain_opml(data: bytes, why: str) -> None:
    with pytest.raises(OpmlError, match=why):
        parse_opml(data)


def test_render_then_parse_gives_the_same_feeds() -> None:
    feeds = [("A & B <wire>", "https://a.example/rss?x=1&y=2"), ('Quote "Q"', "http://q.example/")]
    listed = parse_opml(render_opml("T & T", feeds).encode())
    assert [(f.name, f.url) for f in listed.feeds] == feeds


def test_import_appends_new_feeds_keeping_the_file_as_written(desk: Path) -> None:
    done = storywatch("sources", "import", str(DATA / "reader-export.opml"), cwd=desk)
    assert done.returncode == 0, done.stderr
    # Every line of the file as it was, the new sources after the last one, before the comment
    # that heads the next section.
    before, after = CONFIG.split("\n# Digest", 1)
    assert (desk / "sources.yaml").read_text() == before + ADDED + "\n# Digest" + after
    assert "added 3 sources, 2 skipped" in done.stderr
    assert "skipped Wire (http://WIRE.example/wire.xml/): already in the sources" in done.stderr
    assert "skipped Old gopher feed: not an http(s) URL" in done.stderr
    assert "added Daily (2): https://other-daily.example/feed" in done.stderr
    assert len(load_config(desk / "sources.yaml").sources) == 5

    again = storywatch("sources", "import", str(DATA / "reader-export.opml"), cwd=desk)
    assert again.returncode == 0 and "added 0 sources, 5 skipped" in again.stderr
    assert (desk / "sources.yaml").read_text() == before + ADDED + "\n# Digest" + after


def test_import_dry_run_changes_nothing(desk: Path) -> None:
    done = storywatch("sources", "import", "--dry-run", str(DATA / "reader-export.opml"), cwd=desk)
    assert done.returncode == 0, done.stderr
    assert "would add 3 sources, 2 skipped" in done.stderr
    assert (desk / "sources.yaml").read_text() == CONFIG


def test_import_of_a_bad_file_is_one_error_and_changes_nothing(desk: Path) -> None:
    bomb = desk / "bomb.opml"
    bomb.write_text('<!DOCTYPE opml [<!ENTITY a "a">]><opml><body/></opml>')
    done = storywatch("sources", "import", str(bomb), cwd=desk)
    assert done.returncode == 2
    assert "cannot import: the file declares a DOCTYPE" in done.stderr
    assert "Traceback" not in done.stderr
    missing = storywatch("sources", "import", str(desk / "none.opml"), cwd=desk)
    assert missing.returncode == 2 and "none.opml: cannot import" in missing.stderr
    assert (desk / "sources.yaml").read_text() == CONFIG


def test_export_as_opml_imports_into_another_desk(desk: Path, tmp_path_factory) -> None:
    exported = storywatch("sources", "export", cwd=desk)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version')
    assert [(f.name, f.url) for f in parse_opml(exported.stdout.encode()).feeds] == [
        ("Wire", "http://wire.example/wire.xml"),
        ("Daily", "https://daily.example/rss"),
    ]
    other = tmp_path_factory.mktemp("other")
    (other / "seeds").mkdir()
    (other / "seeds" / "story.md").write_text("---\nid: test-story\n---\nA seed text.\n")
    (other / "sources.yaml").write_text(CONFIG.replace("http://wire.example", "http://w2.example"))
    (other / "list.opml").write_text(exported.stdout)
    done = storywatch("sources", "import", "list.opml", cwd=other)
    assert done.returncode == 0 and "added 1 source, 1 skipped" in done.stderr
    assert (
        "- name: Wire (2)\n    url: http://wire.example/wire.xml\n"
        in (other / "sources.yaml").read_text()
    )


def test_export_format_opml_points_at_sources_export(desk: Path) -> None:
    done = storywatch("export", "articles", "--format", "opml", cwd=desk, env={"COLUMNS": "300"})
    assert done.returncode == 2
    assert "the feed list exports as OPML with `storywatch sources export`" in done.stderr
