"""`--help` reads in paragraphs: a docstring's line breaks do not cut its sentences."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import storywatch


def test_help_keeps_sentences_whole() -> None:
    done = storywatch("--help", cwd=Path("/"), env={"COLUMNS": "400"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    explain = next(line for line in lines if "explain " in line)
    assert "with its strongest features and evidence sentence" in explain
    backfill = next(line for line in lines if "backfill " in line)
    assert "judge it as of its time" in backfill
    serve = storywatch("serve", "--help", cwd=Path("/"), env={"COLUMNS": "400"})
    assert "scheduled digests on their cron; backfill on demand" in serve.stdout
