"""`decode`: a request body to a typed value, with client-facing errors.

Failures map to:

- no body (``None``, empty, whitespace only) where one is required → `MissingBody` (400);
- not JSON, not UTF-8, nested too deeply → `MalformedJSON` (400), ``detail`` says where;
- JSON that does not fit the type → `ValidationFailed` (422), with the field path
  (``author.name``, ``tags[2]``) in ``errors``.

msgspec reports the first failure it meets, so ``errors`` holds one item.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

import msgspec

from news_api._errors import MalformedJSON, MissingBody, ValidationFailed
from news_api._problem import FieldError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["decode", "field_error_from_msgspec"]

T = TypeVar("T")

Body = bytes | bytearray | memoryview | str | None

_MAX_MESSAGE: Final = 300
_MESSAGE_PATH = re.compile(r"^(?P<message>.*?) - at `(?P<path>\$[^`]*)`$", re.DOTALL)
_BYTE_POSITION = re.compile(r"^JSON is malformed: (?P<what>.*) \(byte (?P<byte>\d+)\)$")
_MISSING = re.compile(r"^Object missing required field `(?P<name>.*)`$", re.DOTALL)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>.*)`$", re.DOTALL)


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def _join(path: str, name: str) -> str:
    if _PLAIN_NAME.fullmatch(name):
        return f"{path}.{name}" if path else name
    # A name with dots, brackets, spaces...: quoted, so the path stays unambiguous.
    return f"{path}[{msgspec.json.encode(name).decode()}]"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def field_error_from_msgspec(message: str) -> FieldError:
    """Convert a msgspec `ValidationError` message into a `FieldError` with a dotted path.

    ``"Expected `int`, got `str` - at `$.tags[2]`"`` becomes field ``tags[2]``, message
    ``"Expected `int`, got `str`"``; missing and unknown fields are named in the path
    (``author.name``: ``required field is missing``; a name that is not a plain identifier is
    quoted: ``author["first name"]``). The body root is field ``""``.
    Dictionary keys appear as ``[...]`` (msgspec does not report which key).
    """
    path = ""
    match = _MESSAGE_PATH.match(message)
    if match:
        message = match["message"]
        raw = match["path"]
        path = raw[2:] if raw.startswith("$.") else raw[1:]
    missing = _MISSING.match(message)
    if missing:
        return FieldError(_clip(_join(path, missing["name"])), "required field is missing")
    unknown = _UNKNOWN.match(message)
    if unknown:
        return FieldError(_clip(_join(path, unknown["name"])), "unknown field")
    return FieldError(_clip(path), _clip(message))


@functools.lru_cache(maxsize=512)
def _decoder(type_: Any, strict: bool) -> Callable[[Any], Any]:
    return msgspec.json.Decoder(type_, strict=strict).decode


_NOT_UTF8 = "malformed JSON: the body is not valid UTF-8"


def _malformed(error: msgspec.DecodeError) -> MalformedJSON:
    text = str(error)
    where = _BYTE_POSITION.match(text)
    if where:
        return MalformedJSON(f"malformed JSON at byte {where['byte']}: {where['what']}")
    if text == "Input data was truncated":
        return MalformedJSON("malformed JSON: the body ends before the JSON value is complete")
    if "UTF-8" in text:  # msgspec >= 0.23 raises DecodeError here (older ones UnicodeDecodeError)
        return MalformedJSON(_NOT_UTF8)
    return MalformedJSON(f"malformed JSON: {_clip(text)}")


@overload
def decode(
    body: Body, type_: type[T], *, required: Literal[True] = ..., strict: bool = ...
) -> T: ...
@overload
def decode(body: Body, type_: type[T], *, required: bool, strict: bool = ...) -> T | None: ...
@overload
def decode(body: Body, type_: Any, *, required: bool = ..., strict: bool = ...) -> Any: ...
def decode(body: Body, type_: Any, *, required: bool = True, strict: bool = True) -> Any:
    """Decode a JSON request body into ``type_`` (a Struct, or any type msgspec supports).

    Unknown object fields are ignored, unless the Struct is declared with
    ``forbid_unknown_fields=True``: then they fail with ``ValidationFailed`` naming the field.

    Args:
        body: The raw body (bytes-like or str); None or empty means "no body".
        type_: The target type: ``Article``, ``list[Article]``, ``dict[str, int]``...
        required: When False, a missing body returns None instead of raising `MissingBody`.
        strict: msgspec's strict mode (the default). False accepts e.g. ``"1"`` for an int.

    Returns:
        The decoded value, or None for a missing optional body.

    Raises:
        MissingBody: No body, and ``required`` is True (400).
        MalformedJSON: The body is not valid JSON, not UTF-8, or nested too deeply (400).
        ValidationFailed: The JSON does not match ``type_``; ``errors`` names the field (422).
    """
    if body is None or not body or (isinstance(body, bytes | str) and body.isspace()):
        if required:
            raise MissingBody("request body is required")
        return None
    try:
        decoder = _decoder(type_, strict)
    except TypeError:  # an unhashable type (rare): decode without the cache
        decoder = msgspec.json.Decoder(type_, strict=strict).decode
    try:
        return decoder(body)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(errors=[field_error_from_msgspec(str(exc))]) from exc
    except msgspec.DecodeError as exc:
        raise _malformed(exc) from exc
    except UnicodeError as exc:
        raise MalformedJSON(_NOT_UTF8) from exc
    except RecursionError as exc:
        raise MalformedJSON("malformed JSON: nested too deeply") from exc
