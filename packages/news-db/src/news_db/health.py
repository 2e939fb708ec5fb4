"""Readiness for PostgreSQL on news-health (``pip install "news-db[health]"``).

With news-http nothing is needed: ``app.manage(db)`` registers ``db.health_check`` as the
readiness check ``postgres``. Without it::

    import news_health
    from news_db.health import register_health

    registry = news_health.HealthRegistry(service_id="indexer")
    register_health(registry, db)  # readiness "postgres"

The check runs ``SELECT 1`` through the pool within ``timeout``; it fails when the server
does not answer, the pool is not running, or every connection is busy for that long (a
saturated pool: the output names the pool size and the waiters). Never put it in liveness:
a database outage would restart every pod at once and fix nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Final

try:
    from news_health import CheckResult, Status
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the install
    if _missing.name is None or not _missing.name.startswith("news_health"):
        raise
    raise ModuleNotFoundError(
        'news_db.health needs news-health: pip install "news-db[health]"', name="news_health"
    ) from _missing

from news_db._errors import DBConfigError, NewsDBError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from news_db._database import Database
    from news_health import HealthRegistry

__all__ = ["CHECK_NAME", "database_check", "register_health"]

CHECK_NAME: Final = "postgres"
"""The name `register_health` gives the check (the same as news-http's for ``app.manage``)."""


def database_check(db: Database, *, timeout: float = 2.0) -> Callable[[], Awaitable[CheckResult]]:
    """A readiness check: ``SELECT 1`` through ``db``'s pool within ``timeout`` seconds.

    Passes with the round trip in ms and the pool's use; fails (never raises) otherwise.

    Raises:
        DBConfigError: ``timeout`` is not positive.
    """
    if not timeout > 0:
        raise DBConfigError(f"database_check timeout must be > 0 seconds, not {timeout!r}")

    async def check() -> CheckResult:
        started = time.perf_counter()
        try:
            output = await db.health_check(timeout=timeout)
        except (NewsDBError, TimeoutError) as exc:
            return CheckResult(
                Status.FAIL, f"{type(exc).__name__}: {exc}", component_type="datastore"
            )
        millis = round((time.perf_counter() - started) * 1000, 3)
        return CheckResult(
            Status.PASS,
            output,
            observed_value=millis,
            observed_unit="ms",
            component_type="datastore",
        )

    check.__name__ = check.__qualname__ = f"database_check({db.name})"
    return check


def register_health(
    registry: HealthRegistry, db: Database, *, critical: bool = True, timeout: float = 2.0
) -> None:
    """Add ``db``'s readiness check (``postgres``) to a news-health registry.

    Raises:
        news_health.CheckConfigError: A check of that name is registered already.
        DBConfigError: ``timeout`` is not positive.
    """
    registry.add(
        CHECK_NAME,
        database_check(db, timeout=timeout),
        probe="readiness",
        critical=critical,
        timeout=timeout + 1.0,
    )
