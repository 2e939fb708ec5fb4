"""Database.transaction: commit, rollback, isolation, and retries of conflicts only."""

from __future__ import annotations

import asyncio

import pytest

import news_db


@pytest.fixture
async def accounts(db: news_db.Database) -> news_db.Database:
    """Two accounts of 100 each."""
    await db.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
    await db.executemany("INSERT INTO accounts VALUES ($1, $2)", [(1, 100), (2, 100)])
    return db


class TestTransactionBlock:
    async def test_commits_on_success_and_rolls_back_on_error(self, accounts):
        """The with block commits when it ends normally; an exception rolls everything back."""
        async with accounts.transaction() as tx:
            await tx.execute("UPDATE accounts SET balance = 50 WHERE id = 1")
        assert await accounts.fetchval("SELECT balance FROM accounts WHERE id = 1") == 50

        async def fails() -> None:
            async with accounts.transaction() as tx:
                await tx.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await fails()
        assert await accounts.fetchval("SELECT balance FROM accounts WHERE id = 1") == 50
        assert accounts.pool_stats().in_use == 0

    async def test_isolation_and_readonly_reach_the_server(self, accounts):
        """isolation= and readonly= set the transaction's characteristics."""
        async with accounts.transaction(isolation="serializable", readonly=True) as tx:
            assert await tx.fetchval("SHOW transaction_isolation") == "serializable"
            assert await tx.fetchval("SHOW transaction_read_only") == "on"
            with pytest.raises(news_db.QueryError) as info:
                await tx.execute("UPDATE accounts SET balance = 0")
            assert info.value.sqlstate == "25006"  # read_only_sql_transaction

    async def test_errors_inside_are_translated(self, accounts):
        """A constraint violation inside the block is the typed news-db error."""
        with pytest.raises(news_db.UniqueViolationError):
            async with accounts.transaction() as tx:
                await tx.execute("INSERT INTO accounts VALUES (1, 0)")


async def transfer(db: news_db.Database, source: int, target: int, amount: int, barrier) -> int:
    """Move money at SERIALIZABLE; both transfers read before either writes (a conflict)."""
    calls = 0

    async def body(tx: news_db.Connection) -> None:
        nonlocal calls
        calls += 1
        total = await tx.fetchval("SELECT sum(balance) FROM accounts")
        assert total == 200  # the invariant, as every attempt sees it
        balance = await tx.fetchval("SELECT balance FROM accounts WHERE id = $1", source)
        if calls == 1:
            await barrier.wait()  # the other transaction has read too
        await tx.execute("UPDATE accounts SET balance = $2 WHERE id = $1", source, balance - amount)
        await tx.execute("UPDATE accounts SET balance = balance + $2 WHERE id = $1", target, amount)

    await db.transaction(body, isolation="serializable", retries=10)
    return calls


