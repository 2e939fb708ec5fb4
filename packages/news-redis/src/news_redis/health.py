"""Health checks for Redis on news-health (``pip install "news-redis[health]"``).

With news-http, ``app.manage(redis)`` already registers `Redis.health_check` as a readiness
check named ``redis``. Elsewhere (a worker with its own registry)::

    from news_redis.health import register_health

    register_health(registry, redis)  # readiness "redis": a PING within the timeouts

Put Redis in readiness, never in liveness: an outage would restart every pod and fix nothing.
A service whose Redis use fails open (rate limits with a fallback, a cache) can register it
with ``critical=False``: an outage then makes readiness ``warn`` (still HTTP 200).

This module imports news-health; ``import news_redis`` does not.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

try:
    from news_health import CheckResult, Status
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the install
    if _missing.name is None or not _missing.name.startswith("news_health"):
        raise
    raise ModuleNotFoundError(
        'news_redis.health needs news-health: pip install "news-redis[health]"',
        name="news_health",
    ) from _missing

from news_redis._errors import NewsRedisError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from news_health import HealthRegistry
    from news_redis._client import Redis

__all__ = ["redis_check", "register_health"]


def redis_check(redis: Redis) -> Callable[[], Awaitable[CheckResult]]:
    """A readiness check: PING through the client's pool; passes with the round trip in ms."""

    async def check() -> CheckResult:
        started = time.perf_counter()
        try:
            await redis.execute("PING")
        except NewsRedisError as exc:
            return CheckResult(
                Status.FAIL, f"{type(exc).__name__}: {exc}", component_type="datastore"
            )
        millis = round((time.perf_counter() - started) * 1000, 3)
        return CheckResult(
            Status.PASS,
            f"PONG from {redis.settings.address}",
            observed_value=millis,
            observed_unit="ms",
            component_type="datastore",
        )

    check.__name__ = check.__qualname__ = f"redis_check({redis.name})"
    return check


def register_health(
    registry: HealthRegistry, redis: Redis, *, name: str | None = None, critical: bool = True
) -> None:
    """Add `redis_check` to ``registry`` as readiness check ``name`` (default: the client's).

    Raises:
        news_health.CheckConfigError: A check of that name is registered already.
    """
    timeout = redis.settings.pool_timeout + redis.settings.connect_timeout
    registry.add(
        name or redis.name,
        redis_check(redis),
        probe="readiness",
        critical=critical,
        timeout=timeout + redis.settings.socket_timeout + 0.5,
    )
