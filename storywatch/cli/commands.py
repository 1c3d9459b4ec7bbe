"""The `storywatch` command line (contract: ../shared/DESIGN.md, "Command-line contract").

stdout carries data only (JSON/CSV exports, the status table, the demo's summary); logs and
progress go to stderr. Commands that need no orchestration (check, export, sources status,
db upgrade) never import Prefect, so they answer in well under a second.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import json
import logging
import os
import re
import shlex
import shutil
import sys
import urllib.request
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from storywatch.cli.argv import CONFIG_OPTION_NAMES, config_option_first
from storywatch.cli.export import (
    ExportFormat,
    ExportKind,
    export_articles,
    export_developments,
    iso_time,
)
from storywatch.config.config import Config, ConfigError, ConfigNotFound, load_config
from storywatch.store.database import StoreError
from storywatch.store.repository import Store

if TYPE_CHECKING:
    from storywatch.digest.smtp import SmtpSettings
    from storywatch.pipeline.ingest import IngestReport

log = logging.getLogger("storywatch")
err = Console(stderr=True, soft_wrap=True)  # a log line stays one line in files and pipes

EXIT_FAILED = 1  # the work ran but achieved nothing (e.g. no source could be fetched)
EXIT_CONFIG = 2  # invalid config or seeds: nothing ran
LOCAL_PREFECT_URL = "http://127.0.0.1:4200/api"

app = typer.Typer(
    help="Follow one news story closely: fetch feeds, fold duplicates, spot new developments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sources_app = typer.Typer(help="Feed sources.", no_args_is_help=True)
db_app = typer.Typer(help="The storywatch database.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")
app.add_typer(db_app, name="db")
seed_app = typer.Typer(
    help="Seed documents: the story as you already know it.", no_args_is_help=True
)
app.add_typer(seed_app, name="seed")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"storywatch {version('storywatch')}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="sources.yaml (default: $STORYWATCH_CONFIG, ./sources.yaml)"
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs on stderr.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = {"config": config}
    _setup_logging(logging.DEBUG if verbose else logging.INFO)


def _setup_logging(level: int) -> None:
    """Library logs to stderr, unless Prefect already routes them (it adds its own handlers)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per source is ours to log
    logger = logging.getLogger("storywatch")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S")
        )
        logger.addHandler(handler)
        logger.propagate = False


def _load(ctx: typer.Context) -> Config:
    """Load the config or stop with every problem listed and exit status 2."""
    try:
        return load_config(ctx.obj["config"])
    except ConfigError as exc:
        _print_config_problems(exc)
        if isinstance(exc, ConfigNotFound):
            err.print(
                "hint: pass --config PATH, set STORYWATCH_CONFIG, or try `storywatch demo`",
                highlight=False,
                markup=False,
            )
        raise typer.Exit(EXIT_CONFIG) from None


def _print_config_problems(exc: ConfigError) -> None:
    err.print(
        f"[red]error:[/] the configuration has {_plural(len(exc.problems), 'problem')}:",
        highlight=False,
    )
    for problem in exc.problems:
        err.print(f"  {problem}", highlight=False, markup=False)


def _plural(count: int, noun: str) -> str:
    """'1 source', '2 sources' (every noun we count takes an -s)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _open_store(config: Config) -> Store:
    try:
        return Store.open(config.database_url)
    except StoreError as exc:
        err.print("[red]error:[/]", end=" ")
        err.print(_first_line(exc), highlight=False, markup=False)  # "[...]" is not markup
        raise typer.Exit(EXIT_FAILED) from None


def _first_line(exc: BaseException) -> str:
    """An error's own words on one line (SQLAlchemy adds its SQL and a "Background" link)."""
    orig = getattr(exc, "orig", None)  # a DBAPI error wrapped by SQLAlchemy: the driver's words
    text = str(orig if orig is not None and not isinstance(exc, StoreError) else exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0]


def _quiet_database_tracebacks() -> None:
    """Prefect prints a failed task's or flow's exception with its traceback on stderr; for a
    database failure the command says it in one error line instead (the traceback still goes
    to the run's logs in the Prefect API: its handler sees the record first, unchanged)."""
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if formatter is None or getattr(formatter, "storywatch_quiet", False):
            continue

        def short(record: logging.LogRecord, full: Any = formatter.format) -> str:
            exc = record.exc_info[1] if record.exc_info else None
            if not isinstance(exc, StoreError | SQLAlchemyError):
                return str(full(record))
            saved = record.exc_info, record.exc_text
            record.exc_info, record.exc_text = None, None
            try:
                return f"{full(record)} ({type(exc).__name__}: {_first_line(exc)})"
            finally:
                record.exc_info, record.exc_text = saved

        formatter.format = short  # type: ignore[method-assign]
        formatter.storywatch_quiet = True  # type: ignore[attr-defined]


def _database_failed(exc: Exception) -> typer.Exit:
    """The database failed mid-run (gone, full disk): one error line, exit 1."""
    err.print("[red]error:[/]", end=" ")
    err.print(
        f"the database failed during the run: {_first_line(exc)} "
        "(what was stored stays; the next run goes on from there)",
        highlight=False,
        markup=False,
    )
    return typer.Exit(EXIT_FAILED)


