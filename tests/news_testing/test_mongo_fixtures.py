"""news-testing's MongoDB fixtures: a fresh database per test, private servers for faults."""

from __future__ import annotations

from typing import Any

import pytest

import news_mongo
import news_testing


class TestMongoFixtures:
    async def test_each_test_gets_a_fresh_database(self, mongo: Any, mongo_settings: Any) -> None:
        """The database is new and empty; the settings point at it with short timeouts."""
        assert mongo.name.startswith("news_test_")
        assert mongo_settings.database == mongo.name
        assert mongo_settings.server_selection_timeout == 2.0
        async with news_mongo.Mongo(mongo_settings) as client:
            assert await client.collection("articles").count() == 0
            await client.collection("articles").insert_one({"_id": 1})
            names = await client.client.list_database_names()
            assert mongo.name in names

    def test_the_database_is_dropped_afterwards(self, mongo_server: Any) -> None:
        """drop() removes a test database from the server."""
        import pymongo

        database = mongo_server.database()
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongo_server.uri)
        try:
            client[database.name]["a"].insert_one({"_id": 1})
            assert database.name in client.list_database_names()
            database.drop()
            assert database.name not in client.list_database_names()
        finally:
            client.close()

    @pytest.mark.slow
    def test_a_private_server_restarts_with_its_data(self, mongo_private_server: Any) -> None:
        """stop/start on the same port keeps the data (as a mongod restart); kill is a crash."""
        import pymongo

        server = mongo_private_server()
        assert server.running
        assert server.ping()
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(
            server.uri, serverSelectionTimeoutMS=5000
        )
        try:
            client.db.a.insert_one({"_id": 1})
            port = server.port
            server.restart()
            assert server.port == port
            assert client.db.a.find_one({"_id": 1}) == {"_id": 1}
            server.kill()
            assert not server.running
            assert not server.ping(timeout=0.5)
        finally:
            client.close()

    def test_an_external_server_cannot_be_stopped(self) -> None:
        """NEWS_TEST_MONGO_URI servers refuse stop/restart with a clear error."""
        server = news_testing.MongoServer.external("mongodb://db.example:27017/?replicaSet=rs0")
        assert (server.host, server.port) == ("db.example", 27017)
        with pytest.raises(news_testing.ExternalClusterError, match="mongo_private_server"):
            server.restart()
        with pytest.raises(ValueError, match="mongodb://"):
            news_testing.MongoServer.external("redis://x")
