"""Exact sliding-window rate limiting: in Redis (one Lua script, Redis's clock) or in memory.

The window is a log: each admitted unit is one member of a sorted set scored by the Redis
server's ``TIME`` in microseconds. A check removes what left the window, counts the rest and
admits the request only if ``count + cost <= limit``, all inside one script, so it is atomic
across every process and host, and one round trip. No client clock is read: clients whose
clocks disagree still share one exact window. Any window of ``period`` seconds admits at most
``limit`` units; a refused request learns exactly when enough units leave the window
(``retry_after``).

Memory in Redis: one sorted-set member per admitted unit still in the window (about 60 bytes
each), per key; the key expires with its window.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import re
import threading
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Annotated, Final, Literal

import msgspec

import news_log
from news_redis._client import Redis
from news_redis._errors import NewsRedisError, RateLimitUnavailableError, RedisConfigError
from news_redis._metrics import resolve_metrics

if TYPE_CHECKING:
    from collections.abc import Callable

    from news_redis._metrics import RedisMetricsHook

__all__ = [
    "SLIDING_WINDOW_LUA",
    "FailMode",
    "MemoryBackend",
    "Rate",
    "RateLimitResult",
    "RateLimiter",
]

_log = news_log.get_logger("news_redis.ratelimit")

FailMode = Literal["open", "closed"]
Source = Literal["redis", "memory", "fallback", "unavailable"]

SLIDING_WINDOW_LUA: Final = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local member = ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
local allowed = 0
local retry = 0
if used + cost <= limit then
  allowed = 1
  if cost > 0 then
    local args = {}
    for i = 1, cost do
      args[#args + 1] = now
      args[#args + 1] = member .. ':' .. i
    end
    redis.call('ZADD', key, unpack(args))
    redis.call('PEXPIRE', key, math.ceil(window / 1000))
    used = used + cost
  end
elseif cost > limit then
  retry = -1
else
  local nth_index = used + cost - limit - 1
  local nth = redis.call('ZRANGE', key, nth_index, nth_index, 'WITHSCORES')
  retry = tonumber(nth[2]) + window - now
end
local reset = 0
if used > 0 then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  reset = tonumber(oldest[2]) + window - now
end
return {allowed, limit - used, reset, retry}
"""
"""The check, atomically: ARGV = limit, window (µs), cost, a unique member prefix.

Returns ``{allowed (0/1), remaining, reset (µs until the oldest unit leaves), retry (µs until
``cost`` units fit; -1: never, cost > limit)}``.
"""

_UNITS: Final = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+(?:\.\d+)?)?\s*([a-z]+)\s*$", re.IGNORECASE)


class Rate(msgspec.Struct, frozen=True):
    """At most ``limit`` units in any window of ``period`` seconds.

    Example:
        >>> Rate.parse("100/minute") == Rate(100, 60.0)
        True
        >>> str(Rate.parse("5 per 10s"))
        '5/10s'
    """

    limit: Annotated[int, msgspec.Meta(ge=1, description="Units admitted per window")]
    period: Annotated[float, msgspec.Meta(gt=0, description="Window length in seconds")]

    @classmethod
    def parse(cls, text: str | Rate) -> Rate:
        """Read ``"100/minute"``, ``"10/s"``, ``"5/10s"``, ``"1000 per hour"``.

        Raises:
            RedisConfigError: The text is not a rate.
        """
        if isinstance(text, Rate):
            return text
        match = _RATE.match(text)
        unit = _UNITS.get(match.group(3).lower()) if match else None
        if match is None or unit is None or int(match.group(1)) < 1:
            raise RedisConfigError(
                f"rate {text!r} is not LIMIT/PERIOD, e.g. '100/minute', '10/s', '5/10s', "
                "'1000 per hour' (units: s, m, h, d)"
            )
        period = float(match.group(2) or 1) * unit
        if not period > 0:
            raise RedisConfigError(f"rate {text!r}: the period must be longer than 0")
        return cls(int(match.group(1)), period)

    @property
    def window_us(self) -> int:
        """The window in microseconds."""
        return round(self.period * 1_000_000)

    def __str__(self) -> str:
        return f"{self.limit}/{self.period:g}s"


class RateLimitResult(msgspec.Struct, frozen=True):
    """One check's verdict and what the client should be told.

    Attributes:
        allowed: Whether the request was admitted (its units are counted).
        limit: The policy's limit.
        remaining: Units still available in the window after this check.
        reset_after: Seconds until the oldest counted unit leaves the window (0: none counted).
        retry_after: When refused, seconds until the request would fit (``inf`` if its cost
            exceeds the limit); 0 when admitted.
        source: ``redis``, ``memory`` (an in-memory limiter), ``fallback`` (Redis was
            unavailable; the in-process fallback decided) or ``unavailable`` (Redis was
            unavailable and the policy fails open without a fallback).
    """

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    retry_after: float
    source: Source