@app.command()
def check(ctx: typer.Context) -> None:
    """Validate the config and its seeds; exit 2 listing every problem."""
    config = _load(ctx)
    err.print(
        f"{config.path}: OK — {_plural(len(config.sources), 'source')} "
        f"({len(config.enabled_sources)} enabled), {_plural(len(config.storylines), 'storyline')}",
        highlight=False,
    )
    _warn_seeds(config)
    _warn_unmailed(config)


def _warn_seeds(config: Config) -> None:
    """A seed without front matter, or whose id is another storyline's, is valid: warn."""
    from storywatch.config.seeds import load_seed, seed_warnings

    for storyline in config.storylines:
        for warning in seed_warnings(load_seed(config.seed_path(storyline)), storyline.id):
            err.print("[yellow]warning:[/]", end=" ")
            err.print(f"storyline {storyline.id}: {warning}", highlight=False, markup=False)


def _warn_unmailed(config: Config) -> None:
    """A storyline without recipients is valid but mails nothing: say so rather than let the
    digest stage do nothing silently (a warning: the exit status stays as it is)."""
    for storyline in config.unmailed_storylines():
        err.print(
            f"[yellow]warning:[/] storyline {storyline}: no digest recipients (digest.to): "
            "its developments are stored but never mailed",
            highlight=False,
        )


@app.command()
def run(
    ctx: typer.Context,
    no_email: Annotated[bool, typer.Option("--no-email", help="Do not send digests.")] = False,
) -> None:
    """One pass: ingest every source, fold near-duplicates, detect new developments, and
    mail the digests of immediate-mode storylines (not with --no-email)."""
    config = _load(ctx)
    if not no_email:
        _check_smtp_env()
    _open_store(config).close()  # an unreachable database: one error line, before any work
    try:
        report = _run_pipeline_flow(config, kind="run", send_email=not no_email)
    except (StoreError, SQLAlchemyError) as exc:
        raise _database_failed(exc) from None
    _print_run_summary(report)
    _print_new_developments(config, report.run_id)
    if not no_email:
        _print_deliveries(config, report.run_id)
        _warn_unmailed(config)
    if report.fetched == 0:
        err.print("[red]error:[/] no source could be fetched", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    if not no_email and _warn_unsure(config):
        raise typer.Exit(EXIT_FAILED)


def _warn_unsure(config: Config) -> int:
    """Digests whose fate is unknown (a run died, or SMTP broke, mid-handover) wait for the
    operator: say so on every run, with the command, and count them."""
    from storywatch.digest.send import STALE_CLAIM

    store = _open_store(config)
    try:
        unsure = store.unsure_deliveries(STALE_CLAIM)
    finally:
        store.close()
    for d in unsure:
        err.print(
            f"[red]error:[/] digest {d.digest_id} to {d.recipient} may or may not have arrived "
            f"(its SMTP hand-over broke); check, then: storywatch digest --resend {d.digest_id}",
            highlight=False,
        )
    return len(unsure)


def _check_smtp_env() -> SmtpSettings | None:
    """Bad STORYWATCH_SMTP_* settings are a configuration error: say so before any work, not
    as a digest left pending after the run. None: no SMTP host (outbox only)."""
    from storywatch.digest.smtp import SmtpConfigError, SmtpSettings

    try:
        return SmtpSettings.from_env()
    except SmtpConfigError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _run_pipeline_flow(config: Config, kind: str, send_email: bool = True) -> IngestReport:
    if config.ingest.local_worker_processes:
        from storywatch.pipeline.chunks import start_worker_server

        start_worker_server()  # the run's Dask workers fork from it: it imports meanwhile
    _use_local_prefect_server()
    from flows import start_temporary_server
    from flows.run import run  # Prefect loads here, only for commands that orchestrate

    _setup_logging(logging.getLogger("storywatch").level)
    _quiet_database_tracebacks()
    start_temporary_server()
    flow_run = run(str(config.path.resolve()), kind=kind, send_email=send_email)
    return asyncio.run(flow_run).unquote()


def _use_local_prefect_server() -> None:
    """Report to a Prefect server already running on this machine (e.g. `storywatch serve`'s)
    rather than paying ~10-25 s for a temporary one; with none, Prefect starts a temporary one."""
    if os.environ.get("PREFECT_API_URL"):
        return
    try:
        with urllib.request.urlopen(f"{LOCAL_PREFECT_URL}/health", timeout=0.3) as response:
            if response.status == 200:
                os.environ["PREFECT_API_URL"] = LOCAL_PREFECT_URL
                log.debug("using the Prefect server at %s", LOCAL_PREFECT_URL)
    except OSError:
        log.debug("no Prefect server at %s: Prefect will start a temporary one", LOCAL_PREFECT_URL)


def _print_run_summary(report: IngestReport) -> None:
    for source in report.sources:
        if source.status == "error":
            err.print(f"  [red]failed[/] {source.source}: {source.error}", highlight=False)
    err.print(
        f"{_plural(report.fetched, 'source')} fetched, {report.failed} failed, "
        f"{_plural(report.new_articles, 'new article')}",
        highlight=False,
    )


def _export_format(value: str) -> str:
    # A plain sentence: typer's enum check says "Value error, 'xml' is not one of ...".
    if value == "opml":
        raise typer.BadParameter(
            "'opml': articles and developments export as json or csv; "
            "the feed list exports as OPML with `storywatch sources export`"
        )
    if value not in {f.value for f in ExportFormat}:
        raise typer.BadParameter(f"{value!r}: choose json or csv")
    return value


@app.command()
def export(
    ctx: typer.Context,
    kind: Annotated[ExportKind, typer.Argument(help="What to export.")],
    fmt_name: Annotated[
        str,
        typer.Option("--format", "-f", help="json or csv", callback=_export_format),
    ] = ExportFormat.json.value,
) -> None:
    """Print every stored article (or development) as JSON or CSV on stdout."""
    fmt = ExportFormat(fmt_name)
    config = _load(ctx)
    store = _open_store(config)
    if kind is ExportKind.developments:
        export_developments(store, fmt)
        return
    export_articles(store, fmt)


@sources_app.command("status")
def sources_status(ctx: typer.Context) -> None:
    """The feed health table: one row per source, full names, untruncated."""
    config = _load(ctx)
    store = _open_store(config)
    health = {h.name: h for h in store.source_health()}
    table = Table(box=None, pad_edge=False, header_style="bold")
    longest = max((len(s.name) for s in config.sources), default=6)
    table.add_column("source", no_wrap=True, min_width=longest)
    for column in ("status", "http", "last success", "failures", "articles"):
        table.add_column(column, no_wrap=True)
    table.add_column("last error", overflow="fold")
    table.add_column("note", overflow="fold")  # the last fetch's warning (read, but not clean)
    for source in config.sources:
        h = health.get(source.name)
        status = (
            "disabled"
            if not source.enabled
            else (h.last_status if h and h.last_status else "never fetched")
        )
        table.add_row(
            source.name,
            status,
            str(h.last_http_status) if h and h.last_http_status else "",
            (iso_time(h.last_success_at, "seconds") if h else None) or "never",
            str(h.consecutive_failures) if h else "0",
            str(h.articles) if h else "0",
            (h.last_error or "") if h else "",
            (h.last_note or "") if h else "",
        )
    # Not a terminal (a pipe, a file): wide enough that nothing is cut or wrapped.
    width = None if sys.stdout.isatty() else 100_000
    Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False).print(table)


