"""news_db.metrics (Prometheus families) and news_db.health (readiness)."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

import news_db
import news_health
from news_db.health import database_check, register_health
from news_db.metrics import DBMetrics


def sample(registry: CollectorRegistry, name: str, labels: dict[str, str]) -> float | None:
    """A sample's value from a registry."""
    return registry.get_sample_value(name, labels)


class TestMetricsHook:
    async def test_calls_are_observed_by_operation_never_sql(self, postgres, recording_metrics):
        """Each call reports its operation name (or method) and error class to the hook."""
        hook = recording_metrics
        async with news_db.Database(postgres.settings(), name="svc", metrics=hook) as db:
            assert "svc" in hook.pools
            await db.fetchval("SELECT 1", operation="articles.count")
            await db.fetch("SELECT 1")
            with pytest.raises(news_db.QueryError):
                await db.execute("SELEC 1", operation="broken")
            with pytest.raises(news_db.QueryTimeoutError):
                await db.execute("SELECT pg_sleep(5)", timeout=0.1)
            async with db.transaction() as tx:
                await tx.execute("SELECT 1", operation="in.tx")
        assert hook.observed == [
            ("svc", "articles.count", None),
            ("svc", "fetch", None),
            ("svc", "broken", "42"),
            ("svc", "execute", "timeout"),
            ("svc", "in.tx", None),
        ]
        assert "svc" not in hook.pools  # unwatched at stop

    async def test_noop_metrics_and_off_record_nothing(self, postgres):
        """metrics=NoopMetrics() or metrics="off" turn the hook off."""
        async with news_db.Database(postgres.settings(), metrics=news_db.NoopMetrics()) as db:
            assert db._metrics is None
        async with news_db.Database(postgres.settings(metrics="off")) as db:
            assert db._metrics is None


class TestPrometheus:
    async def test_families_show_durations_errors_and_the_pool(self, postgres):
        """DBMetrics exposes durations by operation, errors by SQLSTATE class, pool gauges."""
        registry = CollectorRegistry()
        metrics = DBMetrics(registry=registry)
        settings = postgres.settings(min_size=2, max_size=3)
        async with news_db.Database(settings, name="newsroom", metrics=metrics) as db:
            await db.fetchval("SELECT 1", operation="articles.get")
            await db.execute("CREATE TABLE t (id int PRIMARY KEY)")
            await db.execute("INSERT INTO t VALUES (1)")
            with pytest.raises(news_db.UniqueViolationError):
                await db.execute("INSERT INTO t VALUES (1)", operation="articles.insert")
            async with db.acquire():
                labels = {"database": "newsroom"}
                assert sample(registry, "db_pool_connections", {**labels, "state": "max"}) == 3
                assert sample(registry, "db_pool_connections", {**labels, "state": "in_use"}) == 1
                assert sample(registry, "db_pool_waiting", labels) == 0
        count = sample(
            registry,
            "db_query_duration_seconds_count",
            {"database": "newsroom", "operation": "articles.get"},
        )
        assert count == 1
        errors = sample(
            registry,
            "db_query_errors_total",
            {"database": "newsroom", "operation": "articles.insert", "error_class": "23"},
        )
        assert errors == 1
        assert sample(registry, "db_pool_waiting", {"database": "newsroom"}) is None

    def test_operation_names_are_capped(self):
        """Past max_operations distinct names, new ones are counted as 'other'."""
        registry = CollectorRegistry()
        metrics = DBMetrics(registry=registry, max_operations=2)
        for name in ("a", "b", "c", "d"):
            metrics.observe("db", name, 0.001, None)
        labels = {"database": "db", "operation": "other"}
        assert sample(registry, "db_query_duration_seconds_count", labels) == 2

    async def test_default_hook_when_prometheus_is_installed(self, postgres):
        """metrics="auto" (the default) reports to one shared DBMetrics."""
        async with (
            news_db.Database(postgres.settings()) as one,
            news_db.Database(postgres.settings()) as two,
        ):
            assert isinstance(one._metrics, DBMetrics)
            assert one._metrics is two._metrics


class TestHealth:
    async def test_check_passes_then_fails_when_stopped(self, postgres):
        """The readiness check passes with the pool's use; a stopped Database fails it."""
        db = news_db.Database(postgres.settings(metrics="off"))
        check = database_check(db, timeout=2.0)
        assert (await check()).status == news_health.Status.FAIL  # not started
        async with db:
            result = await check()
            assert result.status == news_health.Status.PASS
            assert result.observed_unit == "ms"
            assert "connections in use" in (result.output or "")
        assert (await check()).status == news_health.Status.FAIL

    async def test_register_health_adds_readiness_postgres(self, postgres):
        """register_health adds a critical readiness check named postgres."""
        registry = news_health.HealthRegistry(
            news_health.HealthSettings(loop_lag_threshold=None, default_cache_ttl=0.0)
        )
        registry.mark_started()
        async with news_db.Database(postgres.settings(metrics="off")) as db:
            register_health(registry, db)
            report = await registry.check_readiness()
            assert report.ok
            assert "postgres" in report.checks
        report = await registry.check_readiness()
        assert not report.ok

    def test_timeout_must_be_positive(self, postgres):
        """A non-positive timeout is a DBConfigError."""
        with pytest.raises(news_db.DBConfigError):
            database_check(news_db.Database(postgres.settings(metrics="off")), timeout=0)

    async def test_saturated_pool_fails_readiness(self, postgres):
        """Every connection held: the check fails within its timeout, naming the pool size."""
        settings = postgres.settings(min_size=1, max_size=1, metrics="off")
        async with news_db.Database(settings) as db, db.acquire():
            async with asyncio.timeout(10):
                result = await database_check(db, timeout=0.3)()
        assert result.status == news_health.Status.FAIL
        assert "pool size 1" in (result.output or "")
