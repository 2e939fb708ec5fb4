"""`Principal`: who is calling (never their credentials), and the request's current one."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Literal

import msgspec

__all__ = ["Principal", "current_principal"]

AuthMethod = Literal["jwt", "api_key"]


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated caller: a user or a service, with its scopes.

    It never holds the token or the API key it was proven with, so it can be logged, cached
    and passed around freely.

    Attributes:
        subject: Who: the token's ``sub`` (or client id), or the API key's owner.
        scopes: What it may do (``{"articles:write"}``).
        method: How it was authenticated: ``"jwt"`` or ``"api_key"``.
        client_id: The OAuth2 client (``client_id``/``azp`` claim) or the API key's id.
        issuer: The token's ``iss`` (None for API keys).
        expires_at: When the credential expires (Unix seconds), if it does.
        claims: The token's claims (empty for API keys).
    """

    subject: str
    scopes: frozenset[str] = frozenset()
    method: AuthMethod = "jwt"
    client_id: str | None = None
    issuer: str | None = None
    expires_at: float | None = None
    claims: dict[str, Any] = msgspec.field(default_factory=dict)

    def has_scopes(self, *scopes: str) -> bool:
        """Tell whether the principal holds every one of ``scopes``."""
        return self.scopes.issuperset(scopes)

    def log_fields(self) -> dict[str, Any]:
        """The fields bound into news-log's context for the request (no secrets)."""
        fields: dict[str, Any] = {"principal": self.subject, "auth_method": self.method}
        if self.client_id is not None:
            fields["client_id"] = self.client_id
        return fields


_CURRENT: ContextVar[Principal | None] = ContextVar("news_auth_principal", default=None)


def current_principal() -> Principal | None:
    """Return the principal of the request being handled (None outside an authenticated route)."""
    return _CURRENT.get()
