"""The export contract: what `storywatch export articles|developments` prints, defined once.

One record per article (``article_record``) or development (``development_record``), as JSON
(one array, streamed) or CSV (the developments' lists in JSON cells). ../shared/DESIGN.md
describes the fields; tests/test_cli.py and tests/test_cli_developments.py hold them to it.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any

from storywatch.store.articles import StorylineVerdict
from storywatch.store.developments import RememberedDevelopment
from storywatch.store.repository import Store


class ExportKind(StrEnum):
    articles = "articles"
    developments = "developments"


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"


ARTICLE_FIELDS = [
    "url",
    "title",
    "source",
    "published",
    "cluster",
    "relevant",
    "score",
    "date_missing",
    "summary",
    "storylines",  # added last: a CSV read by column position keeps its columns
]


def article_record(
    article: Any,
    assessed: tuple[bool, float] | None = None,
    verdicts: dict[str, StorylineVerdict] | None = None,
) -> dict[str, Any]:
    """``assessed``: (relevant to any storyline, best score); None before detection ran.
    ``verdicts``: each storyline's own verdict, ``storylines: {id: {relevant, score,
    novelty}}`` ({} before detection ran)."""
    return {
        "url": article.url,
        "title": article.title,
        "source": article.source,
        "published": iso_time(article.published),
        "cluster": article.cluster,
        "relevant": assessed[0] if assessed else None,
        "score": round(assessed[1], 4) if assessed else None,
        "date_missing": article.date_missing,
        "summary": article.summary,
        "storylines": {
            storyline: {"relevant": v.relevant, "score": round(v.score, 4), "novelty": v.novelty}
            for storyline, v in (verdicts or {}).items()
        },
    }


def iso_time(value: datetime | None, timespec: str = "auto") -> str | None:
    return value.isoformat(timespec=timespec).replace("+00:00", "Z") if value else None


def write_rows(rows: Iterator[dict[str, Any]], fmt: ExportFormat, fields: list[str]) -> None:
    """Stream rows to stdout: every row, no limit, without holding them all in memory."""
    out = sys.stdout
    if fmt is ExportFormat.csv:
        writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
        return
    out.write("[")
    for index, row in enumerate(rows):
        out.write(",\n" if index else "\n")
        out.write(json.dumps(row, ensure_ascii=False))
    out.write("\n]\n")


DEVELOPMENT_FIELDS = [
    "id",
    "storyline",
    "types",
    "novelty",
    "title",
    "summary",
    "first_seen",
    "articles",
    "outlets",
    "updates",
    "evidence",
    "updates_development",  # added last: a CSV read by column position keeps its columns
]


def export_articles(store: Store, fmt: ExportFormat) -> None:
    """Every stored article with the storyline stage's verdict on it (None before detection)."""
    relevance = store.article_relevance()
    verdicts = store.article_assessments()
    rows = (
        article_record(a, relevance.get(a.id), verdicts.get(a.id)) for a in store.iter_articles()
    )
    if fmt is ExportFormat.csv:  # the per-storyline verdicts as one JSON cell
        rows = ({**r, "storylines": json.dumps(r["storylines"])} for r in rows)
    write_rows(rows, fmt, ARTICLE_FIELDS)


def export_developments(store: Store, fmt: ExportFormat) -> None:
    """Every development alerted on (new or update), never known, irrelevant or dismissed;
    each lists every article folded into it. CSV puts the lists in JSON cells."""
    remembered = store.remembered_developments()
    rows = (
        development_record(d, remembered.get((d.storyline, d.updates)) if d.updates else None)
        for d in store.iter_developments()
    )
    if fmt is ExportFormat.csv:
        rows = (_csv_cells(r) for r in rows)
    write_rows(rows, fmt, DEVELOPMENT_FIELDS)


def development_record(
    development: Any, updated: RememberedDevelopment | None = None
) -> dict[str, Any]:
    """``updated``: the development ``updates`` names, as the storyline remembers it."""
    return {
        "id": development.id,
        "storyline": development.storyline,
        "types": development.types,
        "novelty": development.novelty,
        "title": development.title,
        "summary": development.summary,
        "first_seen": iso_time(development.first_seen),
        "articles": [
            {"url": a.url, "title": a.title, "source": a.source, "published": iso_time(a.published)}
            for a in development.articles
        ],
        "outlets": len({a.source for a in development.articles}),  # "reported by N outlets"
        "updates": development.updates,
        "evidence": development.evidence,
        "updates_development": (
            {
                "id": updated.id,
                "title": updated.title,
                "first_seen": updated.first_seen,
                "from_seed": updated.origin == "seed",
            }
            if updated
            else None
        ),
    }


def _csv_cells(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "types": ";".join(row["types"]),
        "articles": json.dumps(row["articles"], ensure_ascii=False),
        "evidence": json.dumps(row["evidence"], ensure_ascii=False),
        "updates_development": json.dumps(row["updates_development"], ensure_ascii=False)
        if row["updates_development"]
        else "",
    }
