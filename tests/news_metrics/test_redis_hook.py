"""RedisMetrics: the news-redis hook records command latency, errors, pool use, rate limits."""

from __future__ import annotations

import news_metrics
from news_redis import RedisMetricsHook


class TestRedisMetrics:
    def test_satisfies_the_news_redis_hook_protocol(self, registry):
        """A RedisMetrics instance is structurally a news-redis RedisMetricsHook."""
        hook: RedisMetricsHook = news_metrics.RedisMetrics(registry=registry)
        assert isinstance(hook, RedisMetricsHook)

    def test_commands_errors_and_pool(self, registry, recorder_path):
        """Latency per client and command, errors by type, the pool's use after each command."""
        hook = news_metrics.RedisMetrics(registry=registry)
        in_use = [3]
        hook.pool("cache", 10, lambda: in_use[0])
        hook.command("cache", "GET", 0.0002)
        hook.command("cache", "GET", 0.003)
        in_use[0] = 1
        hook.command_failed("cache", "SET", "RedisTimeoutError")
        get = registry.get_sample_value
        labels = {"client": "cache", "command": "GET"}
        assert get("redis_command_duration_seconds_count", labels) == 2
        assert get("redis_command_duration_seconds_bucket", {**labels, "le": "0.00025"}) == 1
        error = {"client": "cache", "command": "SET", "error_type": "RedisTimeoutError"}
        assert get("redis_command_errors_total", error) == 1
        assert get("redis_pool_connections_max", {"client": "cache"}) == 10
        assert get("redis_pool_connections_in_use", {"client": "cache"}) == 1

    def test_rate_limit_decisions(self, registry, recorder_path):
        """Each decision counts by policy and outcome."""
        hook = news_metrics.RedisMetrics(registry=registry)
        for outcome in ("allowed", "allowed", "limited", "fallback_allowed"):
            hook.rate_limited("writes", outcome)
        get = registry.get_sample_value
        total = "redis_ratelimit_decisions_total"
        assert get(total, {"policy": "writes", "outcome": "allowed"}) == 2
        assert get(total, {"policy": "writes", "outcome": "fallback_allowed"}) == 1

    def test_a_name_clash_is_logged_and_commands_go_on(self, registry, logged):
        """A registry that already has a Redis family name: logged, never raised."""
        from prometheus_client import Counter

        Counter("redis_command_errors_total", "someone else's", registry=registry)
        hook = news_metrics.RedisMetrics(registry=registry)
        hook.command("cache", "GET", 0.001)
        hook.command_failed("cache", "GET", "RedisCommandError")
        assert logged.messages()
