"""Apps the news-redis tests serve in real processes (``news_redis_test_apps:make_app``).

Not a test module: the server processes import it from this folder. The environment sets the
Redis URL (``TEST_REDIS_URL``), the rate (``TEST_RATE``) and a skew of this process's clock in
seconds (``TEST_CLOCK_SKEW``: ``time.time`` lies by that much, as a host with a wrong clock
would).
"""

from __future__ import annotations

import os
import time
from typing import Annotated

import msgspec

import news_http
import news_redis
from news_redis.http import by_client_address, rate_limit


def _skew_clock(seconds: float) -> None:
    real_time, real_time_ns = time.time, time.time_ns
    time.time = lambda: real_time() + seconds
    time.time_ns = lambda: real_time_ns() + int(seconds * 1e9)


def make_app() -> news_http.NewsApp:
    """A service with a fail-open and a fail-closed limited route, async and sync."""
    skew = float(os.environ.get("TEST_CLOCK_SKEW", "0"))
    if skew:
        _skew_clock(skew)
    settings = news_redis.RedisSettings(
        url=os.environ["TEST_REDIS_URL"],
        connect_timeout=0.5,
        socket_timeout=0.5,
        pool_timeout=1.0,
        health_check_interval=0,
        start_check=False,
        metrics="off",
    )
    redis = news_redis.Redis(settings)
    limiter = news_redis.RateLimiter(redis, retry_interval=0.2, log_interval=30.0)
    rate = os.environ.get("TEST_RATE", "100/minute")
    app = news_http.create_app(news_http.HTTPSettings(), name="limited")
    app.manage(redis)
    open_limit = rate_limit(limiter, rate, key=by_client_address(app), name="open", fail="open")
    closed_limit = rate_limit(
        limiter, rate, key=by_client_address(app), name="closed", fail="closed"
    )

    @app.post("/open")
    @news_http.with_middleware(open_limit)
    async def open_route() -> dict[str, object]:
        return {"ok": True, "skew": skew}

    @app.post("/closed")
    @news_http.with_middleware(closed_limit)
    async def closed_route() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/sync-open")
    @news_http.with_middleware(open_limit)
    def sync_open_route() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/sync-closed")
    @news_http.with_middleware(closed_limit)
    def sync_closed_route() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/state")
    async def state() -> dict[str, object]:
        return {
            "in_use": redis.in_use(),
            "open_connections": redis.open_connections(),
            "outcomes": limiter.outcomes,
            "time": time.time(),
        }

    return app


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The live_rate app's settings: a live rate, checked like the newsroom's submit_rate."""

    rate: Annotated[str, msgspec.Meta(extra={"live": True})] = "3/minute"

    def __post_init__(self) -> None:
        """A rate that is not LIMIT/PERIOD is refused with the fix (RedisConfigError)."""
        news_redis.Rate.parse(self.rate)


def live_rate() -> news_http.NewsApp:
    """``POST /limited`` limited in Redis at the rate of the directory ``LIVE_DIR``, live."""
    import news_config

    redis = news_redis.Redis(
        news_redis.RedisSettings(url=os.environ["TEST_REDIS_URL"], metrics="off")
    )
    limiter = news_redis.RateLimiter(redis)

    def apply(update: news_config.Reload[LiveSettings]) -> None:
        limit.set_rate(update.new.rate)

    watcher = news_config.watch(
        LiveSettings,
        prefix="LIVE_",
        env_file=None,
        secrets_dir=os.environ["LIVE_DIR"],
        poll_interval=0.2,
        on_change=apply,
    )
    app = news_http.create_app(news_http.HTTPSettings(), name="live-rate")
    app.manage(redis)
    app.manage(watcher, name="settings")
    limit = rate_limit(limiter, watcher.current.rate, key=by_client_address(app), name="live")

    @app.post("/limited")
    @news_http.with_middleware(limit)
    async def limited() -> dict[str, str]:
        return {"rate": str(limit.rate)}

    return app
