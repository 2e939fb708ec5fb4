"""Turning a log call into a JSON-ready event: timestamps, redaction, exceptions, odd values."""

from __future__ import annotations

import time
import traceback
from dataclasses import fields as _dc_fields
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import TracebackType

    ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

__all__ = [
    "MASK",
    "RESERVED_KEYS",
    "SCALARS",
    "ExceptionFields",
    "Redactor",
    "enc_hook",
    "exception_fields",
    "format_ts",
    "format_ts_ms",
    "is_secret",
    "json_safe",
]

MASK = "***"

SCALARS = frozenset({str, int, float, bool, type(None)})
_SCALARS = SCALARS

# (millisecond, its RFC 3339 text) and (second, "YYYY-MM-DDTHH:MM:SS.") swapped as whole
# tuples, so threads never see a torn pair. Busy services log many lines per millisecond.
_ms_cache: tuple[int, str] = (-1, "")
_sec_cache: tuple[int, str] = (-1, "")


def format_ts_ms(ms: int) -> str:
    """Return ``ms`` (milliseconds since the epoch) as RFC 3339 UTC, e.g. ``...T05:21:11.123Z``."""
    global _ms_cache, _sec_cache  # noqa: PLW0603 - one-slot caches, replaced atomically
    cached_ms, text = _ms_cache
    if ms == cached_ms:
        return text
    sec, frac = divmod(ms, 1000)
    cached_sec, prefix = _sec_cache
    if sec != cached_sec:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(sec))
        _sec_cache = (sec, prefix)
    text = f"{prefix}{frac:03d}Z"
    _ms_cache = (ms, text)
    return text


def format_ts(t: float) -> str:
    """Return ``t`` (a ``time.time()`` value) as RFC 3339 UTC with milliseconds."""
    return format_ts_ms(int(t * 1000))


def is_secret(value: object) -> bool:
    """Tell whether *value* is a secret: its class's ``__news_secret__`` attribute is ``True``.

    The platform's one rule (``news_config.is_secret``; news-log imports no sibling, so it applies
    the same test itself). A secret is logged as the mask whatever its ``str()`` says.
    """
    return getattr(type(value), "__news_secret__", False) is True


_PLAIN, _SECRET, _RESERVED = 0, 1, 2
#: Keys of the line itself; a field with one of these names is kept as ``_<name>``.
RESERVED_KEYS = frozenset({"ts", "level", "logger", "msg", "exception"})


