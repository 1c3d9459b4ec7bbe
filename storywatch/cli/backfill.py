"""`storywatch backfill`: the window replayed in the foreground, in this process, with a
progress bar on stderr (stdout stays free for data) and, per source, how far back it could
reach. The work is the `backfill` flow (flows/backfill.py), run in-process: with a Prefect
server when one answers, else on Prefect's temporary one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from storywatch.config.config import Config
from storywatch.pipeline.backfill import collect
from storywatch.pipeline.backfill.collect import BackfillReport, SourceReach
from storywatch.pipeline.backfill.window import Window, select_sources


def run_backfill_flow(
    config: Config,
    window: Window,
    *,
    email: bool,
    storyline: str | None,
    sources: Sequence[str] | None,
    err: Console,
) -> BackfillReport:
    """Run the backfill flow here, showing a bar of sources done (pages read so far)."""
    from flows import start_temporary_server
    from flows.backfill import backfill as backfill_flow  # Prefect loads here

    start_temporary_server()

    total = len(select_sources(config, sources))
    with _progress_bar(err, total):
        return asyncio.run(
            backfill_flow(
                str(config.path.resolve()),
                window.since.isoformat(),
                window.until.isoformat(),
                email=email,
                storyline=storyline,
                sources=list(sources) if sources else None,
            )
        )


@contextmanager
def _progress_bar(err: Console, total: int) -> Iterator[None]:
    progress = Progress(
        TextColumn("backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("sources · {task.fields[pages]} pages · {task.fields[kept]} in window"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task("backfill", total=total, pages=0, kept=0)
    pages: dict[str, SourceReach] = {}

    def listen(event: str, reach: SourceReach) -> None:
        pages[reach.source] = reach
        progress.update(
            task,
            pages=sum(r.pages for r in pages.values()),
            kept=sum(r.in_window for r in pages.values()),
            advance=1 if event == "done" else 0,
        )

    collect.progress_listeners.append(listen)
    try:
        with progress:
            yield
    finally:
        collect.progress_listeners.remove(listen)


def print_backfill_report(report: BackfillReport, err: Console) -> None:
    """Per source, how far back it reached (most feeds keep only their latest items)."""
    window = report.window
    err.print(f"backfill {window} (UTC, both days included):", highlight=False)
    for reach in report.sources:
        mark = "failed" if reach.error else ("whole " if reach.reached(window) else "partial")
        err.print(f"  {mark:<7} {reach.source}: {reach.describe(window)}", highlight=False)
    short = [r.source for r in report.sources if not r.error and not r.reached(window)]
    if short:
        err.print(
            f"{len(short)} of {len(report.sources)} sources do not reach back to "
            f"{window.since.isoformat()}: their feeds keep only recent items (an `archive:` "
            "URL template in sources.yaml can page further back)",
            highlight=False,
        )
    err.print(
        f"{report.fetched} sources read, {report.failed} failed, {report.in_window} entries in "
        f"the window, {report.new_articles} new",
        highlight=False,
    )
