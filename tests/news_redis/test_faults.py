"""The client under faults: cancelled commands and pipelines, a slow server, restarts."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time

import pytest

import news_redis
from news_redis import RateLimiter, Redis


class DelayProxy:
    """A TCP proxy adding ``delay`` seconds each way, so cancellations land mid-command."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> DelayProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.ensure_future(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await source.read(65536):
                await asyncio.sleep(self.delay)
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(Exception):
            sink.close()


class TestCancellation:
    @pytest.mark.parametrize("fast_paths", [True, False])
    async def test_1000_cancelled_commands_and_pipelines_leave_the_pool_clean(
        self, redis, fast_paths, monkeypatch
    ):
        """Cancelled mid-flight: every connection back, none with an unread reply."""
        from news_redis import _redispy

        monkeypatch.setattr(_redispy, "fast_paths", lambda: fast_paths)
        rng = random.Random(7)
        async with DelayProxy(redis.port, delay=0.002) as proxy:
            settings = redis.settings(url=f"redis://127.0.0.1:{proxy.port}/0", pool_size=8)
            async with Redis(settings) as client:
                for i in range(50):
                    await client.set(f"k{i}", i)
                limiter = RateLimiter(client)

                def operation(i: int):
                    kind = i % 4
                    if kind == 0:
                        return client.get(f"k{i % 50}")
                    if kind == 1:
                        pipe = client.pipeline(transaction=i % 8 == 1)
                        pipe.command("INCR", "counter").command("GET", f"k{i % 50}")
                        return pipe.execute()
                    if kind == 2:
                        return limiter.check(f"c{i}", "1000/minute", fail="closed")
                    return client.execute("ECHO", f"echo-{i}")

                cancelled = 0
                for start in range(0, 1000, 50):
                    tasks = [asyncio.ensure_future(operation(i)) for i in range(start, start + 50)]
                    await asyncio.sleep(rng.uniform(0, 0.008))
                    for task in tasks:
                        cancelled += task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                assert cancelled > 500  # most were cancelled in flight
                assert client.in_use() == 0
                assert client.open_connections() in (None, *range(9))
                # Every connection answers its own command now (none hands out a stale reply).
                for _ in range(5):
                    echoes = await asyncio.gather(
                        *(client.execute("ECHO", f"check-{n}") for n in range(16))
                    )
                    assert echoes == [f"check-{n}".encode() for n in range(16)]
                    values = await asyncio.gather(*(client.get(f"k{n}") for n in range(50)))
                    assert values == [str(n).encode() for n in range(50)]
                    echo = client.script("return ARGV[1]")
                    answers = await asyncio.gather(*(echo((), (f"s{n}",)) for n in range(50)))
                    assert answers == [f"s{n}".encode() for n in range(50)]
                assert client.in_use() == 0


class TestSlowServer:
    async def test_slower_than_the_socket_timeout_fails_fast_and_recovers(
        self, redis_private_server
    ):
        """DEBUG SLEEP beyond socket_timeout: RedisTimeoutError in about the timeout."""
        server = redis_private_server()
        async with Redis(server.settings(socket_timeout=0.3)) as client:
            assert await client.ping()
            sleeper = threading.Thread(
                target=server.command, args=("DEBUG", "SLEEP", "2"), daemon=True
            )
            sleeper.start()
            await asyncio.sleep(0.1)
            started = time.monotonic()
            with pytest.raises(news_redis.RedisTimeoutError, match="socket_timeout") as info:
                await client.get("k")
            assert time.monotonic() - started < 1.5  # 0.3 s, not the 2 s sleep
            assert isinstance(info.value, TimeoutError)
            await asyncio.to_thread(sleeper.join)
            assert await client.get("k") is None  # the timed-out connection was replaced
            assert client.in_use() == 0


class TestRestart:
    async def test_pool_recovers_after_a_restart(self, redis_private_server):
        """Pooled connections die with the server; the next commands reconnect."""
        server = redis_private_server()
        async with Redis(server.settings(pool_size=4)) as client:
            await asyncio.gather(*(client.set(f"k{i}", i) for i in range(8)))
            await asyncio.to_thread(server.restart)  # the loop runs meanwhile, as in a service
            for _ in range(3):
                assert await asyncio.gather(*(client.get(f"k{i}") for i in range(8))) == [None] * 8
            assert client.in_use() == 0

    async def test_one_failure_after_a_restart_not_one_per_connection(self, redis_private_server):
        """After a restart at most one command fails; pooled connections are checked on use."""
        server = redis_private_server()
        async with Redis(server.settings(pool_size=4)) as client:
            await asyncio.gather(*(client.execute("ECHO", "x") for _ in range(4)))
            assert client.open_connections() == 4
            server.restart()  # the loop is blocked meanwhile: the EOFs are not seen yet
            failures = 0
            for i in range(8):
                try:
                    await client.get(f"k{i}")
                except news_redis.RedisConnectionError:
                    failures += 1
            assert failures == 1

    async def test_killed_server_gives_connection_errors_then_recovers(self, redis_private_server):
        """SIGKILL: commands fail with RedisConnectionError (no hang), then work again."""
        server = redis_private_server()
        async with Redis(server.settings()) as client:
            assert await client.ping()
            server.kill()
            with pytest.raises(news_redis.RedisConnectionError):
                await client.get("k")
            server.start()
            assert await client.ping()
