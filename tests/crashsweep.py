"""Kill a real `storywatch run` at a named crash point, run it again, and count the damage.

Shared by tests/test_crash_points.py (a few rounds in CI) and bench/reliability.py (the full
sweep). Everything is real: the console script in a subprocess, feeds on a loopback HTTP
server, an aiosmtpd server, SQLite or PostgreSQL, the Prefect API the caller names. The
process kills itself with SIGKILL at the point (storywatch/failpoints.py), so nothing of it
gets to clean up: what the next run finds is what a power cut or an OOM kill leaves.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import sqlalchemy
import yaml

from storywatch.store.database import create_db_engine
from storywatch.store.schema import utcnow
from storywatch.store.tables import DELIVERIES
from tests.factories import news_items, rss
from tests.feedserver import FeedServer
from tests.smtpserver import SmtpServer
from tests.storyfeeds import (
    ITEM_BAKERY,
    ITEM_SWAP,
    ITEM_SWAP_REPEAT,
    ITEM_TALKS,
    ITEM_TALKS_REPEAT,
    canonical,
    write_story_config,
)

STORYWATCH = str(Path(sys.executable).parent / "storywatch")
FILLER_FEEDS = 6  # besides the two story feeds: enough sources for several store batches
FILLER_ITEMS = 15
DESK = "desk@example.org"


@dataclass
class Damage:
    """What one kill-and-rerun round left, against what a clean run stores and mails."""

    point: str
    killed: bool  # the first run died at the point (False: the point was never reached)
    lost_articles: int = 0
    duplicated_articles: int = 0
    lost_developments: int = 0
    duplicated_developments: int = 0
    mails_missing: int = 0  # developments never mailed to the desk
    mails_duplicated: int = 0  # developments mailed to the desk more than once
    same_message_resent: int = 0  # of those, resent under the same Message-ID
    awaiting_operator: int = 0  # deliveries whose fate is unknown, reported for `--resend`
    tracebacks: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost_articles
            or self.duplicated_articles
            or self.lost_developments
            or self.duplicated_developments
            or self.mails_missing
            or self.mails_duplicated
            or self.tracebacks
        )


class _Blocks(HTMLParser):
    """The development ids a digest's HTML carries (one block each)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs).get("data-development-id")
        if found:
            self.ids.append(found)


def serve_world(feed_server: FeedServer) -> dict[str, str]:
    """Two story feeds and some filler feeds; {source name: url}."""
    feed_server.set_feed(
        "/alpha.xml", rss("Alpha", [ITEM_TALKS, ITEM_SWAP, *news_items("alpha", 3)])
    )
    feed_server.set_feed(
        "/beta.xml", rss("Beta", [ITEM_TALKS_REPEAT, ITEM_SWAP_REPEAT, ITEM_BAKERY])
    )
    sources = {"Alpha": feed_server.url("/alpha.xml"), "Beta": feed_server.url("/beta.xml")}
    for n in range(FILLER_FEEDS):
        path = f"/filler{n}.xml"
        feed_server.set_feed(path, rss(f"Filler {n}", news_items(f"filler{n}", FILLER_ITEMS)))
        sources[f"Filler {n}"] = feed_server.url(path)
    return sources


def expected_urls() -> set[str]:
    story = [ITEM_TALKS, ITEM_SWAP, ITEM_TALKS_REPEAT, ITEM_SWAP_REPEAT, ITEM_BAKERY]
    urls = {canonical(i) for i in story}
    urls |= {canonical(i) for i in news_items("alpha", 3)}
    for n in range(FILLER_FEEDS):
        urls |= {canonical(i) for i in news_items(f"filler{n}", FILLER_ITEMS)}
    return urls


