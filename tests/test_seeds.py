"""Seed validation: every problem listed, each with its line in the seed file."""

from __future__ import annotations

from pathlib import Path

import pytest

from storywatch.config.seeds import SeedError, load_seed

BAD = """---
id: talks
actors:
  - name: Putin
    side: russia
  - name: Zelensky
    sidee: ukraine
types: [meeting, picnic]
---
A seed story.
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "seed.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SeedError) as caught:
        load_seed(path)
    return caught.value.problems


def test_every_problem_is_listed_with_its_line(tmp_path: Path) -> None:
    found = problems_of(tmp_path, BAD)
    seed = tmp_path / "seed.md"
    assert len(found) == 2, found
    assert found[0].startswith(f"{seed}:7: front matter: actors.1.sidee:")
    assert found[1].startswith(f"{seed}:8: unknown development types ['picnic']")


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("---\nid: x\ntitle: [open\n---\nText.\n", None, "not valid YAML"),
        ("---\nid: x\n", 1, "no closing '---'"),
        ("---\n- a\n- b\n---\nText.\n", 2, "must be a mapping"),
        ("---\ntitle: x\n---\n\n", None, "no text"),
        ("---\ntypes: meeting\n---\nText.\n", 2, "types"),
    ],
)
def test_malformed_seeds(tmp_path: Path, text: str, line: int | None, expected: str) -> None:
    (problem,) = problems_of(tmp_path, text)
    assert expected in problem
    if line is not None:
        assert problem.startswith(f"{tmp_path / 'seed.md'}:{line}:")


def test_a_seed_without_front_matter_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "seed.md"
    path.write_text("Trump and Putin spoke by phone on Monday.\n", encoding="utf-8")
    seed = load_seed(path)
    assert seed.text.startswith("Trump") and seed.meta.actors == []
