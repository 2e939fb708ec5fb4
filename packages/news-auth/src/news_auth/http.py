"""Route guards for news-http: who may call a route, as a middleware of its chain.

``pip install 'news-auth[http]'``. One `HTTPAuth` per app knows how callers prove who they
are (bearer JWTs, API keys, or both); each route says what it needs::

    auth = news_auth.http.HTTPAuth(jwt=verifier, api_keys=api_keys)


    @app.post("/v1/articles")
    @auth.requires("articles:write")  # 401 without credentials, 403 without the scope
    async def create_article(article: ArticleIn) -> news_api.Response:
        principal = news_auth.current_principal()  # subject, scopes, client id; never the token
        ...


    @app.get("/v1/me")
    @auth.requires()  # any authenticated caller
    async def me(identity) -> dict: ...  # Robyn's Identity: sub, scope, client_id, method

Failures are RFC 9457 problems with RFC 6750 challenges:

- no credentials: 401 ``unauthorized``, ``WWW-Authenticate: Bearer`` (no error code, as RFC
  6750 section 3.1 asks);
- refused credentials: 401 ``invalid_token``, ``WWW-Authenticate: Bearer error="invalid_token",
  error_description="..."``;
- a missing scope: 403 ``insufficient_scope``, ``WWW-Authenticate: Bearer
  error="insufficient_scope", scope="articles:write"``;
- keys or the key store unavailable: 503 ``service_unavailable`` with ``Retry-After``.

The principal is bound into news-log's context (``principal``, ``auth_method``, ``client_id``)
for every line the handler and what it calls write (a refused scope's 403 too); news-http's
access line of the request carries the same fields (its stack collects what was bound inside the
request), and so do its error lines. The principal is available as
`news_auth.current_principal` and as Robyn's ``identity`` (handler parameter ``identity``).
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Final

from robyn.robyn import Identity

import news_api
import news_http
import news_log
from news_auth._errors import (
    APIKeyStoreError,
    AuthConfigError,
    AuthenticationError,
    InvalidAPIKeyError,
    KeySetError,
)
from news_auth._principal import _CURRENT, Principal

if TYPE_CHECKING:
    from collections.abc import Callable

    from robyn import Request, Response

    from news_auth._apikeys import APIKeys
    from news_auth._jwt import JWTVerifier

__all__ = ["HTTPAuth", "InsufficientScope", "InvalidToken"]

_log: Final = news_log.get_logger("news_auth.http")
_DESCRIPTIONS: Final = {
    "expired": "the credential has expired",
    "not_yet_valid": "the token is not valid yet",
    "revoked": "the API key was revoked",
    "too_large": "the token is too large",
}


class InvalidToken(news_api.Unauthorized):
    """401 ``invalid_token`` (RFC 6750): the credentials were refused."""

    code = "invalid_token"
    title = "Invalid Token"


class InsufficientScope(news_api.Forbidden):
    """403 ``insufficient_scope`` (RFC 6750): authenticated, but without a required scope."""

    code = "insufficient_scope"
    title = "Insufficient Scope"


def _quoted(value: str) -> str:
    return value.replace("\\", "").replace('"', "'")


class HTTPAuth:
    """Authenticate requests with bearer JWTs and/or API keys; guard routes by scope.

    Args:
        jwt: Verifies ``Authorization: Bearer <JWT>``.
        api_keys: Verifies API keys, from its header (``X-API-Key`` by default) or as a
            bearer token with the keys' prefix.
        realm: Sent as ``realm="..."`` in challenges, when given.
        failure_log_interval: Least seconds between two log lines of the same failure
            reason (failed attempts are logged at ``info`` with the count suppressed).
    """

    __slots__ = ("_failures", "_header", "_realm", "api_keys", "jwt")

    def __init__(
        self,
        *,
        jwt: JWTVerifier | None = None,
        api_keys: APIKeys | None = None,
        realm: str | None = None,
        failure_log_interval: float = 1.0,
    ) -> None:
        """Accept the credentials of ``jwt`` and/or ``api_keys``."""
        if jwt is None and api_keys is None:
            raise AuthConfigError("HTTPAuth needs jwt=, api_keys= or both")
        self.jwt = jwt
        self.api_keys = api_keys
        self._realm = f'realm="{_quoted(realm)}"' if realm else ""
        self._header = api_keys.settings.header.lower() if api_keys is not None else ""
        # one line per kind of failure per interval, with the count left out (news-log)
        self._failures = _log.limited(failure_log_interval)

    # -- decorators ------------------------------------------------------------------------

    def requires(self, *scopes: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate a route handler (under the route decorator): the caller must hold ``scopes``.

        With no scopes, any authenticated caller may call the route.
        """
        return news_http.with_middleware(self.middleware(*scopes))

    def middleware(self, *scopes: str) -> news_http.Middleware:
        """The guard as a news-http `Middleware` (for ``create_app(middleware=[...])``)."""
        required = frozenset(scopes)
        for scope in required:
            if not scope or any(c.isspace() or c in '"\\' for c in scope):
                raise AuthConfigError(f"scope {scope!r} is empty or has spaces or quotes")

        def middleware(next_handler: news_http.Handler) -> news_http.Handler:
            if inspect.iscoroutinefunction(next_handler) or inspect.iscoroutinefunction(
                getattr(next_handler, "__func__", None)
            ):
                call_async: Any = next_handler

                @functools.wraps(next_handler)
                async def guarded(request: Request) -> Response:
                    principal = await self.authenticate(request)
                    with news_log.bind(**principal.log_fields()):
                        self._authorize(principal, required)
                        token = _CURRENT.set(principal)
                        try:
                            request.identity = _identity(principal)
                            response: Response = await call_async(request)
                            return response
                        finally:
                            _CURRENT.reset(token)

                return guarded

            if self.api_keys is not None:
                raise AuthConfigError(
                    "API keys are checked against an async store: make the guarded handler "
                    "async (sync handlers can be guarded by bearer JWTs only)"
                )
            call: Any = next_handler

            @functools.wraps(next_handler)
            def guarded_sync(request: Request) -> Response:
                principal = self.authenticate_sync(request)
                with news_log.bind(**principal.log_fields()):
                    self._authorize(principal, required)
                    token = _CURRENT.set(principal)
                    try:
                        request.identity = _identity(principal)
                        response: Response = call(request)
                        return response
                    finally:
                        _CURRENT.reset(token)

            return guarded_sync

        return middleware

    # -- authentication --------------------------------------------------------------------

    async def authenticate(self, request: Request) -> Principal:
        """Return the caller of ``request``, or raise the problem to answer with.

        Raises:
            news_api.Unauthorized: No credentials (401).
            InvalidToken: Refused credentials (401 ``invalid_token``).
            news_api.ServiceUnavailable: Keys or the key store are unavailable (503).
        """
        kind, credential = self._credential(request)
        try:
            if kind == "api_key":
                assert self.api_keys is not None
                return await self.api_keys.verify(credential)
            assert self.jwt is not None
            return await self.jwt.verify(credential)
        except AuthenticationError as exc:
            raise self._refused(exc, kind) from None
        except (KeySetError, APIKeyStoreError) as exc:
            raise self._unavailable(exc) from None

    def authenticate_sync(self, request: Request) -> Principal:
        """`authenticate` for sync handlers (bearer JWTs only)."""
        kind, credential = self._credential(request)
        assert self.jwt is not None
        try:
            return self.jwt.verify_sync(credential)
        except AuthenticationError as exc:
            raise self._refused(exc, kind) from None
        except KeySetError as exc:
            raise self._unavailable(exc) from None

    def _credential(self, request: Request) -> tuple[str, str]:
        headers = request.headers
        authorization = headers.get("authorization")
        if authorization:
            scheme, _, value = authorization.strip().partition(" ")
            value = value.strip()
            if scheme.lower() == "bearer" and value:
                if self.api_keys is not None and self.api_keys.looks_like_key(value):
                    return "api_key", value
                if self.jwt is not None:
                    return "jwt", value
                return "api_key", value  # only API keys here: it is a malformed one
        if self._header:
            key = headers.get(self._header)
            if key:
                return "api_key", key.strip()
        raise news_api.Unauthorized("authentication required", challenge=self._challenge())

    def _authorize(self, principal: Principal, required: frozenset[str]) -> None:
        if not principal.scopes.issuperset(required):
            missing = required - principal.scopes
            scope = " ".join(sorted(required))
            self._failures.info(
                "caller lacks a required scope",
                reason="insufficient_scope",
                missing=sorted(missing),
                **principal.log_fields(),
            )
            raise InsufficientScope(
                f"this needs the scope(s): {scope}",
                headers={
                    "www-authenticate": self._challenge(
                        f'error="insufficient_scope", scope="{_quoted(scope)}"'
                    )
                },
            )

    def _challenge(self, params: str = "") -> str:
        parts = ", ".join(p for p in (self._realm, params) if p)
        return f"Bearer {parts}" if parts else "Bearer"

    def _refused(self, exc: AuthenticationError, kind: str) -> InvalidToken:
        self._failures.info(
            "authentication failed",
            repeat_key=(kind, exc.reason),
            reason=exc.reason,
            credential=kind,
            error=str(exc),
        )
        default = (
            "the API key is invalid"
            if isinstance(exc, InvalidAPIKeyError)
            else ("the token is invalid")
        )
        description = _DESCRIPTIONS.get(exc.reason, default)
        return InvalidToken(
            description,
            challenge=self._challenge(f'error="invalid_token", error_description="{description}"'),
        )

    def _unavailable(self, exc: Exception) -> news_api.ServiceUnavailable:
        self._failures.info(
            "cannot authenticate now", repeat_key=type(exc).__name__, error=str(exc)
        )
        return news_api.ServiceUnavailable(
            "authentication is unavailable; retry shortly", retry_after=5
        )


def _identity(principal: Principal) -> Identity:
    claims = {
        "sub": principal.subject,
        "scope": " ".join(sorted(principal.scopes)),
        "method": principal.method,
    }
    if principal.client_id is not None:
        claims["client_id"] = principal.client_id
    return Identity(claims=claims)
