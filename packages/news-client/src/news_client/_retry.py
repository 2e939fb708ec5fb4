"""Retries inside a deadline: exponential backoff with full jitter, Retry-After, a retry budget.

Written here rather than on tenacity or stamina: both bound the number of attempts or the time
spent, but neither cuts the running attempt at the deadline, shortens the last wait to what is
left, or refuses a retry whose wait cannot fit, and neither has a retry budget shared by every
call to a dependency. The loop is thirty lines; the rules are in `Retry`'s docstring.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
from typing import TYPE_CHECKING, Final, TypeVar

from news_client._errors import CallTimeoutError
from news_client._settings import RetrySettings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["Retry", "RetryBudget", "default_retryable", "full_jitter", "parse_retry_after"]

T = TypeVar("T")

_BUCKETS: Final = 10


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header value (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def full_jitter(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """The wait after failed attempt ``attempt`` (1-based): uniform in [0, min(cap, base*2^n-1)]."""
    return rand() * min(cap, base * 2.0 ** min(attempt - 1, 60))


def default_retryable(exc: BaseException) -> bool:
    """Whether ``exc`` may be retried: connection errors, timeouts, and ``retryable = True``."""
    marked = getattr(exc, "retryable", None)
    if marked is not None:
        return bool(marked)
    return isinstance(exc, (ConnectionError, TimeoutError))


class RetryBudget:
    """Bounds retries to ``min_retries`` plus ``ratio`` of the calls, per ``window`` seconds.

    One budget serves every call to a dependency: when it fails for everyone, a few callers
    retry and the rest give up at once, so the dependency sees at most ``1 + ratio`` times the
    calls (plus ``min_retries``), never ``attempts`` times (Finagle's and gRPC's retry budget).
    """

    __slots__ = ("_buckets", "_clock", "_last", "min_retries", "ratio", "width")

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_retries: int = 10,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_retries = min_retries
        self.width = window / _BUCKETS
        self._clock = clock
        self._buckets = [[0, 0] for _ in range(_BUCKETS)]  # calls, retries
        self._last = -1

    def _bucket(self) -> list[int]:
        index = int(self._clock() / self.width)
        last = self._last
        if index != last:
            if last < 0 or index - last >= _BUCKETS:
                for bucket in self._buckets:
                    bucket[0] = bucket[1] = 0
            else:
                for i in range(last + 1, index + 1):
                    bucket = self._buckets[i % _BUCKETS]
                    bucket[0] = bucket[1] = 0
            self._last = index
        return self._buckets[index % _BUCKETS]

    def call_made(self) -> None:
        """Count one first attempt (a deposit into the budget)."""
        self._bucket()[0] += 1

    def try_retry(self) -> bool:
        """Take one retry from the budget; False when it is spent."""
        current = self._bucket()
        calls = retries = 0
        for bucket in self._buckets:
            calls += bucket[0]
            retries += bucket[1]
        if retries >= self.min_retries + self.ratio * calls:
            return False
        current[1] += 1
        return True

    def available(self) -> int:
        """Retries left in the current window."""
        self._bucket()
        calls = sum(b[0] for b in self._buckets)
        retries = sum(b[1] for b in self._buckets)
        return max(0, math.ceil(self.min_retries + self.ratio * calls - retries))


class Retry:
    """Runs an async call again on retryable errors, with backoff, inside a deadline.

    The rules, for ``await retry.call(fn, timeout=...)``:

    - at most ``attempts`` calls of ``fn``; an error ``retryable`` refuses is raised at once;
    - after failed attempt n the wait is `full_jitter` (random in [0, min(backoff_max,
      backoff_base * 2**(n-1))]), or the error's ``retry_after`` (seconds, e.g. from a
      ``Retry-After`` header) when that is longer;
    - with a ``timeout`` (or ``deadline``), no attempt runs past it (it is cancelled and
      `CallTimeoutError` raised), and a retry whose wait would end at or past it is not made:
      the last error is raised at once rather than after a useless wait;
    - each retry takes one from the `RetryBudget`; when it is spent the error is raised.

    The last error is raised as it is (its ``__notes__`` say how many attempts were made).

    Args:
        settings: Attempts, backoff and budget (`RetrySettings`).
        name: Named in timeout errors (the dependency).
        retryable: Which errors may be retried (default `default_retryable`).
        budget: A budget to share (default: one made from ``settings`` for this instance).
        rand: The random source of the jitter, in [0, 1).
    """

    __slots__ = ("budget", "name", "rand", "retryable", "settings")

    def __init__(
        self,
        settings: RetrySettings | None = None,
        *,
        name: str = "",
        retryable: Callable[[BaseException], bool] = default_retryable,
        budget: RetryBudget | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings = settings if settings is not None else RetrySettings()
        self.name = name
        self.retryable = retryable
        self.rand = rand
        self.budget = (
            budget
            if budget is not None
            else RetryBudget(
                ratio=settings.budget_ratio,
                min_retries=settings.budget_min_retries,
                window=settings.budget_window,
            )
        )

    def delay(self, attempt: int, exc: BaseException) -> float:
        """The wait before the attempt after failed attempt ``attempt`` ended with ``exc``."""
        s = self.settings
        wait = full_jitter(attempt, s.backoff_base, s.backoff_max, self.rand)
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)) and retry_after > wait:
            wait = float(retry_after)
        return wait

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> T:
        """Await ``fn()`` until it succeeds, per the rules of the class docstring.

        Args:
            fn: Makes one attempt (called anew for each).
            timeout: Seconds the whole call may take, waits included.
            deadline: The same as an instant of the event loop's clock (``loop.time()``);
                the earlier of the two counts.

        Raises:
            CallTimeoutError: The deadline passed during an attempt.
        """
        loop = asyncio.get_running_loop()
        if timeout is not None:
            end = loop.time() + timeout
            deadline = end if deadline is None else min(deadline, end)
        limit = deadline - loop.time() if deadline is not None else None
        self.budget.call_made()
        attempt = 0
        while True:
            attempt += 1
            try:
                if deadline is None:
                    return await fn()
                async with asyncio.timeout_at(deadline):
                    return await fn()
            except Exception as exc:
                if (
                    isinstance(exc, TimeoutError)
                    and deadline is not None
                    and loop.time() >= deadline
                ):
                    raise CallTimeoutError(
                        f"{self.name or 'call'}: no result within {limit:.3g}s "
                        f"({attempt} attempt(s))",
                        dependency=self.name,
                        timeout=limit or 0.0,
                    ) from exc
                error = exc
            self._check(error, attempt)
            wait = self.delay(attempt, error)
            if deadline is not None and loop.time() + wait >= deadline:
                error.add_note(
                    f"news-client: gave up after {attempt} attempt(s): the next would start "
                    "past the deadline"
                )
                raise error
            await asyncio.sleep(wait)

    def _check(self, exc: Exception, attempt: int) -> None:
        """Raise ``exc`` unless it may be retried after attempt ``attempt``."""
        if attempt >= self.settings.attempts or not self.retryable(exc):
            if attempt > 1:
                exc.add_note(f"news-client: gave up after {attempt} attempts")
            raise exc
        if not self.budget.try_retry():
            exc.add_note(f"news-client: retry budget spent; gave up after {attempt} attempt(s)")
            raise exc
