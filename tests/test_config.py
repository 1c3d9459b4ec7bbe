"""Config loading: the minimal file is valid; every kind of mistake is reported with its line."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from storywatch.config.config import ConfigError, load_config, resolve_config_path

STORYWATCH = str(Path(sys.executable).parent / "storywatch")

MINIMAL = """\
storylines:
  - id: ukraine-peace-talks
    title: Ukraine peace talks
    seed: seeds/ukraine-peace-talks.md
sources:
  - name: Example Wire
    url: https://example.org/world/rss.xml
    # archive: https://example.org/world/rss.xml?paged={page}
digest:
  from: storywatch@example.org
  to: [desk@example.org]
"""


def write_config(folder: Path, text: str, seed: bool = True) -> Path:
    if seed:
        (folder / "seeds").mkdir(exist_ok=True)
        (folder / "seeds" / "ukraine-peace-talks.md").write_text("A seed story.\n")
    path = folder / "sources.yaml"
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_minimal_config_from_design_is_valid(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, MINIMAL))
    assert [s.name for s in config.sources] == ["Example Wire"]
    assert config.digest.sender == "storywatch@example.org"
    assert config.digest.mode == "immediate"
    assert config.seed_path(config.storylines[0]) == tmp_path / "seeds" / "ukraine-peace-talks.md"


def test_paths_and_defaults_are_relative_to_the_config_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("STORYWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("STORYWATCH_OUTBOX", raising=False)
    config = load_config(write_config(tmp_path, MINIMAL))
    assert config.database_url == f"sqlite:///{tmp_path / 'storywatch.db'}"
    assert config.outbox_dir == tmp_path / "outbox"
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", "postgresql://x@h/db")
    monkeypatch.setenv("STORYWATCH_OUTBOX", "/tmp/elsewhere")
    assert config.database_url == "postgresql://x@h/db"
    assert config.outbox_dir == Path("/tmp/elsewhere")


def test_config_path_resolution_order(monkeypatch) -> None:
    monkeypatch.delenv("STORYWATCH_CONFIG", raising=False)
    assert resolve_config_path(None) == Path("sources.yaml")
    monkeypatch.setenv("STORYWATCH_CONFIG", "/etc/sw.yaml")
    assert resolve_config_path(None) == Path("/etc/sw.yaml")
    assert resolve_config_path("given.yaml") == Path("given.yaml")


def test_every_problem_is_listed_with_file_and_line(tmp_path: Path) -> None:
    text = """\
storylines:
  - id: ukraine-peace-talks
    title: Ukraine peace talks
    seed: seeds/missing.md
sources:
  - name: Wire
    url: ftp://example.org/feed
  - name: Wire
    url: https://example.org/other
    colour: blue
digest:
  from: storywatch@example.org
  to: [not-an-address]
"""
    found = problems(write_config(tmp_path, text))
    path = str(tmp_path / "sources.yaml")
    assert any(p.startswith(f"{path}:7:") and "not an http(s) URL" in p for p in found), found
    assert any(
        p.startswith(f"{path}:10:") and "unknown key 'sources[1].colour'" in p for p in found
    )
    assert any(p.startswith(f"{path}:13:") and "not an email address" in p for p in found), found
    # Structure problems come first, then the semantic ones (checked on the raw YAML).
    assert len(found) == 5
    assert "duplicate source name 'Wire'" in found[3] and "seed file not found" in found[4]


def test_duplicates_and_missing_seed_are_reported(tmp_path: Path) -> None:
    text = """\
storylines:
  - id: ukraine-peace-talks
    title: Ukraine peace talks
    seed: seeds/nope.md
  - id: ukraine-peace-talks
    title: Again
    seed: seeds/ukraine-peace-talks.md
sources:
  - name: Example Wire
    url: https://example.org/a.xml
  - name: Example Wire
    url: https://example.org/b.xml
