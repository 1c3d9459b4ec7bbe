"""The reliability sweep: faults an operator meets, each tried for real, counted in one table.

    python bench/reliability.py                   # the full sweep (20 rounds per crash point)
    python bench/reliability.py --rounds 3        # a shorter one
    python bench/reliability.py --write           # also write bench/RELIABILITY.md

Every scenario runs the console script in subprocesses against feeds on a loopback HTTP
server, an aiosmtpd server, real SQLite and real PostgreSQL (127.0.0.1:5432, and a private
server that checks passwords for the secrets check) and a temporary Prefect API. Each row
counts articles lost and duplicated, developments mailed twice, tracebacks printed and
secrets leaked. tests/test_crash_points.py and the tests named in RELIABILITY.md hold the
same promises in CI with a round or two each.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy  # noqa: E402

from tests.conftest import POSTGRES_URL, SHARED, _fresh_schema, _postgres_unavailable  # noqa: E402
from tests.crashsweep import CrashRound, Damage, crash_and_recover, tally  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402
from tests.pgcluster import PASSWORD as DB_PASSWORD  # noqa: E402
from tests.pgcluster import PasswordCluster  # noqa: E402
from tests.smtpserver import SmtpServer  # noqa: E402

SMTP_LOGIN = ("storywatch", "smtp-Secret-9f3k2")
CRASH_POINTS = ["fetched", "storing", "detecting", "claimed", "sent"]


@dataclass
class Row:
    scenario: str
    rounds: int
    lost: int = 0
    duplicated: int = 0
    double_mailed: int = 0
    tracebacks: int = 0
    leaks: int = 0
    failures: int = 0  # rounds whose other expectations failed (see notes)
    notes: str = ""

    def add(self, damage: Damage) -> None:
        self.lost += damage.lost_articles + damage.lost_developments + damage.mails_missing
        self.duplicated += damage.duplicated_articles + damage.duplicated_developments
        self.double_mailed += damage.mails_duplicated
        self.tracebacks += damage.tracebacks
        if damage.notes:
            self.failures += 1
            self.notes = "; ".join(dict.fromkeys([*filter(None, [self.notes]), *damage.notes]))

    @property
    def result(self) -> str:
        bad = self.lost or self.duplicated or self.double_mailed or self.tracebacks or self.leaks
        return "FAIL" if bad or self.failures else "pass"


@contextmanager
def prefect_api() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  (storywatch's Prefect defaults before Prefect loads)

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'sw.db'}"
        return
    with contextmanager(_fresh_schema)(POSTGRES_URL) as url:
        yield url


def reference(feeds: FeedServer, api: str) -> int:
    """Developments a clean run of the sweep's world finds."""
    with tempfile.TemporaryDirectory() as tmp, SmtpServer() as smtp:
        clean = CrashRound(Path(tmp), feeds, smtp, f"sqlite:///{tmp}/sw.db", api)
        assert clean.storywatch("run").returncode == 0, clean.stderr[-1][-2000:]
        return len(clean.developments())


def crash_rows(feeds: FeedServer, api: str, rounds: int, expected: int) -> Iterator[Row]:
    rng = random.Random(20251204)
    for point in CRASH_POINTS:
        for backend in ("sqlite", "postgresql"):
            row = Row(f"kill -9 at `{point}` ({backend}), then a normal run", rounds)
            awaiting = 0
            for _ in range(rounds):
                nth = f":{rng.randint(1, 8)}" if point == "storing" else ""
                with (
                    tempfile.TemporaryDirectory() as tmp,
                    SmtpServer() as smtp,
                    database(backend, Path(tmp)) as url,
                ):
                    round_ = CrashRound(Path(tmp), feeds, smtp, url, api)
                    damage = crash_and_recover(round_, point + nth, expected)
                row.add(damage)
                awaiting += damage.awaiting_operator
            if point == "sent":
                row.notes = (row.notes + "; " if row.notes else "") + (
                    f"{awaiting} of {rounds} mails had arrived when the run died: reported for "
                    "`digest --resend`, not resent"
                )
            yield row


