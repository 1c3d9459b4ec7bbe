"""Prefect flows for storywatch: thin wiring, each task body is one call into the library.

Importing this package sets Prefect defaults that suit storywatch (only where the user has not
set them): no analytics (often offline), the library's logs routed into run logs, and a start-up
timeout long enough for a temporary server migrating a fresh PREFECT_HOME on a slow machine.
"""

from __future__ import annotations

import os

_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "storywatch",
    # The library also logs outside flow runs (CLI commands, library use): not an error.
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}
for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)


def start_temporary_server() -> None:
    """With no Prefect API configured, start Prefect's temporary server now, in the calling
    thread, where Ctrl-C interrupts its start-up wait. Left to Prefect, it starts inside the
    flow's event loop, where a Ctrl-C (which also kills the server, in the same process group)
    could not break that wait: the command hung for the 2-minute timeout, then failed."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        SubprocessASGIServer().start()  # the instance Prefect's client then uses
