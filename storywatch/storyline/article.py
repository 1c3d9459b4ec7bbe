"""What the storyline engine reads of an article: a Protocol, so the pipeline hands over the
store's records (``store.storylines.PendingArticle``) as they are, and tests or benches a parse
``Article``, without converting one into the other."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class StoryArticle(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def url(self) -> str: ...  # canonical: the article's identity
    @property
    def title(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def published(self) -> datetime: ...  # timezone-aware UTC