def concurrent_row(
    feeds: FeedServer, api: str, backend: str, rounds: int, expected: int, email: bool = True
) -> Row:
    """Two runs and a backfill over the same feeds, started together on one database. With
    ``email`` (backfill --email) every development must reach the reader once, by the live
    digest or the backfill's; without it, what the backfill judged first is history, recorded
    and not mailed (its documented rule), so only double mails and store damage count."""
    flag = ["--email"] if email else []
    row = Row(f"two runs and a backfill{' --email' if email else ''} at once ({backend})", rounds)
    quiet = 0
    for _ in range(rounds):
        with (
            tempfile.TemporaryDirectory() as tmp,
            SmtpServer() as smtp,
            database(backend, Path(tmp)) as url,
        ):
            round_ = CrashRound(Path(tmp), feeds, smtp, url, api)
            commands = [["run"], ["run"], ["backfill", "--since", "2025-04-01", "--until",
                                           "2025-04-30", *flag]]  # fmt: skip
            procs = [round_.start(*c) for c in commands]
            codes = [round_.finish(p) for p in procs]
            damage = Damage(point="concurrent", killed=False)
            if codes != [0, 0, 0]:
                damage.notes.append(f"exit codes {codes}")
            round_.storywatch("run")  # what a stopped or deferred stage left, done now
            tally(round_, damage, expected)
            if not email:
                quiet += damage.mails_missing
                damage.mails_missing = 0
            row.add(damage)
    if not email:
        row.notes = f"{quiet} developments judged by the backfill first: recorded, not mailed"
    return row


def smtp_outage_row(feeds: FeedServer, api: str, rounds: int, expected: int) -> Row:
    """The SMTP server down for a run, then back: each development mailed once, later."""
    row = Row("SMTP down for a run, then back (sqlite)", rounds)
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp, SmtpServer() as smtp:
            round_ = CrashRound(Path(tmp), feeds, smtp, f"sqlite:///{tmp}/sw.db", api)
            smtp.stop()
            down = round_.storywatch("run")
            damage = Damage(point="smtp-outage", killed=False)
            if "will retry" not in down.stderr:
                damage.notes.append("the failed delivery was not reported")
            smtp.start()
            if round_.storywatch("run").returncode != 0:
                damage.notes.append("the run after the outage failed")
            row.add(tally(round_, damage, expected))
    return row


def mutated_feeds_row(feeds: FeedServer, api: str, files: int) -> Row:
    """Real corpus feeds with bytes flipped, cut and duplicated, served beside the story feeds:
    the run goes on, the story is still stored and mailed, no traceback."""
    corpus = sorted(p for p in (SHARED / "corpus").rglob("*.xml") if p.stat().st_size < 400_000)
    rng = random.Random(7)
    picked = rng.sample(corpus, min(files, len(corpus)))
    row = Row(f"{len(picked)} mutated corpus feeds served beside the story (sqlite)", 1)
    if not picked:
        row.failures, row.notes = 1, f"no corpus feeds under {SHARED / 'corpus'}"
        return row
    with tempfile.TemporaryDirectory() as tmp, SmtpServer() as smtp:
        round_ = CrashRound(Path(tmp), feeds, smtp, f"sqlite:///{tmp}/sw.db", api)
        extra = {}
        for n, path in enumerate(picked):
            feeds.set_raw(
                f"/m{n}.xml", mutate(path.read_bytes(), rng), {"Content-Type": "text/xml"}
            )
            extra[f"Mutated {n}"] = feeds.url(f"/m{n}.xml")
        round_.add_sources(extra)
        done = round_.storywatch("run")
        damage = Damage(point="mutated", killed=False)
        if done.returncode != 0:
            damage.notes.append(f"run exited {done.returncode}")
        row.add(tally(round_, damage, reference(feeds, api)))
    return row


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        if not buf:
            break
        at = rng.randrange(len(buf))
        kind = rng.choice(["flip", "cut", "dup", "junk"])
        if kind == "flip":
            buf[at] = rng.randrange(256)
        elif kind == "cut":
            del buf[at : at + rng.randint(1, 200)]
        elif kind == "dup":
            buf[at:at] = buf[at : at + rng.randint(1, 200)]
        else:
            buf[at:at] = rng.choice([b"<!ENTITY x 'y'>", b"&amp;&#0;", b"\xff\xfe", b"]]>", b"<"])
    return bytes(buf)


