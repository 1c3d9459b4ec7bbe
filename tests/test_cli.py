"""The command line as users and scripts run it: the console script in a subprocess, from
another folder, with a Prefect API (the session's test harness) for the commands that need one."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from html import escape
from pathlib import Path

import pytest
import typer

from storywatch.cli.argv import config_option_first
from storywatch.cli.commands import _plural, _program_command, app
from tests.factories import fill_disk, news_items, rss, write_config
from tests.feedserver import FeedServer

STORYWATCH = str(Path(sys.executable).parent / "storywatch")


def storywatch(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
    full_env.pop("PREFECT_API_URL", None)
    full_env.update(env or {})
    return subprocess.run(
        [STORYWATCH, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def project(tmp_path: Path, feed_server: FeedServer) -> Path:
    """A user's folder: sources.yaml with two good feeds and one that is down."""
    feed_server.set_feed("/wire.xml", rss("Wire", news_items("wire", 3)))
    feed_server.set_feed("/daily.xml", rss("Daily", news_items("daily", 2)))
    feed_server.set_status("/down.xml", 404)
    long_name = "The Very Long Named Regional Evening Chronicle of Somewhere Far Away (English)"
    write_config(
        tmp_path,
        {
            "Wire": feed_server.url("/wire.xml"),
            "Daily": feed_server.url("/daily.xml"),
            long_name: feed_server.url("/down.xml"),
        },
    )
    return tmp_path


def test_check_accepts_a_valid_config_quietly_on_stdout(project: Path, tmp_path: Path) -> None:
    done = storywatch("--config", str(project / "sources.yaml"), "check", cwd=Path("/"))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "OK" in done.stderr


@pytest.mark.parametrize(
    "command",
    [["check"], ["run"], ["export", "articles"], ["sources", "status"], ["db", "upgrade"]],
)
def test_every_command_refuses_an_invalid_config_with_status_2(tmp_path: Path, command) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - name: x\n    url: gopher://x\n    colour: 1\n"
    )
    done = storywatch(*command, cwd=tmp_path)
    assert done.returncode == 2
    assert "sources.yaml:3:" in done.stderr and "sources.yaml:4: unknown key" in done.stderr
    assert "storylines" in done.stderr and done.stdout == ""


@pytest.mark.parametrize(
    "config_args", [["--config", "{}"], ["-c", "{}"], ["--config={}"]], ids=["long", "short", "="]
)
def test_config_is_accepted_after_the_subcommand_too(tmp_path: Path, config_args) -> None:
    config = str(write_config(tmp_path, {"Wire": "https://example.org/wire.xml"}))
    args = [a.format(config) for a in config_args]
    done = storywatch("check", *args, cwd=Path("/"))
    assert done.returncode == 0, done.stderr
    # singular where one is counted
    assert f"{config}: OK — 1 source (1 enabled), 1 storyline" in done.stderr
    status = storywatch("sources", "status", *args, cwd=Path("/"))
    assert status.returncode == 0 and "Wire" in status.stdout


def test_config_after_the_subcommand_leaves_option_values_and_dashdash_alone() -> None:
    root = typer.main.get_command(app)

    def moved(*args: str) -> list[str]:
        return config_option_first(list(args), root)

    assert moved("-v", "sources", "status", "-c", "x") == ["-v", "-c", "x", "sources", "status"]
    assert moved("-c", "a", "check") == ["-c", "a", "check"]  # already in front
    # "-c" is the value of --storyline here, not the global option
    assert moved("digest", "--storyline", "-c") == ["digest", "--storyline", "-c"]
    assert moved("redetect", "--since=-c", "-c", "x") == ["-c", "x", "redetect", "--since=-c"]
    assert moved("developments", "dismiss", "--", "-c") == ["developments", "dismiss", "--", "-c"]
    assert moved("chek", "-c", "x") == ["chek", "-c", "x"]  # unknown: click says so


def test_counts_read_singular_or_plural() -> None:
    assert [_plural(n, "new development") for n in (0, 1, 2)] == [
        "0 new developments",
        "1 new development",
        "2 new developments",
    ]


def test_a_missing_config_says_how_to_name_one(tmp_path: Path) -> None:
    done = storywatch("check", cwd=tmp_path)
    assert done.returncode == 2 and "config file not found" in done.stderr
    assert "pass --config PATH, set STORYWATCH_CONFIG, or try `storywatch demo`" in done.stderr


