"""Heartbeats from a thread: the storyline lease's and a running backfill's."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storywatch.store import backfill as store_backfill
from storywatch.store.liveness import beating
from storywatch.store.repository import Store
from storywatch.store.tables import RUNS


def test_beating_calls_on_a_schedule_survives_a_failed_beat_and_stops_with_the_block(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[float] = []

    def beat() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise RuntimeError("database is locked")

    with beating(beat, 0.02, "test work"):
        while len(calls) < 4:
            time.sleep(0.01)
    stopped_at = len(calls)
    time.sleep(0.1)
    assert len(calls) == stopped_at  # no beat after the block
    assert "test work: heartbeat not recorded: database is locked" in caplog.text
    assert not any(t.name == "heartbeat test work" for t in threading.enumerate())


def test_keep_alive_beats_a_backfill_and_releases_it_even_when_the_work_fails(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_backfill, "BEAT_SECONDS", 0.05)
    store = Store.open(database_url)
    start, end = datetime(2025, 4, 10, tzinfo=UTC), datetime(2025, 4, 14, tzinfo=UTC)
    store.open_backfill("run-1", start, end, True, ["truce-talks"])

    def heartbeat() -> datetime:
        with store.engine.connect() as conn:
            return conn.scalar(select(RUNS.c.heartbeat_at).where(RUNS.c.id == "run-1"))

    opened = heartbeat()
    with pytest.raises(RuntimeError), store.keep_backfill_alive("run-1"):
        deadline = time.monotonic() + 10
        while heartbeat() == opened and time.monotonic() < deadline:
            time.sleep(0.02)
        raise RuntimeError("the backfill failed")
    assert heartbeat() > opened
    (stopped,) = store.stopped_backfills("truce-talks")
    assert stopped.run_id == "run-1" and stopped.email is True
    # A retried run of the same id is at work again.
    store.open_backfill("run-1", start, end, True, ["truce-talks"])
    assert store.stopped_backfills("truce-talks") == []
