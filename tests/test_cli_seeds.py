"""Seeds from the command line: `check` warns about a seed without front matter or with another
storyline's id (valid, exit 0); `seed new` drafts a seed from an article's text."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.factories import write_config
from tests.test_cli import storywatch


def test_check_warns_about_a_seed_without_front_matter(tmp_path: Path) -> None:
    write_config(tmp_path, {"Wire": "http://127.0.0.1:9/wire.xml"})
    (tmp_path / "seeds" / "story.md").write_text("Talks in Geneva ended without a deal.\n")
    done = storywatch("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: storyline test-story:" in done.stderr
    assert "has no front matter" in done.stderr and "story.md" in done.stderr


def test_check_warns_about_a_seed_whose_id_is_another_storylines(tmp_path: Path) -> None:
    write_config(tmp_path, {"Wire": "http://127.0.0.1:9/wire.xml"})
    (tmp_path / "seeds" / "story.md").write_text("---\nid: gaza-talks\n---\nA seed text.\n")
    done = storywatch("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the seed's id 'gaza-talks' is not its storyline's id 'test-story'" in done.stderr


def test_check_is_quiet_about_a_seed_whose_id_matches(tmp_path: Path) -> None:
    write_config(tmp_path, {"Wire": "http://127.0.0.1:9/wire.xml"})
    (tmp_path / "seeds" / "story.md").write_text("---\nid: test-story\n---\nA seed text.\n")
    done = storywatch("check", cwd=tmp_path)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    assert yaml.safe_load((tmp_path / "sources.yaml").read_text())["storylines"]
