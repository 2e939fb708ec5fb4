"""Turning one raw string into a typed value, and describing what a valid string looks like.

`convert` parses the string for the field's type (news-config's own rules, documented in the
README's type table), then lets `msgspec.convert` check the field's constraints
(``Meta(ge=..., pattern=..., min_length=...)``, ``tz=``) and build the final container type.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any, Final

import msgspec
from msgspec import inspect as mi

from news_config._secret import is_secret_type

if TYPE_CHECKING:
    import decimal
    import enum
    from collections.abc import Sequence

__all__ = ["InvalidValueError", "convert", "describe", "is_sensitive", "unwrap"]

TRUE_WORDS: Final = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS: Final = frozenset({"false", "0", "no", "off"})

# Patterns are compiled on first use (re caches them): keeps `import news_config` quick.
_INT = r"[+-]?\d+(?:_\d+)*"
_SECONDS = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = (
    rf"(?P<sign>[+-])?P(?!$)(?:(?P<years>{_NUM})Y)?(?:(?P<months>{_NUM})M)?"
    rf"(?:(?P<weeks>{_NUM})W)?(?:(?P<days>{_NUM})D)?"
    rf"(?:T(?!$)(?:(?P<hours>{_NUM})H)?(?:(?P<minutes>{_NUM})M)?(?:(?P<seconds>{_NUM})S)?)?"
)
_MICROS: Final = {
    "weeks": 7 * 86_400 * 10**6,
    "days": 86_400 * 10**6,
    "hours": 3_600 * 10**6,
    "minutes": 60 * 10**6,
    "seconds": 10**6,
}
_MAX_MICROS: Final = (dt.timedelta.max.days + 1) * 86_400 * 10**6
_COLLECTIONS = (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)
_JSON_LEADS = ("{", "[", '"')


class InvalidValueError(Exception):
    """A raw string cannot become the requested type (internal; becomes a `ConfigErrorItem`)."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "")
        self.detail = detail


def unwrap(tp: mi.Type) -> mi.Type:
    """Strip `msgspec.inspect.Metadata` wrappers (descriptions) off a type."""
    while isinstance(tp, mi.Metadata):
        tp = tp.type
    return tp


def is_sensitive(tp: mi.Type) -> bool:
    """Tell whether a type is, or contains, a secret type (its values must never be shown)."""
    tp = unwrap(tp)
    if isinstance(tp, mi.CustomType):
        return is_secret_type(tp.cls)
    if isinstance(tp, mi.UnionType):
        return any(is_sensitive(member) for member in tp.types)
    if isinstance(tp, _COLLECTIONS):
        return is_sensitive(tp.item_type)
    if isinstance(tp, mi.TupleType):
        return any(is_sensitive(member) for member in tp.item_types)
    if isinstance(tp, mi.DictType):
        return is_sensitive(tp.key_type) or is_sensitive(tp.value_type)
    return False


def _dec_hook(tp: Any, obj: Any) -> Any:
    """Build custom types (Path, secret types, other classes) from strings inside JSON values."""
    if isinstance(tp, type) and isinstance(obj, tp):
        return obj
    if isinstance(obj, str) and isinstance(tp, type):
        try:
            return tp(obj)
        except (TypeError, ValueError) as exc:
            raise msgspec.ValidationError(f"invalid {tp.__name__}") from exc
    raise NotImplementedError


