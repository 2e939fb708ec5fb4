"""pytest fixtures for PostgreSQL tests (registered by ``news_testing.plugin``).

- ``postgres_server`` (session): the server, local ``127.0.0.1:5432`` or
  ``NEWS_TEST_POSTGRES_DSN``.
- ``postgres_migrations``: what every ``postgres`` database starts with; None by default.
  Override it in a conftest (``return "myservice:migrations"``) to get migrated databases.
- ``postgres``: a fresh, uniquely named database for the test (a `TestDatabase`), cloned
  from the migrated template, dropped afterwards.
- ``postgres_private``: a PostgreSQL cluster of the test's own (`PrivatePostgres`), for fault
  tests that stop or restart it; removed afterwards.

This module is imported in every pytest session: nothing heavy at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.postgres import PostgresServer, PrivatePostgres, TestDatabase

_private_key = pytest.StashKey["list[PrivatePostgres]"]()


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The PostgreSQL server of the session (local, or ``NEWS_TEST_POSTGRES_DSN``)."""
    from news_testing.postgres import PostgresServer

    return PostgresServer()


@pytest.fixture
def postgres_migrations() -> Any:
    """Migrations every ``postgres`` database starts with (override it); None: none."""
    return None


@pytest.fixture
def postgres(
    request: pytest.FixtureRequest, postgres_server: PostgresServer, postgres_migrations: Any
) -> Iterator[TestDatabase]:
    """A fresh database for this test (cloned from the migrated template), then dropped."""
    database = postgres_server.new_database(request.node.name, migrations=postgres_migrations)
    try:
        yield database
    finally:
        try:
            database.drop()
        except Exception as exc:  # noqa: BLE001 - report, do not fail the test's teardown
            request.node.add_report_section(
                "teardown", "postgres", f"could not drop {database.name}: {exc}"
            )


@pytest.fixture
def postgres_private(request: pytest.FixtureRequest) -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test's own (initdb + pg_ctl, a free port), for faults."""
    from news_testing.postgres import PrivatePostgres

    server = PrivatePostgres()
    request.node.stash.setdefault(_private_key, []).append(server)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach a private server's log to the report of a failing test that used one."""
    report = yield
    if report.failed:
        for server in item.stash.get(_private_key, []):
            report.sections.append((f"postgres log {server.port} (tail)", server.log_tail(80)))
    return report
