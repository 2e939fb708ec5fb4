"""Log repeated identical failures at a bounded rate: once per interval, with a count.

During a Redis outage every rate-limit check fails the same way; logging each would flood the
logs (and cost more than the check). `BoundedLog.warning` logs the first occurrence of a
distinct (message, error type) at once, then at most once per ``interval`` seconds, with
``suppressed`` = how many identical lines were left out meanwhile. Thread-safe.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from news_log import Logger

__all__ = ["BoundedLog"]

_MAX_KEYS = 1_000


class BoundedLog:
    """A rate-bounded warning log over a news-log logger (one line per key per interval)."""

    __slots__ = ("_interval", "_lock", "_logger", "_seen")

    def __init__(self, logger: Logger, *, interval: float = 10.0) -> None:
        self._logger = logger
        self._interval = interval
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], list[float]] = {}  # key -> [last logged, suppressed]

    def warning(self, message: str, error: BaseException, **fields: Any) -> bool:
        """Log ``message`` with ``error`` unless its key was logged within the interval.

        Returns:
            True when the line was written, False when it was counted as suppressed.
        """
        key = (message, type(error).__name__)
        now = time.monotonic()
        with self._lock:
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self._interval:
                entry[1] += 1
                return False
            suppressed = int(entry[1]) if entry is not None else 0
            if entry is None and len(self._seen) >= _MAX_KEYS:
                self._seen.clear()  # many distinct errors: start counting afresh
            self._seen[key] = [now, 0]
        self._logger.warning(
            message,
            error=f"{type(error).__name__}: {error}",
            suppressed=suppressed,
            interval_s=self._interval,
            **fields,
        )
        return True
