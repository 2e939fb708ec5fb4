"""`MongoStore`: the newsroom's articles in MongoDB (news-mongo), behind `ArticleStore`.

Used when any ``NEWSROOM_MONGO__*`` variable is set (``NEWSROOM_MONGO__URI=mongodb://...``),
as an alternative to PostgreSQL. One document per article, its id as ``_id``: a redelivered
event meets the ``_id`` index (`news_mongo.DuplicateKeyError`) and is stored once. Pages follow
storage order through ``seq``, a number taken from a counter document (``counters``) before each
insert, and come from the ``seq`` index, or the ``(section, seq)`` index for one section; both
are declared here and created at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import msgspec

import news_log
import news_mongo
from newsroom.models import Article
from newsroom.store import Page

__all__ = ["INDEXES", "MongoStore"]

log = news_log.get_logger("newsroom")

INDEXES: Final = {
    "articles": [
        news_mongo.Index("seq", unique=True, name="articles_seq"),
        news_mongo.Index([("section", 1), ("seq", 1)], name="articles_section_seq"),
    ]
}
"""The indexes of the articles collection, created (idempotently) at start."""


class StoredArticle(msgspec.Struct, frozen=True, kw_only=True):
    """An article as a document: its id is the ``_id``, ``seq`` its storage position."""

    id: str = msgspec.field(name="_id")
    seq: int
    title: str
    slug: str
    body: str
    section: str
    author: str
    tags: list[str]
    words: int
    submitted_at: float
    published_at: float

    def article(self) -> Article:
        """The article without the storage position."""
        fields = msgspec.structs.asdict(self)
        del fields["seq"]
        return Article(**fields)


class MongoStore:
    """An `ArticleStore` in MongoDB.

    Args:
        settings: news-mongo settings (the newsroom's ``NEWSROOM_MONGO__*``).
        dump: When set, `stop` writes every stored article there as a JSON array.
    """

    health_name = "mongodb"

    def __init__(self, settings: news_mongo.MongoSettings, *, dump: str = "") -> None:
        self.mongo = news_mongo.Mongo(settings, name="newsroom", indexes=INDEXES)
        self.articles = self.mongo.collection("articles", StoredArticle)
        self.counters = self.mongo.collection("counters")
        self.dump = dump
        self.duplicates = 0

    async def start(self) -> None:
        """Connect and create the indexes that are missing."""
        await self.mongo.start()

    async def stop(self) -> None:
        """Write the dump (when asked), log what the store holds, close the client."""
        try:
            articles = await self.count()
            if self.dump:
                stored = await self.articles.find(sort=[("seq", 1)])
                Path(self.dump).write_bytes(msgspec.json.encode([s.article() for s in stored]))
            log.info(
                "store closed",
                articles=articles,
                duplicates=self.duplicates,
                dump=self.dump or None,
            )
        finally:
            await self.mongo.stop()

    async def health_check(self) -> str:
        """Readiness (``app.manage`` registers it): ``ping`` within 2 s."""
        return await self.mongo.health_check()

    async def put(self, article: Article) -> bool:
        """Store ``article`` unless its id is there already; True if it was new."""
        if await self.articles.count({"_id": article.id}):
            self.duplicates += 1
            return False
        counter = await self.counters.find_one_and_update(
            {"_id": "articles"}, {"$inc": {"seq": 1}}, upsert=True
        )
        assert counter is not None  # upsert with return_new always returns the document
        stored = StoredArticle(seq=int(counter["seq"]), **msgspec.structs.asdict(article))
        try:
            await self.articles.insert_one(stored)
        except news_mongo.DuplicateKeyError as exc:
            if exc.index != "_id_":
                raise
            self.duplicates += 1  # a concurrent redelivery won the race
            return False
        return True

    async def get(self, article_id: str) -> Article | None:
        """The article with ``article_id``, or None."""
        found = await self.articles.get(article_id)
        return None if found is None else found.article()

    async def page(self, *, section: str | None, after: int | None, limit: int) -> Page:
        """Up to ``limit`` articles after position ``after``, optionally of one section."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        query: dict[str, object] = {"seq": {"$gt": after or 0}}
        if section is not None:
            query["section"] = section
        rows = await self.articles.find(query, sort=[("seq", 1)], limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([r.article() for r in rows], rows[-1].seq if more and rows else None)

    async def count(self, *, section: str | None = None) -> int:
        """How many articles are stored (in ``section``, when given)."""
        return await self.articles.count(None if section is None else {"section": section})
