"""The newsroom's data: the HTTP body, the two events, the stored article.

All are msgspec Structs: the HTTP body is decoded and validated by news-http (via news-api), the
events are encoded by the news-kafka Publisher and decoded by the Consumer.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["Article", "ArticleIn", "ArticlePublished", "ArticleSubmitted"]

Meta = msgspec.Meta
Tag = Annotated[str, Meta(min_length=1, max_length=40)]


class ArticleIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /v1/articles`` (a 422 names any field that does not fit)."""

    title: Annotated[str, Meta(min_length=1, max_length=200)]
    body: Annotated[str, Meta(min_length=1, max_length=100_000)]
    section: Annotated[str, Meta(pattern=r"^[A-Za-z][A-Za-z0-9 _-]{0,39}$")]
    author: Annotated[str, Meta(min_length=1, max_length=100)]
    tags: Annotated[list[Tag], Meta(max_length=20)] = []


class ArticleSubmitted(msgspec.Struct, frozen=True, kw_only=True):
    """Event: an article was accepted over HTTP and waits to be processed."""

    id: str
    title: str
    body: str
    section: str
    author: str
    tags: list[str]
    submitted_at: float


class Article(msgspec.Struct, frozen=True, kw_only=True):
    """An article as stored and served: normalised, with its slug and word count."""

    id: str
    title: str
    slug: str
    body: str
    section: str
    author: str
    tags: list[str]
    words: int
    submitted_at: float
    published_at: float


class ArticlePublished(msgspec.Struct, frozen=True, kw_only=True):
    """Event: an article was processed, stored and can be read."""

    id: str
    section: str
    slug: str
    title: str
    published_at: float