"""
    found = problems(write_config(tmp_path, text))
    path = str(tmp_path / "sources.yaml")
    assert f"{path}:11: duplicate source name 'Example Wire'" in found
    assert f"{path}:5: duplicate storyline id 'ukraine-peace-talks'" in found
    assert any(p.startswith(f"{path}:4: ") and "seed file not found" in p for p in found), found


def test_duplicate_yaml_keys_are_not_silently_merged(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    url: https://example.org/world/rss.xml\n",
        "    url: https://example.org/world/rss.xml\n    url: https://example.org/again.xml\n",
    )
    assert any(":8:" in p and "duplicate key" in p for p in problems(write_config(tmp_path, text)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "expected a mapping"),
        ("storylines: [\n", "invalid YAML"),
        ("sources: []\nstorylines: []\n", "storylines"),
        (MINIMAL.replace("seed: seeds/ukraine-peace-talks.md", "seed:"), "storylines[0].seed"),
        (MINIMAL + "ingest:\n  per_host: 0\n", "ingest.per_host"),
        (MINIMAL + "  timezone: Mars/Olympus\n", "unknown time zone"),
        (MINIMAL + "  schedule: every morning\n", "cron"),
    ],
)
def test_bad_configs_give_a_clear_message(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(write_config(tmp_path, text))
    assert any(expected in p for p in found), found


def test_a_bad_storyline_id_is_explained_in_words(tmp_path: Path) -> None:
    text = MINIMAL.replace("id: ukraine-peace-talks", "id: Ukraine Talks")
    (found,) = problems(write_config(tmp_path, text))
    assert found.endswith(
        ":2: storylines[0].id: 'Ukraine Talks' is not a valid id: use lowercase letters, "
        "digits, '-' and '_', starting with a letter or digit"
    ), found


def test_missing_config_file(tmp_path: Path) -> None:
    assert "config file not found" in problems(tmp_path / "absent.yaml")[0]


def test_seed_front_matter_is_validated(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL)
    seed = tmp_path / "seeds" / "ukraine-peace-talks.md"
    seed.write_text("---\nactors: [{name: Putin, alias: [x]}]\n---\nText.\n")
    assert any("front matter" in p and "alias" in p for p in problems(path))
    seed.write_text("---\ntypes: [meeting, picnic]\n---\nText.\n")
    assert any("unknown development types ['picnic']" in p for p in problems(path))
    seed.write_text("---\ntitle: x\n---\n\n")
    assert any("no text" in p for p in problems(path))


def test_per_storyline_digest_override_merges(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    seed: seeds/ukraine-peace-talks.md\n",
        "    seed: seeds/ukraine-peace-talks.md\n    digest:\n      mode: scheduled\n"
        '      schedule: "0 7 * * *"\n      timezone: Europe/Kyiv\n',
    )
    config = load_config(write_config(tmp_path, text))
    digest = config.digest_for(config.storylines[0])
    assert (digest.mode, digest.schedule, digest.timezone) == (
        "scheduled",
        "0 7 * * *",
        "Europe/Kyiv",
    )
    assert digest.to == ["desk@example.org"]  # inherited from the top-level digest


def test_storylines_without_recipients_are_valid_and_listed_as_unmailed(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, MINIMAL)).unmailed_storylines() == []
    no_to = MINIMAL.replace("  to: [desk@example.org]\n", "")
    assert load_config(write_config(tmp_path, no_to)).unmailed_storylines() == [
        "ukraine-peace-talks"
    ]
    second = (
        "  - id: quiet-one\n    title: Quiet\n    seed: seeds/ukraine-peace-talks.md\n"
        "    digest:\n      to: []\n"
    )
    own_empty = MINIMAL.replace("sources:\n", second + "sources:\n", 1)
    assert load_config(write_config(tmp_path, own_empty)).unmailed_storylines() == ["quiet-one"]


def test_a_scheduled_digest_without_a_schedule_is_reported_with_its_line(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "    seed: seeds/ukraine-peace-talks.md\n",
        "    seed: seeds/ukraine-peace-talks.md\n    digest:\n      mode: scheduled\n",
    )
    (problem,) = problems(write_config(tmp_path, text))
    assert (
        "sources.yaml:6: storylines[0] (ukraine-peace-talks): digest mode is scheduled" in problem
    )
    with_schedule = text + '  schedule: "30 6 * * 1-5"\n'  # inherited from the top level
    assert load_config(write_config(tmp_path, with_schedule)).digest.schedule == "30 6 * * 1-5"


def test_schema_errors_do_not_hide_duplicates_or_missing_seeds(tmp_path: Path) -> None:
    text = """\
