"""`storywatch explain URL`: why the engine decided what it did about one stored article.

Reads the article and the storyline's memory from the store and asks the storyline stage's
``explain`` (learned models: relevance, each decision with its strongest features and evidence,
the memory development it matches or why none). The memory is today's, so an article already
folded into a development shows that development as its match.
"""

from __future__ import annotations

from typing import Any

from storywatch.config.config import Config
from storywatch.parse.normalise import Article, canonical_url
from storywatch.pipeline.detect import compile_storyline
from storywatch.pipeline.feedback import UnknownArticle
from storywatch.store.repository import Store
from storywatch.storyline.explain import explain
from storywatch.storyline.memory import Memory


def explain_stored(config: Config, store: Store, url: str, storyline_id: str) -> dict[str, Any]:
    stored = store.article_by_url(canonical_url(url)) or store.article_by_url(url)
    if stored is None:
        raise UnknownArticle(url)
    storyline = compile_storyline(config, storyline_id, store)
    with store.storyline_snapshot(storyline_id) as (_, view):
        remembered = view.memory()
    memory = Memory.from_dict({"developments": remembered}) if remembered else None
    article = Article(
        source=stored.source,
        url=stored.url,
        link=stored.url,
        guid=None,
        title=stored.title,
        summary=stored.summary,
        content="",
        published=stored.published,
        date_missing=stored.date_missing,
    )
    return explain(storyline, memory or storyline.initial_memory(), article)