def secrets_row(feeds: FeedServer, api: str) -> Row:
    """An SMTP password and a database password, looked for everywhere storywatch writes."""
    row = Row("secrets: SMTP and database passwords in logs, mail, exports, database, Prefect", 1)
    cluster = PasswordCluster()
    why = cluster.start()
    if why:
        row.failures, row.notes = 1, why
        return row
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            SmtpServer(login=SMTP_LOGIN) as smtp,
            contextmanager(_fresh_schema)(cluster.url) as url,
        ):
            round_ = CrashRound(Path(tmp), feeds, smtp, url, api)
            for command in (["check"], ["run"], ["digest", "--send"], ["sources", "status"]):
                round_.storywatch(*command)
            outputs = [round_.storywatch("export", kind, "--format", "json").stdout
                       for kind in ("articles", "developments")]  # fmt: skip
            if not smtp.received:
                row.failures, row.notes = 1, "no mail arrived: the check saw no delivery"
            places = {
                "stderr of every command": "\n".join(round_.stderr),
                "exports": "\n".join(outputs),
                "outbox": "\n".join(p.read_text() for p in Path(tmp).rglob("*.eml")),
                "mail received": "\n".join(
                    r.data.decode("utf-8", "replace") for r in smtp.received
                ),
                "database dump": dump_database(url),
                "Prefect API": prefect_records(api),
            }
            found = [f"{name} holds the {what} password" for name, text in places.items()
                     for what, secret in (("SMTP", SMTP_LOGIN[1]), ("database", DB_PASSWORD))
                     if secret in text]  # fmt: skip
            row.leaks = len(found)
            row.notes = "; ".join(found) or f"looked in: {', '.join(places)}"
    finally:
        cluster.stop()
    return row


def dump_database(url: str) -> str:
    engine = sqlalchemy.create_engine(sqlalchemy.make_url(url).set(drivername="postgresql+psycopg"))
    meta = sqlalchemy.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        text = "\n".join(
            repr(row) for table in meta.sorted_tables for row in conn.execute(table.select())
        )
    engine.dispose()
    return text


def prefect_records(api: str) -> str:
    """Every log line, artifact, flow run (with its parameters) and event Prefect holds."""
    chunks = []
    with httpx.Client(base_url=api, timeout=30) as client:
        for path, body in (
            ("/logs/filter", {"limit": 200}),
            ("/artifacts/filter", {"limit": 200}),
            ("/flow_runs/filter", {"limit": 200}),
            ("/task_runs/filter", {"limit": 200}),
            ("/events/filter", {"limit": 200}),  # one page: {"events": [...], ...}
        ):
            offset = 0
            while True:
                page = client.post(path, json={**body, "offset": offset} if "events" not in path
                                   else body)  # fmt: skip
                if page.status_code >= 400:  # a place not searched is a failed check, not a pass
                    raise RuntimeError(f"Prefect API {path}: HTTP {page.status_code}")
                chunks.append(page.text)
                items = page.json()
                if not isinstance(items, list) or len(items) < body["limit"]:
                    break
                offset += body["limit"]
    return "\n".join(chunks)


