"""Event-loop responsiveness: a self-rescheduling callback that measures how late it runs.

Every ``interval`` seconds the loop should run the monitor's callback; the difference between
when it was due and when it ran is the loop's lag (time the loop spent blocked, or busy with
other callbacks). The monitor keeps the samples of the last ``window`` seconds. A probe reads:

- the worst lag sampled in the window (catches a loop that *was* blocked, even if the probe
  itself was only served once the loop recovered), and
- the current stall: how overdue the next callback is right now (catches a loop that is blocked
  *now*, when the probe is served from another thread).
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from typing import TYPE_CHECKING

from news_health._errors import CheckConfigError
from news_health._report import CheckResult, Status

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LoopMonitor"]


class LoopMonitor:
    """Measures the lag of one asyncio event loop with a periodic scheduled callback.

    Args:
        threshold: Lag in seconds above which the liveness check fails.
        interval: Seconds between samples.
        window: Seconds of samples a check looks back over.
        clock: Monotonic time source (tests may replace it).

    Raises:
        CheckConfigError: A value is not positive, or ``window`` is shorter than ``interval``.
    """

    __slots__ = (
        "_clock",
        "_due",
        "_handle",
        "_lock",
        "_loop",
        "_samples",
        "interval",
        "threshold",
        "window",
    )

    def __init__(
        self,
        *,
        threshold: float = 1.0,
        interval: float = 0.25,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold <= 0 or interval <= 0 or window <= 0:
            raise CheckConfigError("loop monitor threshold, interval and window must be > 0")
        if window < interval:
            raise CheckConfigError("loop monitor window must be at least one interval long")
        self.threshold = threshold
        self.interval = interval
        self.window = window
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0
        self._samples: collections.deque[tuple[float, float]] = collections.deque()
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop being watched, or None when stopped."""
        return self._loop

    @property
    def running(self) -> bool:
        """True while the monitor is scheduled on a loop that is still open."""
        loop = self._loop
        return self._handle is not None and loop is not None and not loop.is_closed()

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start sampling ``loop`` (default: the running loop). Idempotent on the same loop.

        Raises:
            RuntimeError: No loop given and none is running.
        """
        loop = loop or asyncio.get_running_loop()
        if self._handle is not None:
            if self._loop is loop:
                return
            self._handle.cancel()
            self._handle = None
        self._loop = loop
        with self._lock:
            self._samples.clear()  # lag measured on another loop says nothing about this one
        self._due = loop.time() + self.interval
        self._handle = loop.call_at(self._due, self._tick)

    def stop(self) -> None:
        """Stop sampling (call from the monitored loop's thread)."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._loop = None

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        now = loop.time()
        lag = max(0.0, now - self._due)
        stamp = self._clock()
        with self._lock:
            self._samples.append((stamp, lag))
            while self._samples and self._samples[0][0] < stamp - self.window:
                self._samples.popleft()
        self._due = now + self.interval
        self._handle = loop.call_at(self._due, self._tick)

    def lag(self) -> tuple[float, float]:
        """``(worst sampled lag in the window, current stall)`` in seconds; thread-safe."""
        stamp = self._clock()
        with self._lock:
            worst = max((lag for t, lag in self._samples if t >= stamp - self.window), default=0.0)
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            return worst, 0.0  # nothing is scheduled to be late
        return worst, max(0.0, loop.time() - self._due)

    async def check(self) -> CheckResult:
        """The liveness check: fail when the loop lag exceeds ``threshold``.

        If the monitor is not running yet it starts on the current loop; that first probe
        measures only how long a callback scheduled now waits to run.
        """
        loop = asyncio.get_running_loop()
        watched = self._loop
        if self._handle is None or watched is None or not watched.is_running():
            self.start(loop)  # first probe, or the watched loop is gone (asyncio.run ended)
        # How long a callback scheduled now waits: the ready queue's current latency.
        started = loop.time()
        future: asyncio.Future[None] = loop.create_future()
        loop.call_soon(future.set_result, None)
        await future
        queued = loop.time() - started
        worst, stall = self.lag()  # of the monitored loop, even if this probe runs elsewhere
        lag = max(worst, stall, queued)
        millis = round(lag * 1000, 1)
        if lag > self.threshold:
            return CheckResult(
                Status.FAIL,
                f"event loop lag {millis} ms over the last {self.window:g}s exceeds "
                f"{self.threshold * 1000:g} ms",
                observed_value=millis,
                observed_unit="ms",
                component_type="system",
            )
        return CheckResult(
            Status.PASS, observed_value=millis, observed_unit="ms", component_type="system"
        )

    def check_from_thread(self) -> CheckResult:
        """The same verdict computed from another thread, without needing the loop to run."""
        worst, stall = self.lag()
        lag = max(worst, stall)
        millis = round(lag * 1000, 1)
        status = Status.FAIL if lag > self.threshold else Status.PASS
        output = (
            f"event loop unresponsive: lag {millis} ms exceeds {self.threshold * 1000:g} ms"
            if status is Status.FAIL
            else None
        )
        return CheckResult(
            status, output, observed_value=millis, observed_unit="ms", component_type="system"
        )
