"""OAuth2 client credentials against the real provider: fetch, cache, refresh, concurrency."""

from __future__ import annotations

import asyncio

import pytest

from news_auth import (
    AuthConfigError,
    ClientCredentials,
    ClientCredentialsSettings,
    JWTVerifier,
    TokenRequestError,
    TokenSource,
)
from news_config import Secret
from news_log.testing import capture_logs
from news_testing import DEFAULT_AUDIENCE, DEFAULT_CLIENT_ID, OIDCClient


def settings_for(provider, **overrides) -> ClientCredentialsSettings:
    """Client-credentials settings for the provider's default client."""
    fields = {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": Secret(provider.client_secret),
        "token_url": provider.token_endpoint,
        "scopes": ("articles:write",),
        "resource": DEFAULT_AUDIENCE,
        "refresh_margin": 60.0,
    }
    fields.update(overrides)
    return ClientCredentialsSettings(**fields)


class TestFetch:
    """Tokens come from the provider and verify at the API they are for."""

    async def test_token_verifies_at_the_api(self, oidc_provider):
        """The fetched token is accepted by a verifier of that audience, with the scopes."""
        source = ClientCredentials(settings_for(oidc_provider))
        token = await source.token()
        principal = await JWTVerifier(oidc_provider.jwt_settings()).verify(token)
        assert principal.subject == DEFAULT_CLIENT_ID
        assert principal.scopes == frozenset({"articles:write"})
        assert (await source.authorization()) == f"Bearer {token}"
        assert isinstance(source, TokenSource)

    async def test_discovery_finds_the_token_endpoint(self, oidc_private_provider):
        """With only the issuer set, discovery names the token endpoint."""
        source = ClientCredentials(
            settings_for(oidc_private_provider, token_url="", issuer=oidc_private_provider.issuer)
        )
        oidc_private_provider.reset_stats()
        await source.token()
        stats = oidc_private_provider.stats()
        assert stats["/.well-known/openid-configuration"] == 1
        assert stats["/token"] == 1

    async def test_client_secret_post(self, oidc_private_provider):
        """auth_method client_secret_post sends the secret in the form."""
        oidc_private_provider.stop()
        client = OIDCClient("poster", "p" * 40, "articles:read", "client_secret_post")
        oidc_private_provider.clients.append(client)
        oidc_private_provider.start()
        source = ClientCredentials(
            settings_for(
                oidc_private_provider,
                client_id="poster",
                client_secret=Secret("p" * 40),
                scopes=("articles:read",),
                auth_method="client_secret_post",
            )
        )
        assert await source.token()

    async def test_wrong_secret(self, oidc_provider):
        """A wrong secret: TokenRequestError with the HTTP status and OAuth error."""
        source = ClientCredentials(settings_for(oidc_provider, client_secret=Secret("wrong")))
        with pytest.raises(TokenRequestError, match="invalid_client") as info:
            await source.token()
        assert info.value.status == 401
        assert info.value.error == "invalid_client"
        assert "wrong" not in str(info.value)

    async def test_unknown_resource(self, oidc_provider):
        """A resource the provider does not know: TokenRequestError invalid_target (400)."""
        source = ClientCredentials(settings_for(oidc_provider, resource="https://nope.test"))
        with pytest.raises(TokenRequestError) as info:
            await source.token()
        assert info.value.status == 400
        assert info.value.error == "invalid_target"


class TestCacheAndRefresh:
    """One request per token lifetime, refreshed before expiry, one refresh at a time."""

    async def test_cached_until_refresh_time(self, oidc_private_provider, clock):
        """Calls before the refresh time reuse the token; after it, a new one is fetched."""
        source = ClientCredentials(settings_for(oidc_private_provider), clock=clock)
        oidc_private_provider.reset_stats()
        first = await source.token()
        clock.advance(239)  # 300 s tokens, refreshed 60 s early
        assert await source.token() == first
        assert oidc_private_provider.stats()["/token"] == 1
        clock.advance(1)
        second = await source.token()
        assert second != first
        assert oidc_private_provider.stats()["/token"] == 2
        assert source.requests == 2

    async def test_margin_is_at_most_half_the_lifetime(self, oidc_private_provider, clock):
        """A margin longer than the token's life refreshes at half-life, not at once."""
        source = ClientCredentials(
            settings_for(oidc_private_provider, refresh_margin=1000), clock=clock
        )
        first = await source.token()
        clock.advance(149)
        assert await source.token() == first
        clock.advance(1)
        assert await source.token() != first

    async def test_one_fetch_for_concurrent_callers(self, oidc_private_provider):
        """Fifty concurrent first calls make one request and share its token."""
        source = ClientCredentials(settings_for(oidc_private_provider))
        oidc_private_provider.reset_stats()
        tokens = await asyncio.gather(*(source.token() for _ in range(50)))
        assert len(set(tokens)) == 1
        assert oidc_private_provider.stats()["/token"] == 1

    async def test_one_refresh_while_the_old_token_serves(self, oidc_private_provider, clock):
        """In the refresh window, one caller refreshes; the others get the valid old token."""
        source = ClientCredentials(settings_for(oidc_private_provider), clock=clock)
        old = await source.token()
        oidc_private_provider.reset_stats()
        clock.advance(250)
        tokens = await asyncio.gather(*(source.token() for _ in range(30)))
        assert oidc_private_provider.stats()["/token"] == 1
        new = tokens[0]
        assert new != old
        assert set(tokens) == {old, new}
        assert await source.token() == new

    async def test_invalidate_fetches_again(self, oidc_private_provider):
        """invalidate() (the API said 401) makes the next call fetch a new token."""
        source = ClientCredentials(settings_for(oidc_private_provider))
        first = await source.token()
        source.invalidate()
        assert await source.token() != first
        assert source.requests == 2

    async def test_refresh_failure_keeps_the_valid_token(self, oidc_private_provider, clock):
        """IdP down in the refresh window: the cached token is used and the failure logged."""
        source = ClientCredentials(settings_for(oidc_private_provider), clock=clock)
        token = await source.token()
        oidc_private_provider.stop()
        clock.advance(250)
        with capture_logs() as lines:
            assert await source.token() == token
            assert await source.token() == token
        warnings = [line for line in lines if line["msg"].startswith("token refresh failed")]
        assert len(warnings) == 1
        clock.advance(51)  # expired now
        with pytest.raises(TokenRequestError):
            await source.token()

    async def test_health_check(self, oidc_provider):
        """health_check passes when a token can be had."""
        async with ClientCredentials(settings_for(oidc_provider)) as source:
            assert await source.health_check() == "token available"


class TestSettings:
    """ClientCredentialsSettings needs a way to find the token endpoint."""

    def test_needs_token_url_or_issuer(self):
        """Neither token_url nor issuer: refused."""
        with pytest.raises(AuthConfigError, match="token_url, or issuer"):
            ClientCredentialsSettings(client_id="c", client_secret=Secret("s"))

    def test_urls_must_be_http(self):
        """A token URL that is not http(s) is refused."""
        with pytest.raises(AuthConfigError, match="not an http"):
            ClientCredentialsSettings(client_id="c", client_secret=Secret("s"), token_url="ftp://x")