def pytest_row(scenario: str, selection: list[str]) -> Row:
    """Scenarios whose harness lives in the test suite (a tmpfs, a read-only mount, fuzzing)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    last = (done.stdout.strip().splitlines() or ["no output"])[-1]
    row = Row(scenario, 1, failures=int(done.returncode != 0))
    row.tracebacks = 0 if done.returncode == 0 else done.stdout.count("Traceback")
    row.notes = f"`pytest {' '.join(selection)}`: {last} ({time.monotonic() - started:.0f} s)"
    return row


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | rounds | result | lost | duplicated | mailed twice | tracebacks | leaks "
        "| notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.rounds} | {r.result} | {r.lost} | {r.duplicated} | "
            f"{r.double_mailed} | {r.tracebacks} | {r.leaks} | {r.notes} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds per crash point")
    parser.add_argument("--only", help="run scenarios whose name contains this")
    parser.add_argument("--write", action="store_true", help="write bench/RELIABILITY.md")
    args = parser.parse_args()
    if reason := _postgres_unavailable():
        print(f"PostgreSQL is needed: {reason}", file=sys.stderr)
        return 2
    started = time.monotonic()
    rows: list[Row] = []
    with FeedServer() as feeds, prefect_api() as api:
        expected = reference(feeds, api)
        scenarios: list[tuple[str, Callable[[], Iterator[Row] | Row]]] = [
            ("crash", lambda: crash_rows(feeds, api, args.rounds, expected)),
            ("concurrent-sqlite", lambda: concurrent_row(feeds, api, "sqlite", 3, expected)),
            ("concurrent-pg", lambda: concurrent_row(feeds, api, "postgresql", 3, expected)),
            (
                "concurrent-quiet",
                lambda: concurrent_row(feeds, api, "postgresql", 3, expected, email=False),
            ),
            ("smtp", lambda: smtp_outage_row(feeds, api, 3, expected)),
            ("mutated", lambda: mutated_feeds_row(feeds, api, 40)),
            ("secrets", lambda: secrets_row(feeds, api)),
        ]
        for name, scenario in scenarios:
            if args.only and args.only not in name:
                continue
            produced = scenario()
            for row in [produced] if isinstance(produced, Row) else produced:
                print(f"{row.result:4}  {row.scenario}: {row.notes}", flush=True)
                rows.append(row)
    for name, scenario, selection in SUITE_SCENARIOS:
        if not args.only or args.only in name:
            rows.append(pytest_row(scenario, selection))
            print(f"{rows[-1].result:4}  {rows[-1].scenario}: {rows[-1].notes}", flush=True)
    report = table(rows)
    print(report)
    print(f"\n{time.monotonic() - started:.0f} s")
    if args.write:
        write_report(report, args.rounds, time.monotonic() - started)
    return 0 if all(r.result == "pass" for r in rows) else 1


# Faults whose set-up lives in tests (each named test fails before its fix; see their docstrings).
SUITE_SCENARIOS = [
    ("config", "config fuzzing (200 mutations), YAML alias bombs, /dev/zero seed, user agents",
     ["tests/test_config.py", "-k", "alias or seed_larger or mutation or mutated or user_agent"]),
    ("outbox", "disk full (SQLite and outbox on a filled tmpfs) and an unwritable outbox",
     ["tests/test_send.py", "tests/test_cli.py", "tests/test_cli_digest.py", "-k",
      "outbox or full_disk or unreachable_database"]),
    ("hostile", "hostile feeds: entity bombs, bidi controls, odd characters in links",
     ["tests/test_parse.py", "tests/test_ingest.py", "tests/test_digest.py", "tests/test_send.py",
      "-k", "billion or entity_bomb or bidi or percent_encoded"]),
    ("heartbeat", "every mail says which sources failed since the last one",
     ["tests/test_send.py", "tests/test_digest.py", "-k", "truthfully or feed_check or heartbeat"]),
]  # fmt: skip


def write_report(report: str, rounds: int, seconds: float) -> None:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head = (
        "# Reliability sweep\n\n"
        f"`python bench/reliability.py --rounds {rounds} --write`, {when}, {seconds:.0f} s on "
        "this machine (2 cores). Columns: articles or developments lost (including "
        "developments never mailed), duplicated in the store, developments mailed twice to one "
        "reader, tracebacks printed by any command, secrets found. See bench/reliability.py "
        "for how each scenario runs.\n\n"
    )
    (ROOT / "bench" / "RELIABILITY.md").write_text(head + report + "\n", encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    sys.exit(main())
