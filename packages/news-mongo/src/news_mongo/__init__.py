"""MongoDB for news platform services, on pymongo's native asyncio client.

Documents come back as msgspec Structs; indexes are declared in code; transactions retry::

    import msgspec
    import news_mongo
    from bson import ObjectId


    class Article(msgspec.Struct):
        slug: str
        title: str
        id: ObjectId = msgspec.field(default_factory=ObjectId, name="_id")


    settings = news_mongo.MongoSettings(uri=Secret("mongodb://mongo:27017"), database="newsroom")
    mongo = news_mongo.Mongo(
        settings,
        name="newsroom",
        indexes={"articles": [news_mongo.Index("slug", unique=True, name="articles_slug")]},
    )
    async with mongo:  # or app.manage(mongo)
        articles = mongo.collection("articles", Article)
        await articles.insert_one(Article(slug="summit", title="Summit opens"))
        try:
            await articles.insert_one(Article(slug="summit", title="again"))
        except news_mongo.DuplicateKeyError as exc:
            ...  # exc.index == "articles_slug": answer 409
        article = await articles.find_one({"slug": "summit"})  # an Article, or None

        async def publish(tx: news_mongo.Transaction) -> None:
            await tx.collection("articles").update_one({"slug": "summit"}, {"$set": {"live": True}})
            await tx.collection("events").insert_one({"slug": "summit", "kind": "published"})

        await mongo.transaction(publish)  # retried on TransientTransactionError

Errors derive from `NewsMongoError` (tree in ``news_mongo._errors``). Extras:
``news_mongo.metrics`` (Prometheus), ``news_mongo.health`` (news-health).
"""

from __future__ import annotations

from news_mongo.__about__ import __version__
from news_mongo._collection import Collection, UpdateResult
from news_mongo._errors import (
    CommitUnknownError,
    DocumentDecodeError,
    DuplicateKeyError,
    IndexConflictError,
    MongoClosedError,
    MongoConfigError,
    MongoConnectionError,
    MongoTimeoutError,
    NewsMongoError,
    OperationError,
    PoolTimeoutError,
    TransactionConflictError,
)
from news_mongo._indexes import Index
from news_mongo._metrics import MongoMetricsHook, NoopMetrics, PoolStats
from news_mongo._mongo import Mongo, Transaction
from news_mongo._settings import MongoSettings, MongoTLSSettings

# Tracebacks and reprs name the public home (news_mongo.DuplicateKeyError), not the module.
# Not the settings Structs: msgspec resolves their annotations in their own module.
for _public in (
    Collection,
    CommitUnknownError,
    DocumentDecodeError,
    DuplicateKeyError,
    Index,
    IndexConflictError,
    Mongo,
    MongoClosedError,
    MongoConfigError,
    MongoConnectionError,
    MongoTimeoutError,
    NewsMongoError,
    NoopMetrics,
    OperationError,
    PoolStats,
    PoolTimeoutError,
    Transaction,
    TransactionConflictError,
    UpdateResult,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "Collection",
    "CommitUnknownError",
    "DocumentDecodeError",
    "DuplicateKeyError",
    "Index",
    "IndexConflictError",
    "Mongo",
    "MongoClosedError",
    "MongoConfigError",
    "MongoConnectionError",
    "MongoMetricsHook",
    "MongoSettings",
    "MongoTLSSettings",
    "MongoTimeoutError",
    "NewsMongoError",
    "NoopMetrics",
    "OperationError",
    "PoolStats",
    "PoolTimeoutError",
    "Transaction",
    "TransactionConflictError",
    "UpdateResult",
    "__version__",
]