storylines:
  - id: talks
    title: Talks
    seed: seeds/missing.md
sources:
  - name: Example Wire
    url: ftp://example.org/feed
    colour: red
  - name: Example Wire
    url: https://example.org/2.xml
"""
    found = problems(write_config(tmp_path, text))
    path = str(tmp_path / "sources.yaml")
    assert f"{path}:7: sources[0].url: 'ftp://example.org/feed' is not an http(s) URL" in found
    assert f"{path}:8: unknown key 'sources[0].colour'" in found
    assert f"{path}:9: duplicate source name 'Example Wire'" in found
    assert any(p.startswith(f"{path}:4:") and "seed file not found" in p for p in found)
    assert len(found) == 4


@pytest.mark.parametrize(
    ("schedule", "accepted"),
    [
        ("0 7 * * *", True),
        ("*/15 6-22 * * mon-fri", True),
        ("0 0 1,15 jan,jul 0", True),
        ("30 8 * * 7", True),
        ("61 7 * * *", False),
        ("0 24 * * *", False),
        ("0 7 32 * *", False),
        ("0 7 * 13 *", False),
        ("0 7 * * 8", False),
        ("*/0 * * * *", False),
        ("0 7 * * fri-mon", False),
        ("every day", False),
    ],
)
def test_cron_schedules_are_checked_field_by_field(
    tmp_path: Path, schedule: str, accepted: bool
) -> None:
    path = write_config(
        tmp_path,
        MINIMAL + f'  mode: scheduled\n  schedule: "{schedule}"\n  timezone: Europe/Kyiv\n',
    )
    if accepted:
        assert load_config(path).digest.schedule == schedule
    else:
        (found,) = problems(path)
        assert ":13: digest.schedule:" in found and schedule in found


def test_archive_templates_name_only_known_placeholders(tmp_path: Path) -> None:
    archive = "    archive: https://example.org/search?q=kyiv&from={since}&to={until}&p={page}\n"
    good = MINIMAL.replace(
        "    # archive: https://example.org/world/rss.xml?paged={page}\n", archive
    )
    assert load_config(write_config(tmp_path, good)).sources[0].archive
    bad = good.replace("{until}", "{to}")
    (found,) = problems(write_config(tmp_path, bad))
    assert ":8: sources[0].archive: unknown placeholder {to}" in found


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("notaurl", "not a database URL"),
        ("mysql://u@db.example/news", "'mysql': storywatch runs on SQLite or PostgreSQL"),
    ],
)
def test_a_database_url_storywatch_cannot_use_is_a_config_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    path = write_config(tmp_path, MINIMAL)
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", "postgresql://u@127.0.0.1/test")
    assert load_config(path)  # a usable one (the postgres extra is installed)
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", url)
    (found,) = problems(path)
    assert found.startswith(f"STORYWATCH_DATABASE_URL: {message}")


def test_postgresql_without_its_driver_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    found = importlib.util.find_spec
    hidden = {"psycopg", "psycopg2"}  # as in an install without the postgres extra
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n in hidden else found(n, *a)
    )
    monkeypatch.setenv("STORYWATCH_DATABASE_URL", "postgresql://u@127.0.0.1/test")
    (found_problem,) = problems(write_config(tmp_path, MINIMAL))
    assert "pip install 'storywatch[postgres]'" in found_problem


# -- hostile and mangled YAML (issue 14): a clean config error, never a traceback -------------


def test_a_recursive_alias_is_a_config_error_with_its_line(tmp_path: Path) -> None:
    found = problems(write_config(tmp_path, MINIMAL + "loop: &r [*r]\n"))
    assert found == [
        f"{tmp_path / 'sources.yaml'}:12: invalid YAML: a YAML alias refers to a "
        "node that contains it (recursive alias)"
    ]


def test_an_alias_bomb_is_rejected_before_it_expands(tmp_path: Path) -> None:
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
    )  # 10**10 leaves when expanded
    (found,) = problems(write_config(tmp_path, MINIMAL + bomb))
    where, message = found.split(": ", 1)
    assert message.startswith("invalid YAML: YAML aliases expand too far (an alias bomb?)")
    assert int(where.rsplit(":", 1)[1]) >= 12  # the line of the bomb, not of the file


def test_a_few_aliases_are_still_fine(tmp_path: Path) -> None:
    text = MINIMAL.replace("to: [desk@example.org]", "to: *desk").replace(
        "title: Ukraine peace talks",
        "title: Ukraine peace talks\n    digest: {to: &desk [d@x.org]}",
    )
    config = load_config(write_config(tmp_path, text))
    assert config.digest.to == ["d@x.org"]


def test_a_seed_larger_than_the_cap_fails_fast_even_from_dev_zero(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL.replace("seeds/ukraine-peace-talks.md", "/dev/zero"))
    (found,) = problems(path)
    assert found == f"{path}:4: storylines[0].seed: seed file /dev/zero is larger than 1024 kB"
    big = tmp_path / "seeds" / "big.md"
    big.write_text("word " * 300_000)
    (found,) = problems(write_config(tmp_path, MINIMAL.replace("ukraine-peace-talks.md", "big.md")))
    assert "is larger than 1024 kB" in found


def test_a_seed_front_matter_alias_bomb_is_a_seed_problem(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL)
    (tmp_path / "seeds" / "ukraine-peace-talks.md").write_text("---\nplaces: &p [*p]\n---\nText.\n")
    (found,) = problems(path)
    assert (
        found.endswith(
            "front matter: a YAML alias refers to a node that contains it (recursive alias)"
        )
        and ":2:" in found
    )


SHIPPED = Path(__file__).resolve().parent.parent / "sources.yaml"
SCALARS = [
    "",
    "null",
    "42",
    "-1.5e9",
    "true",
    "[]",
    "{}",
    "[a, b]",
    "{k: v}",
    "~",
    "'x'",
    '"\\x00"',
    "!!binary aGk=",
    "2025-01-01",
    "*a",
    "&a x",
    "&b [*b]",
    "&c {k: *c}",
    "|\n  block",
]


def _mutate(text: str, rng: random.Random) -> str:
    """One to three random edits of the kinds a hand or a bad merge makes."""
    for _ in range(rng.randint(1, 3)):
        lines = text.splitlines(keepends=True)
        where = rng.randrange(len(lines))
        kind = rng.choice(["flip", "delete", "duplicate", "indent", "alias", "swap", "bytes"])
        if kind == "flip":
            data = bytearray(text.encode())
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            text = data.decode("utf-8", errors="replace")
        elif kind == "delete":
            del lines[where]
            text = "".join(lines)
        elif kind == "duplicate":
            lines.insert(where, lines[where])
            text = "".join(lines)
        elif kind == "indent":
            line = lines[where]
            lines[where] = (
                (" " * rng.choice([1, 2, 4])) + line if rng.random() < 0.6 else (line.lstrip(" "))
            )
            text = "".join(lines)
        elif kind == "alias":
            anchor = rng.choice(["&a ", "&b ", "*a", "*b", "&a [*a, *a] ", "<<: *a\n"])
            line = lines[where]
            cut = line.find(": ") + 2 if ": " in line else len(line) - len(line.lstrip(" -"))
            lines[where] = line[:cut] + anchor + line[cut:]
            text = "".join(lines)
        elif kind == "swap":
            line = lines[where]
            if ": " in line:
                lines[where] = line[: line.index(": ") + 2] + rng.choice(SCALARS) + "\n"
            text = "".join(lines)
        else:
            noise = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            at = rng.randrange(len(text))
            text = text[:at] + noise.decode("latin-1") + text[at:]
    return text


def _fuzz_folder(tmp_path: Path) -> Path:
    shutil.copytree(SHIPPED.parent / "seeds", tmp_path / "seeds")
    return tmp_path / "sources.yaml"


def test_two_hundred_mutations_of_the_shipped_config_load_or_fail_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STORYWATCH_DATABASE_URL", raising=False)
    path = _fuzz_folder(tmp_path)
    rng = random.Random(14)
    original = SHIPPED.read_text(encoding="utf-8")
    outcomes = {"valid": 0, "rejected": 0}
    for round_ in range(200):
        mutated = _mutate(original, rng)
        path.write_bytes(mutated.encode("utf-8", errors="surrogateescape"))
        try:
            load_config(path)
            outcomes["valid"] += 1
        except ConfigError as exc:
            assert exc.problems and all(str(p).startswith(str(path)) for p in exc.problems)
            outcomes["rejected"] += 1
        except Exception as exc:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"mutation {round_} raised {exc!r}:\n{mutated}")
    assert outcomes["rejected"] > 50 and outcomes["valid"] > 5, outcomes


def test_mutated_configs_give_check_a_clean_exit(tmp_path: Path) -> None:
    path = _fuzz_folder(tmp_path)
    rng = random.Random(1414)
    original = SHIPPED.read_text(encoding="utf-8")
    mutations = [_mutate(original, rng) for _ in range(4)]
    mutations.append(original + "loop: &r [*r]\n")  # the issue's own two
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
    for mutated in mutations:
        path.write_text(mutated, encoding="utf-8")
        done = subprocess.run(
            [STORYWATCH, "--config", str(path), "check"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode in (0, 2), done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 0 or "error: the configuration has" in done.stderr


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        ('"storywatch/1 caf\\u00e9"', "only printable ASCII is allowed in a User-Agent, not 'é'"),
        ('"sw/1\\r\\nX-Injected: 1"', "not '\\n', '\\r'"),
        ('"sw/1\\0"', "not '\\x00'"),
        ('"sw/1\\t(tab)"', "not '\\t'"),
        ("x" * 513, "longer than 512 characters (513)"),
        ('"  "', "is empty"),
    ],
)
def test_a_user_agent_servers_would_refuse_is_a_config_error(
    tmp_path: Path, agent: str, expected: str
) -> None:
    path = write_config(tmp_path, MINIMAL + f"ingest:\n  user_agent: {agent}\n")
    (found,) = problems(path)
    assert found.startswith(f"{path}:13: ingest.user_agent: "), found
    assert expected in found, found


def test_a_plain_user_agent_is_kept_and_check_exits_2_on_a_bad_one(tmp_path: Path) -> None:
    agent = "storywatch/0.1 (+https://example.org/bot; desk@example.org)"
    path = write_config(tmp_path, MINIMAL + f"ingest:\n  user_agent: '{agent}'\n")
    assert load_config(path).ingest.fetch_limits().user_agent == agent
    path.write_text(MINIMAL + 'ingest:\n  user_agent: "sw\\r\\nX: 1"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
    done = subprocess.run(
        [STORYWATCH, "--config", str(path), "check"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{path}:13: ingest.user_agent: only printable ASCII" in done.stderr


def test_a_source_name_with_a_bidi_control_is_a_config_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL.replace("name: Example Wire", 'name: "Wire \\u202eeriW"'))
    (found,) = problems(path)
    assert found.startswith(f"{path}:6: sources[0].name: ") and "bidirectional" in found


def test_a_mistyped_key_is_told_what_it_was_probably_meant_to_be(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL + "ingest:\n  time_out: 5\n  colour: red\n")
    found = problems(path)
    assert any("unknown key 'ingest.time_out' (did you mean 'timeout'?)" in p for p in found)
    assert any(p.endswith("unknown key 'ingest.colour'") for p in found)  # nothing close
    misplaced = write_config(tmp_path, MINIMAL + "ingest:\n  to: [x@example.org]\n")
    assert any("'to' is a key of another section" in p for p in problems(misplaced))


def test_one_recipient_may_be_written_as_a_plain_string(tmp_path: Path) -> None:
    path = write_config(tmp_path, MINIMAL.replace("to: [desk@example.org]", "to: desk@example.org"))
    assert load_config(path).digest.to == ["desk@example.org"]
