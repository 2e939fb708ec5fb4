"""Fixtures for news-log tests: a fresh JSON log file per test, read back as parsed lines."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

import news_log

if TYPE_CHECKING:
    from pathlib import Path

ReadLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    """Configure news-log to write JSON at debug level into a file of this test."""
    path = tmp_path / "service.log"
    news_log.setup(
        news_log.LogSettings(
            format="json", output=str(path), level="debug", levels={"asyncio": "warning"}
        )
    )
    yield path
    news_log.setup(news_log.LogSettings(format="json", output="stderr"))


@pytest.fixture
def read_lines(log_path: Path) -> ReadLines:
    """Return a function that flushes news-log and parses every line written so far."""

    def read() -> list[dict[str, Any]]:
        assert news_log.flush(10.0), "news-log did not flush within 10 s"
        if not log_path.exists():
            return []
        return [json.loads(line) for line in log_path.read_text("utf-8").splitlines()]

    return read
