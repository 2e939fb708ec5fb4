"""Repeated log lines at a bounded rate: the first of a kind at once, then one per interval.

During an outage a client library logs the same error many times a second (aiokafka: ~100
lines/s while its broker is down). A *kind* of line is its logger, level, message template and
error type; the first line of a kind is written, the repeats within ``interval`` seconds are
counted and left out, and the next line written says how many were (``suppressed=N``).

Three ways in, one mechanism (`RateLimit`):

- `RateLimitFilter`: a :class:`logging.Filter` for stdlib handlers; news-log's own root handler
  carries one for the loggers named in ``LogSettings.repeat_limited`` and by `limit_repeats`;
- `Logger.limited() <news_log.Logger.limited>`: a news-log logger whose lines are limited the
  same way (`LimitedLogger`), for a package's own outage warnings;
- `RateLimit` itself, for anything else that must decide "write this one or count it".
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from news_log._core import STATE, emit

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable

    from news_log._core import Logger
    from news_log._render import ExcInfo

__all__ = [
    "DEFAULT_REPEAT_INTERVAL",
    "LimitedLogger",
    "RateLimit",
    "RateLimitFilter",
    "limit_repeats",
]

#: Seconds between two lines of the same kind when nothing else is configured.
DEFAULT_REPEAT_INTERVAL: Final = 10.0
_MAX_KEYS: Final = 1_000


class RateLimit:
    """Decides which repeats of a kind of event get through: one per ``interval`` per key.

    Thread-safe. ``admit(key)`` returns None for a repeat within the interval (counted), else
    how many were counted since the last one admitted (0 the first time).

    Args:
        interval: Least seconds between two admitted events of the same key; 0 admits all.
            None follows ``LogSettings.repeat_interval`` (read at each call, so a later
            ``setup()`` applies).
        max_keys: Distinct keys remembered; past it, keys quiet for an interval are forgotten,
            then all (counts of forgotten keys are lost, never their next line).
        clock: Monotonic seconds (tests pass a fake one).

    Example:
        >>> limit = RateLimit(10.0, clock=lambda: 0.0)
        >>> limit.admit("timeout"), limit.admit("timeout"), limit.admit("refused")
        (0, None, 0)
    """

    __slots__ = ("_clock", "_interval", "_lock", "_max_keys", "_seen")

    def __init__(
        self,
        interval: float | None = None,
        *,
        max_keys: int = _MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval is not None and not interval >= 0:
            raise ValueError(f"a repeat interval must be >= 0 seconds, not {interval!r}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1, not {max_keys!r}")
        self._interval = interval
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[Hashable, list[float]] = {}  # key -> [last admitted, counted since]

    @property
    def interval(self) -> float:
        """The interval in force (the configured ``repeat_interval`` when built with None)."""
        if self._interval is not None:
            return self._interval
        settings = STATE.settings
        return DEFAULT_REPEAT_INTERVAL if settings is None else float(settings.repeat_interval)

    def admit(self, key: Hashable) -> int | None:
        """Return None to leave this event out, else how many of ``key`` were left out before."""
        interval = self.interval
        now = self._clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None:
                if len(self._seen) >= self._max_keys:
                    self._forget(now, interval)
                self._seen[key] = [now, 0]
                return 0
            if now - entry[0] < interval:
                entry[1] += 1
                return None
            suppressed = int(entry[1])
            entry[0] = now
            entry[1] = 0
            return suppressed

    def suppressed(self, key: Hashable) -> int:
        """How many events of ``key`` were left out since the last one admitted."""
        with self._lock:
            entry = self._seen.get(key)
            return 0 if entry is None else int(entry[1])

    def _forget(self, now: float, interval: float) -> None:
        """Make room (lock held): drop keys quiet for an interval, or all of them."""
        stale = [key for key, (last, _) in self._seen.items() if now - last >= interval]
        for key in stale:
            del self._seen[key]
        if len(self._seen) >= self._max_keys:
            self._seen.clear()


def _error_kind(record: logging.LogRecord) -> tuple[str, ...]:
    """The error types a record carries: its exception, and exceptions among its %-args."""
    kinds: list[str] = []
    if record.exc_info and record.exc_info[0] is not None:
        kinds.append(record.exc_info[0].__qualname__)
    args = record.args
    if isinstance(args, tuple):
        kinds.extend(type(arg).__qualname__ for arg in args if isinstance(arg, BaseException))
    return tuple(kinds)


class RateLimitFilter(logging.Filter):
    """A stdlib filter: repeated records of a kind pass once per interval, with ``suppressed``.

    A kind is the logger name, the level, the message template (``record.msg``, before the
    %-arguments are filled in) and the error types the record carries (its exception, and
    exceptions among its arguments): ``"Unable connect to node %s: %s"`` with a
    ``ConnectionRefusedError`` is one kind whatever the node. Records that pass get a
    ``suppressed`` attribute (how many of their kind were left out since the last one passed;
    news-log writes it as a field, a stdlib formatter can show ``%(suppressed)s``).

    Add it to a handler (filters on a logger do not see its children's records)::

        handler.addFilter(news_log.RateLimitFilter(10.0, loggers=("aiokafka",)))

    news-log's own handler carries one already (``LogSettings.repeat_limited``,
    `limit_repeats`).

    Args:
        interval: Least seconds between two records of a kind; None follows
            ``LogSettings.repeat_interval`` (default 10 s); 0 lets all through.
        loggers: Limit only these loggers and their children (dotted prefixes); None: all.
        max_keys: Distinct kinds remembered (see `RateLimit`).
        clock: Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        interval: float | None = None,
        *,
        loggers: Iterable[str] | None = None,
        max_keys: int = _MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.limit = RateLimit(interval, max_keys=max_keys, clock=clock)
        """The decisions (and counts) behind this filter."""
        self._all = loggers is None
        self._exact: frozenset[str] = frozenset()
        self._dotted: tuple[str, ...] = ()
        if loggers is not None:
            self.set_loggers(loggers)

    @property
    def loggers(self) -> tuple[str, ...] | None:
        """The limited logger prefixes (None: every logger)."""
        return None if self._all else tuple(sorted(self._exact))

    def set_loggers(self, loggers: Iterable[str]) -> None:
        """Limit these loggers (and their children) from now on, instead of the previous ones."""
        names = frozenset(name.strip(".") for name in loggers if name.strip("."))
        self._all = False
        self._dotted = tuple(f"{name}." for name in names)
        self._exact = names  # swapped last: a concurrent filter() sees old or new, both valid

    def applies_to(self, name: str) -> bool:
        """Whether records of logger ``name`` are limited by this filter."""
        return self._all or name in self._exact or name.startswith(self._dotted)

    def filter(self, record: logging.LogRecord) -> bool:
        """Let ``record`` through (True) unless it repeats its kind within the interval."""
        name = record.name
        if not (self._all or name in self._exact or name.startswith(self._dotted)):
            return True
        msg = record.msg if isinstance(record.msg, str) else type(record.msg).__qualname__
        suppressed = self.limit.admit((name, record.levelno, msg, _error_kind(record)))
        if suppressed is None:
            return False
        record.suppressed = suppressed
        return True


