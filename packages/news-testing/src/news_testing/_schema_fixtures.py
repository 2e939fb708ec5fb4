"""pytest fixtures for Schema Registry tests (registered by ``news_testing.plugin``).

- ``schema_registry`` (function): a Confluent-compatible registry of the test's own on a free
  loopback port, in this process (`news_testing.schema_registry.SchemaRegistryServer`): stop
  and start it for outage tests, read ``requests`` for cache tests.
- ``schema_registry_settings``: ``news_schema.RegistrySettings`` for it with short timeouts
  (needs ``news-testing[schema]``).

Nothing heavy is imported at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.schema_registry import SchemaRegistryServer


@pytest.fixture
def schema_registry() -> Iterator[SchemaRegistryServer]:
    """A Confluent-compatible Schema Registry of this test's own (BACKWARD by default)."""
    from news_testing.schema_registry import SchemaRegistryServer

    server = SchemaRegistryServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def schema_registry_settings(schema_registry: SchemaRegistryServer) -> Any:
    """``news_schema.RegistrySettings`` for ``schema_registry``: 2 s calls, 2 attempts."""
    from news_testing.schema_registry import registry_test_settings

    return registry_test_settings(schema_registry.url)
