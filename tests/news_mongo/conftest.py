"""Shared fixtures of the news-mongo tests (databases come from news-testing's ``mongo``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import news_mongo

Eventually = Callable[..., Awaitable[None]]


async def _eventually(
    condition: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def eventually() -> Eventually:
    """Return a poller: await it with a condition; it fails the test when time runs out."""
    return _eventually


@pytest.fixture
async def client(mongo: Any) -> AsyncIterator[news_mongo.Mongo]:
    """A started Mongo on the test's own fresh database (metrics off)."""
    async with news_mongo.Mongo(mongo.settings(), name="news-mongo-tests") as started:
        yield started


class RecordingMetrics:
    """A MongoMetricsHook that records every call."""

    def __init__(self) -> None:
        self.observed: list[tuple[str, str, str, str | None]] = []
        self.pool_errors: list[tuple[str, str]] = []
        self.pools: dict[str, Callable[[], news_mongo.PoolStats]] = {}

    def observe(
        self, client: str, command: str, collection: str, seconds: float, error: str | None
    ) -> None:
        """Record the command."""
        assert seconds >= 0
        self.observed.append((client, command, collection, error))

    def pool_error(self, client: str, reason: str) -> None:
        """Record the failed checkout."""
        self.pool_errors.append((client, reason))

    def watch_pool(self, client: str, stats: Callable[[], news_mongo.PoolStats]) -> None:
        """Record the pool."""
        self.pools[client] = stats

    def unwatch_pool(self, client: str) -> None:
        """Forget the pool."""
        self.pools.pop(client, None)


@pytest.fixture
def recording_metrics() -> RecordingMetrics:
    """A metrics hook that keeps what it is told."""
    return RecordingMetrics()