class LimitedLogger:
    """A news-log logger whose repeated lines are written once per interval, with a count.

    Get one with ``get_logger(name).limited()``. A kind of line is its level, its message and
    the optional ``repeat_key`` (e.g. the error's type, or the dependency's name); every line
    written carries ``suppressed`` (how many of its kind were left out since the last one).
    Each method returns whether the line was written.

    Example:
        >>> import news_log
        >>> from news_log.testing import capture_logs
        >>> failures = news_log.get_logger("demo").limited(10.0)
        >>> with capture_logs() as lines:
        ...     [failures.warning("call failed", repeat_key="Timeout") for _ in range(3)]
        [True, False, False]
        >>> [(line["msg"], line["suppressed"]) for line in lines]
        [('call failed', 0)]
    """

    __slots__ = ("limit", "logger")

    def __init__(self, logger: Logger, limit: RateLimit) -> None:
        self.logger = logger
        """The logger lines are written to."""
        self.limit = limit
        """The decisions (and counts) behind this logger."""

    def __repr__(self) -> str:
        return f"<LimitedLogger {self.logger.name!r} interval={self.limit.interval:g}s>"

    def _write(
        self,
        level: str,
        msg: str,
        repeat_key: Hashable,
        exc_info: ExcInfo | BaseException | bool | None,
        fields: dict[str, Any],
    ) -> bool:
        if not self.logger.is_enabled(level):
            return False
        suppressed = self.limit.admit((level, msg, repeat_key))
        if suppressed is None:
            return False
        fields["suppressed"] = suppressed
        logger = self.logger
        emit(level, logger.name, msg, logger._bound, fields, exc_info)
        return True

    def debug(self, msg: str, /, *, repeat_key: Hashable = None, **fields: Any) -> bool:
        """Log at debug level unless this kind was written within the interval."""
        return self._write("debug", msg, repeat_key, None, fields)

    def info(self, msg: str, /, *, repeat_key: Hashable = None, **fields: Any) -> bool:
        """Log at info level unless this kind was written within the interval."""
        return self._write("info", msg, repeat_key, None, fields)

    def warning(
        self,
        msg: str,
        /,
        *,
        repeat_key: Hashable = None,
        exc_info: ExcInfo | BaseException | bool | None = None,
        **fields: Any,
    ) -> bool:
        """Log at warning level unless this kind was written within the interval."""
        return self._write("warning", msg, repeat_key, exc_info, fields)

    def error(
        self,
        msg: str,
        /,
        *,
        repeat_key: Hashable = None,
        exc_info: ExcInfo | BaseException | bool | None = None,
        **fields: Any,
    ) -> bool:
        """Log at error level unless this kind was written within the interval."""
        return self._write("error", msg, repeat_key, exc_info, fields)

    def critical(
        self,
        msg: str,
        /,
        *,
        repeat_key: Hashable = None,
        exc_info: ExcInfo | BaseException | bool | None = None,
        **fields: Any,
    ) -> bool:
        """Log at critical level unless this kind was written within the interval."""
        return self._write("critical", msg, repeat_key, exc_info, fields)


# -- news-log's own handler: which stdlib loggers it limits ---------------------------------

_registered: set[str] = set()
_filter: RateLimitFilter | None = None
_configured: tuple[str, ...] = ()


def limit_repeats(*loggers: str) -> None:
    """Limit repeated lines of these stdlib loggers (and their children) in news-log's output.

    For packages wrapping a chatty client library: news-kafka calls
    ``limit_repeats("aiokafka")``. Adds to ``LogSettings.repeat_limited``; the interval is
    ``LogSettings.repeat_interval``. Takes effect at once, before or after `setup`.
    """
    with STATE.lock:
        _registered.update(name for name in loggers if name)
        if _filter is not None:
            _filter.set_loggers((*_configured, *_registered))


def install(handler: logging.Handler, configured: Iterable[str]) -> None:
    """Give news-log's root handler its filter for the configured and registered loggers."""
    global _filter, _configured  # noqa: PLW0603 - one handler per process, configured by setup()
    with STATE.lock:
        _configured = tuple(configured)
        if _filter is None:
            _filter = RateLimitFilter(None, loggers=())
        _filter.set_loggers((*_configured, *_registered))
        if _filter not in handler.filters:
            handler.addFilter(_filter)
