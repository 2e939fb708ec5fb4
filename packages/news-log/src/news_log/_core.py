"""The logging hot path: ``Logger`` methods build one dict and hand it to the active sink."""

from __future__ import annotations

import threading
import weakref
from time import time_ns
from typing import TYPE_CHECKING, Any, Final

from news_log._context import _CONTEXT
from news_log._render import SCALARS, Redactor, exception_fields, format_ts_ms
from news_log._settings import DEFAULT_REDACT_KEYS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from news_log._render import ExcInfo
    from news_log._repeats import LimitedLogger
    from news_log._sinks import Sink

__all__ = ["LEVELS", "Logger", "get_logger"]

DEBUG: Final = 10
INFO: Final = 20
WARNING: Final = 30
ERROR: Final = 40
CRITICAL: Final = 50
LEVELS: Final[dict[str, int]] = {
    "debug": DEBUG,
    "info": INFO,
    "warning": WARNING,
    "error": ERROR,
    "critical": CRITICAL,
}
LEVEL_NAMES: Final[dict[int, str]] = {v: k for k, v in LEVELS.items()}


class _State:
    """What setup() configured; replaced attribute by attribute under ``lock``."""

    __slots__ = ("configured", "level", "levels", "lock", "redactor", "settings", "sink", "static")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sink: Sink | None = None
        self.redactor = Redactor(DEFAULT_REDACT_KEYS)
        self.static: dict[str, Any] = {}
        self.level = INFO
        self.levels: dict[str, int] = {}
        self.settings: Any = None
        self.configured = False


STATE: Final = _State()
_loggers: weakref.WeakSet[Logger] = weakref.WeakSet()
_named: dict[str, Logger] = {}


def effective_level(name: str) -> int:
    """Return the level for logger ``name``: the longest configured dotted prefix, else global."""
    levels = STATE.levels
    if levels:
        probe = name
        while True:
            level = levels.get(probe)
            if level is not None:
                return level
            cut = probe.rfind(".")
            if cut < 0:
                break
            probe = probe[:cut]
    return STATE.level


def refresh_levels() -> None:
    """Recompute the cached level of every live logger (after setup changed levels)."""
    for logger in list(_loggers):
        logger._min = effective_level(logger.name)


def _sink() -> Sink:
    sink = STATE.sink
    if sink is None:  # first line before setup(): configure defaults
        from news_log._setup import setup

        setup()
        sink = STATE.sink
        assert sink is not None
    return sink


