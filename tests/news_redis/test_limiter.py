"""The rate limiter: exact sliding windows in Redis and in memory, fallbacks, failure modes."""

from __future__ import annotations

import asyncio
import math

import msgspec
import pytest

import news_redis
from news_log.testing import capture_logs
from news_redis import MemoryBackend, Rate, RateLimiter, Redis


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        """The time."""
        return self.now


class TestRate:
    @pytest.mark.parametrize(
        ("text", "limit", "period"),
        [
            ("100/minute", 100, 60.0),
            ("10/s", 10, 1.0),
            ("5/10s", 5, 10.0),
            ("1000 per hour", 1000, 3600.0),
            ("2/1.5m", 2, 90.0),
            ("7/day", 7, 86400.0),
        ],
    )
    def test_parses_the_usual_spellings(self, text, limit, period):
        """LIMIT/PERIOD with units s, m, h, d (and words)."""
        assert Rate.parse(text) == Rate(limit, period)

    @pytest.mark.parametrize("text", ["", "100", "0/minute", "10/fortnight", "x/s", "-1/s"])
    def test_refuses_what_is_not_a_rate(self, text):
        """A clear RedisConfigError shows the expected shape."""
        with pytest.raises(news_redis.RedisConfigError, match="100/minute"):
            Rate.parse(text)


class TestMemoryBackend:
    async def test_window_is_exact(self):
        """Limit per period, refused until the oldest unit leaves, then admitted again."""
        clock = FakeClock()
        limiter = RateLimiter(MemoryBackend(clock=clock))
        results = []
        for _ in range(4):  # at 1000, 1001, 1002, 1003
            results.append(await limiter.check("k", "3/10s"))
            clock.now += 1.0
        assert [r.allowed for r in results] == [True, True, True, False]
        assert [r.remaining for r in results] == [2, 1, 0, 0]
        assert results[3].retry_after == 7.0  # the first unit leaves at 1010
        assert results[3].reset_after == 7.0
        assert results[3].source == "memory"
        clock.now = 1009.999
        assert not (await limiter.check("k", "3/10s")).allowed
        clock.now = 1010.0
        again = await limiter.check("k", "3/10s")
        assert again.allowed
        assert again.remaining == 0
        assert limiter.outcomes == {"allowed": 4, "limited": 2}

    def test_keys_are_bounded(self):
        """At most max_keys keys are kept (least recently used dropped)."""
        backend = MemoryBackend(max_keys=2)
        for key in "abc":
            backend.hit(key, Rate(1, 60), 1)
        assert len(backend) == 2
        assert backend.hit("a", Rate(1, 60), 1).allowed  # "a" was dropped

    def test_cost_above_the_limit_never_fits(self):
        """A request costing more than the limit is refused with an infinite retry."""
        result = MemoryBackend().hit("k", Rate(2, 60), 3)
        assert not result.allowed
        assert math.isinf(result.retry_after)


class TestRedisBackend:
    async def test_window_and_retry_after_are_exact(self, redis_settings):
        """Redis's window: remaining counts down; retry_after is when a unit leaves."""
        async with Redis(redis_settings) as client:
            limiter = RateLimiter(client)
            results = [await limiter.check("k", "3/2s") for _ in range(4)]
            assert [r.allowed for r in results] == [True, True, True, False]
            assert [r.remaining for r in results] == [2, 1, 0, 0]
            assert {r.source for r in results} == {"redis"}
            refused = results[3]
            assert 0 < refused.retry_after <= 2.0
            assert refused.reset_after == refused.retry_after  # the oldest unit leaves first
            await asyncio.sleep(refused.retry_after)
            assert (await limiter.check("k", "3/2s")).allowed  # no later than it said

    async def test_cost_and_keys(self, redis_settings):
        """Units are counted per key; a cost takes several; cost 0 only reads."""
        async with Redis(redis_settings) as client:
            limiter = RateLimiter(client)
            assert (await limiter.check("a", "10/minute", cost=7)).remaining == 3
            assert not (await limiter.check("a", "10/minute", cost=4)).allowed
            assert (await limiter.check("a", "10/minute", cost=0)).remaining == 3
            assert (await limiter.check("b", "10/minute")).remaining == 9
            never = await limiter.check("a", "10/minute", cost=11)
            assert not never.allowed
            assert math.isinf(never.retry_after)
            ttl = await client.execute("PTTL", "ratelimit:default:a")
            assert 0 < ttl <= 60_000

    async def test_concurrent_checks_admit_exactly_the_limit(self, redis_settings):
        """500 concurrent checks on one key: exactly the limit admitted."""
        async with Redis(redis_settings) as client:
            limiter = RateLimiter(client)
            results = await asyncio.gather(
                *(limiter.check("burst", "50/minute") for _ in range(500))
            )
        assert sum(r.allowed for r in results) == 50
        assert sorted(r.remaining for r in results if r.allowed) == list(range(50))

    async def test_fast_path_gives_the_same_verdicts_as_redis_py(self, redis_settings, monkeypatch):
        """The compat module's EVALSHA fast path and redis-py's evalsha agree."""
        from news_redis import _redispy

        async def verdicts() -> list[tuple[bool, int]]:
            async with Redis(redis_settings) as client:
                await client.execute("FLUSHALL")
                limiter = RateLimiter(client)
                results = [await limiter.check("k", "5/minute", cost=c) for c in (1, 2, 3, 1, 1)]
            return [(r.allowed, r.remaining) for r in results]

        assert _redispy.fast_paths()
        fast = await verdicts()
        monkeypatch.setattr(_redispy, "fast_paths", lambda: False)
        slow = await verdicts()
        assert fast == slow == [(True, 4), (True, 2), (False, 2), (True, 1), (True, 0)]


