"""Cache (msgspec values, TTL, stampede protection) and Lock (token, compare-and-act)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import msgspec
import pytest

import news_redis
from news_redis import Cache, Lock, Redis


class Article(msgspec.Struct, frozen=True):
    id: int
    title: str


class TestCache:
    @pytest.mark.parametrize("serializer", ["msgpack", "json"])
    async def test_values_come_back_as_their_type(self, redis_settings, serializer):
        """A Struct, a list, None are stored and decoded; a miss is the default."""
        async with Redis(redis_settings) as client:
            cache = Cache(client, prefix="articles", serializer=serializer)
            await cache.set("7", Article(7, "Summit"))
            assert await cache.get("7", Article) == Article(7, "Summit")
            await cache.set("list", [Article(1, "a")], ttl=5)
            assert await cache.get("list", list[Article]) == [Article(1, "a")]
            await cache.set("none", None)
            assert await cache.get("none", default="miss") is None  # a cached None is a hit
            assert await cache.get("absent", Article, default="miss") == "miss"
            assert 0 < await client.execute("PTTL", "articles:list") <= 5000
            assert await cache.delete("7", "absent") == 1

    async def test_wrong_type_and_unencodable_values_are_cache_errors(self, redis_settings):
        """CacheError names the key and the fix."""
        async with Redis(redis_settings) as client:
            cache = Cache(client)
            await cache.set("n", 5)
            with pytest.raises(news_redis.CacheError, match=r"'n'.*does not decode"):
                await cache.get("n", Article)
            with pytest.raises(news_redis.CacheError, match="cannot encode"):
                await cache.set("x", object())

    async def test_concurrent_misses_compute_once(self, redis_settings):
        """100 concurrent callers of a missing key: one computation, one value for all."""
        calls = 0

        async with Redis(redis_settings) as client:
            cache = Cache(client)

            @cache.cached(ttl=30, type=Article)
            async def load(article_id: int) -> Article:
                nonlocal calls
                calls += 1
                await asyncio.sleep(0.1)
                return Article(article_id, f"article {article_id}")

            results = await asyncio.gather(*(load(7) for _ in range(100)))
            assert calls == 1
            assert set(results) == {Article(7, "article 7")}
            assert await load(7) == Article(7, "article 7")
            assert calls == 1
            await load(8)
            assert calls == 2
            assert await load.invalidate(7)
            assert not await load.invalidate(7)
            await load(7)
            assert calls == 3

    async def test_a_failed_computation_reaches_every_waiter_and_is_not_cached(
        self, redis_settings
    ):
        """The error goes to all concurrent callers; the next call computes again."""
        attempts = 0

        async def flaky() -> int:
            nonlocal attempts
            attempts += 1
            await asyncio.sleep(0.05)
            if attempts == 1:
                raise LookupError("not yet")
            return 42

        async with Redis(redis_settings) as client:
            cache = Cache(client)
            results = await asyncio.gather(
                *(cache.get_or_compute("k", flaky) for _ in range(10)), return_exceptions=True
            )
            assert all(isinstance(r, LookupError) for r in results)
            assert await cache.get_or_compute("k", flaky) == 42
            assert attempts == 2

    def test_processes_share_one_computation(self, redis, tmp_path):
        """Two processes x 20 callers of a missing key: one computation in all."""
        marker = tmp_path / "computed"
        go = tmp_path / "go"
        script = tmp_path / "worker.py"
        script.write_text(WORKER)
        workers = [
            subprocess.Popen([sys.executable, str(script), redis.url, str(marker), str(go)])
            for _ in range(2)
        ]
        go.write_text("")  # both start their 20 calls about together
        for worker in workers:
            assert worker.wait(60) == 0
        assert marker.read_text().count("x") == 1


WORKER = """
import asyncio, os, sys, time
from pathlib import Path

import news_redis

url, marker, go = sys.argv[1:]


async def compute() -> str:
    with Path(marker).open("a") as out:
        out.write("x")
    await asyncio.sleep(0.3)
    return "value"


async def main() -> None:
    async with news_redis.Redis(news_redis.RedisSettings(url=url, metrics="off")) as client:
        cache = news_redis.Cache(client, poll_interval=0.01)
        while not os.path.exists(go):
            time.sleep(0.005)
        values = await asyncio.gather(
            *(cache.get_or_compute("shared", compute, type=str) for _ in range(20))
        )
        assert set(values) == {"value"}, values


asyncio.run(main())
"""


class TestLock:
    async def test_only_one_holder_and_release_frees_it(self, redis_settings):
        """A held lock cannot be taken; after release it can."""
        async with Redis(redis_settings) as client:
            first = Lock(client, "job", ttl=10)
            second = Lock(client, "job", ttl=10)
            assert await first.acquire()
            assert not await second.acquire()
            with pytest.raises(news_redis.LockNotAcquiredError, match="job"):
                async with Lock(client, "job", wait=0.1):
                    pass
            await first.release()
            async with second:
                assert second.held
            assert not second.held
            assert await client.get("lock:job") is None

    async def test_an_expired_lock_cannot_release_or_extend_the_new_holders(self, redis_settings):
        """Compare-and-act: the old holder gets LockLostError; the new holder keeps it."""
        async with Redis(redis_settings) as client:
            old = Lock(client, "job", ttl=0.1)
            assert await old.acquire()
            await asyncio.sleep(0.2)
            new = Lock(client, "job", ttl=10)
            assert await new.acquire()
            with pytest.raises(news_redis.LockLostError, match="expired"):
                await old.extend()
            with pytest.raises(RuntimeError):
                await old.release()  # extend() dropped its token
            assert await client.get("lock:job") == new.token.encode()
            await new.extend(30)
            assert 10_000 < await client.execute("PTTL", "lock:job") <= 30_000
            await new.release()

    async def test_release_after_expiry_says_the_work_may_have_overlapped(self, redis_settings):
        """LockLostError from release names the ttl."""
        async with Redis(redis_settings) as client:
            lock = Lock(client, "short", ttl=0.05)
            assert await lock.acquire()
            await asyncio.sleep(0.1)
            with pytest.raises(news_redis.LockLostError, match="overlapped"):
                await lock.release()

    async def test_waiting_acquire_gets_the_lock_when_released(self, redis_settings):
        """acquire(wait=) retries until the holder releases."""
        async with Redis(redis_settings) as client:
            holder = Lock(client, "w", ttl=10)
            await holder.acquire()
            waiter = asyncio.ensure_future(Lock(client, "w", ttl=10).acquire(wait=5))
            await asyncio.sleep(0.1)
            assert not waiter.done()
            await holder.release()
            assert await waiter
