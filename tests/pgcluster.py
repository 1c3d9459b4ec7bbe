"""A private PostgreSQL server that checks passwords (scram-sha-256), for tests on loopback.

The shared test server trusts every local connection, so a URL whose password was mangled
still logs in there. This one is started from the machine's own PostgreSQL binaries in a
temporary folder, asks every TCP client for its password, and is stopped afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROLE = "storywatch_pw"
PASSWORD = "s3cret:p@ss/word"  # ':' '@' '/' must survive URL quoting too


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PasswordCluster:
    """initdb + pg_ctl start in a temporary folder; `url` logs in as ROLE with PASSWORD."""

    def __init__(self) -> None:
        self.bindir = _binaries()
        self.root = Path(tempfile.mkdtemp(prefix="sw-pgpw-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_user: list[str] = []

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as_user, *args], check=True, capture_output=True, timeout=120, cwd=self.root
        )

    def start(self) -> str | None:
        """Start the server; None when it runs, else why it cannot run here."""
        if self.bindir is None:
            return "no PostgreSQL server binaries (initdb) on this machine"
        if os.geteuid() == 0:  # postgres refuses to run as root
            if shutil.which("runuser") is None:
                return "running as root without runuser"
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_user:
            shutil.chown(pwfile, "postgres")
        try:
            self._run(
                str(self.bindir / "initdb"), "-D", str(self.data), "-U", ROLE,
                "--auth-host=scram-sha-256", "--auth-local=scram-sha-256",
                f"--pwfile={pwfile}", "-E", "UTF8",
            )  # fmt: skip
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", "-l",
                str(self.root / "log"), "-o",
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            )  # fmt: skip
        except (subprocess.SubprocessError, OSError) as exc:
            return f"could not start a private PostgreSQL: {exc}"
        return None

    @property
    def url(self) -> str:
        """A URL as an operator writes one: no driver named, so storywatch picks psycopg."""
        from sqlalchemy import URL

        url = URL.create("postgresql", ROLE, PASSWORD, "127.0.0.1", self.port, "postgres")
        return url.render_as_string(hide_password=False)

    def stop(self) -> None:
        if self.bindir is not None and self.data.exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
            except (subprocess.SubprocessError, OSError):
                time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
