"""The store on real SQLite and real PostgreSQL: migrations, idempotent writes, source health."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from storywatch.fetch.model import FetchResult
from storywatch.parse.normalise import Article
from storywatch.store.articles import insert_articles
from storywatch.store.database import (
    _sqlite_file_lock,
    create_db_engine,
    current_revision,
    head_revision,
)
from storywatch.store.repository import Store
from storywatch.store.sources import FetchRecord
from tests.conftest import backend_url

T0 = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-password"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store tests also run as a role whose password the server checks (scram-sha-256)."""
    return backend_url(request, tmp_path)


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg2"])
def test_a_postgresql_password_reaches_the_server(password_postgres_url: str, scheme: str) -> None:
    # The engine swaps in the psycopg driver (the default one on SQLAlchemy 2.0, or a named
    # psycopg2 that is not installed); str(URL) would mask the password as "***" on the way.
    from tests.pgcluster import PASSWORD

    url = scheme + password_postgres_url[password_postgres_url.index("://") :]
    engine = create_db_engine(url)
    with engine.connect() as conn:  # the server checks the password (scram-sha-256)
        assert conn.exec_driver_sql("SELECT current_user").scalar() == "storywatch_pw"
    assert engine.url.password == PASSWORD
    engine.dispose()


def article(source: str, url: str, guid: str | None = None, title: str = "A title") -> Article:
    return Article(
        source=source,
        url=url,
        link=url,
        guid=guid,
        title=title,
        summary="Text.",
        content="",
        published=T0,
        date_missing=False,
    )


def fetched(source: str, status: str = "ok", **extra: object) -> FetchResult:
    fields: dict = {
        "http_status": 200 if status == "ok" else None,
        "content": b"<rss/>",
        "etag": '"v1"',
        "last_modified": "Tue, 11 Mar 2025 12:00:00 GMT",
    }
    if status == "not_modified":
        fields.update(http_status=304, content=None, etag=None, last_modified=None)
    if status == "error":
        fields.update(
            content=None,
            etag=None,
            last_modified=None,
            error_kind="timeout",
            error="gave up after 30 s",
        )
    fields.update(extra)
    return FetchResult(
        source=source,
        url=f"http://feeds.test/{source}",
        status=status,  # type: ignore[arg-type]
        started_at=T0,
        duration=0.25,
        **fields,
    )


def save(
    store: Store,
    ids: dict[str, int],
    result: FetchResult,
    articles: list[Article],
    *,
    run_id: str | None,
    **record: object,
) -> list[int]:
    """Store one fetch the way the ingest runner does."""
    return store.save_fetch(FetchRecord(result, articles, **record), ids, run_id)  # type: ignore[arg-type]


def open_with_sources(url: str, *names: str) -> tuple[Store, dict[str, int]]:
    store = Store.open(url)
    return store, store.sync_sources((n, f"http://feeds.test/{n}") for n in names)


def test_first_open_migrates_to_head_and_reopen_is_a_no_op(database_url: str) -> None:
    store = Store.open(database_url)
    assert current_revision(store.engine) == head_revision()
    tables = set(inspect(store.engine).get_table_names())
    assert {"sources", "runs", "fetches", "articles", "alembic_version"} <= tables
    store.close()
    assert current_revision(Store.open(database_url).engine) == head_revision()


