"""Log a repeated event at most once per interval per key, with the count of those suppressed.

news-log is to gain this (PROTOCOL.md, "Rate-limited logging"); until then each client
package keeps a copy this small.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RateLimitedLog"]


class RateLimitedLog:
    """``log(key, message, **fields)`` writes through ``emit`` at most once per ``interval``."""

    __slots__ = ("_clock", "_emit", "_interval", "_state")

    def __init__(
        self,
        emit: Callable[..., Any],
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._interval = interval
        self._clock = clock
        self._state: dict[str, tuple[float, int]] = {}

    def log(self, key: str, message: str, **fields: Any) -> bool:
        """Log unless ``key`` was logged within the interval; return whether it was logged."""
        now = self._clock()
        last, suppressed = self._state.get(key, (float("-inf"), 0))
        if now - last < self._interval:
            self._state[key] = (last, suppressed + 1)
            return False
        if len(self._state) > 1000:
            self._state.clear()
        self._state[key] = (now, 0)
        self._emit(message, suppressed=suppressed, **fields)
        return True
