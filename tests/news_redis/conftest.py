"""Shared helpers of the news-redis tests (the Redis servers come from news-testing)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

Eventually = Callable[..., Awaitable[None]]


async def _eventually(
    condition: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition"
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
        await asyncio.sleep(0.02)


@pytest.fixture
def eventually() -> Eventually:
    """Return a poller: await it with a condition; it fails the test when time runs out."""
    return _eventually


class RecordingMetrics:
    """A RedisMetricsHook that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.pools: dict[str, tuple[int, Callable[[], int]]] = {}

    def command(self, client: str, command: str, seconds: float) -> None:
        """Record the call."""
        self.calls.append(("command", client, command))

    def command_failed(self, client: str, command: str, error_type: str) -> None:
        """Record the call."""
        self.calls.append(("command_failed", client, command, error_type))

    def pool(self, client: str, size: int, in_use: Callable[[], int]) -> None:
        """Record the call."""
        self.pools[client] = (size, in_use)

    def rate_limited(self, policy: str, outcome: str) -> None:
        """Record the call."""
        self.calls.append(("rate_limited", policy, outcome))

    def names(self, name: str) -> list[tuple[Any, ...]]:
        """Return the calls of one method."""
        return [c for c in self.calls if c[0] == name]


@pytest.fixture
def metrics() -> RecordingMetrics:
    """A metrics hook that records its calls."""
    return RecordingMetrics()