def convert(raw: str, tp: mi.Type, annotation: Any) -> Any:
    """Return *raw* converted to the field type *tp* and checked against *annotation*'s constraints.

    Raises:
        InvalidValueError: The string does not fit the type or its constraints.
    """
    value = parse(raw, tp)
    try:
        return msgspec.convert(value, annotation, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        # msgspec names the failing item of a container ("... - at `$[1]`"); worth passing on.
        message = str(exc)
        raise InvalidValueError(message if " - at `$" in message else None) from exc


def parse(raw: str, tp: mi.Type) -> Any:  # noqa: PLR0911, PLR0912 - one branch per type
    """Parse *raw* into a Python value of type *tp*, without checking constraints."""
    tp = unwrap(tp)
    if isinstance(tp, mi.StrType | mi.AnyType):
        return raw
    if isinstance(tp, mi.UnionType):
        return _parse_union(raw, tp)
    if isinstance(tp, mi.BoolType):
        return _parse_bool(raw)
    if isinstance(tp, mi.IntType):
        return _parse_int(raw)
    if isinstance(tp, mi.FloatType):
        return _parse_float(raw)
    if isinstance(tp, mi.DecimalType):
        return _parse_decimal(raw)
    if isinstance(tp, mi.EnumType):
        return _parse_enum(raw, tp.cls)
    if isinstance(tp, mi.LiteralType):
        return _parse_choice(raw, tp.values)
    if isinstance(tp, _COLLECTIONS):
        return [_parse_item(item, tp.item_type) for item in _split(raw)]
    if isinstance(tp, mi.TupleType):
        return _parse_tuple(raw, tp.item_types)
    if isinstance(tp, mi.TimeDeltaType):
        return parse_timedelta(raw)
    if isinstance(tp, mi.DateTimeType):
        return _via_msgspec(raw.strip(), dt.datetime)
    if isinstance(tp, mi.DateType):
        return _via_msgspec(raw.strip(), dt.date)
    if isinstance(tp, mi.TimeType):
        return _via_msgspec(raw.strip(), dt.time)
    if isinstance(tp, mi.UUIDType):
        import uuid

        return _via_msgspec(raw.strip(), uuid.UUID)
    if isinstance(tp, mi.CustomType):
        return _parse_custom(raw, tp.cls)
    if isinstance(tp, mi.DictType):
        return _parse_json(raw, empty={})
    if isinstance(tp, mi.NoneType):
        if raw == "":
            return None
        raise InvalidValueError
    # Structs, TypedDicts, dataclasses, bytes...: JSON when it looks like JSON, else the string.
    return _parse_json(raw) if raw.lstrip().startswith(_JSON_LEADS) else raw


def _via_msgspec(text: str, tp: type) -> Any:
    try:
        return msgspec.convert(text, tp)
    except msgspec.ValidationError as exc:
        raise InvalidValueError(None) from exc


def _parse_union(raw: str, tp: mi.UnionType) -> Any:
    members = [unwrap(member) for member in tp.types]
    takes_str = any(isinstance(member, mi.StrType | mi.AnyType) for member in members)
    if raw == "" and not takes_str and any(isinstance(m, mi.NoneType) for m in members):
        return None
    # str accepts anything, so it is tried last: `int | str` gives 5 for "5", "x" for "x".
    ordered = sorted(
        (m for m in members if not isinstance(m, mi.NoneType)),
        key=lambda m: isinstance(m, mi.StrType | mi.AnyType),
    )
    for member in ordered:
        try:
            return parse(raw, member)
        except InvalidValueError:
            continue
    raise InvalidValueError


def _parse_bool(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidValueError


def _parse_int(raw: str) -> int:
    text = raw.strip()
    if re.fullmatch(_INT, text) is None:
        raise InvalidValueError
    try:
        return int(text)
    except ValueError as exc:  # more digits than int() accepts
        raise InvalidValueError(str(exc)) from exc


def _parse_float(raw: str) -> float:
    text = raw.strip()
    try:
        return float(text)
    except ValueError as exc:
        raise InvalidValueError from exc


def _parse_decimal(raw: str) -> decimal.Decimal:
    import decimal

    text = raw.strip()
    try:
        return decimal.Decimal(text)
    except decimal.InvalidOperation as exc:
        raise InvalidValueError from exc


def _parse_enum(raw: str, cls: type[enum.Enum]) -> enum.Enum:
    text = raw.strip()
    members = list(cls)
    for member in members:
        if member.value == text and isinstance(member.value, str):
            return member
    if re.fullmatch(_INT, text):
        number = int(text)
        for member in members:
            if type(member.value) is int and member.value == number:
                return member
    folded = text.casefold()
    by_value = [m for m in members if isinstance(m.value, str) and m.value.casefold() == folded]
    if len(by_value) == 1:
        return by_value[0]
    if text in cls.__members__:
        return cls.__members__[text]
    by_name = {m for name, m in cls.__members__.items() if name.casefold() == folded}
    if len(by_name) == 1:
        return by_name.pop()
    raise InvalidValueError


def _parse_choice(raw: str, values: Sequence[Any]) -> Any:
    if raw == "" and None in values:
        return None
    text = raw.strip()
    for value in values:
        if isinstance(value, str) and value == text:
            return value
    if re.fullmatch(_INT, text):
        number = int(text)
        for value in values:
            if type(value) is int and value == number:
                return value
    folded = text.casefold()
    matches = [v for v in values if isinstance(v, str) and v.casefold() == folded]
    if len(matches) == 1:
        return matches[0]
    raise InvalidValueError


def _split(raw: str) -> list[Any]:
    text = raw.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            items = msgspec.json.decode(text)
        except msgspec.DecodeError as exc:
            raise InvalidValueError(f"invalid JSON array: {exc}") from exc
        if not isinstance(items, list):  # pragma: no cover - a '[' can only start an array
            raise InvalidValueError
        return items
    return [part.strip() for part in text.split(",")]


def _parse_item(item: Any, tp: mi.Type) -> Any:
    # Strings (comma-separated items, JSON strings) follow this module's rules; other JSON values
    # (numbers, booleans, null, objects) are left to msgspec's checks.
    return parse(item, tp) if isinstance(item, str) else item


def _parse_tuple(raw: str, types: tuple[mi.Type, ...]) -> tuple[Any, ...]:
    items = _split(raw)
    if len(items) != len(types):
        raise InvalidValueError(f"got {len(items)} item{'s' if len(items) != 1 else ''}")
    return tuple(_parse_item(item, tp) for item, tp in zip(items, types, strict=True))


def _parse_json(raw: str, *, empty: Any = None) -> Any:
    text = raw.strip()
    if not text and empty is not None:
        return empty
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise InvalidValueError(f"invalid JSON: {exc}") from exc


def _parse_custom(raw: str, cls: type) -> Any:
    from pathlib import PurePath

    if issubclass(cls, PurePath) and raw == "":
        raise InvalidValueError("an empty path")
    try:
        return cls(raw)
    except (TypeError, ValueError) as exc:
        if is_secret_type(cls):
            raise InvalidValueError(None) from None  # its message might quote the value
        raise InvalidValueError(str(exc) or None) from exc


def parse_timedelta(raw: str) -> dt.timedelta:
    """Parse seconds (``30``, ``0.5``, ``-1e3``) or an ISO 8601 duration (``PT5M``, ``P1DT2H``).

    ISO durations take weeks, days, hours, minutes and seconds, each may have a fraction, and the
    whole may carry a sign (``-PT30S``). Years and months are rejected: they have no fixed length.
    """
    import decimal

    text = raw.strip()
    match = None if re.fullmatch(_SECONDS, text) else re.fullmatch(_DURATION, text, re.IGNORECASE)
    if match is None and not re.fullmatch(_SECONDS, text):
        raise InvalidValueError
    if match is not None and (match["years"] or match["months"]):
        raise InvalidValueError("years and months have no fixed length; use days (P30D)")
    try:
        if match is None:
            micros = decimal.Decimal(text) * 10**6
        else:
            micros = sum(
                (
                    decimal.Decimal(match[unit].replace(",", ".")) * factor
                    for unit, factor in _MICROS.items()
                    if match[unit]
                ),
                decimal.Decimal(0),
            )
            if match["sign"] == "-":
                micros = -micros
        if abs(micros) >= _MAX_MICROS:
            raise InvalidValueError("out of range")
        return dt.timedelta(microseconds=int(micros.to_integral_value(decimal.ROUND_HALF_EVEN)))
    except (decimal.DecimalException, OverflowError) as exc:
        raise InvalidValueError("out of range") from exc


# --- descriptions -----------------------------------------------------------------------------


def _bounds(tp: Any) -> list[str]:
    parts = [
        f"{symbol} {value}"
        for symbol, value in (
            (">", tp.gt),
            (">=", tp.ge),
            ("<", tp.lt),
            ("<=", tp.le),
        )
        if value is not None
    ]
    if tp.multiple_of is not None:
        parts.append(f"a multiple of {tp.multiple_of}")
    return parts


def _lengths(tp: Any, unit: str) -> list[str]:
    parts = []
    if tp.min_length is not None and tp.min_length == tp.max_length:
        return [f"of exactly {tp.min_length} {unit}"]
    if tp.min_length is not None:
        parts.append(f"of at least {tp.min_length} {unit}")
    if tp.max_length is not None:
        parts.append(f"of at most {tp.max_length} {unit}")
    return parts


def _with(base: str, parts: list[str]) -> str:
    return f"{base} {' and '.join(parts)}" if parts else base


def _choices(values: Sequence[Any]) -> str:
    return "one of: " + ", ".join("(empty)" if v is None else str(v) for v in values)


def describe(tp: mi.Type) -> str:  # noqa: PLR0911, PLR0912 - one branch per type
    """Say in words what a valid string for type *tp* looks like, constraints included."""
    tp = unwrap(tp)
    if isinstance(tp, mi.StrType):
        parts = _lengths(tp, "characters")
        if tp.pattern is not None:
            parts.append(f"matching the pattern {tp.pattern!r}")
        return _with("a string", parts)
    if isinstance(tp, mi.BoolType):
        return "a boolean (true/false, 1/0, yes/no, on/off)"
    if isinstance(tp, mi.IntType):
        return _with("an integer", _bounds(tp))
    if isinstance(tp, mi.FloatType):
        return _with("a number", _bounds(tp))
    if isinstance(tp, mi.DecimalType):
        return "a decimal number"
    if isinstance(tp, mi.EnumType):
        return _choices([member.value for member in tp.cls])
    if isinstance(tp, mi.LiteralType):
        return _choices(tp.values)
    if isinstance(tp, _COLLECTIONS):
        kind = "set" if isinstance(tp, mi.SetType | mi.FrozenSetType) else "list"
        base = _with(f"a comma-separated {kind} or JSON array", _lengths(tp, "items"))
        return f"{base}; each item {describe(tp.item_type)}"
    if isinstance(tp, mi.TupleType):
        items = "; ".join(describe(item) for item in tp.item_types)
        count = len(tp.item_types)
        return f"{count} comma-separated item{'s' if count != 1 else ''} or a JSON array: {items}"
    if isinstance(tp, mi.DictType):
        return _with(
            f"a JSON object of {describe(tp.key_type)} to {describe(tp.value_type)}",
            _lengths(tp, "entries"),
        )
    if isinstance(tp, mi.DateTimeType):
        zone = {True: " with a timezone", False: " without a timezone", None: ""}[tp.tz]
        return f"an ISO 8601 datetime{zone} (2024-05-01T12:00:00+00:00)"
    if isinstance(tp, mi.DateType):
        return "an ISO 8601 date (2024-05-01)"
    if isinstance(tp, mi.TimeType):
        return "an ISO 8601 time (12:30:00)"
    if isinstance(tp, mi.TimeDeltaType):
        return "a duration: seconds (30, 0.5) or ISO 8601 (PT5M, P1DT2H)"
    if isinstance(tp, mi.UUIDType):
        return "a UUID"
    if isinstance(tp, mi.CustomType):
        if is_secret_type(tp.cls):
            return "a secret string"
        from pathlib import PurePath

        if issubclass(tp.cls, PurePath):
            return "a filesystem path"
        return f"a value for {tp.cls.__name__}"
    if isinstance(tp, mi.UnionType):
        members = [unwrap(m) for m in tp.types]
        text = " or ".join(describe(m) for m in members if not isinstance(m, mi.NoneType))
        takes_str = any(isinstance(m, mi.StrType | mi.AnyType) for m in members)
        if not takes_str and any(isinstance(m, mi.NoneType) for m in members):
            text += ", or empty for none"
        return text
    if isinstance(tp, mi.NoneType):
        return "empty"
    if isinstance(tp, mi.StructType):
        return f"a JSON object for {tp.cls.__name__}"
    if isinstance(tp, mi.AnyType):
        return "any string"
    return "a JSON value" if not isinstance(tp, mi.BytesType) else "base64-encoded bytes"
