"""``setup()``, ``flush()`` and ``shutdown()``: configuring the pipeline and draining it."""

from __future__ import annotations

import atexit
import logging
from typing import TYPE_CHECKING

from news_log._core import LEVELS, STATE, refresh_levels
from news_log._render import Redactor
from news_log._repeats import install as install_repeat_filter
from news_log._settings import LogSettings
from news_log._sinks import ConsoleSink, JSONSink, Output
from news_log._stdlib import StdlibHandler

if TYPE_CHECKING:
    from news_log._sinks import Sink

__all__ = ["flush", "setup", "shutdown"]

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
    root.setLevel(LEVELS[settings.level])
    for name, level in settings.levels.items():
        logging.getLogger(name).setLevel(LEVELS[level])
        _stdlib_levels.append(name)
    logging.captureWarnings(True)


def setup(settings: LogSettings | None = None) -> None:
    """Configure logging for the process; calling it again with equal settings does nothing.

    Different settings reconfigure: the old output is flushed first, nothing is lost.
    Without a call, the first log line configures the defaults (``LogSettings()``).
    """
    settings = settings if settings is not None else LogSettings()
    with STATE.lock:
        if STATE.configured and STATE.settings == settings:
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
