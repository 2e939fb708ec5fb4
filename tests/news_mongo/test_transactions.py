"""Transactions: commit, abort, retries on TransientTransactionError and unknown commits."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

import news_mongo
from news_mongo import Mongo, Transaction


async def _fail_point(client: Mongo, mode: Any, data: dict[str, Any]) -> None:
    """Arm (or, with mode "off", disarm) the server's failCommand fail point."""
    try:
        await client.client.admin.command(
            {"configureFailPoint": "failCommand", "mode": mode, "data": data}
        )
    except Exception as exc:
        if not os.environ.get("NEWS_TEST_MONGO_URI"):
            raise  # news-testing's SecantusDB runs with test commands on: a failure is a failure
        pytest.skip(f"the server has no test commands (configureFailPoint): {exc}")


class TestTransactions:
    async def test_commit_writes_both_collections(self, client: Mongo) -> None:
        """The body's writes are committed together; its result is returned."""

        async def publish(tx: Transaction) -> str:
            await tx.collection("articles").insert_one({"_id": 1, "state": "live"})
            await tx.collection("events").insert_one({"_id": 1, "kind": "published"})
            return "done"

        assert await client.transaction(publish) == "done"
        assert await client.collection("articles").count() == 1
        assert await client.collection("events").count() == 1

    async def test_an_error_in_the_body_rolls_back(self, client: Mongo) -> None:
        """An exception aborts the transaction: nothing it wrote stays; the error propagates."""

        async def fails(tx: Transaction) -> None:
            await tx.collection("articles").insert_one({"_id": 1})
            raise LookupError("no section")

        with pytest.raises(LookupError, match="no section"):
            await client.transaction(fails)
        assert await client.collection("articles").count() == 0

    async def test_a_duplicate_in_the_body_rolls_back_and_is_not_retried(
        self, client: Mongo
    ) -> None:
        """A duplicate key inside a transaction is a DuplicateKeyError; the body ran once."""
        await client.collection("articles").insert_one({"_id": 1})
        runs: list[int] = []

        async def duplicate(tx: Transaction) -> None:
            runs.append(tx.attempt)
            await tx.collection("events").insert_one({"_id": 9})
            await tx.collection("articles").insert_one({"_id": 1})

        with pytest.raises(news_mongo.DuplicateKeyError):
            await client.transaction(duplicate)
        assert runs == [1]
        assert await client.collection("events").count() == 0

    async def test_a_write_conflict_is_retried(self, client: Mongo) -> None:
        """Two transactions writing one document: the loser is re-run and both increments land."""
        counters = client.collection("counters")
        await counters.insert_one({"_id": "views", "n": 0})
        first_wrote = asyncio.Event()
        second_tried = asyncio.Event()
        attempts: list[int] = []

        async def first(tx: Transaction) -> None:
            await tx.collection("counters").update_one({"_id": "views"}, {"$inc": {"n": 1}})
            first_wrote.set()
            await second_tried.wait()  # hold the write until the other one hit it

        async def second(tx: Transaction) -> None:
            attempts.append(tx.attempt)
            try:
                await tx.collection("counters").update_one({"_id": "views"}, {"$inc": {"n": 1}})
            finally:
                second_tried.set()

        async def run_second() -> None:
            await first_wrote.wait()
            await client.transaction(second, retries=20)

        async with asyncio.timeout(60):
            await asyncio.gather(client.transaction(first), run_second())
        assert len(attempts) >= 2  # the first attempt met the write conflict
        document = await counters.get("views")
        assert document is not None
        assert document["n"] == 2

    async def test_retries_are_bounded(self, client: Mongo) -> None:
        """Past its retries a conflict is a TransactionConflictError with the attempts."""
        counters = client.collection("counters")
        await counters.insert_one({"_id": "views", "n": 0})
        holding = asyncio.Event()
        release = asyncio.Event()

        async def holder(tx: Transaction) -> None:
            await tx.collection("counters").update_one({"_id": "views"}, {"$inc": {"n": 1}})
            holding.set()
            await release.wait()

        async def loser(tx: Transaction) -> None:
            await tx.collection("counters").update_one({"_id": "views"}, {"$inc": {"n": 10}})

        task = asyncio.create_task(client.transaction(holder))
        try:
            await holding.wait()
            with pytest.raises(news_mongo.TransactionConflictError) as caught:
                await client.transaction(loser, retries=1)
            assert caught.value.attempts == 2
            assert "TransientTransactionError" in caught.value.labels
        finally:
            release.set()
            await task
        document = await counters.get("views")
        assert document is not None
        assert document["n"] == 1

    async def test_an_unknown_commit_result_is_committed_again(self, client: Mongo) -> None:
        """CommitTransaction failing with UnknownTransactionCommitResult is retried; body once."""
        runs: list[int] = []

        async def body(tx: Transaction) -> None:
            runs.append(tx.attempt)
            await tx.collection("articles").insert_one({"_id": 1})

        await _fail_point(
            client,
            {"times": 2},
            {
                "failCommands": ["commitTransaction"],
                "errorCode": 50,  # MaxTimeMSExpired: not retried by pymongo itself
                "errorLabels": ["UnknownTransactionCommitResult"],
            },
        )
        try:
            await client.transaction(body)
        finally:
            await _fail_point(client, "off", {})
        assert runs == [1]
        assert await client.collection("articles").count() == 1

    async def test_a_commit_that_stays_unknown_is_not_rerun(self, client: Mongo) -> None:
        """Past the commit retries: CommitUnknownError; the body is never run again."""
        runs: list[int] = []

        async def body(tx: Transaction) -> None:
            runs.append(tx.attempt)
            await tx.collection("articles").insert_one({"_id": 1})

        await _fail_point(
            client,
            "alwaysOn",
            {
                "failCommands": ["commitTransaction"],
                "errorCode": 50,
                "errorLabels": ["UnknownTransactionCommitResult"],
            },
        )
        try:
            with pytest.raises(news_mongo.CommitUnknownError, match="not re-run"):
                await client.transaction(body, retries=2)
        finally:
            await _fail_point(client, "off", {})
        assert runs == [1]
