"""Shared fixtures. Real servers on loopback; ../shared data is optional (skip when absent)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pgcluster import PasswordCluster

# One PREFECT_HOME for every test session (and the CLI subprocesses they start): a fresh one
# makes Prefect migrate its own database first, which costs ~25 s (../shared/PREFECT-NOTES.md).
os.environ.setdefault("PREFECT_HOME", str(Path(tempfile.gettempdir()) / "storywatch-test-prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found (the shared data folder sits beside the project in CI)")
    return path


# -- databases: every store test runs on real SQLite and real PostgreSQL ----------------------

POSTGRES_URL = os.environ.get(
    "STORYWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    try:
        import sqlalchemy
    except ImportError:  # pragma: no cover
        return "sqlalchemy missing"
    try:
        engine = sqlalchemy.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_skip_reason() -> str | None:
    return _postgres_unavailable()


def _fresh_schema(base_url: str) -> Iterator[str]:
    """A URL on a fresh, empty schema of base_url's database, dropped afterwards."""
    import sqlalchemy

    schema = f"sw_{uuid.uuid4().hex[:12]}"
    admin_url = sqlalchemy.make_url(base_url).set(drivername="postgresql+psycopg")
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base_url else "?"
    yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_skip_reason: str | None) -> Iterator[str]:
    """A URL on a fresh, empty schema of the test database, dropped afterwards."""
    if postgres_skip_reason:
        pytest.skip(postgres_skip_reason)
    yield from _fresh_schema(POSTGRES_URL)


@pytest.fixture(scope="session")
def password_cluster() -> Iterator[PasswordCluster | str]:
    """A private PostgreSQL that checks passwords, or why one cannot run here."""
    cluster = PasswordCluster()
    why = cluster.start()
    yield why if why else cluster
    cluster.stop()


@pytest.fixture
def password_postgres_url(password_cluster: PasswordCluster | str) -> Iterator[str]:
    """A URL with a password, on a fresh schema of a server that checks it."""
    if isinstance(password_cluster, str):
        pytest.skip(password_cluster)
    yield from _fresh_schema(password_cluster.url)


def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL for request.param: sqlite, postgresql, or postgresql-password."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'storywatch.db'}"
    if request.param == "postgresql-password":
        return str(request.getfixturevalue("password_postgres_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Real SQLite file, then real PostgreSQL: store tests run on both backends."""
    return backend_url(request, tmp_path)


# -- a disk to fill: a tiny tmpfs ----------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs to fill (tests.factories.fill_disk), unmounted afterwards; root only:
    else the test is skipped."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs to fill needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


# -- feeds: one real HTTP feed server per session, cleared before every test -----------------

from tests.feedserver import FeedServer  # noqa: E402  (grouped with its fixtures)


@pytest.fixture(scope="session")
def feed_server_session() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def feed_server(feed_server_session: FeedServer) -> Iterator[FeedServer]:
    """The session's feed server with no paths, logs or counts left from earlier tests."""
    feed_server_session.reset()
    yield feed_server_session
    feed_server_session.reset()


# -- Prefect: ONE test harness per session (entering it costs 12-17 s) ---------------------------


@pytest.fixture(scope="session")
def prefect_api_url() -> Iterator[str]:
    """A temporary Prefect API for the whole session; its URL, for CLI subprocesses too."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  (sets storywatch's Prefect defaults before Prefect loads)

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())