class CrashRound:
    """One folder, one database, one SMTP server: kill a run at ``point``, then recover."""

    def __init__(
        self,
        folder: Path,
        feed_server: FeedServer,
        smtp: SmtpServer,
        database_url: str,
        prefect_api_url: str,
    ) -> None:
        self.folder = folder
        self.smtp = smtp
        self.database_url = database_url
        self.config = write_story_config(folder, serve_world(feed_server))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STORYWATCH_")}
        self.env.update(
            smtp.env(),
            PREFECT_API_URL=prefect_api_url,
            STORYWATCH_DATABASE_URL=database_url,
        )
        self.stderr: list[str] = []

    def storywatch(
        self, *args: str, failpoint: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if failpoint:
            env["STORYWATCH_FAILPOINT"] = failpoint
        done = subprocess.run(
            [STORYWATCH, "--config", str(self.config), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.stderr.append(done.stderr)
        return done

    def start(self, *args: str) -> subprocess.Popen[str]:
        """A command started in the background (concurrent scenarios); see ``finish``."""
        return subprocess.Popen(
            [STORYWATCH, "--config", str(self.config), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, process: subprocess.Popen[str]) -> int:
        _, stderr = process.communicate(timeout=300)
        self.stderr.append(stderr)
        return process.returncode

    def add_sources(self, sources: dict[str, str]) -> None:
        data = yaml.safe_load(self.config.read_text(encoding="utf-8"))
        data["sources"] += [{"name": name, "url": url} for name, url in sources.items()]
        self.config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    def age_claims(self, by: timedelta) -> int:
        """Move every open delivery claim ``by`` into the past, as if that much time had gone:
        the only way a claim of a killed run goes stale within a test's time."""
        engine = create_db_engine(self.database_url)
        with engine.begin() as conn:
            aged = conn.execute(
                sqlalchemy.update(DELIVERIES)
                .where(DELIVERIES.c.status.in_(("sending", "handing")))
                .values(claimed_at=utcnow() - by)
            ).rowcount
        engine.dispose()
        return int(aged)

    def stored_urls(self) -> Counter[str]:
        engine = create_db_engine(self.database_url)
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT url FROM articles")).scalars().all()
        engine.dispose()
        return Counter(str(u) for u in rows)

    def developments(self) -> list[dict[str, object]]:
        done = self.storywatch("export", "developments", "--format", "json")
        return list(json.loads(done.stdout)) if done.returncode == 0 else []

    def mailed(self) -> tuple[Counter[str], Counter[str]]:
        """Per development id, how often it reached the desk; per Message-ID, how often."""
        per_development: Counter[str] = Counter()
        per_message: Counter[str] = Counter()
        for received in self.smtp.received:
            if DESK not in received.recipients:
                continue
            message = received.message
            per_message[str(message["Message-ID"])] += 1
            html = message.get_body(preferencelist=("html",))
            blocks = _Blocks()
            blocks.feed(html.get_content() if html is not None else "")
            per_development.update(set(blocks.ids))
        return per_development, per_message


def crash_and_recover(round_: CrashRound, failpoint: str, reference_developments: int) -> Damage:
    """Run killed at ``failpoint``, then normal runs until recovered; what was lost or doubled."""
    point = failpoint.partition(":")[0]
    first = round_.storywatch("run", failpoint=failpoint)
    damage = Damage(point=failpoint, killed=first.returncode == -9)
    if not damage.killed:
        damage.notes.append(f"first run exited {first.returncode}, not killed")
    again = round_.storywatch("run")
    if again.returncode != 0:
        damage.notes.append(f"recovery run exited {again.returncode}")
    # The killed run's claim holds its delivery for STALE_CLAIM; let that time pass.
    if point in ("claimed", "sent") and round_.age_claims(timedelta(hours=1)):
        after = round_.storywatch("digest", "--send")
        told = re.findall(r"digest --resend (\S+)", " ".join(after.stderr.split()))
        damage.awaiting_operator = len({t.rstrip(").,") for t in told})  # log + summary lines
        if after.returncode != 0 and not damage.awaiting_operator:
            damage.notes.append(f"digest --send after the stale claim exited {after.returncode}")
    return tally(round_, damage, reference_developments)


def tally(round_: CrashRound, damage: Damage, reference_developments: int) -> Damage:
    """Count into ``damage`` what the round's store and the SMTP server hold against a clean run."""
    urls = round_.stored_urls()
    expected = expected_urls()
    damage.lost_articles = len(expected - set(urls))
    damage.duplicated_articles = sum(n - 1 for n in urls.values() if n > 1)
    developments = round_.developments()
    ids = Counter(str(d["id"]) for d in developments)
    damage.duplicated_developments = max(0, len(developments) - reference_developments) + sum(
        n - 1 for n in ids.values() if n > 1
    )
    damage.lost_developments = max(0, reference_developments - len(ids))
    per_development, per_message = round_.mailed()
    alertable = {str(d["id"]) for d in developments if d.get("novelty") != "known"}
    damage.mails_missing = len(alertable - set(per_development))
    damage.mails_duplicated = sum(n - 1 for n in per_development.values() if n > 1)
    damage.same_message_resent = sum(n - 1 for n in per_message.values() if n > 1)
    damage.tracebacks = sum("Traceback (most recent call last)" in e for e in round_.stderr)
    return damage
