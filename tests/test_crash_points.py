"""A run killed with SIGKILL at each crash point loses, duplicates and double-mails nothing.

The short version of bench/reliability.py's sweep (one round per point, SQLite; PostgreSQL
for the two store points): see tests/crashsweep.py for how a round runs and what it counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storywatch.failpoints import POINTS
from tests.crashsweep import CrashRound, crash_and_recover
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer

pytestmark = pytest.mark.prefect


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def reference_developments(
    tmp_path_factory: pytest.TempPathFactory, feed_server: FeedServer, prefect_api_url: str
) -> int:
    """How many developments a clean run of the same world finds."""
    folder = tmp_path_factory.mktemp("reference")
    with SmtpServer() as smtp:
        clean = CrashRound(
            folder, feed_server, smtp, f"sqlite:///{folder / 'sw.db'}", prefect_api_url
        )
        assert clean.storywatch("run").returncode == 0, clean.stderr[-1][-3000:]
        found = len(clean.developments())
        assert found >= 2 and len(smtp.received) == 1
    return found


CASES = [
    ("fetched", "sqlite"),
    ("storing:3", "sqlite"),
    ("storing:3", "postgresql"),
    ("detecting", "sqlite"),
    ("claimed", "sqlite"),
    ("sent", "postgresql"),
]


def test_every_crash_point_is_swept() -> None:
    assert {c[0].partition(":")[0] for c in CASES} == POINTS


@pytest.mark.parametrize(("failpoint", "backend"), CASES)
def test_a_run_killed_at_a_crash_point_recovers_without_loss_or_duplicates(
    failpoint: str,
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    feed_server: FeedServer,
    smtp: SmtpServer,
    prefect_api_url: str,
    reference_developments: int,
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'sw.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    round_ = CrashRound(tmp_path, feed_server, smtp, url, prefect_api_url)
    damage = crash_and_recover(round_, failpoint, reference_developments)
    assert damage.killed, damage.notes
    assert damage.notes == []
    assert damage.clean, damage
    # Killed mid-handover the mail had arrived: it is reported for the operator, not resent.
    assert damage.awaiting_operator == (1 if failpoint == "sent" else 0)
