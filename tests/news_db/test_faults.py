"""Faults against real servers: a restarted server, cancellations, PgBouncer, a full pool.

Restarts happen on a PostgreSQL cluster of the test's own (news-testing's ``postgres_private``,
never the shared server); cancellations and PgBouncer use a fresh database on the shared one.
"""

from __future__ import annotations

import asyncio
import collections
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

import news_db
from news_testing import PgBouncer


def private_settings(server, **overrides) -> news_db.DatabaseSettings:
    """Settings for a database on a private server, with short timeouts."""
    fields = {
        "host": server.host,
        "port": server.port,
        "database": "faults",
        "min_size": 2,
        "max_size": 5,
        "connect_timeout": 2.0,
        "acquire_timeout": 5.0,
        "statement_timeout": 5.0,
        "metrics": "off",
    }
    fields.update(overrides)
    return news_db.DatabaseSettings(**fields)


class TestServerRestart:
    async def test_restart_during_traffic_fails_fast_then_recovers(self, postgres_private):
        """In-flight calls fail clearly, nothing hangs, calls and health recover, no row lost."""
        await asyncio.to_thread(_admin, postgres_private.dsn, "CREATE DATABASE faults")
        async with news_db.Database(private_settings(postgres_private), name="faults") as db:
            await db.execute("CREATE TABLE acked (id bigint PRIMARY KEY)")
            outcomes: collections.Counter[str] = collections.Counter()
            acked: list[int] = []
            stop = asyncio.Event()
            ids = iter(range(1_000_000))

            async def worker() -> None:
                while not stop.is_set():
                    n = next(ids)
                    try:
                        async with asyncio.timeout(20):  # a hang would show up here
                            await db.execute("INSERT INTO acked VALUES ($1)", n)
                    except news_db.DBConnectionError:
                        outcomes["DBConnectionError"] += 1
                        await asyncio.sleep(0.02)
                    except TimeoutError as exc:
                        if isinstance(exc, news_db.NewsDBError):
                            outcomes[type(exc).__name__] += 1
                        else:
                            outcomes["HANG"] += 1
                    else:
                        acked.append(n)
                        outcomes["ok"] += 1

            workers = [asyncio.ensure_future(worker()) for _ in range(8)]
            await _wait(lambda: outcomes["ok"] >= 50, "traffic before the restart")
            assert (await db.health_check()).endswith("waiting")

            await asyncio.to_thread(postgres_private.stop, "fast")
            await _wait(lambda: outcomes["DBConnectionError"] >= 10, "calls to fail")
            with pytest.raises(news_db.NewsDBError):
                async with asyncio.timeout(10):
                    await db.health_check(timeout=2.0)
            ok_while_down = outcomes["ok"]

            await asyncio.to_thread(postgres_private.start)
            await _wait(lambda: outcomes["ok"] >= ok_while_down + 50, "calls to succeed again")
            stop.set()
            await asyncio.gather(*workers)

            assert outcomes["HANG"] == 0, outcomes
            assert set(outcomes) <= {"ok", "DBConnectionError", "PoolTimeoutError"}, outcomes
            assert "connections in use" in await db.health_check()
            stats = db.pool_stats()
            assert (stats.in_use, stats.waiting) == (0, 0), stats
            assert stats.size <= 5
            stored = {r["id"] for r in await db.fetch("SELECT id FROM acked")}
            assert set(acked) <= stored  # every acknowledged insert survived the restart

    async def test_a_query_in_flight_gets_the_connection_error(self, postgres_private):
        """A statement running when the server stops fails at once with DBConnectionError."""
        await asyncio.to_thread(_admin, postgres_private.dsn, "CREATE DATABASE faults")
        async with news_db.Database(private_settings(postgres_private)) as db:
            running = asyncio.ensure_future(db.fetchval("SELECT pg_sleep(30)"))
            await asyncio.sleep(0.5)
            started = time.monotonic()
            await asyncio.to_thread(postgres_private.stop, "fast")
            with pytest.raises(news_db.DBConnectionError) as info:
                async with asyncio.timeout(20):
                    await running
            assert time.monotonic() - started < 15
            sqlstate = info.value.sqlstate or "08000"
            assert sqlstate == "57P01" or sqlstate.startswith("08"), sqlstate
            with pytest.raises(news_db.DBConnectionError, match=str(postgres_private.port)):
                await db.fetchval("SELECT 1")
            await asyncio.to_thread(postgres_private.start)
            assert await db.fetchval("SELECT 1") == 1


