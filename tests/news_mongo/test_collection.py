"""Documents in and out of MongoDB as msgspec Structs, indexes, errors, lifecycle."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import msgspec
import pytest
from bson import ObjectId

import news_mongo
from news_mongo import Index, Mongo


class Article(msgspec.Struct, kw_only=True):
    slug: str
    title: str
    tags: list[str] = []
    words: int = 0
    published_at: datetime.datetime | None = None
    id: ObjectId = msgspec.field(default_factory=ObjectId, name="_id")


class Slim(msgspec.Struct):
    slug: str
    words: int


class TestCRUD:
    async def test_insert_get_find_structs(self, client: Mongo) -> None:
        """Structs go in; get/find_one/find/iterate give the same Structs back, BSON types kept."""
        articles = client.collection("articles", Article)
        when = datetime.datetime(2026, 12, 5, 9, 30, tzinfo=datetime.UTC)
        first = Article(slug="a", title="A", tags=["x"], words=300, published_at=when)
        second = Article(slug="b", title="B", words=100)
        assert await articles.insert_one(first) == first.id
        assert await articles.insert_many([second]) == [second.id]

        got = await articles.get(first.id)
        assert got == first
        assert isinstance(got, Article)
        assert got is not None
        assert got.published_at == when
        assert await articles.get(ObjectId()) is None
        assert await articles.find_one({"slug": "b"}) == second
        assert await articles.find(sort=[("words", -1)]) == [first, second]
        assert await articles.find({"words": {"$gt": 150}}) == [first]
        assert [a.slug async for a in articles.iterate(sort=[("slug", 1)])] == ["a", "b"]
        assert await articles.count() == 2
        assert await articles.count({"tags": "x"}) == 1

    async def test_update_replace_delete(self, client: Mongo) -> None:
        """Updates report what they matched; find_one_and_update returns the new Struct."""
        articles = client.collection("articles", Article)
        article = Article(slug="a", title="A")
        await articles.insert_one(article)
        result = await articles.update_one({"slug": "a"}, {"$set": {"words": 5}})
        assert result == news_mongo.UpdateResult(1, 1, None)
        assert (await articles.update_one({"slug": "zz"}, {"$set": {"words": 1}})).matched == 0
        upserted = await articles.update_one(
            {"slug": "new"}, {"$set": {"title": "New"}}, upsert=True
        )
        assert upserted.upserted_id is not None
        after = await articles.find_one_and_update({"slug": "a"}, {"$inc": {"words": 10}})
        assert after is not None
        assert after.words == 15
        replaced = Article(slug="a", title="A2", id=article.id)
        assert (await articles.replace_one({"_id": article.id}, replaced)).modified == 1
        assert await articles.get(article.id) == replaced
        assert (await articles.update_many({}, {"$set": {"words": 1}})).matched == 2
        assert await articles.delete_one({"slug": "a"}) == 1
        assert await articles.delete_many({}) == 1
        assert await articles.count() == 0

    async def test_dict_collection_and_aggregate(self, client: Mongo) -> None:
        """Without a type documents are dicts; aggregate decodes into a Struct on request."""
        raw = client.collection("raw")
        await raw.insert_many(
            [{"_id": i, "slug": f"s{i}", "words": i * 10, "kind": i % 2} for i in range(4)]
        )
        assert await raw.get(2) == {"_id": 2, "slug": "s2", "words": 20, "kind": 0}
        rows = await raw.aggregate(
            [{"$match": {"kind": 1}}, {"$project": {"_id": 0, "slug": 1, "words": 1}}],
            into=Slim,
        )
        assert sorted(rows, key=lambda s: s.slug) == [Slim("s1", 10), Slim("s3", 30)]

    async def test_a_document_that_does_not_fit_names_it(self, client: Mongo) -> None:
        """DocumentDecodeError names the document's _id and the field."""
        oid = ObjectId()
        await client.collection("articles").insert_one({"_id": oid, "slug": "x", "title": 3})
        articles = client.collection("articles", Article)
        with pytest.raises(news_mongo.DocumentDecodeError, match=rf"_id=.*{oid}.*title"):
            await articles.get(oid)
        with pytest.raises(news_mongo.DocumentDecodeError, match=str(oid)):
            await articles.find()


