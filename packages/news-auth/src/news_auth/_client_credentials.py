"""OAuth2 client credentials (RFC 6749 4.4) for service-to-service calls: tokens out.

`ClientCredentials` fetches an access token from the token endpoint, caches it, and refreshes
it ``refresh_margin`` seconds before it expires (at most half its lifetime early). Under
concurrency one refresh runs at a time: callers that arrive while it runs get the still-valid
token at once, or, when there is none, wait for that one refresh. When a refresh fails while
the cached token is still valid, the cached token is used (and the failure logged once per
interval); only without a valid token does the caller get `TokenRequestError`.

It satisfies `TokenSource`, the shape the outbound HTTP client takes.
"""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.parse
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import news_log
from news_auth._errors import TokenRequestError
from news_auth._fetch import FetchError, request_json

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from news_auth._settings import ClientCredentialsSettings

__all__ = ["ClientCredentials", "TokenSource"]

_log: Final = news_log.get_logger("news_auth.client_credentials")
_DEFAULT_TTL: Final = 300.0


@runtime_checkable
class TokenSource(Protocol):
    """Something that hands out a current bearer token for outgoing requests."""

    async def token(self) -> str:
        """Return a valid access token (fetching or refreshing it when needed)."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token (the API answered 401 with it)."""
        ...


class ClientCredentials:
    """A client-credentials token source: fetch, cache, refresh before expiry, one at a time.

    Example:
        >>> source = ClientCredentials(settings.client_credentials)  # doctest: +SKIP
        >>> headers = {"authorization": await source.authorization()}  # doctest: +SKIP
    """

    __slots__ = (
        "_clock",
        "_expires_at",
        "_failures",
        "_lock",
        "_refresh_at",
        "_refreshing",
        "_token",
        "_token_url",
        "requests",
        "settings",
    )

    health_name: Final = "oauth-token"

    def __init__(
        self, settings: ClientCredentialsSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Prepare the source; no request is made before the first `token`."""
        self.settings = settings
        self._clock = clock
        self._token: str | None = None
        self._expires_at = float("-inf")
        self._refresh_at = float("-inf")
        self._token_url = settings.token_url or None
        self._lock: asyncio.Lock | None = None
        self._refreshing = False
        self._failures = _log.limited(30.0, clock=clock)  # one line per 30 s, with a count
        self.requests = 0
        """How many token requests were made."""

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Nothing to open: the first token is fetched by the first caller."""

    async def stop(self) -> None:
        """Forget the token."""
        self.invalidate()

    async def __aenter__(self) -> ClientCredentials:
        """Start."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    # -- the source ------------------------------------------------------------------------

    async def token(self) -> str:
        """Return a valid access token; see the module docstring for refreshes and failures.

        Raises:
            TokenRequestError: No valid token is cached and the token endpoint failed.
        """
        now = self._clock()
        token = self._token
        if token is not None and now < self._refresh_at:
            return token
        if token is not None and now < self._expires_at and self._refreshing:
            return token  # someone refreshes; this one is still good
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = self._clock()
            if self._token is not None and now < self._refresh_at:
                return self._token
            self._refreshing = True
            try:
                return await self._refresh(now)
            finally:
                self._refreshing = False

    async def authorization(self) -> str:
        """The ``Authorization`` header value: ``Bearer <token>``."""
        return f"Bearer {await self.token()}"

    def invalidate(self) -> None:
        """Forget the cached token: the next `token` fetches a new one."""
        self._token = None
        self._expires_at = self._refresh_at = float("-inf")

    async def health_check(self) -> str:
        """Readiness: a token can be had (cached or fetched now)."""
        await self.token()
        return "token available"

    # -- fetching --------------------------------------------------------------------------

    async def _refresh(self, now: float) -> str:
        try:
            answer = await asyncio.to_thread(self._request)
            token, lifetime = _parse(answer)
        except TokenRequestError as exc:
            if self._token is not None and self._clock() < self._expires_at:
                self._failures.warning(
                    "token refresh failed; using the cached token",
                    error=str(exc),
                    status=exc.status,
                    oauth_error=exc.error,
                )
                return self._token
            raise
        fetched = self._clock()
        margin = min(self.settings.refresh_margin, lifetime / 2)
        self._token = token
        self._expires_at = fetched + lifetime
        self._refresh_at = fetched + lifetime - margin
        return token

    def _request(self) -> dict[str, object]:
        s = self.settings
        form = {"grant_type": "client_credentials"}
        if s.scopes:
            form["scope"] = " ".join(s.scopes)
        if s.resource:
            form["resource"] = s.resource
        headers: dict[str, str] = {}
        secret = s.client_secret.reveal()
        if s.auth_method == "client_secret_basic":
            quote = urllib.parse.quote
            pair = f"{quote(s.client_id, safe='')}:{quote(secret, safe='')}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = s.client_id
            form["client_secret"] = secret
        self.requests += 1
        try:
            url = self._resolve_token_url()
            return request_json(url, timeout=s.timeout, form=form, headers=headers)
        except FetchError as exc:
            error = exc.body.get("error") if exc.body else None
            description = exc.body.get("error_description") if exc.body else None
            detail = f": {error}" + (f" ({description})" if description else "") if error else ""
            raise TokenRequestError(
                f"token request for client {s.client_id!r} failed: {exc}{detail}",
                status=exc.status,
                error=error if isinstance(error, str) else None,
            ) from exc

    def _resolve_token_url(self) -> str:
        if self._token_url is None:
            issuer = self.settings.issuer.rstrip("/")
            document = request_json(
                f"{issuer}/.well-known/openid-configuration", timeout=self.settings.timeout
            )
            endpoint = document.get("token_endpoint")
            if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
                raise FetchError(f"{issuer}: discovery document has no token_endpoint")
            self._token_url = endpoint
        return self._token_url


def _parse(answer: dict[str, object]) -> tuple[str, float]:
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenRequestError("token endpoint answered without an access_token")
    token_type = answer.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenRequestError(f"token endpoint gave a {token_type!r} token, not a Bearer one")
    expires_in = answer.get("expires_in", _DEFAULT_TTL)
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
        raise TokenRequestError(f"token endpoint gave expires_in={expires_in!r}")
    return token, float(expires_in)
