"""`Cache`: msgspec-encoded values with a TTL, and `cached()` with stampede protection.

Values are encoded with msgspec (MessagePack by default, JSON on request) and decoded into the
type asked for, so a Struct comes back as that Struct. A cached ``None`` is a hit, not a miss.

Stampede protection (`Cache.get_or_compute` and `Cache.cached`): when a key is missing, one
caller computes it and the others wait for its result instead of computing it too:

- within a process, concurrent callers of the same key share one computation;
- across processes, the computing process holds a short Redis lock on the key; the others poll
  the cache until the value appears (or the lock is released or expires), then read it. If the
  lock holder fails or takes longer than ``lock_ttl``, a waiter computes it itself: one
  recomputation per key, unless a computation outlives its lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

import msgspec

from news_redis._errors import CacheError, RedisConfigError
from news_redis._lock import RELEASE_LUA

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from news_redis._client import Redis

__all__ = ["Cache", "CachedFunction"]

T = TypeVar("T")
_MISSING: Any = object()


class Cache:
    """A Redis cache of msgspec-encoded values.

    Example::

        cache = news_redis.Cache(redis, prefix="articles", ttl=300)
        await cache.set("7", article)  # a Struct, dict, list, str, number...
        article = await cache.get("7", Article)  # None on a miss


        @cache.cached(ttl=60, type=list[Article])
        async def front_page(section: str) -> list[Article]: ...

    Args:
        redis: A `Redis` (started before the cache is used).
        prefix: Key prefix (``<prefix>:<key>``).
        ttl: Default time to live of an entry, in seconds.
        serializer: ``msgpack`` (compact, default) or ``json`` (readable with redis-cli).
        lock_ttl: Seconds a computing process holds a key's stampede lock.
        poll_interval: Seconds between two looks at the cache while another process computes.
    """

    __slots__ = (
        "_decoders",
        "_encode",
        "_flights",
        "_redis",
        "_release",
        "lock_ttl",
        "poll_interval",
        "prefix",
        "serializer",
        "ttl",
    )

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "cache",
        ttl: float = 300.0,
        serializer: Literal["msgpack", "json"] = "msgpack",
        lock_ttl: float = 10.0,
        poll_interval: float = 0.02,
    ) -> None:
        if not ttl > 0 or not lock_ttl > 0 or not poll_interval > 0:
            raise RedisConfigError("Cache ttl, lock_ttl and poll_interval must be > 0 seconds")
        if serializer not in {"msgpack", "json"}:
            raise RedisConfigError(f"serializer must be 'msgpack' or 'json', not {serializer!r}")
        self._redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self.serializer = serializer
        self.lock_ttl = lock_ttl
        self.poll_interval = poll_interval
        module: Any = msgspec.msgpack if serializer == "msgpack" else msgspec.json
        self._encode = module.Encoder().encode
        self._decoders: dict[Any, Any] = {}
        self._flights: dict[str, asyncio.Future[Any]] = {}
        self._release = redis.script(RELEASE_LUA, name="lock_release")

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def _decoder(self, type_: Any) -> Any:
        decoder = self._decoders.get(type_)
        if decoder is None:
            module: Any = msgspec.msgpack if self.serializer == "msgpack" else msgspec.json
            try:
                decoder = self._decoders[type_] = module.Decoder(type_)
            except TypeError as exc:
                raise CacheError(f"type {type_!r} cannot be decoded by msgspec: {exc}") from exc
        return decoder

    def _dumps(self, key: str, value: Any) -> bytes:
        try:
            data: bytes = self._encode(value)
        except (TypeError, msgspec.EncodeError) as exc:
            raise CacheError(
                f"cache key {key!r}: cannot encode {type(value).__name__}: {exc}"
            ) from exc
        return data

    def _loads(self, key: str, data: bytes, type_: Any) -> Any:
        try:
            return self._decoder(type_).decode(data)
        except msgspec.DecodeError as exc:
            raise CacheError(
                f"cache key {key!r}: the stored value does not decode as {type_!r}: {exc}; "
                "delete the key or change the prefix when the type changes"
            ) from exc

    async def get(self, key: str, type: Any = Any, *, default: Any = None) -> Any:
        """The value cached under ``key`` decoded as ``type``, or ``default`` on a miss.

        Raises:
            CacheError: The stored value does not decode as ``type``.
            RedisUnavailableError: Redis could not be reached.
        """
        data = await self._redis.get(self._key(key))
        if data is None:
            return default
        return self._loads(key, data, type)

    async def set(self, key: str, value: Any, *, ttl: float | None = None) -> None:
        """Cache ``value`` under ``key`` for ``ttl`` seconds (default: the cache's ``ttl``).

        Raises:
            CacheError: ``value`` cannot be encoded.
        """
        await self._redis.set(self._key(key), self._dumps(key, value), ttl=ttl or self.ttl)

    async def delete(self, *keys: str) -> int:
        """Remove entries; return how many existed."""
        return await self._redis.delete(*(self._key(key) for key in keys))

    async def get_or_compute(
        self,
        key: str,
        compute: Callable[[], Awaitable[T]],
        *,
        type: Any = Any,
        ttl: float | None = None,
    ) -> T:
        """The cached value of ``key``, computing and caching it on a miss, once.

        Concurrent callers of a missing key (in this process and in others) share one call of
        ``compute``; see the module notes.

        Raises:
            CacheError: A stored value does not decode as ``type``.
            Whatever ``compute`` raises (to every caller that waited for it).
        """
        value = await self.get(key, type, default=_MISSING)
        if value is not _MISSING:
            return cast("T", value)
        flight = self._flights.get(key)
        if flight is not None:
            try:
                return cast("T", await asyncio.shield(flight))
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if flight.cancelled() and task is not None and not task.cancelling():
                    # the computing caller was cancelled, not us: compute it ourselves
                    return await self.get_or_compute(key, compute, type=type, ttl=ttl)
                raise
        flight = asyncio.get_running_loop().create_future()
        self._flights[key] = flight
        try:
            result = await self._compute_once(key, compute, type, ttl)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                flight.cancel()
            else:
                flight.set_exception(exc)
                flight.exception()  # retrieved: no warning when nobody else waited
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            self._flights.pop(key, None)

    async def _compute_once(
        self, key: str, compute: Callable[[], Awaitable[T]], type_: Any, ttl: float | None
    ) -> T:
        lock_key = self._key(f"{key}#computing")
        token = os.urandom(12).hex()
        millis = max(1, round(self.lock_ttl * 1000))
        deadline = time.monotonic() + self.lock_ttl
        while not await self._redis.set(lock_key, token, ttl=millis / 1000, only_if_absent=True):
            # Another process computes it: wait for its value, or for its lock to go.
            await asyncio.sleep(self.poll_interval)
            value = await self.get(key, type_, default=_MISSING)
            if value is not _MISSING:
                return cast("T", value)
            if time.monotonic() > deadline:
                break  # its computation outlived the lock: compute it here
        try:
            value = await self.get(key, type_, default=_MISSING)  # computed just before we locked
            if value is not _MISSING:
                return cast("T", value)
            result = await compute()
            await self.set(key, result, ttl=ttl)
            return result
        finally:
            with contextlib.suppress(Exception):  # the lock expires by itself anyway
                await self._release((lock_key,), (token,))

    def cached(
        self,
        *,
        ttl: float | None = None,
        type: Any = Any,
        key: Callable[..., str] | None = None,
    ) -> Callable[[Callable[..., Awaitable[T]]], CachedFunction[T]]:
        """Decorate an async function: its results are cached per arguments, computed once.

        The decorated function has ``await f.invalidate(*args)`` to drop one entry.

        Args:
            ttl: Seconds an entry lives (default: the cache's ``ttl``).
            type: The return type, to decode cached values (default: plain msgspec types).
            key: Makes the key from the call's arguments (default: the function's qualified
                name and the ``repr`` of each argument).
        """

        def decorate(function: Callable[..., Awaitable[T]]) -> CachedFunction[T]:
            return CachedFunction(self, function, ttl=ttl, type_=type, key=key)

        return decorate


class CachedFunction(Generic[T]):
    """An async function whose results are cached (made by `Cache.cached`)."""

    __slots__ = ("__wrapped__", "_cache", "_key", "_name", "_ttl", "_type")

    def __init__(
        self,
        cache: Cache,
        function: Callable[..., Awaitable[T]],
        *,
        ttl: float | None,
        type_: Any,
        key: Callable[..., str] | None,
    ) -> None:
        self.__wrapped__ = function
        self._cache = cache
        self._ttl = ttl
        self._type = type_
        self._name = f"{function.__module__}.{function.__qualname__}"
        self._key = key or self._default_key

    def _default_key(self, *args: Any, **kwargs: Any) -> str:
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in sorted(kwargs.items())]
        return f"{self._name}({', '.join(parts)})"

    def key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key of a call with these arguments (without the cache's prefix)."""
        return self._key(*args, **kwargs)

    async def __call__(self, *args: Any, **kwargs: Any) -> T:
        """The cached result for these arguments, computed once on a miss."""
        return await self._cache.get_or_compute(
            self._key(*args, **kwargs),
            functools.partial(self.__wrapped__, *args, **kwargs),
            type=self._type,
            ttl=self._ttl,
        )

    async def invalidate(self, *args: Any, **kwargs: Any) -> bool:
        """Drop the entry of a call with these arguments; True when there was one."""
        return bool(await self._cache.delete(self._key(*args, **kwargs)))

    def __repr__(self) -> str:
        return f"<cached {self._name}>"
