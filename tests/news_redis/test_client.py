"""The Redis client against real servers: commands, scripts, pipelines, lifecycle, errors."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

import news_redis
from news_redis import Redis


class TestCommands:
    async def test_set_get_delete_round_trip(self, redis_settings):
        """Values go in and come back as bytes; ttl expires them; delete counts."""
        async with Redis(redis_settings) as client:
            assert await client.set("k", "v", ttl=60)
            assert await client.get("k") == b"v"
            assert not await client.set("k", "other", only_if_absent=True)
            assert await client.get("k") == b"v"
            assert 0 < await client.execute("PTTL", "k") <= 60_000
            assert await client.delete("k", "missing") == 1
            assert await client.get("k") is None

    async def test_script_loads_itself_and_runs_with_evalsha(self, redis, redis_settings):
        """A Script runs (EVAL the first time), then by SHA; a SCRIPT FLUSH is survived."""
        async with Redis(redis_settings) as client:
            add = client.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            assert await add(["n"], [5]) == 5
            assert await client.execute("SCRIPT", "EXISTS", add.sha) == [1]
            await client.execute("SCRIPT", "FLUSH")
            assert await add(["n"], [2]) == 7

    async def test_pipeline_is_one_transaction(self, redis_settings):
        """Queued commands run together and their replies come back in order."""
        async with Redis(redis_settings) as client:
            pipe = client.pipeline()
            pipe.command("INCR", "hits").command("EXPIRE", "hits", 60).command("GET", "hits")
            assert len(pipe) == 3
            assert await pipe.execute() == [1, True, b"1"]
            assert await pipe.execute() == []

    async def test_command_error_is_translated(self, redis_settings):
        """A server error becomes RedisCommandError naming the address, with the cause."""
        async with Redis(redis_settings) as client:
            await client.set("s", "text")
            with pytest.raises(news_redis.RedisCommandError, match="INCR") as info:
                await client.execute("INCR", "s")
            assert info.value.__cause__ is not None
            script = client.script("return redis.call('NOPE')")
            with pytest.raises(news_redis.RedisCommandError):
                await script()

    async def test_metrics_hook_sees_commands_and_failures(self, redis_settings, metrics):
        """Each command's latency and each failure reach the hook; the pool is registered."""
        async with Redis(redis_settings, metrics=metrics, name="cache") as client:
            await client.set("a", 1)
            with pytest.raises(news_redis.RedisCommandError):
                await client.execute("HGET", "a", "f")
            size, in_use = metrics.pools["cache"]
            assert (size, in_use()) == (redis_settings.pool_size, 0)
        assert ("command", "cache", "SET") in metrics.calls
        assert ("command_failed", "cache", "HGET", "RedisCommandError") in metrics.calls


class TestLifecycle:
    async def test_commands_before_start_and_after_stop_are_refused(self, redis_settings):
        """RedisClosedError says to start the client first."""
        client = Redis(redis_settings)
        with pytest.raises(news_redis.RedisClosedError, match="start"):
            await client.get("k")
        await client.start()
        await client.start()  # idempotent
        assert client.running
        await client.stop()
        await client.stop()
        assert not client.running
        with pytest.raises(news_redis.RedisClosedError):
            await client.get("k")

    async def test_health_check_reports_the_round_trip(self, redis_settings):
        """health_check() PINGs and returns its round trip; app.manage finds its name."""
        async with Redis(redis_settings) as client:
            output = await client.health_check()
        assert output.startswith("PONG in ")
        assert output.endswith(" ms")
        assert Redis.health_name == "redis"

    async def test_start_fails_clearly_when_nothing_listens(self):
        """start_check PINGs: a closed port is a RedisConnectionError naming the address."""
        from news_testing import free_port

        port = free_port()
        settings = news_redis.RedisSettings(port=port, connect_timeout=0.5, metrics="off")
        client = Redis(settings)
        with pytest.raises(news_redis.RedisConnectionError, match=f"127.0.0.1:{port}"):
            await client.start()
        assert not client.running
        lazy = Redis(msgspec.structs.replace(settings, start_check=False))
        await lazy.start()  # starts anyway
        with pytest.raises(news_redis.RedisUnavailableError):
            await lazy.get("k")
        await lazy.stop()

    async def test_wrong_password_is_a_clear_error(self, redis_private_server):
        """A server that requires a password: the error says to check the credentials."""
        server = redis_private_server()
        server.command("CONFIG", "SET", "requirepass", "right")
        bad = server.settings(password=news_redis._settings.Secret("wrong"))
        with pytest.raises(news_redis.RedisConnectionError, match=r"credentials|password"):
            await Redis(bad).start()
        password = news_redis._settings.Secret("right")
        right = server.settings(password=password, url=f"{server.url[:-2]}/3")
        async with Redis(right) as ok:
            assert await ok.ping()
            # scripts (the pipelined connection) authenticate and select the database too
            assert await ok.script("return redis.call('SET', KEYS[1], 'x')")(["in-3"]) == b"OK"
            assert await ok.get("in-3") == b"x"
        with pytest.raises(news_redis.RedisConnectionError, match="credentials"):
            async with Redis(msgspec.structs.replace(bad, start_check=False)) as client:
                await client.script("return 1")()


class TestPool:
    async def test_exhausted_pool_says_so(self, redis, redis_settings):
        """Commands beyond pool_size that wait longer than pool_timeout fail clearly."""
        settings = msgspec.structs.replace(
            redis_settings, pool_size=2, pool_timeout=0.2, socket_timeout=5.0
        )
        async with Redis(settings) as client:
            blockers = [
                asyncio.ensure_future(client.execute("BLPOP", f"never-{i}", 2)) for i in range(2)
            ]
            await asyncio.sleep(0.2)
            assert client.in_use() == 2
            started = time.monotonic()
            with pytest.raises(news_redis.PoolExhaustedError, match="pool exhausted") as info:
                await client.get("k")
            assert time.monotonic() - started < 1.5
            assert isinstance(info.value, TimeoutError)
            await asyncio.gather(*blockers)
            assert client.in_use() == 0
            assert await client.get("k") is None


class TestDefaultMetrics:
    async def test_auto_reports_to_news_metrics(self, redis_settings):
        """metrics='auto' with news-metrics installed: commands appear in the exposition."""
        import msgspec

        from news_metrics.testing import sample_value

        settings = msgspec.structs.replace(redis_settings, metrics="auto")
        async with Redis(settings, name="auto-metrics") as client:
            await client.set("k", "v")
            await client.get("k")
        labels = {"client": "auto-metrics", "command": "GET"}
        assert sample_value("redis_command_duration_seconds_count", labels) == 1
        assert sample_value("redis_pool_connections_in_use", {"client": "auto-metrics"}) == 0
