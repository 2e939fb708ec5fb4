"""The circuit breaker: closed, open, half-open over a count- or time-based sliding window.

The semantics are resilience4j's CircuitBreaker's:

- **closed**: every call goes through; outcomes go into the sliding window. Once it holds
  ``minimum_calls`` calls, a failure rate or slow-call rate at or above its threshold opens
  the breaker.
- **open**: calls are refused at once (`BreakerOpenError`) for ``open_duration`` seconds; then
  the next call finds the breaker half-open.
- **half-open**: ``half_open_calls`` trial calls are let through, never more, however many
  callers arrive at once; the others are refused. When every trial has an outcome, the
  breaker closes (rates under the thresholds, window emptied) or opens again.

A call's outcome is recorded against the state that admitted it: a call admitted while closed
that ends after the breaker opened changes nothing (each transition starts a new generation,
and a permit carries its generation). A call that ends without an outcome (cancelled, or an
error the failure predicate calls neither) gives its trial slot back.

The breaker is not thread-safe: use it from one event loop (its state changes are plain
attribute updates with no ``await`` between them, so concurrent tasks cannot interleave).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar

import news_log
from news_client._errors import BreakerOpenError, ClientConfigError
from news_client._settings import BreakerSettings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterator

__all__ = ["BreakerState", "CircuitBreaker", "CircuitBreakers", "StateListener"]

BreakerState: TypeAlias = Literal["closed", "open", "half_open"]
StateListener: TypeAlias = Callable[[str, BreakerState, BreakerState], None]
"""Called as ``listener(name, old_state, new_state)`` on a breaker's transitions."""

CLOSED: Final = "closed"
OPEN: Final = "open"
HALF_OPEN: Final = "half_open"

_FAILED: Final = 1
_SLOW: Final = 2

T = TypeVar("T")

_log: Final = news_log.get_logger("news_client.breaker")


def _default_failure(exc: BaseException) -> bool:
    return isinstance(exc, Exception)


