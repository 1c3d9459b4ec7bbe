"""Named crash points, so the reliability sweep can kill a run exactly where it hurts most.

``STORYWATCH_FAILPOINT=NAME`` (or ``NAME:N``, the Nth time) makes the process SIGKILL itself
when it reaches that point; bench/reliability.py and tests/test_crash_points.py use it to
prove that a run killed there loses, duplicates and double-mails nothing. The points:

    fetched    a feed's response is in hand, nothing of it stored yet
    storing    inside a store transaction, one source written and others not yet
    detecting  every source stored and clustered, detection not started
    claimed    a delivery claimed, nothing sent yet
    sent       the SMTP server accepted the mail, the delivery not yet confirmed

Unset (every real run), a point costs one environment lookup.
"""

from __future__ import annotations

import os
import signal
import threading

VARIABLE = "STORYWATCH_FAILPOINT"
POINTS = frozenset({"fetched", "storing", "detecting", "claimed", "sent"})

_hits: dict[str, int] = {}
_lock = threading.Lock()


def reach(point: str) -> None:
    """Kill this process if the environment names this point (and this is the Nth visit)."""
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    with _lock:
        _hits[point] = _hits.get(point, 0) + 1
        if _hits[point] >= (int(nth) if nth.isdigit() else 1):
            os.kill(os.getpid(), signal.SIGKILL)