@sources_app.command("import")
def sources_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE.opml", help="An OPML feed list.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be added; change nothing.")
    ] = False,
) -> None:
    """Add the feeds of an OPML file (any feed reader's export) to sources.yaml, at the end of
    its sources, keeping its comments and order; feeds already there (by URL) are skipped."""
    from storywatch.config.opml import OPML_MAX_BYTES, OpmlError, parse_opml
    from storywatch.config.sources_file import NewSource, add_sources, plan_sources

    config = _load(ctx)
    try:
        with file.open("rb") as handle:
            listed = parse_opml(handle.read(OPML_MAX_BYTES + 1))
    except (OSError, OpmlError) as exc:
        err.print("[red]error:[/]", end=" ")
        err.print(f"{file}: cannot import: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    candidates = [NewSource(f.name, f.url) for f in listed.feeds]
    try:
        done = plan_sources(config, candidates) if dry_run else add_sources(config.path, candidates)
    except ConfigError as exc:
        _print_config_problems(exc)
        raise typer.Exit(EXIT_CONFIG) from None
    verb = "would add" if dry_run else "added"
    for source in done.added:
        err.print(f"  {verb} {source.name}: {source.url}", highlight=False, markup=False)
    for what, why in [*listed.skipped, *done.skipped]:
        err.print(f"  skipped {what}: {why}", highlight=False, markup=False)
    skipped = len(listed.skipped) + len(done.skipped)
    err.print(
        f"{config.path}: {verb} {_plural(len(done.added), 'source')}, {skipped} skipped",
        highlight=False,
        markup=False,
    )


@sources_app.command("export")
def sources_export(ctx: typer.Context) -> None:
    """Print the configured sources as an OPML feed list on stdout (for any feed reader);
    disabled sources too."""
    from storywatch.config.opml import render_opml

    config = _load(ctx)
    title = ", ".join(s.title for s in config.storylines)
    sys.stdout.write(render_opml(f"storywatch: {title}", [(s.name, s.url) for s in config.sources]))


@seed_app.command("new")
def seed_new(
    ctx: typer.Context,
    storyline_id: Annotated[
        str, typer.Argument(metavar="ID", help="The storyline's id (lower case, digits, - or _).")
    ],
    source: Annotated[
        str,
        typer.Option(
            "--from", metavar="FILE|URL", help="The article: a text or Markdown file, or a URL."
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing seed.")] = False,
) -> None:
    """Draft seeds/ID.md from an article: its text, with front matter proposed from it
    (actors, places, the countries named) for you to edit. Next to the config's folder."""
    from storywatch.cli.seed import print_next_steps, read_article, write_seed
    from storywatch.config.config import resolve_config_path
    from storywatch.config.seed_draft import draft_seed

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", storyline_id):
        raise typer.BadParameter(
            f"{storyline_id!r}: an id is lower-case letters, digits, '-' and '_'", param_hint="ID"
        )
    config_path = resolve_config_path(ctx.obj["config"])
    folder = config_path.resolve().parent if config_path.exists() else Path.cwd()
    path = folder / "seeds" / f"{storyline_id}.md"
    if path.exists() and not force:
        err.print(
            f"[red]error:[/] {path} exists: edit it, or pass --force to draft it again",
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    try:
        text = read_article(source)
    except ValueError as exc:
        err.print("[red]error:[/]", end=" ")
        err.print(f"{source}: {exc}", highlight=False, markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    draft = draft_seed(storyline_id, text, datetime.now(UTC).date())
    write_seed(path, draft, source)
    print_next_steps(err, draft, path, config_path, _program_command())


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply database migrations (also done automatically on first use)."""
    from storywatch.store.database import create_db_engine, head_revision, upgrade_database

    config = _load(ctx)
    engine = create_db_engine(config.database_url)
    try:
        changed = upgrade_database(engine)
    except Exception as exc:
        err.print(f"[red]error:[/] cannot migrate the database: {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        engine.dispose()
    err.print(f"database {'upgraded to' if changed else 'already at'} revision {head_revision()}")


@app.command()
def demo(
    folder: Annotated[
        Path, typer.Option("--dir", help="Where the demo writes its config, database and outbox.")
    ] = Path("storywatch-demo"),
    serve_feeds: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Only serve the bundled feeds (until Ctrl-C), so that the demo's config can "
            "be run again from another terminal.",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", help="With --serve: the local port (0: any free one).")
    ] = 8750,
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="First remove what earlier demos stored in --dir."),
    ] = False,
) -> None:
    """Offline demo: serve the bundled feeds locally and run the pipeline on them."""
    from storywatch.demo import (
        DemoFolderError,
        clear_demo_state,
        has_stored_articles,
        isolate_from_environment,
        serve_demo_feeds,
        write_demo_config,
    )
    from storywatch.store.database import safe_url as masked_url

    ignored = isolate_from_environment()
    if ignored:
        err.print(
            f"demo: ignoring {', '.join(ignored)}: the demo uses only {folder}", highlight=False
        )
    try:
        if fresh:
            for path in clear_demo_state(folder):
                err.print(f"demo: removed {path}", highlight=False, markup=False)
        if serve_feeds:
            _serve_demo_until_stopped(folder, port)
            return
        repeat = has_stored_articles(folder)
        with serve_demo_feeds() as base_url:
            config_path = write_demo_config(folder, base_url)
            config = load_config(config_path)
            err.print(f"serving {len(config.sources)} bundled feeds at {base_url}", highlight=False)
            report = _run_pipeline_flow(config, kind="demo")
    except DemoFolderError as exc:
        err.print("[red]error:[/]", end=" ")
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    _print_run_summary(report)
    _print_new_developments(config, report.run_id)
    outbox = _print_deliveries(config, report.run_id)
    program = _program_command()
    command = f"{program} --config {shlex.quote(str(config_path))}"
    demo_dir = shlex.quote(str(folder))
    print(f"config:        {config_path}")
    print(f"database:      {masked_url(config.database_url)}")
    print(f"this run:      {_plural(report.new_articles, 'new article')}")
    if repeat and report.new_articles == 0:
        print(
            "stored before: the bundled articles were stored by an earlier demo in this folder; "
            f"to start fresh: {program} demo --fresh --dir {demo_dir}"
        )
    print(f"developments:  {command} export developments")
    print(f"articles:      {command} export articles --format json")
    print(f"health:        {command} sources status")
    for path in outbox:
        print(f"digest:        {path}")
    print(f"outbox:        {config.outbox_dir} (no STORYWATCH_SMTP_HOST: outbox only)")
    print(
        f"run again:     {program} demo --serve --dir {demo_dir}  (serves the feeds until "
        f"Ctrl-C), then in another terminal: {command} run --no-email"
    )
    if report.fetched == 0:
        raise typer.Exit(EXIT_FAILED)


def _serve_demo_until_stopped(folder: Path, port: int) -> None:
    """Serve the bundled feeds on ``port`` and point the demo's config at them, until Ctrl-C
    or SIGTERM: `run`, `backfill` and the rest then work on the demo's config as on any."""
    import signal

    from storywatch.demo import serve_demo_feeds, write_demo_config

    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.ExitStack() as stack:
        try:
            base_url = stack.enter_context(serve_demo_feeds(port))
        except OSError as exc:
            err.print("[red]error:[/]", end=" ")
            err.print(
                f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc} (another `storywatch "
                "demo --serve`? pass --port)",
                highlight=False,
                markup=False,
            )
            raise typer.Exit(EXIT_FAILED) from None
        config_path = write_demo_config(folder, base_url)
        command = f"{_program_command()} --config {shlex.quote(str(config_path))}"
        err.print(
            f"serving the bundled feeds at {base_url} for {config_path} until Ctrl-C; "
            "in another terminal:",
            highlight=False,
            markup=False,
        )
        for what in ("run --no-email", "export developments", "sources status"):
            err.print(f"  {command} {what}", highlight=False, markup=False)
        try:
            if hasattr(signal, "pause"):
                signal.pause()
            else:  # Windows
                _sleep_forever()
        except KeyboardInterrupt:
            pass
    err.print("demo feeds no longer served", highlight=False)


def _sleep_forever() -> None:
    import time as clock

    while True:
        clock.sleep(3600)


def _program_command() -> str:
    """How the user can run this program again: `storywatch` when that name on PATH is this
    program; else its path (relative when under the cwd), e.g. from an unactivated venv."""
    program = Path(os.path.abspath(sys.argv[0]))
    if program.suffix == ".py":  # `python -m storywatch.cli`: no better guess than the name
        return "storywatch"
    found = shutil.which("storywatch")
    if found and Path(found).resolve() == program.resolve():
        return "storywatch"
    if program.is_relative_to(Path.cwd()):
        relative = str(program.relative_to(Path.cwd()))
        # A bare name would be looked up on PATH by the shell: "./" keeps it a path.
        return shlex.quote(relative if os.sep in relative else f".{os.sep}{relative}")
    return shlex.quote(str(program))


# -- storyline stage: developments export, dismiss, redetect ------------------------

developments_app = typer.Typer(help="Detected developments.", no_args_is_help=True)
app.add_typer(developments_app, name="developments")


def _print_new_developments(config: Config, run_id: str) -> None:
    store = _open_store(config)
    try:
        new = list(store.iter_developments(run_id=run_id))
    finally:
        store.close()
    err.print(_plural(len(new), "new development"), highlight=False)
    for development in new:
        outlets = len({a.source for a in development.articles})
        err.print(
            f"  {development.novelty:<6} {development.id}: {development.title}"
            f" (reported by {_plural(outlets, 'outlet')})",
            highlight=False,
            markup=False,
        )


@developments_app.command("dismiss")
def developments_dismiss(
    ctx: typer.Context,
    development_id: Annotated[str, typer.Argument(metavar="ID", help="A development's id.")],
) -> None:
    """Mark a development "not new": it leaves the exports and its repeats stay quiet."""
    from storywatch.pipeline.detect import UnknownDevelopment, dismiss_development

    config = _load(ctx)
    store = _open_store(config)
    try:
        changed = dismiss_development(config, store, development_id)
    except UnknownDevelopment:
        err.print(
            f"[red]error:[/] no development with id {development_id!r} "
            "(ids are listed by `storywatch export developments`)",
            highlight=False,
        )
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        store.close()
    err.print(
        f"{development_id}: {'dismissed' if changed else 'already dismissed'}", highlight=False
    )
    if changed:
        _record_dismissal(config, development_id)


def _record_dismissal(config: Config, development_id: str) -> None:
    """The dismissed development's articles become "nothing new" in the feedback corpus."""
    from storywatch.pipeline.feedback import record_dismissed

    store = _open_store(config)
    try:
        development = next(
            d for d in store.iter_developments(include_dismissed=True) if d.id == development_id
        )
        recorded = record_dismissed(
            config, store, development.storyline, [a.url for a in development.articles]
        )
    finally:
        store.close()
    if recorded:
        err.print(
            f"{_plural(len(recorded), 'article')} labelled 'nothing new' in "
            f"{recorded[0].folder} (storywatch train --corpus reads it)",
            highlight=False,
        )


@developments_app.command("missed")
def developments_missed(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="A stored article's URL.")],
    types: Annotated[
        list[str],
        typer.Option("--type", metavar="TYPE", help="What it reports (repeat for several)."),
    ],
    storyline: Annotated[
        str | None, typer.Option("--storyline", help="The storyline (default: the first).")
    ] = None,
) -> None:
    """Say an article was news the engine missed: it is labelled as a new development in the
    storyline's feedback corpus, which `storywatch train` can learn from."""
    from storywatch.pipeline.feedback import UnknownArticle, record_missed

    config = _load(ctx)
    chosen = _chosen_storyline(config, storyline)
    allowed = set(_seed_types(config, chosen))
    unknown = sorted(set(types) - allowed)
    if unknown:
        err.print(
            f"[red]error:[/] unknown type {', '.join(unknown)} (the storyline's types: "
            f"{', '.join(sorted(allowed))})",
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    store = _open_store(config)
    try:
        feedback = record_missed(config, store, url, chosen, list(types))
    except UnknownArticle:
        raise _no_such_article(url) from None
    finally:
        store.close()
    kinds = ", ".join(feedback.label["types"])
    err.print(
        f"{feedback.url}: labelled a new development ({kinds}) in {feedback.folder}",
        highlight=False,
        markup=False,
    )


@app.command()
def explain(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="A stored article's URL.")],
    storyline: Annotated[
        str | None, typer.Option("--storyline", help="The storyline (default: the first).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The explanation as JSON.")] = False,
) -> None:
    """Why the engine judged an article as it did: relevance, each decision with its strongest
    features and evidence sentence, and the development it matched (or why none)."""
    from storywatch.pipeline.explain import explain_stored
    from storywatch.pipeline.feedback import UnknownArticle
    from storywatch.storyline.explain import format_explanation

    config = _load(ctx)
    chosen = _chosen_storyline(config, storyline)
    store = _open_store(config)
    try:
        why = explain_stored(config, store, url, chosen)
    except UnknownArticle:
        raise _no_such_article(url) from None
    finally:
        store.close()
    print(json.dumps(why, indent=1, default=str) if as_json else format_explanation(why))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(
    ctx: typer.Context,
    feedback: Annotated[
        bool,
        typer.Option(
            "--feedback",
            help="Add the recorded feedback to the corpora (needs --out; the seed is its "
            "storyline's).",
        ),
    ] = False,
) -> None:
    """Train the storyline models from labelled corpora (needs the `train` extra). Options after
    the command go to the trainer: --corpus DIR (repeat), --labels FILE, --seed FILE, --out
    FILE, --print-weights [--top N]; see `python -m storywatch.storyline.train --help`."""
    try:
        from storywatch.storyline import train as trainer
    except ImportError as exc:  # scikit-learn is the train extra's
        err.print(
            f"[red]error:[/] training needs scikit-learn ({exc.name} is missing): "
            "pip install 'storywatch[train]'",
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG) from None
    argv = list(ctx.args)
    if feedback:
        argv = _with_feedback(ctx, argv, [str(c) for c in trainer.DEFAULT_CORPORA])
    try:
        trainer.main(argv)
    except ModuleNotFoundError as exc:  # scikit-learn is imported when fitting starts
        err.print(
            f"[red]error:[/] training needs scikit-learn ({exc.name} is missing): "
            "pip install 'storywatch[train]'",
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG) from None


def _with_feedback(ctx: typer.Context, argv: list[str], defaults: list[str]) -> list[str]:
    """The trainer's arguments plus the feedback corpora: the given corpora (or the default
    ones) stay, the seed is the feedback's storyline's (features are relative to it), and the
    models go where --out says, never over the shipped ones by surprise."""
    from storywatch.pipeline.feedback import feedback_folder

    config = _load(ctx)
    found = [
        (s, feedback_folder(config, s.id))
        for s in config.storylines
        if (feedback_folder(config, s.id) / "labels.json").exists()
    ]
    problem = None
    if not found:
        problem = "no feedback recorded yet (`storywatch developments missed` / `dismiss`)"
    elif "--out" not in argv:
        problem = "--feedback needs --out FILE (the shipped models stay as they are)"
    elif len(found) > 1 and "--seed" not in argv:
        problem = "feedback for several storylines: train one at a time with --seed FILE"
    if problem:
        err.print(f"[red]error:[/] {problem}", highlight=False)
        raise typer.Exit(EXIT_CONFIG)
    if "--corpus" not in argv:
        argv = [*argv, *(a for d in defaults for a in ("--corpus", d))]
    if "--seed" not in argv:
        argv += ["--seed", str(config.seed_path(found[0][0]))]
    return [*argv, *(a for _, folder in found for a in ("--corpus", str(folder)))]


def _chosen_storyline(config: Config, storyline: str | None) -> str:
    """The storyline a command names (default: the first), or exit 2 saying why."""
    from storywatch.pipeline.backfill.window import select_storylines

    try:
        return select_storylines(config, storyline)[0]
    except KeyError as exc:
        err.print(f"[red]error:[/] {exc.args[0]}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _no_such_article(url: str) -> typer.Exit:
    err.print(
        f"[red]error:[/] no stored article has the URL {url!r} "
        "(`storywatch export articles` lists them)",
        highlight=False,
    )
    return typer.Exit(EXIT_FAILED)


def _seed_types(config: Config, storyline_id: str) -> list[str]:
    from storywatch.config.seeds import load_seed

    storyline = next(s for s in config.storylines if s.id == storyline_id)
    return list(load_seed(config.seed_path(storyline)).meta.types)


def _parse_day(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time(0), tzinfo=UTC)


@app.command()
def redetect(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="YYYY-MM-DD", help="Only articles published from this day (UTC)."
        ),
    ] = None,
) -> None:
    """Re-run the storyline engine on stored articles (no refetch), replacing the window's
    developments. Runs here, in the foreground, without Prefect."""
    from storywatch.pipeline.detect import redetect_storyline

    start = _parse_day(since)
    config = _load(ctx)
    store = _open_store(config)
    try:
        for storyline in config.storylines:
            report = redetect_storyline(config, storyline.id, store, since=start)
            err.print(
                f"{storyline.id}: {_plural(report.assessed, 'article')} re-assessed, "
                f"{report.relevant} relevant, {_plural(len(report.developments), 'development')}",
                highlight=False,
            )
    finally:
        store.close()


