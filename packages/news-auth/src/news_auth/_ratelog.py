"""Log a repeated event at most once per interval per key, with the count of those suppressed."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """``log(key, message, **fields)`` writes through ``emit`` at most once per ``interval``."""

    __slots__ = ("_clock", "_emit", "_interval", "_lock", "_state")

    def __init__(
        self,
        emit: Callable[..., Any],
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap ``emit`` (a logger method) with a per-key interval."""
        self._emit = emit
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, int]] = {}

    def log(self, key: str, message: str, **fields: Any) -> bool:
        """Log unless ``key`` was logged within the interval; return whether it was logged."""
        now = self._clock()
        with self._lock:
            last, suppressed = self._state.get(key, (float("-inf"), 0))
            if now - last < self._interval:
                self._state[key] = (last, suppressed + 1)
                return False
            self._state[key] = (now, 0)
        self._emit(message, suppressed=suppressed, **fields)
        return True
