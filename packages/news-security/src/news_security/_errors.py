"""The errors news-security raises, all under one root.

::

    NewsSecurityError
    ├── SecurityConfigError (also ValueError)   bad settings or policy, found at construction
    ├── PasswordHashError                       a password could not be hashed or checked
    │   ├── InvalidHashError (also ValueError)  the stored hash is not an argon2 hash
    │   └── HasherBusyError                     too many hashing jobs are waiting (shed load)
    └── CryptoError                             encryption or decryption failed
        ├── DecryptionError (also ValueError)   not an envelope, tampered, wrong associated
        │   │                                   data or wrong key (one error: no oracle)
        │   └── UnknownKeyError                 the envelope's key id is not configured

Third-party errors (argon2-cffi, cryptography) are translated at the boundary and kept as
``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "CryptoError",
    "DecryptionError",
    "HasherBusyError",
    "InvalidHashError",
    "NewsSecurityError",
    "PasswordHashError",
    "SecurityConfigError",
    "UnknownKeyError",
]


class NewsSecurityError(Exception):
    """Root of every error raised by news-security."""


class SecurityConfigError(NewsSecurityError, ValueError):
    """Settings or a policy that cannot work; the message names the field and the fix."""


class PasswordHashError(NewsSecurityError):
    """A password could not be hashed or verified (see the message and ``__cause__``)."""


class InvalidHashError(PasswordHashError, ValueError):
    """The stored hash is not a well-formed argon2 hash (a corrupt or foreign row)."""


class HasherBusyError(PasswordHashError):
    """More hashing jobs are waiting than ``PasswordSettings.max_waiting``: answer 503 and retry."""


class CryptoError(NewsSecurityError):
    """Encryption or decryption failed."""


class DecryptionError(CryptoError, ValueError):
    """The data is not a valid envelope, was changed, or the key or associated data differ.

    One error for all of these on purpose: telling them apart would help an attacker.
    """


class UnknownKeyError(DecryptionError):
    """The envelope names a key id that is not among the configured keys.

    Attributes:
        key_id: The key id the envelope names.
    """

    def __init__(self, message: str, *, key_id: str) -> None:
        super().__init__(message)
        self.key_id = key_id