def emit(  # noqa: PLR0917 - the hot path avoids keyword-argument overhead
    level: str,
    name: str,
    msg: str,
    bound: dict[str, Any] | None,
    fields: Mapping[str, Any] | None,
    exc_info: ExcInfo | BaseException | bool | None,
    t: float | None = None,
) -> None:
    """Build the event for one line and give it to the sink (shared with the stdlib bridge)."""
    event: dict[str, Any] = {
        "ts": format_ts_ms(time_ns() // 1_000_000 if t is None else int(t * 1000)),
        "level": level,
        "logger": name,
        "msg": msg,
    }
    state = STATE
    if state.static:
        event.update(state.static)
    redactor = state.redactor
    ctx = _CONTEXT.get()
    if ctx:
        # Fast path, at C speed: every key already known harmless and every value a scalar.
        if redactor.plain_keys.issuperset(ctx) and SCALARS.issuperset(map(type, ctx.values())):
            event.update(ctx)
        else:
            redactor.update_into(event, ctx)
    if bound:
        event.update(bound)
    if fields:
        if redactor.plain_keys.issuperset(fields) and SCALARS.issuperset(
            map(type, fields.values())
        ):
            event.update(fields)
        else:
            redactor.update_into(event, fields)
    if exc_info is not None and exc_info is not False:
        exc = exception_fields(exc_info)
        if exc is not None:
            event["exception"] = exc
    sink = state.sink
    if sink is None:
        sink = _sink()
    sink.emit(event)


class Logger:
    """A structured logger: ``log.info("published", article_id=7)``.

    Much leaner than a stdlib ``logging.Logger``: a call below the logger's level costs one
    comparison; an enabled call builds one dict (time, level, logger, message, context fields,
    the call's fields) and hands it to the writer. Get one with :func:`get_logger`.
    """

    __slots__ = ("__weakref__", "_bound", "_min", "name")

    def __init__(self, name: str, bound: dict[str, Any] | None = None) -> None:
        self.name = name
        self._bound = bound
        self._min = effective_level(name)
        _loggers.add(self)

    def __repr__(self) -> str:
        return f"<Logger {self.name!r} level={LEVEL_NAMES.get(self._min, self._min)}>"

    def bind(self, **fields: Any) -> Logger:
        """Return a logger with the same name that adds ``fields`` to every line it writes."""
        bound = dict(self._bound) if self._bound else {}
        STATE.redactor.update_into(bound, fields)
        return Logger(self.name, bound)

    def limited(
        self, interval: float | None = None, *, clock: Callable[[], float] | None = None
    ) -> LimitedLogger:
        """Return this logger with repeats bounded: a kind of line once per ``interval`` seconds.

        A kind is the level, the message and an optional ``repeat_key=`` (the error's type, a
        dependency's name); the lines left out are counted and the next one written says how
        many (``suppressed=N``). ``interval`` None follows ``LogSettings.repeat_interval``
        (default 10 s). Keep the returned `LimitedLogger` (its counts live in it)::

            failures = get_logger(__name__).limited()
            failures.warning("publish failed", repeat_key=type(exc).__name__, error=str(exc))
        """
        from news_log._repeats import LimitedLogger, RateLimit

        limit = RateLimit(interval) if clock is None else RateLimit(interval, clock=clock)
        return LimitedLogger(self, limit)

    def is_enabled(self, level: str) -> bool:
        """Return whether a line at ``level`` ("debug".."critical") would be written."""
        return LEVELS[level] >= self._min

    def debug(self, msg: str, /, **fields: Any) -> None:
        """Log at debug level."""
        if self._min <= DEBUG:
            emit("debug", self.name, msg, self._bound, fields, None)

    def info(self, msg: str, /, **fields: Any) -> None:
        """Log at info level."""
        if self._min <= INFO:
            emit("info", self.name, msg, self._bound, fields, None)

    def warning(
        self, msg: str, /, *, exc_info: ExcInfo | BaseException | bool | None = None, **fields: Any
    ) -> None:
        """Log at warning level; ``exc_info=True`` (or an exception) adds the exception."""
        if self._min <= WARNING:
            emit("warning", self.name, msg, self._bound, fields, exc_info)

    def error(
        self, msg: str, /, *, exc_info: ExcInfo | BaseException | bool | None = None, **fields: Any
    ) -> None:
        """Log at error level; ``exc_info=True`` (or an exception) adds the exception."""
        if self._min <= ERROR:
            emit("error", self.name, msg, self._bound, fields, exc_info)

    def critical(
        self, msg: str, /, *, exc_info: ExcInfo | BaseException | bool | None = None, **fields: Any
    ) -> None:
        """Log at critical level; ``exc_info=True`` (or an exception) adds the exception."""
        if self._min <= CRITICAL:
            emit("critical", self.name, msg, self._bound, fields, exc_info)

    def exception(self, msg: str, /, **fields: Any) -> None:
        """Log at error level with the exception being handled (call it in ``except``)."""
        if self._min <= ERROR:
            emit("error", self.name, msg, self._bound, fields, True)

    def log(self, level: str, msg: str, /, **fields: Any) -> None:
        """Log at ``level`` given by name ("debug".."critical")."""
        if LEVELS[level] >= self._min:
            emit(level, self.name, msg, self._bound, fields, fields.pop("exc_info", None))


def get_logger(name: str = "app") -> Logger:
    """Return the logger called ``name`` (cached: one instance per name).

    Use the module's name, like stdlib logging: ``log = get_logger(__name__)``.
    """
    logger = _named.get(name)
    if logger is None:
        with STATE.lock:
            logger = _named.get(name)
            if logger is None:
                logger = _named[name] = Logger(name)
    return logger
