"""Authenticated encryption with key rotation: AES-256-GCM in a versioned envelope.

Envelope (version 1), all of it authenticated::

    0x01 | key id length (1 byte) | key id (ASCII) | nonce (12 random bytes) | ciphertext + tag

The version byte and the key id are part of the associated data that GCM authenticates, next to
the caller's own ``associated_data`` (e.g. the row's id and column name, so a value copied to
another row does not decrypt). `Encryptor.encrypt` always uses the current key;
`Encryptor.decrypt` finds the key by the envelope's id among every configured key, so keys can
be rotated without re-encrypting everything at once.

Random 96-bit nonces are safe for about 2**32 encryptions per key (NIST SP 800-38D); rotate the
current key well before that (e.g. yearly, or per billion writes).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Annotated, Final

import msgspec

from news_config import Secret
from news_security._errors import DecryptionError, SecurityConfigError, UnknownKeyError

__all__ = ["EncryptionSettings", "Encryptor", "generate_key"]

Meta = msgspec.Meta
VERSION: Final = 1
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
_KEY_BYTES: Final = 32
_KEY_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


def generate_key() -> str:
    """Return a new random AES-256 key, base64-encoded: the value of one `EncryptionSettings` key.

    Example:
        >>> len(base64.b64decode(generate_key()))
        32
    """
    return base64.b64encode(os.urandom(_KEY_BYTES)).decode("ascii")


def _decode_key(key_id: str, secret: Secret) -> bytes:
    text = secret.reveal().strip()
    try:
        # altchars maps "-" and "_" to "+" and "/", which pass through as they are: one decode
        # reads both the URL-safe and the standard alphabet, padded or not
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != _KEY_BYTES:
        raise SecurityConfigError(
            f"encryption: key {key_id!r} is not 32 bytes of base64 (AES-256); make one with "
            "news_security.generate_key()"
        )
    return raw


class EncryptionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The encryption keys (by id) and which one encrypts.

    With news-config::

        NEWSROOM_ENCRYPTION__KEYS={"2026-12": "<base64>", "2025-06": "<base64>"}   (secret file)
        NEWSROOM_ENCRYPTION__CURRENT_KEY_ID=2026-12
    """

    keys: Annotated[
        dict[str, Secret],
        Meta(
            description=(
                "Every key that may decrypt, by key id (1-64 of A-Z a-z 0-9 . _ -): 32 random "
                "bytes in base64 each (news_security.generate_key())"
            )
        ),
    ] = msgspec.field(default_factory=dict)
    current_key_id: Annotated[
        str, Meta(description="Id of the key that encrypts new data; must be one of keys")
    ] = ""

    def __post_init__(self) -> None:
        if not self.keys:
            raise SecurityConfigError(
                "encryption: no keys; set encryption.keys to {key id: base64 key} "
                "(news_security.generate_key() makes one) and encryption.current_key_id"
            )
        for key_id, secret in self.keys.items():
            if not _KEY_ID.fullmatch(key_id):
                raise SecurityConfigError(
                    f"encryption: key id {key_id!r} must be 1-64 characters of A-Z a-z 0-9 . _ -"
                )
            _decode_key(key_id, secret)
        if self.current_key_id not in self.keys:
            raise SecurityConfigError(
                f"encryption: current_key_id {self.current_key_id!r} is not one of the keys "
                f"({', '.join(sorted(self.keys))}); name the key that encrypts new data"
            )


