"""Shared fixtures of the news-db tests (databases come from news-testing's ``postgres``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

import news_db

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
async def db(postgres: Any) -> AsyncIterator[news_db.Database]:
    """A started Database on the test's own fresh database (metrics off)."""
    async with news_db.Database(postgres.settings(metrics="off"), name="news-db-tests") as database:
        yield database


class RecordingMetrics:
    """A DBMetricsHook that records every call."""

    def __init__(self) -> None:
        self.observed: list[tuple[str, str, str | None]] = []
        self.pools: dict[str, Callable[[], news_db.PoolStats]] = {}

    def observe(self, database: str, operation: str, seconds: float, error: str | None) -> None:
        """Record the call."""
        assert seconds >= 0
        self.observed.append((database, operation, error))

    def watch_pool(self, database: str, stats: Callable[[], news_db.PoolStats]) -> None:
        """Record the pool."""
        self.pools[database] = stats

    def unwatch_pool(self, database: str) -> None:
        """Forget the pool."""
        self.pools.pop(database, None)


@pytest.fixture
def recording_metrics() -> RecordingMetrics:
    """A metrics hook that records its calls."""
    return RecordingMetrics()
