"""Redis for news platform services: a pooled client, exact rate limits, a cache and locks.

A client per process (start/stop, or ``app.manage(redis)`` in news-http)::

    import news_redis

    redis = news_redis.Redis(news_redis.RedisSettings(url="redis://cache:6379/0"))
    async with redis:
        await redis.set("greeting", b"hello", ttl=60)

Rate limits, exact across processes (one Lua script, Redis's clock)::

    limiter = news_redis.RateLimiter(redis)  # or RateLimiter(news_redis.MemoryBackend())
    result = await limiter.check("ip:203.0.113.7", "100/minute")
    result.allowed, result.remaining, result.retry_after

On news-http routes (``pip install "news-redis[http]"``)::

    from news_redis.http import rate_limit, by_client_address

    @app.post("/v1/articles")
    @news_http.with_middleware(rate_limit(limiter, "100/minute", key=by_client_address(app)))
    async def create_article(...): ...

A cache of msgspec values with stampede protection, and locks::

    cache = news_redis.Cache(redis, prefix="articles", ttl=300)
    article = await cache.get_or_compute("7", load_article_7, type=Article)

    async with news_redis.Lock(redis, "rebuild-sitemap", ttl=30, wait=5):
        ...

Errors derive from `NewsRedisError`; see ``news_redis._errors`` for the tree.
``import news_redis`` does not import redis-py; starting a client does.
"""

from __future__ import annotations

from news_redis.__about__ import __version__
from news_redis._cache import Cache, CachedFunction
from news_redis._client import Pipeline, Redis, Script
from news_redis._errors import (
    CacheError,
    LockError,
    LockLostError,
    LockNotAcquiredError,
    NewsRedisError,
    PoolExhaustedError,
    RateLimitUnavailableError,
    RedisClosedError,
    RedisCommandError,
    RedisConfigError,
    RedisConnectionError,
    RedisTimeoutError,
    RedisUnavailableError,
)
from news_redis._limiter import (
    FailMode,
    MemoryBackend,
    Rate,
    RateLimiter,
    RateLimitResult,
)
from news_redis._lock import Lock
from news_redis._metrics import NoopMetrics, RedisMetricsHook
from news_redis._settings import RedisSettings

__all__ = [
    "Cache",
    "CacheError",
    "CachedFunction",
    "FailMode",
    "Lock",
    "LockError",
    "LockLostError",
    "LockNotAcquiredError",
    "MemoryBackend",
    "NewsRedisError",
    "NoopMetrics",
    "Pipeline",
    "PoolExhaustedError",
    "Rate",
    "RateLimitResult",
    "RateLimitUnavailableError",
    "RateLimiter",
    "Redis",
    "RedisClosedError",
    "RedisCommandError",
    "RedisConfigError",
    "RedisConnectionError",
    "RedisMetricsHook",
    "RedisSettings",
    "RedisTimeoutError",
    "RedisUnavailableError",
    "Script",
    "__version__",
]
