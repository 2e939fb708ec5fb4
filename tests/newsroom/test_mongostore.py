"""The MongoDB article store: idempotent puts, storage-order pages, indexes, the switch."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

import news_mongo
from newsroom.mongostore import MongoStore
from newsroom.settings import db_is_configured, load, mongo_is_configured


@pytest.fixture
async def store(mongo: Any) -> Any:
    """A started MongoStore on the test's fresh database."""
    made = MongoStore(mongo.settings())
    await made.start()
    yield made
    await made.stop()


async def fill(store: MongoStore, sections: list[str], article: Any) -> None:
    """Put one article per entry of ``sections`` (ids a0, a1...)."""
    for n, section in enumerate(sections):
        assert await store.put(article(n, section))


class TestMongoStore:
    async def test_put_then_get_round_trips_every_field(self, store: Any, article: Any) -> None:
        """A stored article comes back equal (tags, floats); unknown ids give None."""
        stored = msgspec.structs.replace(article(1), tags=["politics", "eu"])
        assert await store.put(stored)
        assert await store.get("a1") == stored
        assert await store.get("nope") is None

    async def test_a_redelivered_article_is_stored_once(self, store: Any, article: Any) -> None:
        """A second put of the same id keeps the first version and counts a duplicate."""
        first = article(1)
        assert await store.put(first)
        assert not await store.put(msgspec.structs.replace(first, title="changed"))
        assert await store.get("a1") == first
        assert store.duplicates == 1
        assert await store.count() == 1

    async def test_pages_walk_everything_once_in_storage_order(
        self, store: Any, article: Any
    ) -> None:
        """Following next_position visits every article once; sections page from the index."""
        await fill(store, ["world", "sport"] * 4, article)
        seen, after = [], None
        while True:
            page = await store.page(section=None, after=after, limit=3)
            seen.extend(a.id for a in page.items)
            if page.next_position is None:
                break
            after = page.next_position
        assert seen == [f"a{n}" for n in range(8)]
        sport = await store.page(section="sport", after=None, limit=4)
        assert [a.id for a in sport.items] == ["a1", "a3", "a5", "a7"]
        assert sport.next_position is None
        assert await store.count(section="sport") == 4
        with pytest.raises(ValueError, match="limit"):
            await store.page(section=None, after=None, limit=0)
        indexes = await store.articles.raw.index_information()
        assert {"articles_seq", "articles_section_seq"} <= set(indexes)

    async def test_stop_dumps_and_logs(self, mongo: Any, article: Any, tmp_path: Any) -> None:
        """stop() writes the dump (articles without the storage position), like the others."""
        dump = tmp_path / "store.json"
        made = MongoStore(mongo.settings(), dump=str(dump))
        await made.start()
        await made.put(article(1))
        assert (await made.health_check()).endswith("waiting")
        await made.stop()
        dumped = json.loads(dump.read_text())
        assert [a["id"] for a in dumped] == ["a1"]
        assert "seq" not in dumped[0]


class TestSettings:
    def test_mongodb_only_when_a_mongo_variable_is_set(self) -> None:
        """mongo_is_configured: any NEWSROOM_MONGO__ variable switches the store to MongoDB."""
        assert not mongo_is_configured(environ={})
        environ = {"NEWSROOM_MONGO__URI": "mongodb://u:pw@h:27017/"}
        assert mongo_is_configured(environ=environ)
        assert not db_is_configured(environ=environ)
        settings = load(environ=environ)
        assert isinstance(settings.mongo, news_mongo.MongoSettings)
        assert settings.mongo.database == "newsroom"
        assert settings.mongo.hosts == "h:27017"