class MemoryBackend:
    """An in-process sliding-window log: for single-process services, tests and fallbacks.

    Exact within one process (a monotonic clock, a lock shared by threads); nothing is shared
    between processes. Holds at most ``max_keys`` keys (the least recently used go first).
    """

    __slots__ = ("_keys", "_lock", "clock", "max_keys")

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_keys < 1:
            raise RedisConfigError(f"MemoryBackend max_keys must be >= 1, not {max_keys}")
        self.max_keys = max_keys
        self.clock = clock
        self._keys: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._keys)

    def hit(self, key: str, rate: Rate, cost: int) -> RateLimitResult:
        """Count ``cost`` units for ``key`` if they fit; return the verdict."""
        now = self.clock()
        period = rate.period
        with self._lock:
            units = self._keys.get(key)
            if units is None:
                units = self._keys[key] = deque()
                if len(self._keys) > self.max_keys:
                    self._keys.popitem(last=False)
            else:
                self._keys.move_to_end(key)
            horizon = now - period
            while units and units[0] <= horizon:
                units.popleft()
            used = len(units)
            if used + cost <= rate.limit:
                units.extend(itertools.repeat(now, cost))
                used += cost
                allowed, retry = True, 0.0
            elif cost > rate.limit:
                allowed, retry = False, math.inf
            else:
                allowed = False
                retry = units[used + cost - rate.limit - 1] + period - now
            reset = units[0] + period - now if units else 0.0
            if not units:
                del self._keys[key]
        return RateLimitResult(
            allowed, rate.limit, rate.limit - used, max(0.0, reset), max(0.0, retry), "memory"
        )


