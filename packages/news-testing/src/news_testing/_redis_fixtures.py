"""pytest fixtures for Redis tests (registered by ``news_testing.plugin``).

- ``redis_server`` (session): a private ``redis-server`` on a free loopback port, started once
  and always stopped; or the server named by ``NEWS_TEST_REDIS_URL`` (a database of its own).
- ``redis`` (function): that server, running and flushed before the test. A test may stop or
  restart it (fault tests); the next test gets it running again.
- ``redis_private_server`` (function): a factory of servers of the test's own
  (``redis_private_server()``), stopped after the test.
- ``redis_settings``: ``news_redis.RedisSettings`` for ``redis`` (needs
  ``news-testing[redis]``).

The log tail of each server a failing test used is attached to its report. This module imports
nothing heavy.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing.redis import RedisServer

_REDIS_FIXTURES: Final = frozenset(
    {"redis", "redis_server", "redis_private_server", "redis_settings"}
)
_servers_key = pytest.StashKey["list[RedisServer]"]()
_session_server: list[RedisServer] = []


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis server for the whole session (private, or ``NEWS_TEST_REDIS_URL``)."""
    from news_testing.redis import REDIS_URL_ENV, RedisServer

    external = os.environ.get(REDIS_URL_ENV, "").strip()
    if external:
        yield RedisServer.external(external)
        return
    server = RedisServer(log_path=tmp_path_factory.mktemp("redis") / "redis.log")
    server.start()
    _session_server.append(server)
    try:
        yield server
    finally:
        _session_server.remove(server)
        server.close()


@pytest.fixture
def redis(redis_server: RedisServer) -> RedisServer:
    """The session's Redis server, running and empty (flushed) when the test starts."""
    if (not redis_server.running or not redis_server.ping()) and not redis_server.is_external:
        redis_server.resume()  # a test may have left it paused
        if not redis_server.ping():
            redis_server.restart()
    redis_server.flush()
    return redis_server


@pytest.fixture
def redis_private_server(
    request: pytest.FixtureRequest, tmp_path: Any
) -> Iterator[Callable[[], RedisServer]]:
    """Start servers of this test's own (``redis_private_server()``); stopped afterwards."""
    from news_testing.redis import RedisServer

    started: list[RedisServer] = []

    def start() -> RedisServer:
        server = RedisServer(log_path=tmp_path / f"redis-{len(started)}.log")
        started.append(server)
        request.node.stash.setdefault(_servers_key, []).append(server)
        return server.start()

    yield start
    for server in started:
        server.resume()
        server.close()


@pytest.fixture
def redis_settings(redis: RedisServer) -> Any:
    """``news_redis.RedisSettings`` for the ``redis`` server, with test-friendly timeouts."""
    return redis.settings()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the server log to the report of a failing test that used a Redis fixture."""
    report = yield
    if report.failed and _REDIS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        for server in [*_session_server, *item.stash.get(_servers_key, [])]:
            tail = server.log_tail(50)
            if tail:
                report.sections.append((f"redis log {server.url} (tail)", tail))
    return report
