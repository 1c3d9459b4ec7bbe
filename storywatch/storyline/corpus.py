"""Labelled corpora for training: items with their labels, feedback, data hash, time folds.

A corpus is a folder of feeds/*.xml and labels.json (../shared/devset/SCHEMA.md). Feedback
files (labels.json format, e.g. what a reader dismissed or marked as missed) override labels by
URL. Folds are runs of whole days, so no day is ever on both sides of a split.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from storywatch.parse.normalise import canonical_url
from storywatch.storyline.features import ArticleFeatures
from storywatch.storyline.learned import StorylineContext, featurize


@dataclass
class Item:
    """One labelled article."""

    corpus: str
    url: str
    source: str
    title: str
    body: str
    published: datetime
    label: dict[str, Any]
    features: ArticleFeatures | None = None

    @property
    def day(self) -> str:
        return self.published.date().isoformat()

    @property
    def is_development(self) -> bool:
        label = self.label
        return bool(
            label.get("relevant")
            and label.get("novelty") in ("new", "known")
            and label.get("types")
        )


def load_corpus(folder: Path, name: str | None = None) -> list[Item]:
    """feeds/*.xml + labels.json (../shared/devset/SCHEMA.md); unlabelled items are skipped."""
    labels = {
        canonical_url(url): label
        for url, label in json.loads((folder / "labels.json").read_text(encoding="utf-8"))[
            "items"
        ].items()
    }
    items: dict[str, Item] = {}
    for feed in sorted((folder / "feeds").glob("*.xml")):
        for entry in feedparser.parse(feed.read_bytes()).entries:
            url = canonical_url(entry.link)
            stamp = entry.get("published_parsed")
            if url not in labels or stamp is None or url in items:
                continue
            items[url] = Item(
                corpus=name or folder.name,
                url=url,
                source=feed.stem,
                title=entry.get("title", ""),
                body=entry.get("summary", ""),
                published=datetime.fromtimestamp(calendar.timegm(stamp), UTC),
                label=labels[url],
            )
    return sorted(items.values(), key=lambda i: (i.published, i.url))


def apply_feedback(items: list[Item], path: Path) -> None:
    """Labels from the reader (labels.json format) override the corpus labels by URL."""
    extra = json.loads(path.read_text(encoding="utf-8"))["items"]
    by_url = {i.url: i for i in items}
    for url, label in sorted(extra.items()):
        item = by_url.get(canonical_url(url))
        if item is not None:
            item.label = {**item.label, **label}


def data_hash(items: Sequence[Item]) -> str:
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: (i.corpus, i.url)):
        record = [item.corpus, item.url, item.title, item.body, item.published.isoformat()]
        digest.update(json.dumps([record, item.label], sort_keys=True).encode())
    return digest.hexdigest()


def featurize_items(context: StorylineContext, items: Iterable[Item]) -> None:
    for item in items:
        if item.features is None:
            item.features = featurize(context, item.title, item.body, item.published, full=True)


def time_folds(items: Sequence[Item], k: int) -> list[list[str]]:
    """``k`` runs of contiguous days with about equal item counts (days across all corpora)."""
    per_day = Counter(i.day for i in items)
    days = sorted(per_day)
    total = sum(per_day.values())
    folds: list[list[str]] = [[] for _ in range(k)]
    seen = 0
    for day in days:
        fold = min(k - 1, seen * k // total)
        folds[fold].append(day)
        seen += per_day[day]
    return [f for f in folds if f]


def feats(item: Item) -> ArticleFeatures:
    assert item.features is not None, item.url
    return item.features