class _CountWindow:
    """The outcomes of the last ``size`` calls, with running totals."""

    __slots__ = ("calls", "failures", "next", "ring", "size", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        self.ring = bytearray(size)
        self.next = 0
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def add(self, outcome: int, _now: float) -> None:
        i = self.next
        if self.calls == self.size:
            old = self.ring[i]
            self.failures -= old & _FAILED
            self.slow -= (old & _SLOW) >> 1
        else:
            self.calls += 1
        self.ring[i] = outcome
        self.failures += outcome & _FAILED
        self.slow += (outcome & _SLOW) >> 1
        self.next = i + 1 if i + 1 < self.size else 0

    def totals(self, _now: float) -> tuple[int, int, int]:
        return self.calls, self.failures, self.slow


class _TimeWindow:
    """The outcomes of the calls of the last ``size`` seconds, in one bucket per second."""

    __slots__ = ("buckets", "calls", "failures", "last", "size", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        self.buckets = [[0, 0, 0] for _ in range(size)]  # calls, failures, slow
        self.last = -1  # the epoch second of the newest bucket in use
        self.calls = 0
        self.failures = 0
        self.slow = 0

    def _advance(self, now: float) -> int:
        second = int(now)
        last = self.last
        if second > last:
            if last < 0 or second - last >= self.size:
                for bucket in self.buckets:
                    bucket[0] = bucket[1] = bucket[2] = 0
                self.calls = self.failures = self.slow = 0
            else:
                for s in range(last + 1, second + 1):
                    bucket = self.buckets[s % self.size]
                    self.calls -= bucket[0]
                    self.failures -= bucket[1]
                    self.slow -= bucket[2]
                    bucket[0] = bucket[1] = bucket[2] = 0
            self.last = second
        return second

    def add(self, outcome: int, now: float) -> None:
        second = self._advance(now)
        bucket = self.buckets[second % self.size]
        failed = outcome & _FAILED
        slow = (outcome & _SLOW) >> 1
        bucket[0] += 1
        bucket[1] += failed
        bucket[2] += slow
        self.calls += 1
        self.failures += failed
        self.slow += slow

    def totals(self, now: float) -> tuple[int, int, int]:
        self._advance(now)
        return self.calls, self.failures, self.slow


class CircuitBreaker:
    """An async circuit breaker for one key (a host, a dependency); see the module docstring.

    Use `call` to run a coroutine through it, or the low-level protocol: ``permit =
    breaker.acquire()`` (raises `BreakerOpenError`), then exactly one of ``breaker.success(permit,
    seconds)``, ``breaker.failure(permit, seconds)`` or ``breaker.release(permit)``.

    Args:
        settings: Thresholds, window and timings (`BreakerSettings`).
        name: The key, used in errors, logs and metrics.
        is_failure: Which exceptions count as failures of the dependency (default: every
            `Exception`; pass one that says False for a 404, say). Others count as successes.
        listeners: Called as ``listener(name, old_state, new_state)`` on every transition
            (metrics); an exception in one is logged and ignored.
        clock: A monotonic clock in seconds (tests pass a fake one).
    """

    __slots__ = (
        "_clock",
        "_failure_threshold",
        "_generation",
        "_half_open",
        "_listeners",
        "_minimum_calls",
        "_open_until",
        "_settings",
        "_slow_duration",
        "_slow_threshold",
        "_state",
        "_timed",
        "_trials_done",
        "_trials_failed",
        "_trials_slow",
        "_trials_taken",
        "_window",
        "is_failure",
        "name",
    )

    def __init__(
        self,
        settings: BreakerSettings | None = None,
        *,
        name: str = "default",
        is_failure: Callable[[BaseException], bool] | None = None,
        listeners: tuple[StateListener, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings = settings if settings is not None else BreakerSettings()
        self.name = name
        self.is_failure = is_failure if is_failure is not None else _default_failure
        self._listeners = list(listeners)
        self._clock = clock
        self._state: BreakerState = CLOSED
        self._generation = 0
        self._open_until = 0.0
        self._half_open = settings.half_open_calls
        self._slow_duration = settings.slow_call_duration
        self._minimum_calls = settings.minimum_calls
        self._failure_threshold = settings.failure_rate_threshold
        self._slow_threshold = settings.slow_call_rate_threshold
        self._timed = settings.window == "time"
        self._trials_taken = 0
        self._trials_done = 0
        self._trials_failed = 0
        self._trials_slow = 0
        self._window: _CountWindow | _TimeWindow = self._new_window()

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._state}>"

    @property
    def settings(self) -> BreakerSettings:
        """The breaker's settings."""
        return self._settings

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker whose ``open_duration`` passed reads half-open)."""
        if self._state == OPEN and self._clock() >= self._open_until:
            self._transition(HALF_OPEN)
        return self._state

    def add_listener(self, listener: StateListener) -> None:
        """Call ``listener(name, old_state, new_state)`` on every transition from now on."""
        self._listeners.append(listener)

    def metrics(self) -> dict[str, Any]:
        """The window's figures: state, calls, failures, slow calls and both rates (percent)."""
        state = self.state
        calls, failures, slow = self._window.totals(self._clock())
        return {
            "state": state,
            "calls": calls,
            "failures": failures,
            "slow_calls": slow,
            "failure_rate": failures * 100.0 / calls if calls else 0.0,
            "slow_call_rate": slow * 100.0 / calls if calls else 0.0,
            "half_open_trials_taken": self._trials_taken if state == HALF_OPEN else 0,
        }

    # -- the protocol -------------------------------------------------------------------------

    def acquire(self) -> int:
        """Ask to make a call; return its permit, or raise `BreakerOpenError`.

        Raises:
            BreakerOpenError: Open, or half-open with every trial call taken. Nothing should
                be sent; ``retry_after`` says when trial calls start.
        """
        if self._state == CLOSED:
            return self._generation
        return self._acquire_slow()

    def _acquire_slow(self) -> int:
        if self._state == OPEN:
            now = self._clock()
            if now < self._open_until:
                wait = self._open_until - now
                raise BreakerOpenError(
                    f"circuit breaker {self.name!r} is open: calls fail fast for {wait:.1f}s "
                    "more, then trial calls go through",
                    breaker=self.name,
                    state=OPEN,
                    retry_after=wait,
                )
            self._transition(HALF_OPEN)
        if self._state == HALF_OPEN:
            if self._trials_taken >= self._half_open:
                raise BreakerOpenError(
                    f"circuit breaker {self.name!r} is half-open and its {self._half_open} "
                    "trial call(s) are under way; this call is refused",
                    breaker=self.name,
                    state=HALF_OPEN,
                    retry_after=0.0,
                )
            self._trials_taken += 1
        return self._generation

    def success(self, permit: int, seconds: float) -> None:
        """Record a call that worked, and how long it took (slow calls count as slow)."""
        if permit != self._generation:
            return
        self._record(_SLOW if seconds >= self._slow_duration else 0)

    def failure(self, permit: int, seconds: float) -> None:
        """Record a call that failed, and how long it took."""
        if permit != self._generation:
            return
        outcome = _FAILED | (_SLOW if seconds >= self._slow_duration else 0)
        self._record(outcome)

    def release(self, permit: int) -> None:
        """Give the permit back without an outcome (cancelled, or neither success nor failure)."""
        if permit == self._generation and self._state == HALF_OPEN and self._trials_taken:
            self._trials_taken -= 1

    def reset(self) -> None:
        """Close the breaker and forget every outcome (an operator's manual override)."""
        self._transition(CLOSED)

    def force_open(self, seconds: float | None = None) -> None:
        """Open the breaker now, for ``seconds`` (default ``open_duration``)."""
        self._transition(OPEN, seconds)

    async def call(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` through the breaker, recording its outcome.

        Raises:
            BreakerOpenError: The breaker refused the call (``fn`` was not called).
        """
        permit = self.acquire()
        started = time.perf_counter()
        try:
            result = await fn(*args, **kwargs)
        except asyncio.CancelledError:
            self.release(permit)
            raise
        except BaseException as exc:
            if not isinstance(exc, Exception):
                self.release(permit)
            elif self.is_failure(exc):
                self.failure(permit, time.perf_counter() - started)
            else:
                self.success(permit, time.perf_counter() - started)
            raise
        self.success(permit, time.perf_counter() - started)
        return result

    # -- internals ----------------------------------------------------------------------------

    def _new_window(self) -> _CountWindow | _TimeWindow:
        s = self._settings
        return _CountWindow(s.window_size) if s.window == "count" else _TimeWindow(s.window_size)

    def _record(self, outcome: int) -> None:
        if self._state == CLOSED:
            window = self._window
            now = self._clock() if self._timed else 0.0
            window.add(outcome, now)
            calls, failures, slow = window.totals(now)
            if calls >= self._minimum_calls and (
                failures * 100.0 >= self._failure_threshold * calls
                or slow * 100.0 >= self._slow_threshold * calls
            ):
                self._transition(OPEN, reason=(calls, failures, slow))
        elif self._state == HALF_OPEN:
            self._trials_done += 1
            self._trials_failed += outcome & _FAILED
            self._trials_slow += (outcome & _SLOW) >> 1
            done = self._trials_done
            if done >= self._half_open:
                failed, slow = self._trials_failed, self._trials_slow
                if (
                    failed * 100.0 >= self._failure_threshold * done
                    or slow * 100.0 >= self._slow_threshold * done
                ):
                    self._transition(OPEN, reason=(done, failed, slow))
                else:
                    self._transition(CLOSED)

    def _transition(
        self,
        new: BreakerState,
        seconds: float | None = None,
        *,
        reason: tuple[int, int, int] | None = None,
    ) -> None:
        old = self._state
        self._state = new
        self._generation += 1
        self._trials_taken = self._trials_done = self._trials_failed = self._trials_slow = 0
        if new == OPEN:
            duration = self._settings.open_duration if seconds is None else seconds
            self._open_until = self._clock() + duration
        elif new == CLOSED:
            self._window = self._new_window()
        if old == new and new != OPEN:
            return
        self._log(old, new, reason)
        for listener in list(self._listeners):
            try:
                listener(self.name, old, new)
            except Exception:  # noqa: BLE001 - a metrics hook must not break the breaker
                _log.exception("breaker state listener failed", breaker=self.name)

    def _log(self, old: str, new: str, reason: tuple[int, int, int] | None) -> None:
        if new == OPEN:
            fields: dict[str, Any] = {"open_for": round(self._open_until - self._clock(), 3)}
            if reason is not None:
                calls, failures, slow = reason
                fields.update(
                    calls=calls,
                    failure_rate=round(failures * 100.0 / calls, 1),
                    slow_call_rate=round(slow * 100.0 / calls, 1),
                )
            _log.warning("circuit breaker opened", breaker=self.name, previous=old, **fields)
        else:
            _log.info(f"circuit breaker {new.replace('_', '-')}", breaker=self.name, previous=old)


class CircuitBreakers:
    """One `CircuitBreaker` per key (per host, per dependency), made on first use.

    Args:
        settings: The settings of every breaker.
        is_failure: Passed to each breaker.
        listeners: Passed to each breaker.
        clock: Passed to each breaker.
        max_keys: Distinct keys kept at most (a guard against keys made from user input).
    """

    __slots__ = ("_breakers", "_clock", "_is_failure", "_listeners", "max_keys", "settings")

    def __init__(
        self,
        settings: BreakerSettings | None = None,
        *,
        is_failure: Callable[[BaseException], bool] | None = None,
        listeners: tuple[StateListener, ...] = (),
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 1000,
    ) -> None:
        self.settings = settings if settings is not None else BreakerSettings()
        self._is_failure = is_failure
        self._listeners = listeners
        self._clock = clock
        self.max_keys = max_keys
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, key: str) -> CircuitBreaker:
        """The breaker of ``key``, made on first use.

        Raises:
            ClientConfigError: ``max_keys`` breakers exist already (keys from user input?).
        """
        breaker = self._breakers.get(key)
        if breaker is None:
            if len(self._breakers) >= self.max_keys:
                raise ClientConfigError(
                    f"CircuitBreakers holds {self.max_keys} keys already; keys must be a "
                    "bounded set (hosts, dependencies), never request data"
                )
            breaker = CircuitBreaker(
                self.settings,
                name=key,
                is_failure=self._is_failure,
                listeners=self._listeners,
                clock=self._clock,
            )
            self._breakers[key] = breaker
        return breaker

    def __iter__(self) -> Iterator[CircuitBreaker]:
        """Iterate over the breakers made so far."""
        return iter(list(self._breakers.values()))

    def __len__(self) -> int:
        """How many breakers were made."""
        return len(self._breakers)

    def states(self) -> dict[str, BreakerState]:
        """Each key's current state."""
        return {key: breaker.state for key, breaker in self._breakers.items()}
