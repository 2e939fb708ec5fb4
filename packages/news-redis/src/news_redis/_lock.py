"""`Lock`: a Redis lock with a random token, released and extended only by its holder.

``SET key token NX PX ttl`` takes it; release and extend are compare-and-act Lua scripts (the
key is deleted or its expiry moved only if it still holds our token), so a holder whose lock
expired cannot release or extend someone else's.

What it does **not** guarantee: mutual exclusion when a holder pauses longer than the TTL (a
GC pause, a stalled VM, a slow network): the lock expires, another process takes it, and the
first one carries on, believing it still holds it. There is no fencing token a storage system
could check. Use it for efficiency (avoid doing the same work twice), not for correctness; for
correctness against PostgreSQL data use PostgreSQL advisory locks or row locks in the same
transaction as the writes (news-db), which die with the session that holds them.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Final

from news_redis._errors import LockLostError, LockNotAcquiredError, RedisConfigError

if TYPE_CHECKING:
    from types import TracebackType

    from news_redis._client import Redis

__all__ = ["EXTEND_LUA", "RELEASE_LUA", "Lock"]

RELEASE_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

EXTEND_LUA: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class Lock:
    """A named lock in Redis, held for at most ``ttl`` seconds unless extended.

    Example::

        async with news_redis.Lock(redis, "rebuild-sitemap", ttl=30, wait=5):
            await rebuild_sitemap()  # one process at a time (see the module notes)

    Args:
        redis: A started `Redis`.
        name: The lock's name (key ``<prefix>:<name>``).
        ttl: Seconds until the lock expires by itself (a crashed holder frees it then).
        wait: Seconds ``async with`` / `acquire` wait for the lock (0: try once).
        retry_interval: Seconds between two tries while waiting.
        prefix: Key prefix.
    """

    __slots__ = (
        "_extend",
        "_redis",
        "_release",
        "key",
        "name",
        "retry_interval",
        "token",
        "ttl",
        "wait",
    )

    def __init__(
        self,
        redis: Redis,
        name: str,
        *,
        ttl: float = 10.0,
        wait: float = 0.0,
        retry_interval: float = 0.05,
        prefix: str = "lock",
    ) -> None:
        if not name:
            raise RedisConfigError("a lock needs a name")
        if not ttl > 0 or wait < 0 or not retry_interval > 0:
            raise RedisConfigError(
                f"lock {name!r}: ttl and retry_interval must be > 0 and wait >= 0 seconds "
                f"(got ttl={ttl!r}, wait={wait!r}, retry_interval={retry_interval!r})"
            )
        self._redis = redis
        self.name = name
        self.key = f"{prefix}:{name}"
        self.ttl = ttl
        self.wait = wait
        self.retry_interval = retry_interval
        self.token: str | None = None
        self._release = redis.script(RELEASE_LUA, name="lock_release")
        self._extend = redis.script(EXTEND_LUA, name="lock_extend")

    def __repr__(self) -> str:
        return f"Lock({self.name!r}, held={self.token is not None})"

    @property
    def held(self) -> bool:
        """Whether this object acquired the lock and has not released it (it may have expired)."""
        return self.token is not None

    async def acquire(self, *, wait: float | None = None) -> bool:
        """Take the lock, waiting up to ``wait`` seconds (default: the ``wait`` given).

        Returns:
            True when taken, False when someone else held it for the whole wait.

        Raises:
            RedisUnavailableError: Redis could not be reached.
        """
        if self.token is not None:
            raise RuntimeError(f"lock {self.name!r} is already held by this object")
        wait = self.wait if wait is None else wait
        deadline = time.monotonic() + wait
        token = os.urandom(16).hex()
        millis = max(1, round(self.ttl * 1000))
        while True:
            if await self._redis.execute("SET", self.key, token, "NX", "PX", millis):
                self.token = token
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(self.retry_interval, remaining))

    async def release(self) -> None:
        """Release the lock if it is still ours.

        Raises:
            LockLostError: It expired meanwhile (and may be held by someone else now).
            RedisUnavailableError: Redis could not be reached (it expires after ``ttl``).
        """
        token = self.token
        if token is None:
            raise RuntimeError(f"lock {self.name!r} is not held by this object")
        self.token = None
        if not await self._release((self.key,), (token,)):
            raise LockLostError(
                f"lock {self.name!r} had expired before release (ttl {self.ttl:g}s): the work "
                "it protected may have overlapped with another holder's; extend() it during "
                "long work or raise ttl"
            )

    async def extend(self, ttl: float | None = None) -> None:
        """Make the lock expire ``ttl`` seconds from now (default: its ``ttl``).

        Raises:
            LockLostError: It is no longer ours (it expired).
        """
        token = self.token
        if token is None:
            raise RuntimeError(f"lock {self.name!r} is not held by this object")
        ttl = self.ttl if ttl is None else ttl
        if not ttl > 0:
            raise RedisConfigError(f"extend(ttl={ttl!r}): ttl must be > 0 seconds")
        if not await self._extend((self.key,), (token, max(1, round(ttl * 1000)))):
            self.token = None
            raise LockLostError(f"lock {self.name!r} expired before extend(); it is not ours")

    async def __aenter__(self) -> Lock:
        if not await self.acquire():
            raise LockNotAcquiredError(
                f"lock {self.name!r} stayed held by someone else for {self.wait:g}s (wait)"
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.token is not None:
            await self.release()
