"""Metrics from pymongo's monitoring (commands, pool) and the readiness check."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import news_health
import news_mongo
from news_mongo import Mongo
from news_mongo.health import mongo_check, register_health
from news_mongo.metrics import MongoMetrics


class TestMetrics:
    async def test_commands_are_observed_by_name_and_collection(
        self, mongo: Any, recording_metrics: Any
    ) -> None:
        """Each command is recorded with its collection; a duplicate key is an error by name."""
        async with Mongo(mongo.settings(), name="svc", metrics=recording_metrics) as client:
            articles = client.collection("articles")
            await articles.insert_one({"_id": 1, "title": "secret title"})
            await articles.get(1)
            await articles.count()
            with pytest.raises(news_mongo.DuplicateKeyError):
                await articles.insert_one({"_id": 1})
            assert "svc" in recording_metrics.pools
            assert recording_metrics.pools["svc"]().max_size == 16
        observed = recording_metrics.observed
        assert ("svc", "insert", "articles", None) in observed
        assert ("svc", "find", "articles", None) in observed
        assert ("svc", "aggregate", "articles", None) in observed  # count_documents
        assert ("svc", "insert", "articles", "DuplicateKey") in observed
        assert all("secret" not in str(entry) for entry in observed)
        assert "svc" not in recording_metrics.pools  # stop() unwatched the pool

    async def test_noop_metrics_and_off_record_nothing(self, mongo: Any) -> None:
        """metrics=NoopMetrics() (or the setting off) installs no command listener."""
        async with Mongo(mongo.settings(metrics="off")) as client:
            assert client._metrics is None
        async with Mongo(mongo.settings(metrics="on"), metrics=news_mongo.NoopMetrics()) as client:
            assert client._metrics is None
            await client.collection("a").insert_one({"_id": 1})

    async def test_prometheus_families(self, mongo_private_server: Any) -> None:
        """Durations, errors, pool gauges and pool timeouts show up in the registry."""
        server = mongo_private_server()
        registry = CollectorRegistry()
        metrics = MongoMetrics(registry=registry)
        settings = server.settings(max_pool_size=1, pool_timeout=0.2, connect_timeout=20.0)
        async with Mongo(settings, name="prom", metrics=metrics) as client:
            articles = client.collection("articles")
            await articles.insert_one({"_id": 1})
            with pytest.raises(news_mongo.DuplicateKeyError):
                await articles.insert_one({"_id": 1})
            labels = {"client": "prom", "command": "insert", "collection": "articles"}
            count = registry.get_sample_value("mongodb_command_duration_seconds_count", labels)
            assert count == 2
            errors = registry.get_sample_value(
                "mongodb_command_errors_total", {**labels, "error": "DuplicateKey"}
            )
            assert errors == 1
            assert (
                registry.get_sample_value(
                    "mongodb_pool_connections", {"client": "prom", "state": "max"}
                )
                == 1
            )
            server.pause()
            holder = asyncio.create_task(articles.count())
            try:
                while client.pool_stats().in_use < 1:
                    await asyncio.sleep(0.02)
                assert (
                    registry.get_sample_value(
                        "mongodb_pool_connections", {"client": "prom", "state": "in_use"}
                    )
                    == 1
                )
                with pytest.raises(news_mongo.PoolTimeoutError):
                    await articles.get(1)
            finally:
                server.resume()
            await asyncio.gather(holder, return_exceptions=True)
            timeouts = registry.get_sample_value(
                "mongodb_pool_checkout_errors_total", {"client": "prom", "reason": "timeout"}
            )
            assert timeouts is not None
            assert timeouts >= 1


class TestHealth:
    async def test_health_check_passes_and_fails(self, mongo_private_server: Any) -> None:
        """The readiness check passes with the pool use; a stopped server fails it in time."""
        server = mongo_private_server()
        settings = server.settings(connect_timeout=20.0)
        async with Mongo(settings, name="ready") as client:
            check = mongo_check(client, timeout=0.5)
            result = await check()
            assert result.status == news_health.Status.PASS
            assert "connections in use" in (result.output or "")
            await asyncio.to_thread(server.stop)
            failed = await asyncio.wait_for(check(), 10)  # bounded by the check's timeout
            assert failed.status == news_health.Status.FAIL
            assert "MongoDB" in (failed.output or "")
            await asyncio.to_thread(server.start)
        closed = await check()
        assert closed.status == news_health.Status.FAIL
        assert "not running" in (closed.output or "")

    def test_register_health_adds_a_readiness_check(self, mongo: Any) -> None:
        """register_health adds 'mongodb' as a readiness check; a bad timeout is refused."""
        registry = news_health.HealthRegistry(service_id="svc")
        client = Mongo(mongo.settings())
        register_health(registry, client)
        assert registry.names("readiness") == ["mongodb"]
        with pytest.raises(news_mongo.MongoConfigError):
            mongo_check(client, timeout=0)