class TestFailureModes:
    async def test_fail_open_falls_back_in_process_and_logs_at_a_bounded_rate(
        self, redis_private_server, metrics
    ):
        """Redis down: the in-process limiter decides, one log line, every check counted."""
        server = redis_private_server()
        settings = server.settings()
        async with Redis(settings, metrics=metrics) as client:
            limiter = RateLimiter(client, retry_interval=0.0, log_interval=60.0)
            assert (await limiter.check("k", "3/minute")).source == "redis"
            server.stop()
            with capture_logs() as lines:
                results = [await limiter.check("k", "3/minute") for _ in range(5)]
            assert [r.allowed for r in results] == [True, True, True, False, False]
            assert {r.source for r in results} == {"fallback"}
            warnings = [x for x in lines if x["msg"].startswith("rate limit backend unavailable")]
            assert len(warnings) == 1
            assert warnings[0]["policy"] == "default"
            assert "RedisConnectionError" in warnings[0]["error"]
            assert limiter.outcomes == {"allowed": 1, "fallback_allowed": 3, "fallback_limited": 2}
            assert ("rate_limited", "default", "fallback_limited") in metrics.calls
            server.start()
            assert (await limiter.check("k", "3/minute")).source == "redis"  # recovered

    async def test_fail_closed_raises_and_skips_redis_for_the_retry_interval(
        self, redis_private_server
    ):
        """fail='closed': RateLimitUnavailableError; then no Redis call until retry_interval."""
        server = redis_private_server()
        async with Redis(server.settings()) as client:
            limiter = RateLimiter(client, retry_interval=60.0)
            server.stop()
            with pytest.raises(news_redis.RateLimitUnavailableError, match="unavailable"):
                await limiter.check("k", "3/minute", fail="closed")
            server.start()
            with pytest.raises(news_redis.RateLimitUnavailableError, match="retrying soon"):
                await limiter.check("k", "3/minute", fail="closed")
            limiter.retry_interval = 0.0
            limiter._down_until = 0.0
            assert (await limiter.check("k", "3/minute", fail="closed")).allowed

    async def test_without_fallback_fail_open_admits(self, redis_private_server):
        """fallback=False: an unavailable backend admits (counted as failed_open)."""
        server = redis_private_server()
        async with Redis(server.settings()) as client:
            limiter = RateLimiter(client, fallback=False)
            server.stop()
            result = await limiter.check("k", "1/minute")
            assert result.allowed
            assert result.source == "unavailable"
            assert limiter.outcomes == {"failed_open": 1}

    def test_check_sync_from_a_thread(self, redis_settings):
        """check_sync runs on the client's loop from another thread; refuses on the loop."""

        async def main() -> list[bool]:
            async with Redis(redis_settings) as client:
                limiter = RateLimiter(client)
                results = await asyncio.gather(
                    *(asyncio.to_thread(limiter.check_sync, "t", "2/minute") for _ in range(3))
                )
                with pytest.raises(RuntimeError, match="await check"):
                    limiter.check_sync("t", "2/minute")
                return sorted(r.allowed for r in results)

        assert asyncio.run(main()) == [False, True, True]

    def test_settings_struct_round_trip(self):
        """Rate is a msgspec Struct: it can live in settings."""
        assert msgspec.json.decode(msgspec.json.encode(Rate(5, 1.0)), type=Rate) == Rate(5, 1.0)


class TestEncoding:
    def test_commands_are_encoded_as_redis_py_packs_them(self):
        """The fast path's RESP encoding equals redis-py's own packer, byte for byte."""
        from redis.asyncio.connection import Connection

        from news_redis import _redispy

        args = ("EVALSHA", "a" * 40, 1, "ratelimit:default:ip:1.2.3.4", 100, 60_000_000, 1, "m:7")
        packed = b"".join(Connection().pack_command(*args))
        assert _redispy.encode_command(*args) == packed
        script = Redis().script("return 1")
        script.sha = "a" * 40
        assert script.evalsha_command(args[3:4], args[4:]) == packed
        assert _redispy.encode_command("SET", "é", 1.5) == b"".join(
            Connection().pack_command("SET", "é", 1.5)
        )
        with pytest.raises(TypeError, match="bool"):
            _redispy.encode_command("SET", "k", True)
