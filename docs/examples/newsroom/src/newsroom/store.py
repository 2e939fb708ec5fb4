"""Where processed articles live: a small `ArticleStore` interface and its in-memory default.

The HTTP handlers and the consumer only see `ArticleStore`; `newsroom.pgstore.PostgresStore`
(news-db, used when ``NEWSROOM_DB__*`` is set) implements the same methods. Listing is in
storage order, paged by an opaque position (the store's sequence number) that the HTTP layer
signs into a cursor.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

import msgspec

import news_log

if TYPE_CHECKING:
    from newsroom.models import Article

log = news_log.get_logger("newsroom")

__all__ = ["ArticleStore", "MemoryStore", "Page"]


class Page(NamedTuple):
    """One page of a listing.

    Attributes:
        items: The articles of this page, in storage order.
        next_position: Pass it as ``after`` for the next page; None on the last page.
    """

    items: list[Article]
    next_position: int | None


class ArticleStore(Protocol):
    """What the newsroom needs from a store of articles (the app starts and stops it)."""

    async def start(self) -> None:
        """Open the store (a database store connects its pool here)."""
        ...

    async def stop(self) -> None:
        """Close the store, once nothing writes to it any more."""
        ...

    async def put(self, article: Article) -> bool:
        """Store ``article``; True if it is new, False if its id was already stored (kept)."""
        ...

    async def get(self, article_id: str) -> Article | None:
        """The article with ``article_id``, or None."""
        ...

    async def page(self, *, section: str | None, after: int | None, limit: int) -> Page:
        """Up to ``limit`` articles stored after position ``after`` (None: from the start)."""
        ...

    async def count(self, *, section: str | None = None) -> int:
        """How many articles are stored (in ``section``, when given)."""
        ...


class MemoryStore:
    """An `ArticleStore` in this process's memory (gone when it exits).

    Puts are idempotent by id: a redelivered event (Kafka is at-least-once) keeps the first
    stored version, and `duplicates` counts how often that happened.

    Args:
        dump: When set, `stop` writes every stored article there as a JSON array.
    """

    __slots__ = ("_by_id", "_order", "_sections", "dump", "duplicates")

    def __init__(self, *, dump: str = "") -> None:
        self.dump = dump
        self._by_id: dict[str, tuple[int, Article]] = {}
        self._order: list[tuple[int, Article]] = []  # by sequence number, ascending
        self._sections: dict[str, list[tuple[int, Article]]] = {}
        self.duplicates = 0

    async def start(self) -> None:
        """Nothing to open: the articles live in this process."""

    async def stop(self) -> None:
        """Write the dump (when asked) and log what the store held."""
        if self.dump:
            Path(self.dump).write_bytes(msgspec.json.encode(self.snapshot()))
        log.info(
            "store closed",
            articles=len(self._order),
            duplicates=self.duplicates,
            dump=self.dump or None,
        )

    async def put(self, article: Article) -> bool:
        """Store ``article`` unless its id is there already; True if it was new."""
        if article.id in self._by_id:
            self.duplicates += 1
            return False
        entry = (len(self._order) + 1, article)
        self._by_id[article.id] = entry
        self._order.append(entry)
        self._sections.setdefault(article.section, []).append(entry)
        return True

    async def get(self, article_id: str) -> Article | None:
        """The article with ``article_id``, or None."""
        entry = self._by_id.get(article_id)
        return entry[1] if entry else None

    async def page(self, *, section: str | None, after: int | None, limit: int) -> Page:
        """Up to ``limit`` articles after position ``after``, optionally of one section."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        entries = self._order if section is None else self._sections.get(section, [])
        start = 0 if after is None else bisect.bisect_right(entries, after, key=lambda e: e[0])
        chunk = entries[start : start + limit]
        more = start + limit < len(entries)
        return Page([article for _, article in chunk], chunk[-1][0] if more and chunk else None)

    async def count(self, *, section: str | None = None) -> int:
        """How many articles are stored (in ``section``, when given)."""
        if section is None:
            return len(self._order)
        return len(self._sections.get(section, []))

    def snapshot(self) -> list[Article]:
        """Every stored article, in storage order (for the dump on shutdown)."""
        return [article for _, article in self._order]
