"""Structured logging for news platform services.

JSON lines in production (encoded with msgspec, written by a background thread), a rich
console in development, one pipeline for news-log loggers and every stdlib logger::

    import news_log

    news_log.setup(news_log.LogSettings(level="info", fields={"service": "newsroom"}))
    log = news_log.get_logger(__name__)

    with news_log.bind(request_id="r-42"):  # rides along into every line, across awaits
        log.info("article published", article_id=7, section="world")

    with news_log.scope(request_id="r-43") as inner:  # a bind that records binds further in
        with news_log.bind(principal="svc:ingest"):
            ...
        log.info("request done", **inner)  # names the principal, whose bind has exited

    news_log.shutdown()  # also runs at interpreter exit: queued lines are written

Levels change while running with ``news_log.set_levels("debug", {"aiokafka": "info"})`` (or
``setup`` with settings that differ only in levels): the writer and its queue stay.

Values under secret-looking keys (password, token, authorization...) are logged as ``"***"``.

Repeated lines are bounded where they flood during outages: a kind of line (logger, level,
message, error type) once per ``LogSettings.repeat_interval`` (10 s), the next one saying how
many were left out (``suppressed=N``)::

    news_log.limit_repeats("aiokafka")  # a chatty stdlib logger (news-kafka does this one)
    failures = log.limited()  # a news-log logger: failures.warning("...", repeat_key=...)
"""

from __future__ import annotations

from news_log.__about__ import __version__
from news_log._context import bind, get_context, scope
from news_log._core import Logger, get_logger
from news_log._repeats import LimitedLogger, RateLimit, RateLimitFilter, limit_repeats
from news_log._settings import DEFAULT_REDACT_KEYS, Level, LogSettings
from news_log._setup import flush, set_levels, setup, shutdown

# Tracebacks, reprs and docs name the public home (news_log.Logger). Not the Struct (LogSettings):
# msgspec resolves its annotations in the module it names.
for _public in (
    LimitedLogger,
    Logger,
    RateLimit,
    RateLimitFilter,
    bind,
    flush,
    get_context,
    get_logger,
    limit_repeats,
    scope,
    set_levels,
    setup,
    shutdown,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "DEFAULT_REDACT_KEYS",
    "Level",
    "LimitedLogger",
    "LogSettings",
    "Logger",
    "RateLimit",
    "RateLimitFilter",
    "__version__",
    "bind",
    "flush",
    "get_context",
    "get_logger",
    "limit_repeats",
    "scope",
    "set_levels",
    "setup",
    "shutdown",
]