def _admin(dsn: str, sql: str) -> None:
    """Run SQL on a server's postgres database."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


async def _wait(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class TestCancellation:
    async def test_a_thousand_cancelled_queries_leak_nothing(self, postgres):
        """1,000 queries cancelled mid-statement: stopped on the server, the pool whole."""
        name = f"cancel-{uuid.uuid4().hex[:8]}"
        settings = postgres.settings(min_size=5, max_size=5, metrics="off", acquire_timeout=30)
        async with news_db.Database(settings, name=name) as db:
            admin = news_db.Database(postgres.settings(max_size=1, metrics="off"), name="admin")
            async with admin:

                async def active() -> int:
                    return await admin.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
                        "AND state = 'active' AND query LIKE 'SELECT pg_sleep%'",
                        name,
                    )

                cancelled = 0
                while cancelled < 1_000:
                    batch = [
                        asyncio.ensure_future(db.fetchval("SELECT pg_sleep(60)")) for _ in range(5)
                    ]
                    deadline = time.monotonic() + 30
                    while await active() < 5:  # all five run on the server
                        assert time.monotonic() < deadline, "queries did not start"
                        await asyncio.sleep(0.005)
                    for task in batch:
                        task.cancel()
                    results = await asyncio.gather(*batch, return_exceptions=True)
                    assert all(isinstance(r, asyncio.CancelledError) for r in results), results
                    cancelled += len(batch)

                async def settled() -> bool:
                    stats = db.pool_stats()
                    return stats.in_use == 0 and stats.idle == stats.size == 5

                await _eventually(settled, "the pool to have every connection idle")
                await _eventually(
                    lambda: _no_active(active), "no pg_sleep left running on the server"
                )
                backends = await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", name
                )
                assert backends == 5  # no orphaned backend: exactly the pool's connections
                calls = (db.fetchval("SELECT $1::int", i) for i in range(20))
                values = await asyncio.gather(*calls)
                assert values == list(range(20))  # every connection is clean and usable

    async def test_waiters_cancelled_in_the_queue_free_their_place(self, postgres):
        """Callers cancelled while waiting for a connection leave the count of waiters right."""
        settings = postgres.settings(min_size=1, max_size=2, metrics="off", acquire_timeout=30)
        async with news_db.Database(settings) as db:
            async with db.acquire(), db.acquire():
                waiters = [asyncio.ensure_future(db.fetchval("SELECT 1")) for _ in range(50)]
                await _wait(lambda: db.pool_stats().waiting == 50, "50 waiters")
                for task in waiters:
                    task.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)
                assert db.pool_stats().waiting == 0
            assert db.pool_stats().in_use == 0
            assert await asyncio.gather(*(db.fetchval("SELECT 2") for _ in range(4))) == [2] * 4


async def _no_active(active) -> bool:
    return await active() == 0


async def _eventually(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


CLIENT = textwrap.dedent(
    """
    import asyncio, sys
    import news_db
    from news_config import Secret

    async def main():
        settings = news_db.DatabaseSettings(
            dsn=Secret(sys.argv[1]), min_size=4, max_size=4, metrics="off",
            statement_cache_size=int(sys.argv[2]),
        )
        errors = []
        ok = 0
        async with news_db.Database(settings) as db:
            async def one(i):
                nonlocal ok
                try:
                    await db.fetchval(f"SELECT $1::int + {i % 40}", i)
                    await db.fetchval("SELECT '{\\"a\\": 1}'::jsonb")
                    ok += 1
                except news_db.NewsDBError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
            for round in range(10):
                await asyncio.gather(*(one(i + 40 * round) for i in range(40)))
        print(ok)
        for error in errors:
            print(error.replace("\\n", " "))

    asyncio.run(main())
    """
)


class TestPgBouncer:
    def run_clients(self, bouncer: PgBouncer, database: str, cache: int) -> list[str]:
        """Two processes of four connections each, 400 calls each, through pgbouncer."""
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CLIENT, bouncer.dsn(database), str(cache)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
            for _ in range(2)
        ]
        outputs = []
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            outputs.append(out)
        return outputs

    def test_transaction_mode_works_with_statement_cache_size_0(self, postgres):
        """statement_cache_size=0 behind PgBouncer (transaction mode): every call succeeds."""
        with PgBouncer(postgres.server.host, postgres.server.port, pool_size=2) as bouncer:
            outputs = self.run_clients(bouncer, postgres.name, cache=0)
        assert [out.splitlines() for out in outputs] == [["400"], ["400"]], outputs

    def test_the_default_cache_fails_with_an_error_naming_the_setting(self, postgres):
        """With the default cache, prepared statements clash: the error says what to set."""
        with PgBouncer(postgres.server.host, postgres.server.port, pool_size=2) as bouncer:
            outputs = self.run_clients(bouncer, postgres.name, cache=100)
        errors = [line for out in outputs for line in out.splitlines()[1:]]
        assert errors, outputs  # the clash happens
        kinds = sorted({e[:60] for e in errors})
        assert all(e.startswith("StatementCacheError: ") for e in errors), kinds
        assert all("statement_cache_size=0" in e for e in errors), errors
        assert any("already exists" in e for e in errors) or any(
            "does not exist" in e for e in errors
        ), errors
