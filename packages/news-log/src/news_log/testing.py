"""Test helpers for services that log with news-log.

Example:
    >>> from news_log import get_logger
    >>> from news_log.testing import capture_logs
    >>> with capture_logs() as lines:
    ...     get_logger("demo").info("published", article_id=7, token="abc")
    >>> lines[0]["msg"], lines[0]["article_id"], lines[0]["token"]
    ('published', 7, '***')
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from news_log._core import STATE, refresh_levels
from news_log._setup import setup
from news_log._sinks import CaptureSink

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["capture_logs"]


@contextlib.contextmanager
def capture_logs(level: str = "debug") -> Iterator[list[dict[str, Any]]]:
    """Collect every line logged inside the block as dicts (as the JSON output would hold them).

    Lines of stdlib loggers are captured too. Redaction applies, as in production. Loggers are
    opened to ``level`` for the duration of the block and restored afterwards.
    """
    from news_log._core import LEVELS

    if not STATE.configured:
        setup()
    sink = CaptureSink()
    root = logging.getLogger()
    with STATE.lock:
        previous = (STATE.sink, STATE.level, STATE.levels, root.level)
        STATE.sink = sink
        STATE.level = LEVELS[level]
        STATE.levels = {}
        root.setLevel(LEVELS[level])
        refresh_levels()
    try:
        yield sink.events
    finally:
        with STATE.lock:
            STATE.sink, STATE.level, STATE.levels, root_level = previous
            root.setLevel(root_level)
            refresh_levels()