def test_demo_commands_name_the_program_as_the_user_can_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = tmp_path / ".venv" / "bin" / "storywatch"
    program.parent.mkdir(parents=True)
    program.write_text("")
    monkeypatch.setattr(sys, "argv", [str(program), "demo"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # not on PATH: venv not activated
    assert _program_command() == ".venv/bin/storywatch"
    monkeypatch.chdir(program.parent)
    assert _program_command() == "./storywatch"  # a bare name would be looked up on PATH
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert _program_command() == str(program)
    monkeypatch.setattr(shutil, "which", lambda name: str(program))  # on PATH: this program
    assert _program_command() == "storywatch"
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/storywatch")  # another one
    assert _program_command() == str(program)


def test_config_comes_from_the_environment_when_not_given(project: Path, tmp_path: Path) -> None:
    done = storywatch(
        "check", cwd=Path("/"), env={"STORYWATCH_CONFIG": str(project / "sources.yaml")}
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.prefect
def test_run_export_and_status_from_another_folder(project: Path, prefect_api_url: str) -> None:
    env = {"PREFECT_API_URL": prefect_api_url}
    config = str(project / "sources.yaml")
    done = storywatch("--config", config, "run", cwd=Path("/"), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == ""  # logs and progress on stderr only
    assert "2 sources fetched, 1 failed, 5 new articles" in done.stderr

    exported = storywatch(
        "--config", config, "export", "articles", "--format", "json", cwd=Path("/")
    )
    articles = json.loads(exported.stdout)
    assert len(articles) == 5
    assert set(articles[0]) >= {
        "url",
        "title",
        "source",
        "published",
        "cluster",
        "relevant",
        "score",
    }
    assert all("utm_" not in a["url"] and a["published"].endswith("Z") for a in articles)

    as_csv = storywatch("--config", config, "export", "articles", "--format", "csv", cwd=Path("/"))
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert sorted(r["url"] for r in rows) == sorted(a["url"] for a in articles)

    status = storywatch("--config", config, "sources", "status", cwd=Path("/"))  # stdout is a pipe
    assert status.returncode == 0
    long_row = next(line for line in status.stdout.splitlines() if "Chronicle" in line)
    assert (
        "The Very Long Named Regional Evening Chronicle of Somewhere Far Away (English)" in long_row
    )
    assert "error" in long_row and "404" in long_row


@pytest.mark.prefect
def test_run_fails_when_no_source_can_be_fetched(
    tmp_path: Path, feed_server: FeedServer, prefect_api_url: str
) -> None:
    feed_server.set_status("/gone.xml", 410)
    write_config(tmp_path, {"Gone": feed_server.url("/gone.xml")})
    done = storywatch("run", cwd=tmp_path, env={"PREFECT_API_URL": prefect_api_url})
    assert done.returncode == 1
    assert "no source could be fetched" in done.stderr


@pytest.mark.prefect
def test_demo_runs_offline_and_says_where_everything_went(
    tmp_path: Path, prefect_api_url: str
) -> None:
    done = storywatch(
        "demo",
        "--dir",
        str(tmp_path / "demo"),
        cwd=tmp_path,
        env={"PREFECT_API_URL": prefect_api_url},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "database:" in done.stdout and str(tmp_path / "demo") in done.stdout
    labels = [line.split(":", 1)[0] for line in done.stdout.splitlines()]
    assert len(labels) == len(set(labels)), labels  # one digest in the outbox: no repeat
    exported = storywatch(
        "--config", str(tmp_path / "demo" / "sources.yaml"), "export", "articles", cwd=tmp_path
    )
    assert len(json.loads(exported.stdout)) >= 30
    developments = storywatch(
        "--config", str(tmp_path / "demo" / "sources.yaml"), "export", "developments", cwd=tmp_path
    )
    found = json.loads(developments.stdout)
    assert len(found) >= 5 and all(d["articles"] for d in found)  # the storyline stage ran
    assert f"{len(found)} new developments" in done.stderr
    # no SMTP host: the digest went to the outbox, and the demo says where
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("digest:")]
    eml = Path(line.split(":", 1)[1].strip())
    assert eml.parent == tmp_path / "demo" / "outbox" and eml.exists()
    page = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("html",))
    html = page.get_content()  # type: ignore[union-attr]
    for development in found:  # every development, its block and its links exactly as exported
        marker = f'data-development-id="{development["id"]}"'
        assert marker in html
        block = html.split(marker, 1)[1].split("data-development-id=", 1)[0]
        links = [f'href="{escape(article["url"])}"' for article in development["articles"]]
        if html.split(marker, 1)[0].rsplit("<div", 1)[1].startswith(' class="brief'):
            assert any(link in block for link in links)  # a compact block: its first link
        else:
            assert all(link in block for link in links)


@pytest.mark.prefect
def test_demo_ignores_the_environment_and_never_prints_a_password(
    tmp_path: Path, prefect_api_url: str
) -> None:
    # Production settings in the environment: the demo must touch none of them (issue 14).
    production = tmp_path / "production"
    env = {
        "PREFECT_API_URL": prefect_api_url,
        "STORYWATCH_DATABASE_URL": "postgresql+psycopg://desk:s3cret-pw@127.0.0.1:1/prod",
        "STORYWATCH_OUTBOX": str(production / "outbox"),
        "STORYWATCH_SMTP_HOST": "127.0.0.1",
        "STORYWATCH_SMTP_PORT": "1",
        "STORYWATCH_SMTP_PASSWORD": "smtp-s3cret",
    }
    done = storywatch("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "s3cret" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"database:      sqlite:///{tmp_path / 'demo' / 'storywatch.db'}" in done.stdout
    assert (tmp_path / "demo" / "storywatch.db").exists()
    assert not production.exists()  # no outbox copy written where the environment said
    assert list((tmp_path / "demo" / "outbox").glob("*.eml"))
    assert "ignoring STORYWATCH_DATABASE_URL" in done.stderr


CLOSED_POSTGRES = "postgresql+psycopg://desk:db-s3cret@127.0.0.1:1/prod"


@pytest.mark.prefect
@pytest.mark.parametrize(
    "command",
    [("run", "--no-email"), ("backfill", "--since", "2025-01-01", "--until", "2025-01-02")],
    ids=["run", "backfill"],
)
def test_an_unreachable_database_is_one_clean_error_line(
    project: Path, prefect_api_url: str, command: tuple[str, ...]
) -> None:
    env = {"PREFECT_API_URL": prefect_api_url, "STORYWATCH_DATABASE_URL": CLOSED_POSTGRES}
    done = storywatch(*command, cwd=project, env=env)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    (line,) = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert line.startswith("error: cannot open database postgresql+psycopg://desk:***@127.0.0.1:1")
    assert "db-s3cret" not in done.stderr


@pytest.mark.prefect
def test_sqlite_on_a_full_disk_is_a_clean_error(
    tmp_path: Path, feed_server: FeedServer, prefect_api_url: str, full_disk: Path
) -> None:
    items = [{**item, "description": "Long paragraph. " * 40} for item in news_items("big", 400)]
    feed_server.set_feed("/big.xml", rss("Big", items))
    write_config(tmp_path, {"Big": feed_server.url("/big.xml")})
    env = {
        "PREFECT_API_URL": prefect_api_url,
        "STORYWATCH_DATABASE_URL": f"sqlite:///{full_disk / 'storywatch.db'}",
    }
    assert storywatch("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    fill_disk(full_disk, leave=64 * 1024)  # the database opens; storing 400 articles fills it
    done = storywatch("run", "--no-email", cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr[-3000:]
    assert "database or disk is full" in errors[0] or "disk I/O error" in errors[0], errors
    fill_disk(full_disk)  # no byte left: still one line
    done = storywatch("run", "--no-email", cwd=tmp_path, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "full" in error or "disk I/O error" in error, error


def test_the_library_never_imports_prefect() -> None:
    code = (
        "import pkgutil, importlib, sys, storywatch\n"
        "for m in pkgutil.walk_packages(storywatch.__path__, 'storywatch.'):\n"
        "    if '.migrations' not in m.name: importlib.import_module(m.name)\n"
        "loaded = sorted(n for n in sys.modules if n.split('.')[0] == 'prefect')\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_ctrl_c_while_the_temporary_prefect_server_starts_ends_the_command_promptly(
    project: Path, tmp_path: Path
) -> None:
    # Ctrl-C reaches the whole foreground process group: the command and the temporary server
    # it is waiting for. The command once sat out the 2-minute start-up timeout after it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORYWATCH_", "PREFECT_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # fresh: the server migrates a while
    command = subprocess.Popen(
        [STORYWATCH, "run", "--no-email"],
        cwd=project,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job
    )
    assert command.stderr is not None
    seen = []
    for line in command.stderr:
        seen.append(line)
        if "Starting temporary server" in line:
            break
    else:
        pytest.fail("no temporary server started:\n" + "".join(seen))
    time.sleep(1)
    interrupted = time.monotonic()
    os.killpg(command.pid, signal.SIGINT)
    try:
        command.wait(timeout=30)
    finally:
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
            command.wait()
    rest = command.stderr.read()
    assert command.returncode != 0 and time.monotonic() - interrupted < 30
    assert "Timed out" not in rest


def test_version_and_a_bad_export_format_read_plainly(project: Path) -> None:
    version = storywatch("--version", cwd=Path("/"))
    assert version.returncode == 0 and version.stdout.startswith("storywatch ")
    bad = storywatch("--config", str(project / "sources.yaml"), "export", "articles", "-f", "xml",
                     cwd=Path("/"))  # fmt: skip
    assert bad.returncode == 2
    assert "'xml': choose json or csv" in bad.stderr and "Value error" not in bad.stderr
