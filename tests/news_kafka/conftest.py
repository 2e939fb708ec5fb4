"""Shared fixtures of the news-kafka tests (the broker fixtures come from news-testing)."""

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
    """A KafkaMetricsHook that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def published(self, topic: str, n: int) -> None:
        """Record the call."""
        self.calls.append(("published", topic, n))

    def publish_failed(self, topic: str, error_type: str) -> None:
        """Record the call."""
        self.calls.append(("publish_failed", topic, error_type))

    def consumed(self, topic: str, group: str) -> None:
        """Record the call."""
        self.calls.append(("consumed", topic, group))

    def handler_failed(self, topic: str, group: str, error_type: str) -> None:
        """Record the call."""
        self.calls.append(("handler_failed", topic, group, error_type))

    def dead_lettered(self, topic: str, group: str) -> None:
        """Record the call."""
        self.calls.append(("dead_lettered", topic, group))

    def handler_duration(self, topic: str, group: str, seconds: float) -> None:
        """Record the call."""
        self.calls.append(("handler_duration", topic, group))

    def lag(self, topic: str, partition: int, group: str, lag: int) -> None:
        """Record the call."""
        self.calls.append(("lag", topic, partition, group, lag))

    def names(self, name: str) -> list[tuple[Any, ...]]:
        """Return the calls of one method."""
        return [c for c in self.calls if c[0] == name]


@pytest.fixture
def metrics() -> RecordingMetrics:
    """A metrics hook that records its calls."""
    return RecordingMetrics()
