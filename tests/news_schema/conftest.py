"""Shared types and fixtures of the news-schema tests (the registry comes from news-testing)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

import news_schema

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def registry(
    schema_registry_settings: news_schema.RegistrySettings,
) -> AsyncIterator[news_schema.SchemaRegistry]:
    """A started news-schema client of the test's own registry."""
    async with news_schema.SchemaRegistry(schema_registry_settings) as client:
        yield client


async def _eventually(condition: Any, *, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def eventually() -> Any:
    """Return a poller: await it with a condition; it fails the test when time runs out."""
    return _eventually
