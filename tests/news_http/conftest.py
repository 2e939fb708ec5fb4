"""Fixtures for news-http tests: apps from ``news_http_test_apps`` served in real processes.

``serve(app, settings, **kwargs)`` is a context manager serving ``news_http_test_apps:<app>``;
``local(**fields)`` makes loopback settings (news-testing picks a free port).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import news_http
from news_testing.http import serve_app

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing.http import ServerProcess

APPS_DIR = Path(__file__).parent


def _local(**fields: Any) -> news_http.HTTPSettings:
    fields.setdefault("host", "127.0.0.1")
    return news_http.HTTPSettings(**fields)


@contextlib.contextmanager
def _serving(
    app: str = "standard", settings: news_http.HTTPSettings | None = None, **kwargs: Any
) -> Iterator[ServerProcess]:
    with serve_app(
        f"news_http_test_apps:{app}",
        settings=settings if settings is not None else _local(),
        pythonpath=[APPS_DIR],
        **kwargs,
    ) as server:
        yield server


@pytest.fixture(scope="session")
def local() -> Callable[..., news_http.HTTPSettings]:
    """Make HTTPSettings for a loopback test server: ``local(max_body_bytes=10)``."""
    return _local


@pytest.fixture(scope="session")
def serve() -> Callable[..., contextlib.AbstractContextManager[ServerProcess]]:
    """Return a context manager serving a test app (app name, settings, serve_app options)."""
    return _serving


@pytest.fixture(scope="module")
def standard_server() -> Iterator[ServerProcess]:
    """The standard test app with default settings, shared by a module's tests."""
    with _serving("standard") as server:
        yield server
