"""Retry: backoff with full jitter inside a deadline, Retry-After, the budget; bulkhead; timeout."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils

import pytest

import news_client
from news_client import (
    Bulkhead,
    BulkheadFullError,
    BulkheadSettings,
    CallTimeoutError,
    Retry,
    RetryBudget,
    RetrySettings,
)


class FlakyError(ConnectionError):
    """A retryable error that may carry a Retry-After."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("flaky")
        self.retry_after = retry_after


def failing(times: int, error: BaseException | None = None) -> tuple[list[float], object]:
    """Count the calls of a coroutine that fails `times` times, then returns 'ok'."""
    calls: list[float] = []

    async def fn() -> str:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) <= times:
            raise error if error is not None else FlakyError()
        return "ok"

    return calls, fn


class TestRetry:
    async def test_retries_retryable_errors_until_success(self) -> None:
        """Two connection errors, then success: three calls, the result returned."""
        calls, fn = failing(2)
        retry = Retry(RetrySettings(attempts=3, backoff_base=0.001, backoff_max=0.001))
        assert await retry.call(fn) == "ok"  # type: ignore[arg-type]
        assert len(calls) == 3

    async def test_does_not_retry_other_errors(self) -> None:
        """A ValueError is raised at once, after one call."""
        calls, fn = failing(5, ValueError("bad input"))
        retry = Retry(RetrySettings(attempts=5, backoff_base=0.001, backoff_max=0.001))
        with pytest.raises(ValueError, match="bad input"):
            await retry.call(fn)  # type: ignore[arg-type]
        assert len(calls) == 1

    async def test_gives_up_after_attempts_with_the_last_error(self) -> None:
        """After `attempts` calls the last error is raised, noting how many were made."""
        calls, fn = failing(10)
        retry = Retry(RetrySettings(attempts=3, backoff_base=0.001, backoff_max=0.001))
        with pytest.raises(FlakyError) as caught:
            await retry.call(fn)  # type: ignore[arg-type]
        assert len(calls) == 3
        assert "gave up after 3 attempts" in " ".join(caught.value.__notes__)

    def test_full_jitter_stays_within_the_exponential_bound(self) -> None:
        """Waits are in [0, min(max, base * 2**(n-1))]: rand 1.0 gives the bound itself."""
        top = Retry(RetrySettings(backoff_base=0.1, backoff_max=1.0), rand=lambda: 1.0)
        low = Retry(RetrySettings(backoff_base=0.1, backoff_max=1.0), rand=lambda: 0.0)
        assert [top.delay(n, FlakyError()) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.8, 1.0]
        assert low.delay(5, FlakyError()) == 0.0

    def test_retry_after_is_a_floor_for_the_wait(self) -> None:
        """A Retry-After longer than the backoff is waited; a shorter one is not."""
        retry = Retry(RetrySettings(backoff_base=0.1, backoff_max=1.0), rand=lambda: 1.0)
        assert retry.delay(1, FlakyError(retry_after=3.0)) == 3.0
        assert retry.delay(1, FlakyError(retry_after=0.01)) == 0.1

    async def test_does_not_wait_past_the_deadline(self) -> None:
        """A Retry-After beyond the deadline: the error is raised at once, not after waiting."""
        calls, fn = failing(5, FlakyError(retry_after=30.0))
        retry = Retry(RetrySettings(attempts=5))
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(FlakyError) as caught:
            await retry.call(fn, timeout=5.0)  # type: ignore[arg-type]
        assert len(calls) == 1
        assert loop.time() - started < 5.0
        assert "past the deadline" in " ".join(caught.value.__notes__)

    async def test_an_attempt_is_cut_at_the_deadline(self) -> None:
        """An attempt still running at the deadline is cancelled: CallTimeoutError."""
        cancelled = asyncio.Event()

        async def hangs() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        retry = Retry(RetrySettings(), name="geo")
        with pytest.raises(CallTimeoutError) as caught:
            await retry.call(hangs, timeout=0.05)
        assert cancelled.is_set()
        assert caught.value.dependency == "geo"
        assert isinstance(caught.value, TimeoutError)

    async def test_the_budget_bounds_retries_across_calls(self) -> None:
        """100 failing calls with 3 attempts each make at most 100 + 10 + 20% retries."""
        total = 0

        async def down() -> None:
            nonlocal total
            total += 1
            raise FlakyError

        retry = Retry(
            RetrySettings(
                attempts=3,
                backoff_base=0.0,
                backoff_max=0.0,
                budget_ratio=0.2,
                budget_min_retries=10,
            )
        )
        results = await asyncio.gather(
            *(retry.call(down) for _ in range(100)), return_exceptions=True
        )
        assert all(isinstance(r, FlakyError) for r in results)
        assert total <= 100 + 10 + 20
        assert total > 100  # some retries were made

    def test_budget_refills_as_its_window_moves(self) -> None:
        """Retries spent in one window are available again once it has passed."""
        now = [0.0]
        budget = RetryBudget(ratio=0.0, min_retries=2, window=10.0, clock=lambda: now[0])
        assert budget.try_retry()
        assert budget.try_retry()
        assert not budget.try_retry()
        now[0] += 11.0
        assert budget.available() == 2
        assert budget.try_retry()