class Redactor:
    """Replace values of secret-looking keys with ``"***"`` at any depth; render odd values.

    One instance serves all threads. The verdict per key string is cached (keys repeat), so
    checking a flat mapping of scalars costs a dict lookup per key.
    """

    __slots__ = ("_cache", "_patterns", "plain_keys")

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = tuple(p.lower().replace("-", "_") for p in patterns if p)
        self._cache: dict[str, int] = {}
        #: Keys seen before that need nothing done: a mapping whose keys are all in here and
        #: whose values are all scalars can be copied as is (checked at C speed by the caller).
        self.plain_keys: set[str] = set()

    def _verdict(self, key: str) -> int:
        verdict = self._cache.get(key)
        if verdict is None:
            norm = key.lower().replace("-", "_")
            if any(p in norm for p in self._patterns):
                verdict = _SECRET
            else:
                verdict = _RESERVED if key in RESERVED_KEYS else _PLAIN
            if len(self._cache) < 10_000:  # keys made of data must not grow this forever
                self._cache[key] = verdict
                if verdict == _PLAIN and isinstance(key, str):
                    self.plain_keys.add(key)
        return verdict

    def key_is_secret(self, key: str) -> bool:
        """Return whether values under ``key`` must be masked."""
        return self._verdict(key) == _SECRET

    def update_into(self, out: dict[str, Any], fields: Mapping[str, Any]) -> None:
        """Copy ``fields`` into ``out``, masking secret keys and rendering nested values."""
        cache = self._cache
        for key, value in fields.items():
            verdict = cache.get(key)
            if verdict is None:
                verdict = self._verdict(key)
            if verdict:
                if verdict == _SECRET:
                    out[key] = MASK
                    continue
                key = "_" + key  # noqa: PLW2901 - a field named like a core key is kept aside
            if type(value) in _SCALARS:
                out[key] = value
            else:
                out[key] = self.value(value)

    def value(self, value: Any, depth: int = 0) -> Any:  # noqa: PLR0911, PLR0912 - per kind
        """Return ``value`` made safe to log: nested containers walked, secrets masked."""
        tp = type(value)
        if tp in _SCALARS:
            return value
        if depth > 20:
            return "<too deep>"
        if is_secret(value):  # before containers: a secret subclassing dict is still a secret
            return MASK
        if tp is dict or isinstance(value, dict):
            out: dict[Any, Any] = {}
            for k, v in value.items():
                if isinstance(k, str) and self.key_is_secret(k):
                    out[k] = MASK
                else:
                    # a key JSON cannot hold is written as enc_hook renders it: a secret
                    # used as a key is masked, a key whose str() raises does not break logging
                    out[k if isinstance(k, str | int | float) else enc_hook(k)] = self.value(
                        v, depth + 1
                    )
            return out
        if tp is list or tp is tuple or isinstance(value, list | tuple | set | frozenset):
            return [self.value(v, depth + 1) for v in value]
        if isinstance(value, msgspec.Struct):
            return self.value(msgspec.structs.asdict(value), depth)
        # msgspec would write a dataclass or attrs instance field by field, secret-looking names
        # included (a class itself has type `type`, so neither test matches it)
        if hasattr(tp, "__dataclass_fields__"):
            return self.value({f.name: getattr(value, f.name) for f in _dc_fields(value)}, depth)
        attrs = getattr(tp, "__attrs_attrs__", None)
        if attrs is not None:
            return self.value({a.name: getattr(value, a.name) for a in attrs}, depth)
        if tp is bytes or tp is bytearray or tp is memoryview:
            return bytes(value).decode("utf-8", "backslashreplace")
        if isinstance(value, BaseException):
            return f"{type(value).__name__}: {value}"
        return value  # datetime, UUID, Decimal, Enum...: msgspec renders them, enc_hook the rest


def enc_hook(obj: Any) -> Any:
    """Render objects msgspec cannot encode as their ``str()``; never raise from logging."""
    if is_secret(obj):
        return MASK
    try:
        return str(obj)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break logging
        return f"<unprintable {type(obj).__name__}>"


def json_safe(event: dict[str, Any]) -> dict[str, Any]:
    """Return ``event`` with every value a JSON scalar or container of them (fallback path)."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        try:
            msgspec.json.encode(value, enc_hook=enc_hook)
            out[str(key)] = value
        except Exception:  # noqa: BLE001 - anything left unencodable becomes its repr
            try:
                out[str(key)] = repr(value)
            except Exception:  # noqa: BLE001
                out[str(key)] = f"<unprintable {type(value).__qualname__}>"
    return out


class ExceptionFields(dict[str, str]):
    """``{"type", "message", "stack"}``; keeps the exception for the console's rich traceback."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException, **fields: str) -> None:
        super().__init__(**fields)
        self.exc = exc


def exception_fields(exc_info: ExcInfo | BaseException | bool | None) -> ExceptionFields | None:
    """Return ``{"type", "message", "stack"}`` of an exception (``True``: the one in flight)."""
    if exc_info is None or exc_info is False:
        return None
    if exc_info is True:
        import sys

        info = sys.exc_info()
        if info[1] is None:
            return None
        exc = info[1]
    elif isinstance(exc_info, BaseException):
        exc = exc_info
    else:
        exc = exc_info[1]
    tp = type(exc)
    module = tp.__module__
    name = tp.__qualname__ if module in ("builtins", "__main__") else f"{module}.{tp.__qualname__}"
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001
        message = "<unprintable message>"
    stack = "".join(traceback.format_exception(exc))
    return ExceptionFields(exc, type=name, message=message, stack=stack)
