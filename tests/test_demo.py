"""The demo can be continued: `demo --serve` keeps the bundled feeds up and points the demo's
config at them, so `run` works on it from another terminal; a repeat demo says its articles are
already stored and how to start fresh (`--fresh`); a folder with a user's own sources.yaml is
never overwritten. The console script in a subprocess."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from tests.test_cli import STORYWATCH, storywatch


def test_demo_never_overwrites_a_users_config(tmp_path: Path) -> None:
    mine = "storylines: []\nsources: []\n# my own\n"
    (tmp_path / "sources.yaml").write_text(mine)
    for args in (["demo", "--dir", "."], ["demo", "--fresh", "--dir", "."]):
        done = storywatch(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "was not written by `storywatch demo`: choose another --dir" in done.stderr
    assert (tmp_path / "sources.yaml").read_text() == mine


@pytest.mark.prefect
def test_demo_serve_keeps_the_feeds_up_for_a_run_from_another_terminal(
    tmp_path: Path, prefect_api_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
    serving = subprocess.Popen(
        [STORYWATCH, "demo", "--serve", "--port", "0", "--dir", "demo"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serving.stderr is not None
        first = serving.stderr.readline()
        assert re.match(r"serving the bundled feeds at http://127\.0\.0\.1:\d+ for ", first), first
        commands = [serving.stderr.readline().strip() for _ in range(3)]
        assert commands[0].endswith("--config demo/sources.yaml run --no-email")
        config = tmp_path / "demo" / "sources.yaml"
        port = re.search(r"127\.0\.0\.1:(\d+)", first)[1]  # type: ignore[index]
        assert f"http://127.0.0.1:{port}/" in config.read_text()

        done = storywatch(
            "--config", str(config), "run", "--no-email", cwd=tmp_path,
            env={"PREFECT_API_URL": prefect_api_url},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert "4 sources fetched, 0 failed" in done.stderr
    finally:
        serving.send_signal(signal.SIGINT)
        _, rest = serving.communicate(timeout=10)
    assert serving.returncode == 0 and "demo feeds no longer served" in rest


@pytest.mark.prefect
def test_a_repeat_demo_says_the_articles_are_stored_and_fresh_starts_over(
    tmp_path: Path, prefect_api_url: str
) -> None:
    env = {"PREFECT_API_URL": prefect_api_url}
    first = storywatch("demo", "--dir", "demo", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "stored before:" not in first.stdout
    assert "run again:" in first.stdout and "demo --serve --dir demo" in first.stdout

    again = storywatch("demo", "--dir", "demo", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "this run:      0 new articles" in again.stdout
    assert "stored before: the bundled articles were stored by an earlier demo" in again.stdout
    assert "demo --fresh --dir demo" in again.stdout

    fresh = storywatch("demo", "--fresh", "--dir", "demo", cwd=tmp_path, env=env)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "demo: removed demo/storywatch.db" in fresh.stderr
    assert "0 new articles" not in fresh.stdout and "stored before:" not in fresh.stdout
    labels = [line.split(":", 1)[0] for line in again.stdout.splitlines()]
    assert len(labels) == len(set(labels)), labels
