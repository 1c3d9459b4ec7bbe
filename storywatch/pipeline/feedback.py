"""Reader feedback as labelled data, for the next training.

`storywatch developments missed URL` (this was news) and `developments dismiss ID` (this was
not) write what the reader said into a corpus folder in the labelled-corpus format
(feeds/feedback.xml + labels.json, as ../shared/devset/SCHEMA.md describes), one folder per
storyline under ``<config folder>/feedback/``. `storywatch train --corpus` reads it like any
other labelled corpus; a later word on the same article replaces the earlier one. The
article's title and lead come from the store, so the feed file holds what the engine saw.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from storywatch.config.config import Config
from storywatch.parse.normalise import canonical_url
from storywatch.store.articles import StoredArticle
from storywatch.store.repository import Store

log = logging.getLogger(__name__)

FEEDBACK_DIR = "feedback"


class UnknownArticle(LookupError):
    """No stored article has that URL."""


@dataclass(frozen=True)
class Feedback:
    storyline: str
    url: str
    label: dict[str, Any]
    folder: Path


def feedback_folder(config: Config, storyline_id: str) -> Path:
    return config.base_dir / FEEDBACK_DIR / storyline_id


def record_missed(
    config: Config, store: Store, url: str, storyline_id: str, types: list[str]
) -> Feedback:
    """Label a stored article as a new development the engine missed (of ``types``)."""
    article = store.article_by_url(canonical_url(url)) or store.article_by_url(url)
    if article is None:
        raise UnknownArticle(url)
    event = "feedback-" + hashlib.sha256(article.url.encode()).hexdigest()[:10]
    label = {"relevant": True, "types": sorted(set(types)), "novelty": "new", "event": event}
    return _record(feedback_folder(config, storyline_id), storyline_id, article, label)


def record_dismissed(
    config: Config, store: Store, storyline_id: str, urls: list[str]
) -> list[Feedback]:
    """Label a dismissed development's articles as reporting nothing new."""
    label = {"relevant": True, "types": [], "novelty": "none", "event": ""}
    folder = feedback_folder(config, storyline_id)
    recorded = []
    for url in urls:
        article = store.article_by_url(url)
        if article is not None:
            recorded.append(_record(folder, storyline_id, article, label))
    return recorded


def _record(
    folder: Path, storyline_id: str, article: StoredArticle, label: dict[str, Any]
) -> Feedback:
    items = _read_json(folder / "items.json", {})
    labels = _read_json(folder / "labels.json", {"storyline": storyline_id, "items": {}})
    items[article.url] = {
        "title": article.title,
        "description": article.summary,
        "published": format_datetime(article.published),
        "source": article.source,
    }
    labels["items"][article.url] = label
    (folder / "feeds").mkdir(parents=True, exist_ok=True)
    _write_json(folder / "items.json", items)
    _write_json(folder / "labels.json", labels)
    _write_text(folder / "feeds" / "feedback.xml", _rss(storyline_id, items))
    log.info("%s: feedback on %s recorded in %s", storyline_id, article.url, folder)
    return Feedback(storyline_id, article.url, label, folder)


def _rss(storyline_id: str, items: dict[str, dict[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{escape(i['title'])}</title><link>{escape(url)}</link>"
        f'<guid isPermaLink="false">{escape(url)}</guid><pubDate>{escape(i["published"])}'
        f"</pubDate><description>{escape(i['description'])}</description></item>\n"
        for url, i in sorted(items.items())
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Reader feedback: {escape(storyline_id)}</title><link>https://localhost/</link>"
        f"<description>articles a reader labelled</description>\n{entries}</channel></rss>\n"
    )


def _read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


def _write_text(path: Path, text: str) -> None:
    partial = path.with_suffix(path.suffix + ".tmp")  # a crash leaves the old file whole
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
