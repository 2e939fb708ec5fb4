"""pytest fixtures for HTTP tests (registered by ``news_testing.plugin``).

Kept cheap to import: `news_testing.http` (and news-http, httpx) load when a fixture is used.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing.http import ServerProcess


@pytest.fixture
def http_server() -> Iterator[Callable[..., ServerProcess]]:
    """Start news-http apps in real server processes; all are stopped when the test ends.

    Call it like `news_testing.http.start_app`::

        def test_health(http_server):
            server = http_server("myservice.main:app")
            assert server.client().get("/health").status_code == 200
    """
    from news_testing.http import start_app

    started: list[ServerProcess] = []

    def start(target: str, **kwargs: Any) -> ServerProcess:
        server = start_app(target, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.result is None:
            with contextlib.suppress(TimeoutError):
                server.stop()
        server.kill()
