"""Detection: the storyline stage run against the store, one write transaction per storyline.

The engine (``storywatch.storyline``) decides; this module only sequences it (``run_detection``):
take the storyline's lease (one detection at work per storyline; others wait, or a live run
leaves its articles to the next run), read a snapshot with no lock held (the memory, the seed's
on first use, and the articles not assessed yet), run ``detect`` over them in publication order
(a long replay takes minutes, and must not hold SQLite's one write lock that every ingest
needs), then write assessments, developments, their articles and the grown memory in ONE
transaction under the storyline's lock, which checks that nothing was written since the
snapshot (else it computes again). SQL lives in ``store.storylines.StorylineTransaction``.
A rerun finds nothing pending; two overlapping runs detect one after the other, so neither
duplicates a development or a link.

A development's id names it for good (the digest ledger and `developments dismiss ID` hold
it): a re-detection gives each development it finds again the id it had (by its articles,
``storyline.memory.carry_ids``), keeps those it does not find as retired, and no id the
storyline ever gave (retired, stored or mailed) is given to another development.

    detect_storyline(config, "ukraine-peace-talks", store, run_id=...)   # after ingest
    redetect_storyline(config, "ukraine-peace-talks", store, since=...)  # replay, no refetch
    dismiss_development(config, store, "ukraine-peace-talks-20250318-01")  # "not new"
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storywatch import failpoints
from storywatch.config.config import Config, StorylineConfig
from storywatch.config.seeds import load_seed
from storywatch.store.liveness import beating
from storywatch.store.repository import Store
from storywatch.store.storylines import (
    LEASE_QUIET,
    PendingArticle,
    StorylineMoved,
    StorylineTransaction,
)
from storywatch.storyline import DetectionResult, Development, Memory, Storyline, detect
from storywatch.storyline.memory import carry_ids

log = logging.getLogger(__name__)

# A live run waits this long for another detection of the storyline (another worker's, or a
# backfill's replay) before leaving its articles to the next run; a replay waits it out.
LIVE_WAIT_SECONDS = 60.0
LEASE_POLL_SECONDS = 0.5
DETECTION_ATTEMPTS = 3  # from a snapshot, then one holding the lock throughout


Writer = Callable[[StorylineTransaction], "StorylineDetection"]  # saves a computed detection
Planner = Callable[[StorylineTransaction], Writer]  # reads a snapshot, computes, gives the writer


class UnknownDevelopment(KeyError):
    """No stored development has this id."""


@dataclass
class StorylineDetection:
    """What one storyline's detection did: the flow's artifact and the CLI summary."""

    storyline: str
    assessed: int = 0
    relevant: int = 0
    developments: list[dict[str, Any]] = field(default_factory=list)  # export-shaped, new only
    extended: list[str] = field(default_factory=list)  # earlier developments that gained articles
    deferred: bool = False  # another detection was at work: the articles wait for the next run

    def table(self) -> list[dict[str, Any]]:
        """One row per new development (the Prefect table artifact)."""
        return [
            {
                "storyline": self.storyline,
                "id": d["id"],
                "novelty": d["novelty"],
                "types": ", ".join(d["types"]),
                "title": d["title"],
                "articles": len(d["articles"]),
                "outlets": d["outlets"],
                "first_seen": d["first_seen"],
            }
            for d in self.developments
        ]


def storyline_config(config: Config, storyline_id: str) -> StorylineConfig:
    for storyline in config.storylines:
        if storyline.id == storyline_id:
            return storyline
    raise KeyError(f"no storyline {storyline_id!r} in {config.path}")


def compile_storyline(config: Config, storyline_id: str, store: Store) -> Storyline:
    """The engine's storyline for a configured one. Its id is the config's; a seed without a
    date is dated on first use and keeps that date (the memory must not drift by day)."""
    seed = load_seed(config.seed_path(storyline_config(config, storyline_id)))
    today = datetime.now(UTC).date().isoformat()
    first_use = store.ensure_storyline(storyline_id, seed.meta.date or today)
    seed_date = seed.meta.date or first_use
    storyline = Storyline.from_seed(seed, seed_date=datetime.fromisoformat(seed_date).date())
    storyline.id = storyline_id
    return storyline


def detect_storyline(
    config: Config,
    storyline_id: str,
    store: Store,
    *,
    run_id: str | None = None,
    wait: float | None = LIVE_WAIT_SECONDS,
) -> StorylineDetection:
    """Detect developments in every article the storyline has not assessed yet, but those
    published in a window a backfill owns (it judges them as of their time). Another detection
    at work on the storyline is waited for up to ``wait`` seconds (None: as long as it takes),
    then the articles are left to the next run (``deferred``)."""
    storyline = compile_storyline(config, storyline_id, store)

    def plan(view: StorylineTransaction) -> Writer:
        return plan_pending(view, storyline, run_id)

    report = run_detection(store, storyline.id, plan, wait=wait)
    log_detection(report, "detected")
    return report


def plan_pending(
    view: StorylineTransaction,
    storyline: Storyline,
    run_id: str | None,
    *,
    hold_backfills: bool = True,
    own_backfill: str | None = None,
) -> Writer:
    """Detection of what the storyline has not assessed yet, from a snapshot (see
    ``StorylineTransaction.pending_articles`` for the two backfill arguments)."""
    stored = view.memory()
    memory = Memory.from_dict({"developments": stored}) if stored else None
    pending = view.pending_articles(hold_backfills=hold_backfills, own_backfill=own_backfill)
    return plan_detection(view, storyline, memory, pending, run_id)


def redetect_storyline(
    config: Config,
    storyline_id: str,
    store: Store,
    *,
    since: datetime | None = None,
    run_id: str | None = None,
) -> StorylineDetection:
    """Re-run relevance and extraction over stored articles published since ``since`` (all
    when None), replacing that window's developments; nothing is fetched.

    The replay starts from the current seed's memory plus what came before the window:
    developments first seen earlier (with their earlier articles) and every dismissed one.
    Dismissals stay: the user's "not new" outlives a re-detection. Ids stay too: a replayed
    development that is one of the window's earlier developments (or a retired one) found
    again keeps its id; a window development not found again is retired."""
    storyline = compile_storyline(config, storyline_id, store)

    def plan(view: StorylineTransaction) -> Writer:
        return plan_redetection(view, storyline, since, run_id, hold_backfills=True)

    report = run_detection(store, storyline.id, plan, wait=None)
    log_detection(report, "re-detected")
    return report


def run_detection(
    store: Store, storyline_id: str, plan: Planner, *, wait: float | None
) -> StorylineDetection:
    """Run one detection of the storyline: take its lease (waiting up to ``wait`` seconds,
    None: for ever), compute from a snapshot with no database lock held (a long replay must
    not hold SQLite's one write lock, which every ingest needs), then write in a transaction
    that checks nothing was written since the snapshot; if something was (a dismissal, a
    detection that outlived its lease), compute again; the last attempt holds the lock
    throughout, so a detection always ends."""
    failpoints.reach("detecting")
    owner = uuid.uuid4().hex
    if not _await_lease(store, storyline_id, owner, wait):
        log.warning(
            "%s: another detection is at work on it (a backfill's replay, or another "
            "worker's run): its new articles wait for the next run",
            storyline_id,
        )
        return StorylineDetection(storyline=storyline_id, deferred=True)
    try:
        beat = functools.partial(store.beat_lease, storyline_id, owner)
        with beating(beat, LEASE_QUIET.total_seconds() / 4, f"{storyline_id} lease"):
            for _ in range(DETECTION_ATTEMPTS - 1):
                with store.storyline_snapshot(storyline_id) as (revision, view):
                    write = plan(view)
                try:
                    with store.storyline_transaction(storyline_id, revision=revision) as tx:
                        return write(tx)
                except StorylineMoved:
                    log.info("%s: written to meanwhile; detecting again", storyline_id)
            with store.storyline_transaction(storyline_id) as tx:
                return plan(tx)(tx)
    finally:
        store.drop_lease(storyline_id, owner)


def _await_lease(store: Store, storyline_id: str, owner: str, wait: float | None) -> bool:
    deadline = None if wait is None else time.monotonic() + wait
    while not store.take_lease(storyline_id, owner):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(LEASE_POLL_SECONDS)
    return True


def plan_redetection(
    view: StorylineTransaction,
    storyline: Storyline,
    since: datetime | None,
    run_id: str | None,
    hold_backfills: bool,
    own_backfill: str | None = None,
) -> Writer:
    """``redetect_storyline``'s computation from a snapshot; the writer clears the window
    and writes the replay."""
    stored = Memory.from_dict({"developments": view.memory()})
    retired = [Development.from_dict(d) for d in view.retired()]
    base = replay_memory(storyline, stored.copy(), since)
    kept = {d.id for d in base.developments}
    window = [d for d in stored.developments if d.origin == "detected" and d.id not in kept]
    earlier = window + [d for d in retired if d.id not in kept]
    base_rows = list(enumerate(d.to_dict() for d in base.developments))  # before detect
    pending = view.pending_articles(
        since, hold_backfills=hold_backfills, include_assessed=True, own_backfill=own_backfill
    )
    write_detection = plan_detection(view, storyline, base, pending, run_id, earlier)

    def write(tx: StorylineTransaction) -> StorylineDetection:
        tx.clear_window(since)
        tx.replace_memory(base_rows)
        return write_detection(tx)

    return write


def replay_memory(storyline: Storyline, stored: Memory, since: datetime | None) -> Memory:
    """The memory a replay from ``since`` starts with (see ``redetect_storyline``)."""
    memory = storyline.initial_memory()
    cutoff = since.isoformat() if since else None
    for development in stored.developments:
        if development.origin == "seed":
            continue
        before = cutoff is not None and _iso_before(development.first_seen, cutoff)
        if development.origin == "detected" and not before:
            continue
        development.articles = [
            a for a in development.articles if cutoff and _iso_before(a.published, cutoff)
        ]
        memory.add(development)
    return memory


def dismiss_development(config: Config, store: Store, development_id: str) -> bool:
    """Mark a development "not new": it leaves the exports and the memory keeps it as known,
    so its later repeats stay quiet. False when it was dismissed already."""
    found = store.development_storyline(development_id)
    if found is None:
        raise UnknownDevelopment(development_id)
    storyline_id, dismissed = found
    if dismissed:
        return False
    with store.storyline_transaction(storyline_id) as tx:
        memory = Memory.from_dict({"developments": tx.memory()})
        position = [d.id for d in memory.developments].index(development_id)
        development = memory.dismiss(development_id)
        tx.save_memory([(position, development.to_dict())])
        tx.mark_dismissed(development_id)
    log.info("%s: dismissed %s (%s)", storyline_id, development_id, development.title)
    return True


def plan_detection(
    view: StorylineTransaction,
    storyline: Storyline,
    memory: Memory | None,
    pending: Sequence[PendingArticle],
    run_id: str | None,
    earlier: Sequence[Development] = (),
) -> Writer:
    """Detect in ``pending`` (reads and compute only); the writer saves the result.
    ``earlier``: developments a re-detection may find again (their ids are carried over to
    what it finds, the others are retired)."""
    fresh = memory is None
    before = storyline.initial_memory() if memory is None else memory
    before.reserved |= view.used_ids() | {d.id for d in earlier}
    result = detect(storyline, before, pending)  # the store's records: StoryArticle as they are
    carried = carry_ids(earlier, result.developments)
    _rename(result, carried)
    report = StorylineDetection(
        storyline=storyline.id,
        assessed=len(result.articles),
        relevant=sum(v.relevant for v in result.articles),
        developments=[d.export(storyline.id) for d in result.developments],
        extended=result.extended,
    )

    def write(tx: StorylineTransaction) -> StorylineDetection:
        _save(tx, storyline, before, result, pending, run_id, fresh)
        tx.retire([d.to_dict() for d in earlier if d.id not in carried.values()])
        return report

    return write


def _rename(result: DetectionResult, renames: dict[str, str]) -> None:
    """Developments created by a re-detection take the ids of those they are found again."""
    if renames:
        result.memory.rename(renames)
        for verdict in result.articles:
            if verdict.development_id is not None:
                verdict.development_id = renames.get(verdict.development_id, verdict.development_id)


def _save(
    tx: StorylineTransaction,
    storyline: Storyline,
    before: Memory,
    result: DetectionResult,
    pending: Sequence[PendingArticle],
    run_id: str | None,
    fresh: bool,
) -> None:
    ids = {a.url: a.id for a in pending}
    tx.add_developments([_development_row(d, run_id) for d in result.developments])
    tx.add_assessments(
        [
            {
                "article_id": ids[v.url],
                "relevant": v.relevant,
                "score": float(v.score),
                "novelty": v.novelty,
                "development_id": v.development_id,
            }
            for v in result.articles
        ]
    )
    # Links only to developments that have a row (detected or dismissed, never the seed's).
    linkable = {d.id for d in result.memory.developments if d.origin != "seed"}
    tx.add_links(
        (v.development_id, ids[v.url])
        for v in result.articles
        if v.development_id in linkable and v.novelty != "none"
    )
    old = {} if fresh else {d.id: d.to_dict() for d in before.developments}
    changed = [
        (position, data)
        for position, data in enumerate(d.to_dict() for d in result.memory.developments)
        if old.get(data["id"]) != data
    ]
    tx.save_memory(changed)


def _development_row(development: Development, run_id: str | None) -> dict[str, Any]:
    exported = development.export("")
    return {
        "id": development.id,
        "types": exported["types"],
        "novelty": development.novelty,
        "title": development.title,
        "summary": development.summary,
        "first_seen": datetime.fromisoformat(development.first_seen),
        "evidence": exported["evidence"],
        "updates": development.updates,
        "run_id": run_id,
    }


def _iso_before(stamp: str, cutoff: str) -> bool:
    return datetime.fromisoformat(stamp) < datetime.fromisoformat(cutoff)


def log_detection(report: StorylineDetection, verb: str) -> None:
    log.info(
        "%s: %d articles assessed, %d relevant, %d new developments %s",
        report.storyline,
        report.assessed,
        report.relevant,
        len(report.developments),
        verb,
    )