def test_two_processes_opening_a_fresh_database_at_once_both_succeed(database_url: str) -> None:
    script = (
        "import sys; from storywatch.store.repository import Store; Store.open(sys.argv[1]).close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, database_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=60), p.stderr.read().decode()[-500:]) for p in procs]  # type: ignore[union-attr]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert current_revision(Store.open(database_url).engine) == head_revision()


def test_the_sqlite_migration_lock_file_is_removed_yet_stays_exclusive(tmp_path: Path) -> None:
    """No lock file is left beside the database; one waiting on a removed file retries, so
    it never holds a lock a newcomer (opening the path afresh) could also take."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'storywatch.db'}")
    lock_file = tmp_path / "storywatch.db.migrate-lock"
    inside, leave = threading.Event(), threading.Event()

    def second() -> None:
        with _sqlite_file_lock(engine):
            inside.set()
            leave.wait(10)

    with _sqlite_file_lock(engine):
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)  # the second is waiting on this lock file
        assert not inside.is_set()
    assert inside.wait(10)
    with open(lock_file, "a+b") as newcomer, pytest.raises(BlockingIOError):
        fcntl.flock(newcomer, fcntl.LOCK_EX | fcntl.LOCK_NB)
    leave.set()
    waiter.join(10)
    Store.open(f"sqlite:///{tmp_path / 'storywatch.db'}").close()
    assert not lock_file.exists()


def test_threads_opening_a_fresh_database_at_once_all_succeed(database_url: str) -> None:
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            Store.open(database_url).close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_articles_are_stored_once_by_url_and_by_guid_per_source(database_url: str) -> None:
    store, ids = open_with_sources(database_url, "A", "B")
    first = [article("A", "https://a.test/1", "g1"), article("A", "https://a.test/2", "g2")]
    assert len(save(store, ids, fetched("A"), first, run_id=None, entries_total=2)) == 2
    again = [
        article("A", "https://a.test/1", "g1"),  # same URL and GUID: skipped
        article("A", "https://a.test/2-updated-slug", "g2"),  # same GUID in A: same article
        article("B", "https://a.test/1", "b1"),  # same canonical URL from another source
        article("B", "https://b.test/9", "g1"),  # GUID g1 but in B: a new article
        article("B", "https://b.test/10", None),
        article("B", "https://b.test/10", None),  # repeated inside one batch
    ]
    new = save(store, ids, fetched("B"), again, run_id=None, entries_total=len(again))
    assert len(new) == 2
    assert sorted(a.url for a in store.iter_articles()) == [
        "https://a.test/1",
        "https://a.test/2",
        "https://b.test/10",
        "https://b.test/9",
    ]


def test_a_concurrent_writer_cannot_create_a_duplicate(database_url: str) -> None:
    store, ids = open_with_sources(database_url, "A")
    other = Store.open(database_url)
    item = article("A", "https://a.test/race", "r1")
    save(store, ids, fetched("A"), [item], run_id=None)
    # The other writer read "not stored" before our commit: its insert must be a no-op.
    with other.engine.begin() as conn:
        assert insert_articles(conn, [item], ids, None, T0) == []
    assert store.count_articles() == 1


def test_health_counts_failures_and_resets_on_success(database_url: str) -> None:
    store, ids = open_with_sources(database_url, "A")
    save(store, ids, fetched("A", "error"), [], run_id=None)
    save(store, ids, fetched("A", "error"), [], run_id=None)
    (health,) = store.source_health()
    assert (health.last_status, health.consecutive_failures) == ("error", 2)
    assert health.last_error == "gave up after 30 s" and health.last_success_at is None
    # A 200 whose body is not a feed is still a failure for the user.
    save(
        store,
        ids,
        fetched("A"),
        [],
        run_id=None,
        error_kind="not_a_feed",
        error="got an HTML page, not a feed",
    )
    assert store.source_health()[0].consecutive_failures == 3
    save(store, ids, fetched("A"), [article("A", "https://a.test/1")], run_id=None)
    (health,) = store.source_health()
    assert (health.last_status, health.consecutive_failures, health.last_error) == ("ok", 0, None)
    assert health.last_success_at == T0 and health.articles == 1


def test_validators_are_kept_across_a_304_and_reset_when_the_url_changes(database_url: str) -> None:
    store, ids = open_with_sources(database_url, "A")
    save(store, ids, fetched("A"), [], run_id=None)
    save(store, ids, fetched("A", "not_modified"), [], run_id=None)
    (request,) = store.fetch_requests(["A"])
    assert (request.etag, request.last_modified) == ('"v1"', "Tue, 11 Mar 2025 12:00:00 GMT")
    store.sync_sources([("A", "http://feeds.test/moved")])
    (request,) = store.fetch_requests(["A"])
    assert (request.url, request.etag, request.last_modified) == (
        "http://feeds.test/moved",
        None,
        None,
    )


def test_a_retried_save_skips_sources_already_recorded_for_the_run(database_url: str) -> None:
    store, ids = open_with_sources(database_url, "A", "B")
    store.start_run("run-1", "run", T0)
    save(store, ids, fetched("A"), [article("A", "https://a.test/1")], run_id="run-1")
    assert set(store.recorded_sources("run-1")) == {"A"}
    assert store.article_ids_for_run("run-1") != []


def test_datetimes_come_back_timezone_aware_utc(database_url: str) -> None:
    store, ids = open_with_sources(database_url, "A")
    kyiv = timezone_plus(2)
    item = article("A", "https://a.test/tz")
    item.published = datetime(2025, 3, 11, 14, 0, tzinfo=kyiv)
    save(store, ids, fetched("A"), [item], run_id=None)
    (stored,) = list(store.iter_articles())
    assert stored.published == T0 and stored.published.tzinfo == UTC


def timezone_plus(hours: int):  # type: ignore[no-untyped-def]
    from datetime import timezone

    return timezone(timedelta(hours=hours))


def test_two_writers_group_committing_the_same_sources_in_opposite_orders_never_deadlock(
    postgres_url: str,
) -> None:
    """Two runs store the same feeds at once, each committing the sources in the order its
    fetches finished. Locks taken in opposite orders deadlocked on PostgreSQL (one writer's
    task failed and was retried, refetching everything); the store takes them in one order."""
    store, ids = open_with_sources(postgres_url, "X", "Y")
    failures: list[BaseException] = []

    def records(round_: int) -> list[FetchRecord]:
        return [
            FetchRecord(
                fetched(name),
                [article(name, f"https://{name}.test/{round_}/{n}") for n in range(300)],
            )
            for name in ("X", "Y")
        ]

    def write(batch: list[FetchRecord], start: threading.Barrier) -> None:
        start.wait()
        try:
            store.save_fetches(batch, ids, None)
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    for round_ in range(15):
        start = threading.Barrier(2)
        batch = records(round_)
        writers = [
            threading.Thread(target=write, args=(batch, start)),
            threading.Thread(target=write, args=(batch[::-1], start)),
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(60)
    store.close()
    assert failures == []
