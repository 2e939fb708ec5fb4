"""`PostgresStore`: the newsroom's articles in PostgreSQL (news-db), behind `ArticleStore`.

Used when any ``NEWSROOM_DB__*`` variable is set (``NEWSROOM_DB__DSN=postgresql://...``);
the schema is this package's ``newsroom/migrations`` folder, applied at start under news-db's
advisory lock (``migrate_on_start``). Puts are idempotent by article id (``ON CONFLICT DO
NOTHING``): a redelivered event is stored once. Listing pages by ``seq`` (storage order) from
the primary key, or from the ``(section, seq)`` index for one section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import msgspec

import news_db
import news_log
from newsroom.models import Article
from newsroom.store import Page

__all__ = ["MIGRATIONS", "PostgresStore"]

log = news_log.get_logger("newsroom")

MIGRATIONS: Final = "newsroom:migrations"
"""The newsroom's schema, as a news-db migrations source."""

_COLUMNS: Final = "id, title, slug, body, section, author, tags, words, submitted_at, published_at"
_INSERT: Final = (
    f"INSERT INTO articles ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
    "ON CONFLICT (id) DO NOTHING RETURNING seq"
)
_PAGE_ALL: Final = f"SELECT seq, {_COLUMNS} FROM articles WHERE seq > $1 ORDER BY seq LIMIT $2"
_PAGE_SECTION: Final = (
    f"SELECT seq, {_COLUMNS} FROM articles WHERE section = $1 AND seq > $2 ORDER BY seq LIMIT $3"
)


class PostgresStore:
    """An `ArticleStore` in PostgreSQL.

    Args:
        settings: news-db settings (the newsroom's ``NEWSROOM_DB__*``).
        dump: When set, `stop` writes every stored article there as a JSON array.
    """

    health_name = "postgres"

    def __init__(self, settings: news_db.DatabaseSettings, *, dump: str = "") -> None:
        self.db = news_db.Database(settings, name="newsroom")
        self.dump = dump
        self.duplicates = 0

    async def start(self) -> None:
        """Open the pool and apply the pending migrations."""
        await self.db.start()

    async def stop(self) -> None:
        """Write the dump (when asked), log what the store holds, close the pool."""
        try:
            articles = await self.count()
            if self.dump:
                rows = await self.db.fetch(
                    f"SELECT {_COLUMNS} FROM articles ORDER BY seq",
                    into=Article,
                )
                Path(self.dump).write_bytes(msgspec.json.encode(rows))
            log.info(
                "store closed",
                articles=articles,
                duplicates=self.duplicates,
                dump=self.dump or None,
            )
        finally:
            await self.db.stop()

    async def health_check(self) -> str:
        """Readiness (``app.manage`` registers it): ``SELECT 1`` through the pool."""
        return await self.db.health_check()

    async def put(self, article: Article) -> bool:
        """Store ``article`` unless its id is there already; True if it was new."""
        seq = await self.db.fetchval(
            _INSERT,
            article.id,
            article.title,
            article.slug,
            article.body,
            article.section,
            article.author,
            article.tags,
            article.words,
            article.submitted_at,
            article.published_at,
            operation="articles.put",
        )
        if seq is None:
            self.duplicates += 1
            return False
        return True

    async def get(self, article_id: str) -> Article | None:
        """The article with ``article_id``, or None."""
        found: Article | None = await self.db.fetchrow(
            f"SELECT {_COLUMNS} FROM articles WHERE id = $1",
            article_id,
            into=Article,
            operation="articles.get",
        )
        return found

    async def page(self, *, section: str | None, after: int | None, limit: int) -> Page:
        """Up to ``limit`` articles after position ``after``, optionally of one section."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        start = after or 0
        if section is None:
            rows = await self.db.fetch(_PAGE_ALL, start, limit + 1, operation="articles.page")
        else:
            rows = await self.db.fetch(
                _PAGE_SECTION, section, start, limit + 1, operation="articles.page"
            )
        more = len(rows) > limit
        rows = rows[:limit]
        items = news_db.decode_rows(Article, rows)  # the extra seq column is ignored
        return Page(items, rows[-1]["seq"] if more and rows else None)

    async def count(self, *, section: str | None = None) -> int:
        """How many articles are stored (in ``section``, when given)."""
        if section is None:
            total = await self.db.fetchval("SELECT count(*) FROM articles")
        else:
            total = await self.db.fetchval(
                "SELECT count(*) FROM articles WHERE section = $1", section
            )
        return int(total)
