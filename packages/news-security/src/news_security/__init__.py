"""Security primitives for news platform services.

Passwords (argon2id, OWASP parameters, on a small bounded thread pool: the loop never blocks)::

    hasher = news_security.PasswordHasher()
    stored = await hasher.hash("correct horse battery staple")
    ok = await hasher.verify(user.password_hash if user else None, attempt)  # None: same time
    if ok and hasher.needs_rehash(stored):
        user.password_hash = await hasher.hash(attempt)

Encryption (AES-256-GCM envelopes with a key id: encrypt with the current key, decrypt with any)::

    box = news_security.Encryptor(settings.encryption)  # keys from news_config.Secret
    token = box.encrypt(b"555-0100", associated_data=b"users/7/phone")
    phone = box.decrypt(token, associated_data=b"users/7/phone")

Article HTML and titles (nh3, the strict newsroom policy)::

    body = news_security.sanitize_html(untrusted_body)
    title = news_security.plain_text(untrusted_title, max_length=200)

Errors derive from `NewsSecurityError`; see ``news_security._errors`` for the tree.
"""

from __future__ import annotations

from news_security.__about__ import __version__
from news_security._encryption import EncryptionSettings, Encryptor, generate_key
from news_security._errors import (
    CryptoError,
    DecryptionError,
    HasherBusyError,
    InvalidHashError,
    NewsSecurityError,
    PasswordHashError,
    SecurityConfigError,
    UnknownKeyError,
)
from news_security._html import (
    NEWSROOM_POLICY,
    HTMLPolicy,
    HTMLSanitizer,
    plain_text,
    sanitize_html,
)
from news_security._passwords import PasswordHasher, PasswordSettings

__all__ = [
    "NEWSROOM_POLICY",
    "CryptoError",
    "DecryptionError",
    "EncryptionSettings",
    "Encryptor",
    "HTMLPolicy",
    "HTMLSanitizer",
    "HasherBusyError",
    "InvalidHashError",
    "NewsSecurityError",
    "PasswordHashError",
    "PasswordHasher",
    "PasswordSettings",
    "SecurityConfigError",
    "UnknownKeyError",
    "__version__",
    "generate_key",
    "plain_text",
    "sanitize_html",
]