class RateLimiter:
    """Check rates for keys (a client address, an API key, a user), exactly, across processes.

    Example::

        limiter = news_redis.RateLimiter(redis)  # or RateLimiter(news_redis.MemoryBackend())
        result = await limiter.check("client:203.0.113.7", "100/minute")
        if not result.allowed:
            raise news_api.TooManyRequests(retry_after=result.retry_after)

    When Redis is unavailable (down, too slow, pool exhausted), ``fail="open"`` decides with
    an in-process `MemoryBackend` of the same rate (per process: an outage loosens the limit
    by the number of processes, it does not remove it), or admits when ``fallback=False``;
    ``fail="closed"`` raises `RateLimitUnavailableError`. After a failure, Redis is skipped
    for ``retry_interval`` seconds (checks answer at once), then tried again. Failures are
    logged at most once per ``log_interval`` seconds per kind, and counted (`outcomes` and the
    metrics hook).

    Args:
        backend: A started-or-to-be-started `Redis`, or a `MemoryBackend`.
        prefix: Prefix of the Redis keys (``<prefix>:<key>``).
        fallback: Use an in-process limiter when Redis is unavailable and ``fail="open"``.
        retry_interval: Seconds Redis is skipped after a failure.
        log_interval: Least seconds between two log lines of the same failure.
        metrics: A metrics hook (default: the Redis client's, else per news-metrics).
    """

    __slots__ = (
        "_backend",
        "_down_until",
        "_fallback",
        "_log",
        "_member",
        "_metrics",
        "_script",
        "log_interval",
        "outcomes",
        "prefix",
        "retry_interval",
    )

    def __init__(
        self,
        backend: Redis | MemoryBackend,
        *,
        prefix: str = "ratelimit",
        fallback: bool = True,
        retry_interval: float = 0.5,
        log_interval: float = 10.0,
        metrics: RedisMetricsHook | None = None,
    ) -> None:
        if retry_interval < 0 or log_interval < 0:
            raise RedisConfigError("retry_interval and log_interval must be >= 0 seconds")
        self._backend = backend
        self.prefix = prefix
        self.retry_interval = retry_interval
        self.log_interval = log_interval
        self._fallback = MemoryBackend() if fallback and isinstance(backend, Redis) else None
        self._script = (
            backend.script(SLIDING_WINDOW_LUA, name="ratelimit")
            if isinstance(backend, Redis)
            else None
        )
        if metrics is None and isinstance(backend, Redis):
            metrics = backend._metrics
            self._metrics = metrics
        else:
            self._metrics = resolve_metrics(metrics, "auto")
        self._member = f"{os.urandom(6).hex()}:{os.getpid()}:"
        self._down_until = 0.0
        # one line per kind of failure per log_interval, with the count left out (news-log)
        self._log = _log.limited(log_interval)
        self.outcomes: dict[str, int] = {}
        """How many checks ended each way (``allowed``, ``limited``, ``fallback_allowed``...)."""

    @property
    def backend(self) -> Redis | MemoryBackend:
        """Where the windows are kept."""
        return self._backend

    def _count(self, policy: str, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        metrics = self._metrics
        if metrics is not None:
            try:
                metrics.rate_limited(policy, outcome)
            except Exception:  # noqa: BLE001 - metrics never break a check
                _log.exception("redis metrics hook failed")

    async def check(
        self,
        key: str,
        rate: Rate | str,
        *,
        cost: int = 1,
        fail: FailMode = "open",
        policy: str = "default",
    ) -> RateLimitResult:
        """Count ``cost`` units for ``key`` under ``rate`` if they fit; return the verdict.

        Args:
            key: Whom to limit (``ip:203.0.113.7``, ``user:42``...); any string.
            rate: A `Rate` or its text (``"100/minute"``).
            cost: Units this request takes (0 only reads the window).
            fail: What to do when Redis is unavailable: ``open`` or ``closed``.
            policy: The policy's name (metrics, logs, the key in Redis).

        Raises:
            RateLimitUnavailableError: ``fail="closed"`` and Redis is unavailable.
            RedisConfigError: ``rate`` is not a rate, or ``cost`` is negative.
        """
        rate = Rate.parse(rate)
        if cost < 0:
            raise RedisConfigError(f"cost must be >= 0, not {cost}")
        backend = self._backend
        if isinstance(backend, MemoryBackend):
            result = backend.hit(f"{policy}:{key}", rate, cost)
            self._count(policy, "allowed" if result.allowed else "limited")
            return result
        if time.monotonic() >= self._down_until:
            try:
                result = await self._redis_hit(f"{self.prefix}:{policy}:{key}", rate, cost)
            except NewsRedisError as exc:
                if isinstance(exc, RedisConfigError):
                    raise
                self._down_until = time.monotonic() + self.retry_interval
                self._log.warning(
                    "rate limit backend unavailable; "
                    + ("failing open" if fail == "open" else "failing closed"),
                    repeat_key=type(exc).__name__,
                    error=f"{type(exc).__name__}: {exc}",
                    interval_s=self.log_interval,
                    policy=policy,
                    address=backend.settings.address,
                )
                return self._unavailable(key, rate, cost=cost, fail=fail, policy=policy, error=exc)
            self._count(policy, "allowed" if result.allowed else "limited")
            return result
        return self._unavailable(key, rate, cost=cost, fail=fail, policy=policy, error=None)

    def check_sync(
        self,
        key: str,
        rate: Rate | str,
        *,
        cost: int = 1,
        fail: FailMode = "open",
        policy: str = "default",
        timeout: float | None = None,
    ) -> RateLimitResult:
        """`check` from a thread that is not the client's event loop (sync route handlers).

        The check runs on the Redis client's loop; this thread waits for it, at most
        ``timeout`` seconds (default: the client's connect + pool + socket timeouts).

        Raises:
            RuntimeError: Called on the client's event loop thread (use ``await check``).
            RateLimitUnavailableError: As `check`.
        """
        backend = self._backend
        if isinstance(backend, MemoryBackend):
            return self._memory_sync(key, rate, cost, policy)
        loop = backend.loop
        if loop is None or loop.is_closed():
            return self._unavailable(
                key, Rate.parse(rate), cost=cost, fail=fail, policy=policy, error=backend._closed()
            )
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("check_sync() on the Redis client's event loop: await check()")
        settings = backend.settings
        if timeout is None:
            timeout = settings.connect_timeout + settings.pool_timeout + settings.socket_timeout + 1
        future = asyncio.run_coroutine_threadsafe(
            self.check(key, rate, cost=cost, fail=fail, policy=policy), loop
        )
        try:
            return future.result(timeout)
        except TimeoutError as exc:
            future.cancel()
            return self._unavailable(
                key, Rate.parse(rate), cost=cost, fail=fail, policy=policy, error=exc
            )

    def _memory_sync(self, key: str, rate: Rate | str, cost: int, policy: str) -> RateLimitResult:
        backend = self._backend
        assert isinstance(backend, MemoryBackend)
        result = backend.hit(f"{policy}:{key}", Rate.parse(rate), cost)
        self._count(policy, "allowed" if result.allowed else "limited")
        return result

    async def _redis_hit(self, key: str, rate: Rate, cost: int) -> RateLimitResult:
        script = self._script
        assert script is not None
        reply = await script((key,), (rate.limit, rate.window_us, cost, self._member + _next_id()))
        allowed, remaining, reset_us, retry_us = reply
        return RateLimitResult(
            allowed == 1,
            rate.limit,
            int(remaining),
            max(0, int(reset_us)) / 1_000_000,
            math.inf if retry_us < 0 else max(0, int(retry_us)) / 1_000_000,
            "redis",
        )

    def _unavailable(
        self,
        key: str,
        rate: Rate,
        *,
        cost: int,
        fail: FailMode,
        policy: str,
        error: BaseException | None,
    ) -> RateLimitResult:
        if fail == "closed":
            self._count(policy, "failed_closed")
            raise RateLimitUnavailableError(
                f"rate limit {policy!r} cannot be checked: its Redis backend is unavailable"
                + (
                    f" ({type(error).__name__}: {error})"
                    if error is not None
                    else " (retrying soon)"
                )
            ) from error
        fallback = self._fallback
        if fallback is None:
            self._count(policy, "failed_open")
            return RateLimitResult(True, rate.limit, rate.limit, 0.0, 0.0, "unavailable")
        result = fallback.hit(f"{policy}:{key}", rate, cost)
        self._count(policy, "fallback_allowed" if result.allowed else "fallback_limited")
        return msgspec.structs.replace(result, source="fallback")


_ids = itertools.count()


def _next_id() -> str:
    return str(next(_ids))
