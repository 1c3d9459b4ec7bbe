"""A heartbeat from a thread: how a long piece of work (a backfill, a detection computing for
minutes) keeps saying it is alive, so others can tell a worker at work from one that died."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def beating(beat: Callable[[], None], every: float, what: str) -> Iterator[None]:
    """Call ``beat`` every ``every`` seconds from a thread while the block runs. A failed
    beat (a busy database) is logged and the next one tries again."""
    stop = threading.Event()

    def beat_until_stopped() -> None:
        while not stop.wait(every):
            try:
                beat()
            except Exception as exc:
                log.warning("%s: heartbeat not recorded: %s", what, exc)

    thread = threading.Thread(target=beat_until_stopped, name=f"heartbeat {what}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
