"""pytest fixtures for tests with a real OpenID provider (registered by ``news_testing.plugin``).

- ``oidc_provider`` (session): one oidc-provider process for the whole session; tests must not
  stop it or rotate its keys (use the private one for that).
- ``oidc_private_provider`` (function): a provider of the test's own, for fault tests
  (``.stop()``, ``.start()``, ``.rotate_keys()``).

Nothing heavy is imported at module level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.oidc import OIDCProvider


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OIDCProvider]:
    """A real OpenID provider (npm oidc-provider) for the session, on a loopback port."""
    from news_testing.oidc import OIDCProvider

    provider = OIDCProvider(log_path=tmp_path_factory.mktemp("oidc") / "oidc-provider.log")
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def oidc_private_provider(tmp_path: object) -> Iterator[OIDCProvider]:
    """A provider of the test's own: stop it, restart it, rotate its keys."""
    from pathlib import Path

    from news_testing.oidc import OIDCProvider

    provider = OIDCProvider(log_path=Path(str(tmp_path)) / "oidc-provider.log")
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()