class TestRetries:
    async def test_concurrent_serializable_transfers_all_complete_and_keep_the_total(
        self, accounts
    ):
        """Two transfers that conflict: one is retried, both apply, the total stays 200."""
        barrier = asyncio.Barrier(2)
        calls = await asyncio.gather(
            transfer(accounts, 1, 2, 30, barrier), transfer(accounts, 2, 1, 10, barrier)
        )
        assert sorted(calls)[-1] >= 2, calls  # at least one conflict was retried
        rows = await accounts.fetch("SELECT id, balance FROM accounts ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, 80), (2, 120)]
        assert sum(r["balance"] for r in rows) == 200

    async def test_many_concurrent_transfers_keep_the_invariant(self, postgres):
        """Twenty random transfers at SERIALIZABLE over a small pool: every one applies."""
        settings = postgres.settings(max_size=4, metrics="off", acquire_timeout=30)
        async with news_db.Database(settings) as db:
            await db.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
            await db.executemany("INSERT INTO accounts VALUES ($1, 1000)", [(i,) for i in range(4)])

            async def move(n: int) -> None:
                async def body(tx: news_db.Connection) -> None:
                    a, b = n % 4, (n + 1) % 4
                    await tx.execute("UPDATE accounts SET balance = balance - 7 WHERE id = $1", a)
                    await asyncio.sleep(0.001)
                    await tx.execute("UPDATE accounts SET balance = balance + 7 WHERE id = $1", b)

                await db.transaction(body, isolation="serializable", retries=50)

            await asyncio.gather(*(move(n) for n in range(20)))
            assert await db.fetchval("SELECT sum(balance) FROM accounts") == 4000
            balances = [r["balance"] for r in await db.fetch("SELECT balance FROM accounts")]
            assert balances == [1000] * 4  # each account sent 5x7 and received 5x7

    async def test_gives_up_after_the_retries_with_the_attempt_count(self, accounts):
        """A conflict on every attempt raises RetryableTransactionError after retries + 1."""
        calls = 0

        async def always_conflicts(tx: news_db.Connection) -> None:
            nonlocal calls
            calls += 1
            await tx.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"
            )

        with pytest.raises(news_db.RetryableTransactionError) as info:
            await accounts.transaction(always_conflicts, retries=2)
        assert calls == 3
        assert info.value.attempts == 3
        assert info.value.sqlstate == "40001"

    async def test_deadlocks_are_retried(self, accounts):
        """A deadlock (40P01) is retried like a serialization failure."""
        calls = 0

        async def deadlocks_once(tx: news_db.Connection) -> str:
            nonlocal calls
            calls += 1
            if calls == 1:
                await tx.execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$"
                )
            return "done"

        assert await accounts.transaction(deadlocks_once, retries=1) == "done"
        assert calls == 2

    async def test_other_errors_are_never_retried(self, accounts):
        """A unique violation or an exception of the body runs the body once."""
        calls = 0

        async def duplicate(tx: news_db.Connection) -> None:
            nonlocal calls
            calls += 1
            await tx.execute("INSERT INTO accounts VALUES (1, 0)")

        with pytest.raises(news_db.UniqueViolationError):
            await accounts.transaction(duplicate, retries=5)
        assert calls == 1

    async def test_a_commit_time_serialization_failure_is_retried(self, accounts):
        """A conflict reported by COMMIT (deferred constraint) is retried: nothing committed."""
        await accounts.execute(
            """
            CREATE TABLE attempts (n serial PRIMARY KEY);
            CREATE FUNCTION fail_first() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF (SELECT count(*) FROM attempts) = 1 THEN
                    RAISE EXCEPTION 'commit conflict' USING ERRCODE = '40001';
                END IF;
                RETURN NULL;
            END $$;
            CREATE CONSTRAINT TRIGGER at_commit AFTER INSERT ON attempts
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_first();
            """
        )
        calls = 0

        async def body(tx: news_db.Connection) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                await tx.execute("INSERT INTO attempts DEFAULT VALUES")  # fails at COMMIT
            else:
                await tx.execute("UPDATE accounts SET balance = 1 WHERE id = 1")

        await accounts.transaction(body, retries=3)
        assert calls == 2
        assert await accounts.fetchval("SELECT count(*) FROM attempts") == 0

    async def test_never_retried_once_the_commit_outcome_is_unknown(self, accounts):
        """Connection lost during COMMIT: CommitUnknownError, and the body ran once."""
        await accounts.execute(
            """
            CREATE TABLE slow_commit (n int);
            CREATE FUNCTION sleep_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON slow_commit
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sleep_at_commit();
            """
        )
        calls = 0
        pids: list[int] = []

        async def body(tx: news_db.Connection) -> None:
            nonlocal calls
            calls += 1
            pids.append(await tx.fetchval("SELECT pg_backend_pid()"))
            await tx.execute("INSERT INTO slow_commit VALUES (1)")

        async def kill_while_committing() -> None:
            while not pids:
                await asyncio.sleep(0.01)
            while not await accounts.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND query = 'COMMIT;'",
                pids[0],
            ):
                await asyncio.sleep(0.02)
            await accounts.fetchval("SELECT pg_terminate_backend($1)", pids[0])

        killer = asyncio.ensure_future(kill_while_committing())
        with pytest.raises(news_db.CommitUnknownError, match="not retried"):
            async with asyncio.timeout(30):
                await accounts.transaction(body, retries=5)
        await killer
        assert calls == 1
        assert isinstance(news_db.CommitUnknownError("x"), ConnectionError)
        assert accounts.pool_stats().in_use == 0
        assert await accounts.fetchval("SELECT 1") == 1
