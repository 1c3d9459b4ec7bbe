"""A local Prefect server for `storywatch serve`: started, watched and stopped as a child process.

Prefect schedules nothing on its temporary server (../shared/PREFECT-NOTES.md), so `serve` with
no PREFECT_API_URL needs a long-lived one. ``prefect_api()`` picks the API to use:

1. ``$PREFECT_API_URL`` when set: the user's server (or Prefect Cloud);
2. a server already answering on 127.0.0.1:4200 (another `serve`, or `prefect server start`);
3. otherwise ``LocalPrefectServer``: `prefect server start` as a child process, its SQLite
   database in storywatch's data folder (``$STORYWATCH_PREFECT_HOME``, default
   ``<config dir>/.storywatch/prefect``), its output in ``server.log`` there (never on the
   command's own output), restarted when it dies, stopped when serving stops.

Plain process management: the library never imports Prefect; the server is the `prefect`
command of this interpreter's environment (``python -m prefect``).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

LOCAL_HOST = "127.0.0.1"
LOCAL_PORT = 4200
STARTUP_TIMEOUT = 180.0  # a brand-new database is migrated first: ~20 s, more on a busy machine
STOP_TIMEOUT = 15.0
RESTART_BACKOFF_MAX = 60.0

# Defaults for the server we start, unless the user set them: no analytics (often offline),
# and old flow runs vacuumed (a long-running server grows ~20 KB per task run).
_SERVER_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
}


class PrefectServerError(RuntimeError):
    """The local Prefect server could not be started (its log's last lines are in the message)."""


def api_url(host: str = LOCAL_HOST, port: int = LOCAL_PORT) -> str:
    return f"http://{host}:{port}/api"


def server_answers(url: str, timeout: float = 0.5) -> bool:
    """True when a Prefect API at ``url`` (…/api) answers its health check."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def prefect_home_for(config_dir: Path) -> Path:
    """Where the local server keeps its database and log: $STORYWATCH_PREFECT_HOME, else
    ``<config dir>/.storywatch/prefect`` (beside storywatch's own database)."""
    given = os.environ.get("STORYWATCH_PREFECT_HOME")
    return Path(given).expanduser().resolve() if given else config_dir / ".storywatch" / "prefect"


class LocalPrefectServer:
    """`prefect server start` on ``host:port`` with PREFECT_HOME at ``home``, supervised.

    ``start()`` returns once /api/health answers; a watcher thread restarts the server when
    its process dies (backing off up to a minute between attempts); ``stop()`` ends it and its
    children. The server runs in its own session, so Ctrl-C in the terminal reaches `serve`
    (which pauses its schedules through the API) before the server is stopped.
    """

    def __init__(
        self,
        home: Path,
        host: str = LOCAL_HOST,
        port: int = LOCAL_PORT,
        startup_timeout: float = STARTUP_TIMEOUT,
        check_every: float = 1.0,
    ) -> None:
        self.home = home
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.check_every = check_every
        self.restarts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        return api_url(self.host, self.port)

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def __enter__(self) -> LocalPrefectServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until it answers; raise ``PrefectServerError`` if not."""
        self._stopping.clear()
        with self._lock:
            self._launch()
        self._watcher = threading.Thread(
            target=self._watch, name="prefect-server-watcher", daemon=True
        )
        self._watcher.start()

    def stop(self) -> None:
        """Stop watching, then end the server process and its children (SIGTERM, then KILL)."""
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=STOP_TIMEOUT + 5)
        with self._lock:
            self._terminate()

    def _launch(self) -> None:
        if _port_taken(self.host, self.port):  # its answers would pass for this server's
            raise PrefectServerError(
                f"cannot start a Prefect server on {self.host}:{self.port}: the port is taken "
                "(set PREFECT_API_URL to use a running Prefect server)"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        command = [sys.executable, "-m", "prefect", "server", "start"]
        command += ["--host", self.host, "--port", str(self.port)]
        log.info("starting a Prefect server on %s (data: %s)", self.api_url, self.home)
        self._process = subprocess.Popen(
            command,
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.home,
        )
        try:
            self._wait_healthy(self._process)
        except BaseException:
            self._terminate()
            raise
        log.info("Prefect server ready: UI on http://%s:%d", self.host, self.port)

    def _environment(self) -> dict[str, str]:
        env = {**_SERVER_DEFAULTS, **os.environ, "PREFECT_HOME": str(self.home)}
        env.pop("PREFECT_API_URL", None)  # the server is the API; it needs no client setting
        return env

    def _wait_healthy(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if server_answers(self.api_url):
                return
            if process.poll() is not None:
                raise PrefectServerError(
                    f"the Prefect server exited with status {process.returncode} before it "
                    f"answered on {self.api_url} (is the port taken?):\n{self._log_tail()}"
                )
            if self._stopping.wait(0.5):
                raise PrefectServerError("stopped while the Prefect server was starting")
        raise PrefectServerError(
            f"the Prefect server did not answer on {self.api_url} within "
            f"{self.startup_timeout:.0f} s:\n{self._log_tail()}"
        )

    def _terminate(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT)
            log.info("Prefect server stopped")
        elif process is not None:
            _signal_group(process, signal.SIGKILL)  # leftovers of a server that died
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping.wait(self.check_every):
            process = self._process
            if process is not None and process.poll() is None:
                continue
            if process is not None:  # None: the last restart failed, try again
                log.warning(
                    "the Prefect server exited (status %s); restarting it", process.returncode
                )
            with self._lock:
                if self._stopping.is_set():
                    return
                self._terminate()
                try:
                    self._launch()
                except PrefectServerError as exc:
                    if self._stopping.is_set():
                        return
                    log.error("could not restart the Prefect server: %s", exc)
                    if self._stopping.wait(backoff):
                        return
                    backoff = min(backoff * 2, RESTART_BACKOFF_MAX)
                    continue
            self.restarts += 1
            backoff = 1.0

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal the server's whole session (uvicorn and service workers included)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


@contextmanager
def prefect_api(config_dir: Path, host: str = LOCAL_HOST, port: int = LOCAL_PORT) -> Iterator[str]:
    """The Prefect API URL `serve` should use (see the module docstring for the order); a
    server started here lives as long as the ``with`` block."""
    given = os.environ.get("PREFECT_API_URL")
    if given:
        log.info("using the Prefect server at %s (PREFECT_API_URL)", given)
        yield given
        return
    local = api_url(host, port)
    if server_answers(local):
        log.info("using the Prefect server already running at %s", local)
        yield local
        return
    with LocalPrefectServer(prefect_home_for(config_dir), host, port) as server:
        yield server.api_url
