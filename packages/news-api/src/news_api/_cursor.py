"""Opaque, tamper-evident pagination cursors.

A cursor is ``base64url(payload) "." base64url(tag)``, without padding, where ``payload`` is the
JSON array ``[value]`` or ``[value, expires_at]`` (Unix seconds) and ``tag`` is the first 16
bytes (128 bits) of HMAC-SHA256 over the payload, keyed by a key derived from the secret and the
codec's ``salt``. Cursors are signed, not encrypted: a client can read the value (keep it to
sort keys and ids), but cannot change it or forge one.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
import time
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

import msgspec

from news_api._base import APITypeError, APIUsageError
from news_api._errors import InvalidCursor
from news_api._secret import enc_hook, is_secret

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from news_api._secret import SecretLike

__all__ = ["CursorCodec"]

T = TypeVar("T")

_TAG_BYTES: Final = 16
_MIN_SECRET_BYTES: Final = 16
_MAX_CURSOR_CHARS: Final = 4096
_ENCODER: Final = msgspec.json.Encoder(enc_hook=enc_hook)
_PAYLOAD: Final = msgspec.json.Decoder(list[Any])
_CURSOR_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _key(secret: bytes | str | SecretLike, salt: str) -> bytes:
    if is_secret(secret):
        secret = secret.reveal()
    if isinstance(secret, str):
        raw = secret.encode()
    elif isinstance(secret, bytes | bytearray | memoryview):
        raw = bytes(secret)
    else:
        raise APITypeError(
            f"a cursor secret is bytes, str or a secret such as news_config.Secret, "
            f"not {type(secret).__name__}"
        )
    if len(raw) < _MIN_SECRET_BYTES:
        raise APIUsageError(
            f"cursor secret must be at least {_MIN_SECRET_BYTES} bytes; "
            "use a random value such as secrets.token_urlsafe(32) from your settings"
        )
    return hmac.digest(raw, b"news-api cursor key\0" + salt.encode(), "sha256")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Encode small JSON-able values into URL-safe signed cursors, and verify them on the way back.

    Example::

        codec = CursorCodec(settings.cursor_secret, max_age=3600)
        token = codec.encode({"after": 1234})  # "WyJ7...fQ.kq3v..."
        codec.decode(token)  # {"after": 1234}; InvalidCursor (400) if altered or expired

    Args:
        secret: Signing secret, at least 16 bytes (str is UTF-8 encoded; an object with
            ``__news_secret__ = True`` class, such as ``news_config.Secret``, is revealed once).
        max_age: Default lifetime in seconds of new cursors; None (default) for no expiry.
        salt: Separates cursor families that share a secret (one per endpoint, say): a cursor
            made with one salt fails to decode with another.
        previous_secrets: Older secrets still accepted when decoding (key rotation); new
            cursors are always signed with ``secret``.
        clock: Time source in Unix seconds (tests pass a fake one).

    Raises:
        APIUsageError: (a ValueError) A secret is shorter than 16 bytes, or ``max_age`` is not
            positive.
        APITypeError: (a TypeError) A secret is not bytes, str or a secret object.
    """

    __slots__ = ("_clock", "_keys", "_max_age")

    def __init__(
        self,
        secret: bytes | str | SecretLike,
        *,
        max_age: float | None = None,
        salt: str = "",
        previous_secrets: Iterable[bytes | str | SecretLike] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_age is not None and max_age <= 0:
            raise APIUsageError("max_age must be a positive number of seconds (or None)")
        self._keys = [_key(secret, salt)] + [_key(s, salt) for s in previous_secrets]
        self._max_age = max_age
        self._clock = clock

    def __repr__(self) -> str:
        return f"CursorCodec(max_age={self._max_age!r}, keys={len(self._keys)})"

    def _tag(self, key: bytes, payload: bytes) -> bytes:
        return hmac.digest(key, payload, "sha256")[:_TAG_BYTES]

    def encode(self, value: Any, *, max_age: float | None = None) -> str:
        """Sign ``value`` (anything msgspec encodes to JSON) into a URL-safe cursor string.

        Args:
            value: The position to resume from: ids, sort keys, a small dict or Struct.
            max_age: Lifetime of this cursor in seconds; defaults to the codec's ``max_age``.

        Raises:
            TypeError: ``value`` cannot be JSON-encoded.
            APIUsageError: (a ValueError) ``max_age`` is not positive.
        """
        lifetime = self._max_age if max_age is None else max_age
        if lifetime is None:
            payload = _ENCODER.encode((value,))
        elif lifetime <= 0:
            raise APIUsageError("max_age must be a positive number of seconds")
        else:
            payload = _ENCODER.encode((value, math.ceil(self._clock() + lifetime)))
        return f"{_b64encode(payload)}.{_b64encode(self._tag(self._keys[0], payload))}"

    @overload
    def decode(self, cursor: str) -> Any: ...
    @overload
    def decode(self, cursor: str, type_: type[T]) -> T: ...
    def decode(self, cursor: str, type_: Any = Any) -> Any:
        """Verify a cursor and return its value (converted to ``type`` when given).

        Args:
            cursor: The string a client sent back.
            type_: Optional target type (a Struct, ``int``...) the value is converted to.

        Raises:
            InvalidCursor: (a 400 `BadRequest`) The cursor is malformed, was altered or made
                with another secret, has expired, or does not hold a ``type_`` value.
        """
        if len(cursor) > _MAX_CURSOR_CHARS or not _CURSOR_SHAPE.fullmatch(cursor):
            raise InvalidCursor("cursor is malformed")
        body, _, tag_text = cursor.partition(".")
        try:
            payload = _b64decode(body)
            tag = _b64decode(tag_text)
        except (binascii.Error, ValueError):
            raise InvalidCursor("cursor is malformed") from None
        # Only the canonical spelling is accepted: base64 decoders ignore unused trailing bits.
        if len(tag) != _TAG_BYTES or _b64encode(tag) != tag_text or _b64encode(payload) != body:
            raise InvalidCursor("cursor is malformed")
        if not any(hmac.compare_digest(tag, self._tag(key, payload)) for key in self._keys):
            raise InvalidCursor("cursor signature does not match: altered, or not issued here")
        try:
            fields = _PAYLOAD.decode(payload)
        except (msgspec.DecodeError, UnicodeError, RecursionError):
            raise InvalidCursor("cursor is malformed") from None
        if len(fields) == 2:  # [value, expires_at]
            value, expires_at = fields
            if not isinstance(expires_at, int) or self._clock() >= expires_at:
                raise InvalidCursor("cursor has expired; start again from the first page")
        elif len(fields) == 1:
            value = fields[0]
        else:
            raise InvalidCursor("cursor is malformed")
        if type_ is Any:
            return value
        try:
            return msgspec.convert(value, type_)
        except msgspec.ValidationError:
            raise InvalidCursor("cursor does not hold a position for this listing") from None
