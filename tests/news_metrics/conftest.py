"""Fixtures for news-metrics tests: isolated registries, captured warnings, tool lookup."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry

import news_metrics
from news_metrics import _prometheus

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "packages" / "news-metrics" / "src" / "news_metrics" / "dashboards"
RULES = DASHBOARDS / "news-alerts.rules.yml"


class ListHandler(logging.Handler):
    """Keeps the records news-metrics logs (its stdlib logger), for assertions."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)

    def messages(self, level: int = logging.WARNING) -> list[str]:
        """The formatted messages at *level* or above."""
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh registry, so each test sees exact values."""
    return CollectorRegistry()


@pytest.fixture
def logged() -> Iterator[ListHandler]:
    """Capture what the news_metrics logger emits during the test."""
    logger = logging.getLogger("news_metrics")
    handler = ListHandler()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.fixture(params=["fast", "public"])
def recorder_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the direct recorders and again with prometheus-client's public methods."""
    old = _prometheus.use_fast_path(request.param == "fast")
    yield request.param
    _prometheus.use_fast_path(old)


@pytest.fixture
def settings() -> Iterator[None]:
    """Restore the default process-wide settings after a test that calls news_metrics.setup()."""
    yield
    news_metrics.setup(news_metrics.MetricsSettings())


def tool(name: str) -> str:
    """Path of a Prometheus binary, or fail saying how to install it (never skip)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: run `python3 tools/dev.py system-deps` as root (it installs "
            "what tools/system-deps.toml lists; `python3 tools/dev.py test` does it first)",
            pytrace=False,
        )
    return path


def _run_python(code: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run *code* in a fresh interpreter of this environment; fail with its output if it fails."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def run_python():
    """A function running code in a fresh interpreter (process-wide state stays untouched)."""
    return _run_python


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of promtool; fails (never skips) with the install line when it is missing."""
    return tool("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    """Path of prometheus; fails (never skips) with the install line when it is missing."""
    return tool("prometheus")