class Encryptor:
    """Encrypt with the current key, decrypt with any configured key (AES-256-GCM envelopes).

    Example:
        >>> key = generate_key()
        >>> box = Encryptor(EncryptionSettings(keys={"k1": Secret(key)}, current_key_id="k1"))
        >>> token = box.encrypt(b"555-0100", associated_data=b"users/7/phone")
        >>> box.decrypt(token, associated_data=b"users/7/phone")
        b'555-0100'
    """

    __slots__ = ("_current", "_current_header", "_keys")

    def __init__(self, settings: EncryptionSettings) -> None:
        """Load the keys of ``settings`` (validated when the settings were made)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._keys = {
            key_id: AESGCM(_decode_key(key_id, secret)) for key_id, secret in settings.keys.items()
        }
        self._current = settings.current_key_id
        self._current_header = _header(settings.current_key_id)

    @property
    def current_key_id(self) -> str:
        """The id of the key that `encrypt` uses."""
        return self._current

    def encrypt(self, plaintext: bytes, *, associated_data: bytes = b"") -> bytes:
        """Return the envelope of ``plaintext`` under the current key and a random nonce.

        ``associated_data`` is authenticated but not stored: the same value must be given to
        `decrypt` (bind the ciphertext to where it lives, e.g. ``b"users/7/phone"``).
        """
        header = self._current_header
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext, header + associated_data)
        return header + nonce + sealed

    def decrypt(self, envelope: bytes, *, associated_data: bytes = b"") -> bytes:
        """Return the plaintext of an envelope made by `encrypt` with any configured key.

        Raises:
            UnknownKeyError: The envelope's key id is not configured (a retired key).
            DecryptionError: Not an envelope, changed, or other associated data or key.
        """
        from cryptography.exceptions import InvalidTag

        key_id, header_length = _parse_header(envelope)
        key = self._keys.get(key_id)
        if key is None:
            raise UnknownKeyError(
                f"envelope was encrypted with key {key_id!r}, which is not configured; add it "
                "back to encryption.keys to read this data",
                key_id=key_id,
            )
        nonce = envelope[header_length : header_length + _NONCE_BYTES]
        sealed = envelope[header_length + _NONCE_BYTES :]
        try:
            return key.decrypt(nonce, sealed, envelope[:header_length] + associated_data)
        except InvalidTag as exc:
            raise DecryptionError(
                "envelope does not authenticate: it was changed, or the key or associated data "
                "differ from encryption"
            ) from exc

    def encrypt_text(self, plaintext: str, *, associated_data: bytes = b"") -> str:
        """`encrypt` for text: UTF-8 in, an ASCII token (URL-safe base64) out."""
        envelope = self.encrypt(plaintext.encode("utf-8"), associated_data=associated_data)
        return base64.urlsafe_b64encode(envelope).decode("ascii").rstrip("=")

    def decrypt_text(self, token: str, *, associated_data: bytes = b"") -> str:
        """`decrypt` for tokens of `encrypt_text`.

        Raises:
            DecryptionError: As `decrypt`, also for a token that is not base64 or not UTF-8.
        """
        try:
            envelope = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as exc:
            raise DecryptionError("token is not URL-safe base64") from exc
        plaintext = self.decrypt(envelope, associated_data=associated_data)
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecryptionError("decrypted data is not UTF-8 text") from exc

    def key_id_of(self, envelope: bytes) -> str:
        """Return the id of the key that made ``envelope`` (without decrypting it).

        Raises:
            DecryptionError: Not an envelope.
        """
        return _parse_header(envelope)[0]

    def needs_reencrypt(self, envelope: bytes) -> bool:
        """Tell whether ``envelope`` was made with another key than the current one.

        After a rotation, decrypt such values and `encrypt` them again, then retire the old key.
        """
        return self.key_id_of(envelope) != self._current


def _header(key_id: str) -> bytes:
    raw = key_id.encode("ascii")
    return bytes((VERSION, len(raw))) + raw


def _parse_header(envelope: bytes) -> tuple[str, int]:
    if len(envelope) < 3 or envelope[0] != VERSION:
        raise DecryptionError(
            "not a news-security envelope (version 1); was it made by Encryptor.encrypt?"
        )
    length = envelope[1]
    header_length = 2 + length
    if length == 0 or len(envelope) < header_length + _NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError("envelope is truncated")
    try:
        key_id = envelope[2:header_length].decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecryptionError("envelope's key id is not ASCII") from exc
    return key_id, header_length
