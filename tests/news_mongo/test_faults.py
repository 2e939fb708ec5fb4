"""The client under faults: a full pool, a server restarted during traffic, cancellations.

Each test runs its own private SecantusDB server (``mongo_private_server``), which it pauses
(SIGSTOP), stops and starts again; with ``NEWS_TEST_MONGO_URI`` set they still use a private
server, as a shared real server cannot be stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import pytest

import news_mongo
from news_mongo import Mongo

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


class TestPool:
    async def test_exhaustion_is_a_bounded_wait_with_a_clear_error(
        self, mongo_private_server: Callable[[], Any], eventually: Any
    ) -> None:
        """A full pool makes the next operation wait pool_timeout, then PoolTimeoutError."""
        server = mongo_private_server()
        settings = server.settings(max_pool_size=1, pool_timeout=0.3, socket_timeout=30.0)
        async with Mongo(settings, name="pool-test") as client:
            articles = client.collection("articles")
            await articles.insert_one({"_id": 1})
            # The server holds the next aggregate (count) for 3 s: it keeps the only connection.
            await client.client.admin.command(
                {
                    "configureFailPoint": "failCommand",
                    "mode": {"times": 1},
                    "data": {
                        "failCommands": ["aggregate"],
                        "blockConnection": True,
                        "blockTimeMS": 3000,
                    },
                }
            )
            holder = asyncio.create_task(articles.count())
            await eventually(lambda: client.pool_stats().in_use == 1, what="the holder")
            with pytest.raises(news_mongo.PoolTimeoutError) as caught:
                async with asyncio.timeout(20):  # no hang: pool_timeout bounds it
                    await articles.get(1)
            error = caught.value
            assert error.size == 1
            assert error.in_use == 1
            assert error.timeout == 0.3
            assert "pool size 1" in str(error)
            assert "max_pool_size" in str(error)
            assert isinstance(error, TimeoutError)
            assert await holder == 1  # the held operation finishes when the server lets go
            assert await articles.get(1) == {"_id": 1}
            assert client.pool_stats().in_use == 0


class TestRestart:
    async def test_server_restarted_during_traffic(
        self, mongo_private_server: Callable[[], Any], eventually: Any
    ) -> None:
        """Writers see clear errors while the server is down, none hangs, and all recover.

        Every insert that was acknowledged is in the database after the restart.
        """
        server = mongo_private_server()
        settings = server.settings(
            server_selection_timeout=1.0, socket_timeout=3.0, connect_timeout=1.0
        )
        acknowledged: list[int] = []
        errors: list[BaseException] = []
        stop = asyncio.Event()
        counter = iter(range(1_000_000))

        async with Mongo(settings, name="restart-test") as client:
            events = client.collection("events")

            async def writer() -> None:
                while not stop.is_set():
                    n = next(counter)
                    try:
                        async with asyncio.timeout(15):  # a hang fails the test
                            await events.insert_one({"_id": n})
                    except news_mongo.DuplicateKeyError:
                        acknowledged.append(n)  # retried write that had landed
                    except news_mongo.NewsMongoError as exc:
                        errors.append(exc)
                        await asyncio.sleep(0.05)
                    else:
                        acknowledged.append(n)

            writers = [asyncio.create_task(writer()) for _ in range(4)]
            try:
                await eventually(lambda: len(acknowledged) >= 20, what="traffic before")
                await asyncio.to_thread(server.stop)
                await eventually(lambda: len(errors) >= 4, what="errors while down")
                before = len(acknowledged)
                await asyncio.to_thread(server.start)
                await eventually(
                    lambda: len(acknowledged) >= before + 20, what="traffic after restart"
                )
            finally:
                stop.set()
                async with asyncio.timeout(30):
                    await asyncio.gather(*writers)
            kinds = {type(e) for e in errors}
            assert kinds <= {news_mongo.MongoConnectionError, news_mongo.MongoTimeoutError}, kinds
            assert all("127.0.0.1" in str(e) or "connection" in str(e).lower() for e in errors)
            stored = {d["_id"] for d in await events.find()}
            assert set(acknowledged) <= stored
            assert "connections in use" in await client.health_check()


class TestCancellation:
    async def test_cancelled_operations_leak_no_connections(
        self, mongo_private_server: Callable[[], Any], eventually: Any
    ) -> None:
        """Operations cancelled mid-flight give their connections back; the pool stays bounded."""
        server = mongo_private_server()
        settings = server.settings(
            max_pool_size=4,
            min_pool_size=4,
            pool_timeout=10.0,
            socket_timeout=30.0,
            connect_timeout=20.0,
        )
        async with Mongo(settings, name="cancel-test") as client:
            articles = client.collection("articles")
            await articles.insert_one({"_id": 1})
            await asyncio.gather(*(articles.get(1) for _ in range(16)))
            await eventually(lambda: client.pool_stats().open == 4, what="4 open connections")
            # The server holds the next 4 finds for 5 s: they keep all 4 connections.
            await client.client.admin.command(
                {
                    "configureFailPoint": "failCommand",
                    "mode": {"times": 4},
                    "data": {
                        "failCommands": ["find"],
                        "blockConnection": True,
                        "blockTimeMS": 5000,
                    },
                }
            )
            tasks = [asyncio.create_task(articles.get(1)) for _ in range(20)]
            await eventually(
                lambda: client.pool_stats()[2:] == (4, 16), what="4 in use and 16 waiting"
            )
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, asyncio.CancelledError) for r in results)
            await eventually(lambda: client.pool_stats().in_use == 0, what="connections back")
            for _ in range(3):  # the pool serves again at full width
                assert (
                    await asyncio.gather(*(articles.get(1) for _ in range(8))) == [{"_id": 1}] * 8
                )
            stats = client.pool_stats()
            assert (stats.open, stats.in_use, stats.waiting) <= (4, 0, 0), stats
            assert stats.open <= 4
            assert stats.in_use == 0
            assert stats.waiting == 0

            # The server agrees once it let go of the held finds: this client's pool (4) and its
            # monitors (2), nothing leaked.
            async def server_side_bounded() -> bool:
                status = await client.client.admin.command("serverStatus")
                return bool(status["connections"]["current"] <= 4 + 3)

            await eventually(server_side_bounded, what="the server's connection count")

    async def test_stop_with_the_server_gone_is_bounded(
        self, mongo_private_server: Callable[[], Any]
    ) -> None:
        """stop() returns (never raises) when the server is paused or dead."""
        server = mongo_private_server()
        client = Mongo(server.settings(), name="stop-test")
        await client.start()
        await client.collection("a").insert_one({"_id": 1})
        server.pause()
        try:
            async with asyncio.timeout(30):
                await client.stop(timeout=2.0)
        finally:
            server.resume()
        assert not client.running
        with contextlib.suppress(Exception):
            server.kill()
