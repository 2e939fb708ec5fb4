"""pytest fixtures for MongoDB tests (registered by ``news_testing.plugin``).

- ``mongo_server`` (session): a private SecantusDB server on a free loopback port, started
  once and always stopped; or the MongoDB named by ``NEWS_TEST_MONGO_URI``.
- ``mongo`` (function): a `MongoTestDatabase` of its own on that server (fresh name, dropped
  after the test). A test may stop, pause or restart the session's private server (fault
  tests); the next test gets it running again.
- ``mongo_settings``: ``news_mongo.MongoSettings`` for ``mongo`` (needs
  ``news-testing[mongo]``).
- ``mongo_private_server`` (function): a factory of servers of the test's own
  (``mongo_private_server()``), stopped after the test; skips when ``NEWS_TEST_MONGO_URI`` is
  set only if the test asks for a private server that cannot be had.

The log tail of each server a failing test used is attached to its report. This module imports
nothing heavy.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing.mongo import MongoServer, MongoTestDatabase

_MONGO_FIXTURES: Final = frozenset(
    {"mongo", "mongo_server", "mongo_private_server", "mongo_settings"}
)
_servers_key = pytest.StashKey["list[MongoServer]"]()
_session_server: list[MongoServer] = []


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    """A MongoDB server for the whole session (private SecantusDB, or ``NEWS_TEST_MONGO_URI``)."""
    from news_testing.mongo import MONGO_URI_ENV, MongoServer

    external = os.environ.get(MONGO_URI_ENV, "").strip()
    if external:
        yield MongoServer.external(external)
        return
    server = MongoServer(log_path=tmp_path_factory.mktemp("mongo") / "mongo.log")
    server.start()
    _session_server.append(server)
    try:
        yield server
    finally:
        _session_server.remove(server)
        server.close()


@pytest.fixture
def mongo(mongo_server: MongoServer) -> Iterator[MongoTestDatabase]:
    """A fresh database of the session's server for this test, dropped afterwards."""
    if not mongo_server.is_external and not (mongo_server.running and mongo_server.ping(1.0)):
        mongo_server.resume()  # a test may have left it paused
        if not mongo_server.ping(2.0):
            mongo_server.restart()
    database = mongo_server.database()
    yield database
    if mongo_server.is_external or mongo_server.running:
        if not mongo_server.is_external:
            mongo_server.resume()
        database.drop()


@pytest.fixture
def mongo_settings(mongo: MongoTestDatabase) -> Any:
    """``news_mongo.MongoSettings`` for the ``mongo`` database, with test-friendly timeouts."""
    return mongo.settings()


@pytest.fixture
def mongo_private_server(
    request: pytest.FixtureRequest, tmp_path: Any
) -> Iterator[Callable[[], MongoServer]]:
    """Start servers of this test's own (``mongo_private_server()``); stopped afterwards."""
    from news_testing.mongo import MongoServer

    started: list[MongoServer] = []

    def start() -> MongoServer:
        server = MongoServer(log_path=tmp_path / f"mongo-{len(started)}.log")
        started.append(server)
        request.node.stash.setdefault(_servers_key, []).append(server)
        return server.start()

    yield start
    for server in started:
        server.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the server log to the report of a failing test that used a MongoDB fixture."""
    report = yield
    if report.failed and _MONGO_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        for server in [*_session_server, *item.stash.get(_servers_key, [])]:
            tail = server.log_tail(50)
            if tail:
                report.sections.append((f"mongo log {server.host}:{server.port} (tail)", tail))
    return report