class TestRetryAfter:
    def test_seconds_and_http_dates(self) -> None:
        """Delta-seconds and HTTP dates both parse; junk gives None."""
        assert news_client.parse_retry_after("120") == 120.0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
        seconds = news_client.parse_retry_after(email.utils.format_datetime(later, usegmt=True))
        assert seconds is not None
        assert 55 < seconds <= 60
        assert news_client.parse_retry_after("soon") is None
        assert news_client.parse_retry_after(None) is None
        assert news_client.parse_retry_after("-5") == 0.0


class TestBulkhead:
    async def test_admits_up_to_the_limit_then_refuses(self) -> None:
        """With max_wait 0, the call past max_concurrent fails at once."""
        bulkhead = Bulkhead(BulkheadSettings(max_concurrent=2), name="geo")
        await bulkhead.acquire()
        await bulkhead.acquire()
        with pytest.raises(BulkheadFullError) as caught:
            await bulkhead.acquire()
        assert caught.value.limit == 2
        bulkhead.release()
        await bulkhead.acquire()
        assert bulkhead.in_use == 2

    async def test_waiters_get_slots_in_order(self) -> None:
        """Callers waiting for a slot get it in arrival order as slots free up."""
        bulkhead = Bulkhead(BulkheadSettings(max_concurrent=1, max_wait=5.0))
        order: list[int] = []

        async def worker(i: int) -> None:
            async with bulkhead:
                order.append(i)
                await asyncio.sleep(0)

        await asyncio.gather(*(worker(i) for i in range(5)))
        assert order == [0, 1, 2, 3, 4]
        assert bulkhead.in_use == 0
        assert bulkhead.waiting == 0

    async def test_a_wait_past_max_wait_fails(self) -> None:
        """A caller that waited max_wait without a slot gets BulkheadFullError."""
        bulkhead = Bulkhead(BulkheadSettings(max_concurrent=1, max_wait=0.02))
        await bulkhead.acquire()
        with pytest.raises(BulkheadFullError, match="after waiting"):
            await bulkhead.acquire()
        assert bulkhead.waiting == 0
        bulkhead.release()
        assert bulkhead.in_use == 0

    async def test_a_cancelled_waiter_leaks_no_slot(self) -> None:
        """Cancelling waiters (even one just handed a slot) leaves the count exact."""
        bulkhead = Bulkhead(BulkheadSettings(max_concurrent=1, max_wait=10.0))
        await bulkhead.acquire()
        first = asyncio.create_task(bulkhead.acquire())
        second = asyncio.create_task(bulkhead.acquire())
        await asyncio.sleep(0)
        bulkhead.release()  # handed to `first`, which has not run yet
        first.cancel()
        second.cancel()
        await asyncio.gather(first, second, return_exceptions=True)
        assert bulkhead.in_use == 0
        assert bulkhead.waiting == 0


class TestTimeout:
    async def test_raises_call_timeout_error(self) -> None:
        """news_client.timeout cancels the block and raises CallTimeoutError (a TimeoutError)."""
        with pytest.raises(CallTimeoutError) as caught:
            async with news_client.timeout(0.01, name="geo"):
                await asyncio.sleep(3600)
        assert caught.value.timeout == 0.01
        assert caught.value.dependency == "geo"

    async def test_lets_a_fast_block_through(self) -> None:
        """A block that ends in time is left alone."""
        async with news_client.timeout(5.0) as limit:
            await asyncio.sleep(0)
        assert not limit.expired()
