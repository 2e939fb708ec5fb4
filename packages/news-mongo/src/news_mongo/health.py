"""Readiness for MongoDB on news-health (``pip install "news-mongo[health]"``).

With news-http nothing is needed: ``app.manage(mongo)`` registers ``mongo.health_check`` as the
readiness check ``mongodb``. Without it::

    import news_health
    from news_mongo.health import register_health

    registry = news_health.HealthRegistry(service_id="indexer")
    register_health(registry, mongo)  # readiness "mongodb"

The check sends ``ping`` within ``timeout``; it fails when no server answers, the client is
not running, or no pooled connection is free for that long. Never put it in liveness: a
database outage would restart every pod at once and fix nothing.
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
        'news_mongo.health needs news-health: pip install "news-mongo[health]"',
        name="news_health",
    ) from _missing

from news_mongo._errors import MongoConfigError, NewsMongoError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from news_health import HealthRegistry
    from news_mongo._mongo import Mongo

__all__ = ["CHECK_NAME", "mongo_check", "register_health"]

CHECK_NAME: Final = "mongodb"
"""The name `register_health` gives the check (the same as news-http's for ``app.manage``)."""


def mongo_check(mongo: Mongo, *, timeout: float = 2.0) -> Callable[[], Awaitable[CheckResult]]:
    """A readiness check: ``ping`` through ``mongo``'s pool within ``timeout`` seconds.

    Passes with the round trip in ms and the pool's use; fails (never raises) otherwise.

    Raises:
        MongoConfigError: ``timeout`` is not positive.
    """
    if not timeout > 0:
        raise MongoConfigError(f"mongo_check timeout must be > 0 seconds, not {timeout!r}")

    async def check() -> CheckResult:
        started = time.perf_counter()
        try:
            output = await mongo.health_check(timeout=timeout)
        except (NewsMongoError, TimeoutError) as exc:
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

    check.__name__ = check.__qualname__ = f"mongo_check({mongo.name})"
    return check


def register_health(
    registry: HealthRegistry, mongo: Mongo, *, critical: bool = True, timeout: float = 2.0
) -> None:
    """Add ``mongo``'s readiness check (``mongodb``) to a news-health registry.

    Raises:
        news_health.CheckConfigError: A check of that name is registered already.
        MongoConfigError: ``timeout`` is not positive.
    """
    registry.add(
        CHECK_NAME,
        mongo_check(mongo, timeout=timeout),
        probe="readiness",
        critical=critical,
        timeout=timeout + 1.0,
    )
