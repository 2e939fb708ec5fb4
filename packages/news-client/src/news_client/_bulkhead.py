"""The bulkhead (a concurrency limit per dependency) and the timeout context manager."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING

from news_client._errors import BulkheadFullError, CallTimeoutError
from news_client._settings import BulkheadSettings

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["Bulkhead", "timeout"]


class Bulkhead:
    """At most ``max_concurrent`` calls at once; a call past it waits ``max_wait``, then fails.

    A slow dependency then holds at most that many of the service's tasks and connections,
    and the rest of the service keeps working (the bulkhead of a ship). Waiting callers get
    slots in arrival order. Use it as ``async with bulkhead:`` (one instance serves every call)
    or with `acquire` / `release`.

    Args:
        settings: The limit and the wait (`BulkheadSettings`).
        name: Named in `BulkheadFullError`.
    """

    __slots__ = ("_active", "_waiters", "limit", "max_wait", "name")

    def __init__(self, settings: BulkheadSettings | None = None, *, name: str = "") -> None:
        settings = settings if settings is not None else BulkheadSettings()
        self.name = name
        self.limit = settings.max_concurrent
        self.max_wait = settings.max_wait
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def __repr__(self) -> str:
        return f"<Bulkhead {self.name!r} {self._active}/{self.limit}, {len(self._waiters)} waiting>"

    @property
    def in_use(self) -> int:
        """Slots taken now."""
        return self._active

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot now."""
        return len(self._waiters)

    async def acquire(self) -> None:
        """Take a slot, waiting at most ``max_wait`` seconds for one.

        Raises:
            BulkheadFullError: No slot freed in time.
        """
        if self._active < self.limit and not self._waiters:
            self._active += 1
            return
        if self.max_wait <= 0:
            raise self._full()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.max_wait):
                await waiter
        except BaseException as exc:
            handed = waiter.done() and not waiter.cancelled()
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):  # release() may have taken it already
                self._waiters.remove(waiter)
            if handed:  # a slot was handed over as the wait ended: pass it on
                self.release()
            if isinstance(exc, TimeoutError):
                raise self._full() from None
            raise

    def release(self) -> None:
        """Give a slot back (to the longest waiting caller, if any)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves to it; _active is unchanged
                return
        if self._active > 0:
            self._active -= 1

    def _full(self) -> BulkheadFullError:
        waited = f" after waiting {self.max_wait:g}s" if self.max_wait > 0 else ""
        return BulkheadFullError(
            f"bulkhead {self.name!r} is full: {self.limit} call(s) in flight{waited}; the "
            "dependency is slow or the limit too low",
            bulkhead=self.name,
            limit=self.limit,
        )

    async def __aenter__(self) -> None:
        """Take a slot."""
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Give the slot back."""
        self.release()


class timeout:  # noqa: N801 - used like asyncio.timeout: ``async with timeout(2.0):``
    """Cancel the block after ``seconds`` and raise `CallTimeoutError` (a `TimeoutError`).

    ``asyncio.timeout`` with news-client's error: ``async with news_client.timeout(2.0,
    name="geo"):``. None means no limit. One instance per use.
    """

    __slots__ = ("_inner", "name", "seconds")

    def __init__(self, seconds: float | None, *, name: str = "") -> None:
        self.seconds = seconds
        self.name = name
        self._inner: asyncio.Timeout | None = None

    async def __aenter__(self) -> timeout:
        """Start the clock."""
        self._inner = asyncio.timeout(self.seconds)
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the clock; translate its expiry into `CallTimeoutError`."""
        assert self._inner is not None
        try:
            await self._inner.__aexit__(exc_type, exc, tb)
        except TimeoutError as expired:
            raise CallTimeoutError(
                f"{self.name or 'call'}: no result within {self.seconds:g}s",
                dependency=self.name,
                timeout=self.seconds or 0.0,
            ) from expired

    def expired(self) -> bool:
        """Whether the limit passed (and the block was cancelled)."""
        return self._inner is not None and self._inner.expired()