class TestIndexes:
    async def test_duplicate_key_names_the_index(self, mongo: Any) -> None:
        """A unique index declared at start refuses a duplicate; the error names the index."""
        indexes = {"articles": [Index("slug", unique=True, name="articles_slug")]}
        async with Mongo(mongo.settings(), indexes=indexes) as client:
            articles = client.collection("articles", Article)
            await articles.insert_one(Article(slug="a", title="A"))
            with pytest.raises(news_mongo.DuplicateKeyError) as caught:
                await articles.insert_one(Article(slug="a", title="again"))
            assert caught.value.index == "articles_slug"
            assert caught.value.key_value == {"slug": "a"}
            assert "articles_slug" in str(caught.value)
            assert isinstance(caught.value, news_mongo.OperationError)
            duplicate = Article(slug="b", title="B")
            await articles.insert_one(duplicate)
            with pytest.raises(news_mongo.DuplicateKeyError) as by_id:
                await articles.insert_one(Article(slug="other", title="B", id=duplicate.id))
            assert by_id.value.index == "_id_"
            with pytest.raises(news_mongo.DuplicateKeyError) as many:
                await articles.insert_many(
                    [Article(slug="c", title="C"), Article(slug="a", title="")]
                )
            assert many.value.index == "articles_slug"
            assert await articles.count() == 3  # ordered: the first went in

    async def test_ensure_indexes_is_idempotent_and_refuses_a_conflict(self, mongo: Any) -> None:
        """Starting twice with the same indexes is a no-op; other options are a clear error."""
        indexes = {
            "articles": [
                Index("slug", unique=True, name="articles_slug"),
                Index([("tags", 1), ("words", -1)], name="by_tag"),
            ]
        }
        async with Mongo(mongo.settings(), indexes=indexes) as client:
            names = await client.ensure_indexes(indexes)
            assert sorted(names["articles"]) == ["articles_slug", "by_tag"]
            info = await client.collection("articles").raw.index_information()
            assert info["articles_slug"]["unique"] is True
            conflicting = {"articles": [Index("slug", unique=False, name="articles_slug")]}
            with pytest.raises(news_mongo.IndexConflictError, match="articles_slug"):
                await client.ensure_indexes(conflicting)

    def test_bad_declarations_are_refused(self) -> None:
        """An index without keys or with a bad direction is a MongoConfigError."""
        with pytest.raises(news_mongo.MongoConfigError):
            Index([])
        with pytest.raises(news_mongo.MongoConfigError, match="direction"):
            Index([("a", 2)])  # type: ignore[list-item]
        with pytest.raises(news_mongo.MongoConfigError, match="TTL"):
            Index([("a", 1), ("b", 1)], expire_after=60)


class TestLifecycle:
    async def test_calls_before_start_and_after_stop_are_refused(self, mongo: Any) -> None:
        """A collection made before start works once started; closed calls say what to do."""
        client = Mongo(mongo.settings())
        articles = client.collection("articles", Article)
        with pytest.raises(news_mongo.MongoClosedError, match="start"):
            await articles.count()
        async with client:
            assert client.running
            await articles.insert_one(Article(slug="a", title="A"))
            assert await articles.count() == 1
            assert "connections in use" in await client.health_check()
        assert not client.running
        with pytest.raises(news_mongo.MongoClosedError):
            await articles.count()
        await client.stop()  # twice: a no-op
        async with client:  # started again: a new client on this loop
            assert await articles.count() == 1

    async def test_start_without_a_server_is_a_clear_bounded_error(self, mongo: Any) -> None:
        """No server at the URI: MongoConnectionError naming the hosts, never the password."""
        from news_testing import free_port

        settings = mongo.settings(
            uri=f"mongodb://user:hunter2@127.0.0.1:{free_port()}/?directConnection=true",
            server_selection_timeout=0.5,
        )
        client = Mongo(settings)
        with pytest.raises(news_mongo.MongoConnectionError) as caught:
            async with asyncio.timeout(30):
                await client.start()
        assert "127.0.0.1" in str(caught.value)
        assert "hunter2" not in str(caught.value)
        assert "hunter2" not in repr(client)
        assert not client.running

    async def test_a_client_is_used_on_the_loop_that_started_it(self, mongo: Any) -> None:
        """Using a Mongo from another event loop is refused with a clear error."""
        client = Mongo(mongo.settings())
        await client.start()
        try:
            articles = client.collection("articles")

            def other_loop() -> None:
                with pytest.raises(news_mongo.MongoClosedError, match="another event loop"):
                    asyncio.run(articles.count())

            await asyncio.to_thread(other_loop)
        finally:
            await client.stop()
