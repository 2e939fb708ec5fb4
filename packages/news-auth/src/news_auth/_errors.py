"""The errors news-auth raises, all under one root.

::

    NewsAuthError
    ├── AuthConfigError (also ValueError)      bad settings, found at construction
    ├── AuthenticationError                    401: missing or refused credentials
    │   ├── InvalidTokenError                  a bearer JWT was refused (``reason`` says why)
    │   └── InvalidAPIKeyError                 an API key is unknown, malformed, revoked or
    │                                          expired (``reason``)
    ├── InsufficientScopeError (PermissionError)  403: the caller lacks a required scope
    ├── KeySetError                            no signing keys: JWKS or discovery failed and
    │                                          nothing was cached yet (503, not 401)
    ├── TokenRequestError                      client credentials: the token endpoint failed
    └── APIKeyStoreError                       an API key store failed (cause kept)

A rejection's ``reason`` is a stable machine-readable code (``expired``, ``bad_signature``,
``unknown_kid``...) for logs and metrics; clients only ever see RFC 6750's ``invalid_token``.
Third-party (joserfc, urllib) errors are translated at the boundary and kept as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "APIKeyStoreError",
    "AuthConfigError",
    "AuthenticationError",
    "InsufficientScopeError",
    "InvalidAPIKeyError",
    "InvalidTokenError",
    "KeySetError",
    "NewsAuthError",
    "TokenRequestError",
]


class NewsAuthError(Exception):
    """Root of every error raised by news-auth."""


class AuthConfigError(NewsAuthError, ValueError):
    """The settings are invalid or inconsistent; the message names the field and the fix."""


class AuthenticationError(NewsAuthError):
    """Credentials are missing or were refused (HTTP 401).

    Attributes:
        reason: A stable code saying why (``missing``, ``expired``, ``bad_signature``...).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidTokenError(AuthenticationError):
    """A bearer token was refused: malformed, badly signed, expired, for someone else..."""


class InvalidAPIKeyError(AuthenticationError):
    """An API key is malformed, unknown, revoked or expired."""


class InsufficientScopeError(NewsAuthError, PermissionError):
    """The caller is authenticated but lacks a scope the route requires (HTTP 403).

    Attributes:
        required: The scopes the route requires.
        missing: The required scopes the caller does not have.
    """

    def __init__(self, message: str, *, required: frozenset[str], missing: frozenset[str]) -> None:
        super().__init__(message)
        self.required = required
        self.missing = missing


class KeySetError(NewsAuthError):
    """The signing keys could not be fetched and none are cached: tokens cannot be checked."""


class TokenRequestError(NewsAuthError):
    """The OAuth2 token endpoint refused or failed a client-credentials request.

    Attributes:
        status: The HTTP status of the answer (None when there was none).
        error: The OAuth2 ``error`` code of the answer (``invalid_client``...), if any.
    """

    def __init__(
        self, message: str, *, status: int | None = None, error: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class APIKeyStoreError(NewsAuthError):
    """An API key store operation failed (see ``__cause__``)."""
