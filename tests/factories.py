"""Small builders for test inputs: RSS bodies and config folders pointing at the feed server."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import yaml

BASE_DATE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    """An RSS 2.0 feed; each item dict may give title, link, guid, description, pubDate."""
    body = "".join(
        "<item>"
        + "".join(f"<{key}>{escape(value)}</{key}>" for key, value in item.items())
        + "</item>"
        for item in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.test/</link>"
        f"<description>test feed</description>{body}</channel></rss>"
    ).encode()


def news_items(outlet: str, count: int, start: int = 0) -> list[dict[str, str]]:
    """``count`` distinct items for ``outlet``, numbered from ``start``."""
    return [
        {
            "title": f"{outlet} story number {n}",
            "link": f"https://{outlet}.test/news/story-{n}?utm_source=rss",
            "guid": f"{outlet}-{n}",
            "description": f"<p>Paragraph about event {n} reported by {outlet}.</p>",
            "pubDate": format_datetime(BASE_DATE + timedelta(hours=n)),
        }
        for n in range(start, start + count)
    ]


def write_config(folder: Path, sources: dict[str, str], **ingest: object) -> Path:
    """A sources.yaml (+ seed) in ``folder`` for the given {name: url} sources."""
    (folder / "seeds").mkdir(parents=True, exist_ok=True)
    (folder / "seeds" / "story.md").write_text("---\ntitle: Test story\n---\nA seed text.\n")
    config = {
        "storylines": [{"id": "test-story", "title": "Test story", "seed": "seeds/story.md"}],
        "sources": [{"name": name, "url": url} for name, url in sources.items()],
        "digest": {"from": "sw@example.org", "to": ["desk@example.org"]},
        "ingest": {
            "timeout": 3,
            "connect_timeout": 1,
            "read_timeout": 1,
            "retries": 1,
            "max_bytes": 256 * 1024,
            **ingest,
        },
    }
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def fill_disk(folder: Path, leave: int = 0) -> None:
    """Write a filler file in ``folder`` until its disk is full, then free ``leave`` bytes."""
    try:
        with open(folder / "filler", "wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
    except OSError:
        pass
    filler_path = folder / "filler"
    os.truncate(filler_path, max(0, filler_path.stat().st_size - leave))
