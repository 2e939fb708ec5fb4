"""``setup()``, ``set_levels()``, ``flush()`` and ``shutdown()``: configuring and draining."""

from __future__ import annotations

import atexit
import logging
from typing import TYPE_CHECKING

import msgspec

from news_log._core import LEVELS, STATE, refresh_levels
from news_log._render import Redactor
from news_log._repeats import install as install_repeat_filter
from news_log._settings import LogSettings
from news_log._sinks import ConsoleSink, JSONSink, Output
from news_log._stdlib import StdlibHandler

if TYPE_CHECKING:
    from collections.abc import Mapping

    from news_log._settings import Level
    from news_log._sinks import Sink

__all__ = ["flush", "set_levels", "setup", "shutdown"]

_LIVE_FIELDS = ("level", "levels")

_handler: StdlibHandler | None = None
_stdlib_levels: list[str] = []


def _make_sink(settings: LogSettings) -> Sink:
    output = Output(settings.output)
    fmt = settings.format
    if fmt == "auto":
        fmt = "console" if output.isatty() else "json"
    if fmt == "console":
        return ConsoleSink(output, flush_interval=settings.flush_interval)
    return JSONSink(
        output, flush_interval=settings.flush_interval, max_buffer_bytes=settings.max_buffer_bytes
    )


def _configure_stdlib(settings: LogSettings) -> None:
    global _handler  # noqa: PLW0603
    root = logging.getLogger()
    for name in _stdlib_levels:  # undo the previous setup's per-logger levels
        logging.getLogger(name).setLevel(logging.NOTSET)
    _stdlib_levels.clear()
    if not settings.capture_stdlib:
        if _handler is not None:
            root.removeHandler(_handler)
            _handler = None
        return
    if _handler is None:
        _handler = StdlibHandler()
    # news-log owns the root logger's output: drop handlers others installed (Robyn calls
    # logging.basicConfig(), which adds a plain stderr handler) so no line is printed twice.
    for handler in list(root.handlers):
        if handler is not _handler:
            root.removeHandler(handler)
    if _handler not in root.handlers:
        root.addHandler(_handler)
    install_repeat_filter(_handler, settings.repeat_limited)
    _stdlib_set_levels(settings)
    logging.captureWarnings(True)


def _stdlib_set_levels(settings: LogSettings) -> None:
    for name in _stdlib_levels:  # undo the previous per-logger levels
        logging.getLogger(name).setLevel(logging.NOTSET)
    _stdlib_levels.clear()
    logging.getLogger().setLevel(LEVELS[settings.level])
    for name, level in settings.levels.items():
        logging.getLogger(name).setLevel(LEVELS[level])
        _stdlib_levels.append(name)


def _only_levels_differ(old: LogSettings, new: LogSettings) -> bool:
    return msgspec.structs.replace(old, level=new.level, levels=new.levels) == new


def _apply_levels(settings: LogSettings) -> None:
    """Under STATE.lock: switch the levels of news-log loggers and stdlib loggers to *settings*."""
    STATE.level = LEVELS[settings.level]
    STATE.levels = {name: LEVELS[level] for name, level in settings.levels.items()}
    STATE.settings = settings
    refresh_levels()
    if settings.capture_stdlib:
        _stdlib_set_levels(settings)


def set_levels(level: Level | None = None, levels: Mapping[str, Level] | None = None) -> None:
    """Change the minimum level and the per-logger levels now; the output is left as it is.

    For settings that change while the service runs (``news_config.watch``): every logger,
    news-log's and the captured stdlib ones, uses the new levels from its next line. ``setup``
    with settings that differ only in ``level``/``levels`` does the same.

    Args:
        level: The new minimum level of every logger; None keeps it.
        levels: The new per-logger levels, replacing the old ones as a whole; None keeps them.

    Raises:
        ValueError: A level is not one of debug, info, warning, error, critical.
    """
    for name in [level, *(levels or {}).values()]:
        if name is not None and name not in LEVELS:
            raise ValueError(f"log level {name!r} is not one of: {', '.join(LEVELS)}")
    with STATE.lock:
        current: LogSettings = STATE.settings if STATE.configured else LogSettings()
        if not STATE.configured:
            setup(current)
        changed = msgspec.structs.replace(
            current,
            level=current.level if level is None else level,
            levels=current.levels if levels is None else dict(levels),
        )
        _apply_levels(changed)


def setup(settings: LogSettings | None = None) -> None:
    """Configure logging for the process; calling it again with equal settings does nothing.

    Different settings reconfigure: the old output is flushed first, nothing is lost; settings
    that differ only in ``level``/``levels`` just switch the levels (as `set_levels`).
    Without a call, the first log line configures the defaults (``LogSettings()``).
    """
    settings = settings if settings is not None else LogSettings()
    with STATE.lock:
        if STATE.configured and STATE.settings == settings:
            return
        if STATE.configured and _only_levels_differ(STATE.settings, settings):
            _apply_levels(settings)  # a level change keeps the writer (and its queue)
            return
        redactor = Redactor(settings.redact_keys)
        static: dict[str, object] = {}
        redactor.update_into(static, settings.fields)
        new_sink = _make_sink(settings)
        old_sink = STATE.sink
        STATE.redactor = redactor
        STATE.static = static
        STATE.level = LEVELS[settings.level]
        STATE.levels = {name: LEVELS[level] for name, level in settings.levels.items()}
        STATE.settings = settings
        STATE.sink = new_sink
        STATE.configured = True
        refresh_levels()
        _configure_stdlib(settings)
    if old_sink is not None:
        old_sink.close(timeout=10.0)


def flush(timeout: float | None = 10.0) -> bool:
    """Block until every line logged so far is written; return False if ``timeout`` passed."""
    sink = STATE.sink
    return True if sink is None else sink.flush(timeout)


def shutdown(timeout: float | None = 10.0) -> None:
    """Write everything queued and stop the writer thread (runs at interpreter exit too).

    Logging after shutdown still works: the writer starts again on the next line.
    """
    sink = STATE.sink
    if sink is not None:
        sink.close(timeout)


atexit.register(shutdown)
