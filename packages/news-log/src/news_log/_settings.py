"""Settings of news-log: a plain frozen msgspec Struct that news-config (or code) fills.

``level`` and ``levels`` are marked ``extra={"live": True}``: a service watching its settings
(``news_config.watch``) may change them while running and apply them with `set_levels`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = ["DEFAULT_REDACT_KEYS", "Level", "LogSettings"]

Level = Literal["debug", "info", "warning", "error", "critical"]

#: Keys whose values are replaced by ``"***"`` (matched case-insensitively as substrings of the key,
#: with ``-`` read as ``_``, so ``X-Api-Key`` and ``db_password`` match too).
DEFAULT_REDACT_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "cookie",
)


class LogSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How a service logs: level, format, destination, per-logger levels and redaction."""

    level: Annotated[
        Level,
        msgspec.Meta(
            description="Minimum level of every logger (changes live).", extra={"live": True}
        ),
    ] = "info"
    format: Annotated[
        Literal["auto", "json", "console"],
        msgspec.Meta(
            description="json: one JSON object per line; console: rich, coloured; "
            "auto: console when the output is a terminal, json otherwise."
        ),
    ] = "auto"
    output: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description="Where lines go: 'stderr', 'stdout' or a file path (appended).",
        ),
    ] = "stderr"
    levels: Annotated[
        dict[str, Level],
        msgspec.Meta(
            description='Per-logger levels, e.g. {"aiokafka": "warning"} (JSON in env; changes '
            "live).",
            extra={"live": True},
        ),
    ] = {}
    fields: Annotated[
        dict[str, str],
        msgspec.Meta(
            description='Static fields added to every line, e.g. {"service": "newsroom"}.'
        ),
    ] = {}
    redact_keys: Annotated[
        tuple[str, ...],
        msgspec.Meta(description="Keys whose values are logged as '***' (substring, any case)."),
    ] = DEFAULT_REDACT_KEYS
    capture_stdlib: Annotated[
        bool,
        msgspec.Meta(description="Route every stdlib logger (aiokafka, robyn, asyncio...) here."),
    ] = True
    repeat_interval: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            description="Seconds between two lines of the same kind (logger, level, message, "
            "error type) from the rate-limited loggers (repeat_limited, news-kafka's aiokafka, "
            "Logger.limited()); repeats meanwhile are counted (suppressed=N); 0: no limit.",
        ),
    ] = 10.0
    repeat_limited: Annotated[
        tuple[str, ...],
        msgspec.Meta(
            description="Stdlib loggers (and their children) whose repeated lines are "
            'rate-limited, e.g. ["redis"] (JSON in env); packages add their own '
            "(news-kafka: aiokafka).",
        ),
    ] = ()
    flush_interval: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=5.0,
            description="Seconds the background writer waits to batch lines before writing.",
        ),
    ] = 0.005
    max_buffer_bytes: Annotated[
        int,
        msgspec.Meta(
            ge=64 * 1024,
            description="Unwritten bytes above which loggers wait for the writer (never drop).",
        ),
    ] = 16 * 1024 * 1024
