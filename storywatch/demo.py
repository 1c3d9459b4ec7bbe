"""The offline demo: serve the bundled feeds on 127.0.0.1 and write a config pointing at them.

The feeds in demo_data/ are invented and written for storywatch; the seed is the shipped one.
"""

from __future__ import annotations

import functools
import html
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

SEED_NAME = "ukraine-peace-talks.md"
DEMO_PORT = 8750  # `storywatch demo --serve`: a fixed port, so the demo's config stays valid
CONFIG_HEADER = "# Written by `storywatch demo`: the bundled feeds, served on a local port."
# What a demo run leaves in its folder besides sources.yaml and seeds/: `--fresh` removes these.
DEMO_STATE = ("storywatch.db", "storywatch.db-wal", "storywatch.db-shm", "outbox", "feedback")


class DemoFolderError(Exception):
    """The folder holds a sources.yaml the demo did not write: never touch it."""


def demo_data_dir() -> Path:
    return Path(str(resources.files("storywatch") / "demo_data"))


def demo_feed_files() -> list[Path]:
    return sorted(p for p in demo_data_dir().iterdir() if p.suffix in (".xml", ".atom"))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the demo's output readable: requests are visible in the run summary

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if str(path).endswith(".atom"):
            return "application/atom+xml"
        return "application/xml" if str(path).endswith(".xml") else super().guess_type(path)


@contextmanager
def serve_demo_feeds(port: int = 0) -> Iterator[str]:
    """Serve demo_data/ on a loopback port (0: an ephemeral one); yield the base URL.
    OSError when the port is taken."""
    handler = functools.partial(_QuietHandler, directory=str(demo_data_dir()))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, name="storywatch-demo", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def isolate_from_environment() -> list[str]:
    """Drop every STORYWATCH_* variable from this process's environment (the flow and its tasks
    read it): the demo uses only its own folder, never the database, outbox or SMTP server the
    environment names. Returns the names dropped, sorted, for the demo to say so."""
    dropped = sorted(name for name in os.environ if name.startswith("STORYWATCH_"))
    for name in dropped:
        del os.environ[name]
    return dropped


def check_demo_folder(folder: Path) -> None:
    """DemoFolderError when ``folder`` has a sources.yaml that is not the demo's own."""
    config = folder / "sources.yaml"
    if config.exists() and not config.read_text(errors="replace").startswith(CONFIG_HEADER):
        raise DemoFolderError(
            f"{config} was not written by `storywatch demo`: choose another --dir"
        )


def has_stored_articles(folder: Path) -> bool:
    """Whether an earlier demo left a database in ``folder`` (its articles are stored)."""
    return (folder / "storywatch.db").exists()


def clear_demo_state(folder: Path) -> list[Path]:
    """Remove what earlier demo runs left in ``folder`` (database, outbox, feedback), only
    when its sources.yaml is the demo's; return what was removed."""
    check_demo_folder(folder)
    removed = []
    for name in DEMO_STATE:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(path)
    return removed


def write_demo_config(folder: Path, base_url: str) -> Path:
    """Write sources.yaml (+ the seed) for the demo into ``folder``; return the config path."""
    check_demo_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seeds").mkdir(exist_ok=True)
    shutil.copyfile(demo_data_dir() / SEED_NAME, folder / "seeds" / SEED_NAME)
    config = {
        "storylines": [
            {
                "id": "ukraine-peace-talks",
                "title": "Ukraine peace talks",
                "seed": f"seeds/{SEED_NAME}",
            }
        ],
        "sources": [
            {"name": _feed_title(path), "url": f"{base_url}/{path.name}"}
            for path in demo_feed_files()
        ],
        "digest": {"from": "storywatch@localhost.localdomain", "to": ["you@localhost.localdomain"]},
    }
    path = folder / "sources.yaml"
    header = (
        f"{CONFIG_HEADER}\n# They are served only while a demo runs: `storywatch demo --serve` "
        f"serves them again\n# (on port {DEMO_PORT}, until Ctrl-C) and points these URLs at it.\n"
    )
    path.write_text(header + yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _feed_title(path: Path) -> str:
    """The feed's own <title>, for a readable source name (falls back to the file name)."""
    head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    match = re.search(r"<title[^>]*>([^<]+)</title>", head)
    return html.unescape(match.group(1)).strip() if match else path.stem