# -- backfill --------------------------------------------------------------------------------


@app.command()
def backfill(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", metavar="YYYY-MM-DD", help="First day (UTC).")],
    until: Annotated[
        str, typer.Option("--until", metavar="YYYY-MM-DD", help="Last day (UTC), included.")
    ],
    email: Annotated[
        bool, typer.Option("--email", help="Mail one digest of the window, marked as a backfill.")
    ] = False,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", metavar="NAME", help="Only this source (repeatable)."),
    ] = None,
    storyline: Annotated[
        str | None, typer.Option("--storyline", metavar="ID", help="Only this storyline.")
    ] = None,
) -> None:
    """Replay a past window: store what the feeds (and their archives) still hold of it, judge
    it as of its time, and with --email mail one digest of it. Runs here, in the foreground."""
    from storywatch.cli.backfill import print_backfill_report, run_backfill_flow
    from storywatch.pipeline.backfill.window import (
        Window,
        WindowError,
        select_sources,
        select_storylines,
    )

    try:
        window = Window.parse(since, until)
    except WindowError as exc:
        raise typer.BadParameter(str(exc)) from None
    config = _load(ctx)
    try:
        select_sources(config, source)
        select_storylines(config, storyline)
    except KeyError as exc:
        err.print(f"[red]error:[/] {exc.args[0]}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    if email:
        _check_smtp_env()
    _open_store(config).close()  # an unreachable database: one error line, before any work
    _use_local_prefect_server()
    import flows.backfill  # noqa: F401  (Prefect loads here and sets up its logging)

    _quiet_database_tracebacks()
    try:
        report = run_backfill_flow(
            config, window, email=email, storyline=storyline, sources=source, err=err
        )
    except (StoreError, SQLAlchemyError) as exc:
        raise _database_failed(exc) from None
    print_backfill_report(report, err)
    _print_new_developments(config, report.run_id)
    if email:
        _print_deliveries(config, report.run_id)
        _warn_unmailed(config)
    if report.fetched == 0:
        err.print("[red]error:[/] no source could be read", highlight=False)
        raise typer.Exit(EXIT_FAILED)


# -- digests ---------------------------------------------------------------------------------


def _print_deliveries(config: Config, run_id: str) -> list[Path]:
    """Report this run's digests on stderr; return the outbox files written for them."""

    store = _open_store(config)
    try:
        rows = store.run_deliveries(run_id)
    finally:
        store.close()
    paths = []
    missing = 0
    for row in rows:
        path = config.outbox_dir / f"{row['digest_id']}.eml"
        if row["status"] == "sent" and not path.exists():
            missing += 1  # mailed by SMTP; its copy could not be written (send.py logged why)
        elif row["status"] == "sent":
            paths.append(path)
        where = row["transport"] or "not sent"
        error = f": {row['last_error']}" if row["last_error"] and row["status"] != "sent" else ""
        err.print(
            f"  digest {row['status']:<7} to {row['recipient']} ({where}){error}: {row['subject']}",
            highlight=False,
            markup=False,
        )
    _warn_outbox(missing, config.outbox_dir)
    return paths


def _warn_outbox(missing: int, outbox: Path) -> None:
    """SMTP delivery does not wait for the outbox copy; a missing copy is said loudly (the
    exit status stays 0: the mail went out)."""
    if missing:
        err.print(
            f"[yellow]warning:[/] {_plural(missing, 'digest')} sent by SMTP without an outbox "
            f"copy: {outbox} cannot be written (read-only or full?)",
            highlight=False,
        )


@app.command()
def digest(
    ctx: typer.Context,
    preview: Annotated[
        Path | None,
        typer.Option("--preview", metavar="FILE", help="Write the HTML that would be sent."),
    ] = None,
    send: Annotated[
        bool, typer.Option("--send", help="Compose and send every storyline's digest now.")
    ] = False,
    storyline: Annotated[
        str | None, typer.Option("--storyline", help="Preview this storyline (default: first).")
    ] = None,
    resend: Annotated[
        str | None,
        typer.Option(
            "--resend",
            metavar="DIGEST",
            help="Send again a digest whose run died while handing it to the SMTP server.",
        ),
    ] = None,
) -> None:
    """Preview the next digest, send digests now, or (no option) list every delivery.
    With --send, exit 1 when a delivery failed (it stays pending for the next run)."""
    from storywatch.pipeline.backfill.window import select_storylines

    config = _load(ctx)
    try:
        select_storylines(config, storyline)
    except KeyError as exc:
        err.print(f"[red]error:[/] {exc.args[0]}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    store = _open_store(config)
    failed = 0
    try:
        if resend is not None:
            _release_unsure(store, resend)
        if preview is not None:
            _write_preview(config, store, preview, storyline)
        if send or resend is not None:
            failed = _send_digests_now(config, store)
        if preview is None and not send and resend is None:
            _list_deliveries(store)
    finally:
        store.close()
    if failed:
        err.print(
            f"[red]error:[/] not every digest was sent ({failed} failed: left pending for the "
            "next run, or, where said above, waiting for `digest --resend`)",
            highlight=False,
        )
        raise typer.Exit(EXIT_FAILED)


def _release_unsure(store: Store, digest_id: str) -> None:
    """Give back a digest whose delivery's fate is unknown (the operator checked: not there)."""
    from storywatch.digest.send import STALE_CLAIM

    released = store.resend_unsure(digest_id, STALE_CLAIM)
    if not released:
        err.print(
            f"[red]error:[/] no delivery of digest {digest_id} is waiting for a resend (only one "
            "whose run died while handing it to the SMTP server is)",
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    noun = "delivery" if released == 1 else "deliveries"
    err.print(f"{digest_id}: {released} {noun} to send again", highlight=False)


def _write_preview(config: Config, store: Store, path: Path, storyline: str | None) -> None:
    from storywatch.pipeline.digests import preview_digest

    rendered = preview_digest(config, store, storyline)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rendered.html, encoding="utf-8")
    err.print(f"{path}: {rendered.digest.subject}", highlight=False, markup=False)


def _send_digests_now(config: Config, store: Store) -> int:
    """Compose every storyline's digest, whatever its mode, and send what is pending; return
    how many deliveries failed."""
    from storywatch.digest.send import deliver_pending
    from storywatch.pipeline.digests import compose_digests

    smtp = _check_smtp_env()
    _warn_unmailed(config)
    compose_digests(config, store)
    outcomes = deliver_pending(store, config.outbox_dir, smtp, _smtp_blocks(config))
    if not outcomes:
        err.print("nothing to send: no digest is pending", highlight=False)
    for outcome in outcomes:
        error = f" ({outcome.error})" if outcome.error else ""
        err.print(
            f"  digest {outcome.status} to {outcome.recipient}: {outcome.subject}{error}",
            highlight=False,
            markup=False,
        )
    _warn_outbox(sum(o.outbox_error is not None for o in outcomes), config.outbox_dir)
    return sum(o.status in ("failed", "unsure") for o in outcomes)


def _list_deliveries(store: Store) -> None:

    rows = [{**r, "sent_at": iso_time(r["sent_at"])} for r in store.delivery_statuses()]
    print(json.dumps(rows, ensure_ascii=False, indent=1))


def _smtp_blocks(config: Config) -> dict[str, Any]:
    """SMTP settings from prefect-email blocks, for storylines naming one (Prefect loads only
    then: the blocks live in its API)."""
    if not any(config.digest_for(s).smtp_block for s in config.storylines):
        return {}
    _use_local_prefect_server()
    from flows import start_temporary_server
    from flows.email_blocks import smtp_settings_from_blocks

    start_temporary_server()
    return asyncio.run(smtp_settings_from_blocks(config))


# -- schedules: serve -------------------------------------------------------------------------


@app.command()
def serve(ctx: typer.Context) -> None:
    """Run the schedules until stopped (Ctrl-C, SIGTERM): ingest, cluster, detect and
    immediate digests every ingest.every_minutes; scheduled digests on their cron; backfill
    on demand from the Prefect UI. With PREFECT_API_URL unset and no server on
    127.0.0.1:4200, starts one (UI on http://127.0.0.1:4200) and stops it on exit."""
    import signal

    from storywatch.prefect_server import PrefectServerError, prefect_api

    config = _load(ctx)
    _warn_unmailed(config)
    # Until Prefect's runner takes SIGTERM over: stop as Ctrl-C does (the server is stopped).
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with prefect_api(config.base_dir) as api_url:
            os.environ["PREFECT_API_URL"] = api_url
            from flows.serve import serve_until_stopped  # Prefect loads here, on this API

            _setup_logging(logging.getLogger("storywatch").level)
            serve_until_stopped(str(config.path.resolve()))
    except PrefectServerError as exc:
        err.print("[red]error:[/]", end=" ")
        err.print(str(exc), highlight=False, markup=False)
        raise typer.Exit(EXIT_FAILED) from None
    except KeyboardInterrupt:
        pass
    err.print("serve stopped", highlight=False)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _unwrap_help(typer_app: typer.Typer) -> None:
    """Help from docstrings as paragraphs: the source's line breaks are not sentences' ends
    (typer prints them as they are, so `--help` showed sentences broken mid-way)."""
    for info in typer_app.registered_commands:
        if info.help is None and info.callback is not None and info.callback.__doc__:
            paragraphs = inspect.cleandoc(info.callback.__doc__).split("\n\n")
            info.help = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _unwrap_help(group.typer_instance)


_unwrap_help(app)


def main() -> None:
    # Registered first, so it runs last, after every other exit handler (Prefect's log and
    # event workers flush in theirs): then leave without tearing down the interpreter, which
    # costs ~0.6 s once Prefect is loaded and serves no purpose in a finished command.
    exit_code = [1]  # an uncaught exception (its traceback already printed) exits 1
    atexit.register(_leave_now, exit_code)
    try:
        args = sys.argv[1:]
        if any(a in CONFIG_OPTION_NAMES or a.startswith("--config=") for a in args):
            args = config_option_first(args, typer.main.get_command(app))  # 5 ms: only then
        app(args=args)
        exit_code[0] = 0
    except SystemExit as exc:
        exit_code[0] = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise


def _leave_now(exit_code: list[int]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(exit_code[0])


if __name__ == "__main__":
    main()
