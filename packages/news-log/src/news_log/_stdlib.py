"""Bridge: every stdlib ``logging`` record (aiokafka, robyn, asyncio...) into the same output."""

from __future__ import annotations

import logging
from typing import Any

from news_log._core import LEVEL_NAMES, emit

__all__ = ["StdlibHandler"]

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class StdlibHandler(logging.Handler):
    """A root handler that turns records into news-log events (fields from ``extra=``)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Convert ``record`` and hand it to the active sink; never raises."""
        try:
            try:
                msg = record.getMessage()
            except Exception:  # noqa: BLE001 - bad %-args in a third-party call
                msg = f"{record.msg!r} % {record.args!r}"
            extra: dict[str, Any] | None = None
            for key, value in record.__dict__.items():
                if key not in _RECORD_ATTRS and not key.startswith("_"):
                    if extra is None:
                        extra = {}
                    extra[key] = value
            level = LEVEL_NAMES.get(record.levelno) or record.levelname.lower()
            exc_info = record.exc_info if record.exc_info and record.exc_info[1] else None
            if record.stack_info:
                extra = extra or {}
                extra["stack"] = record.stack_info
            emit(level, record.name, msg, None, extra, exc_info, record.created)
        except Exception:  # noqa: BLE001
            self.handleError(record)
