"""Authentication for news platform services: bearer JWTs, API keys, route guards, tokens out.

Verify bearer JWTs from an OpenID provider (keys by discovery, cached)::

    verifier = news_auth.JWTVerifier(
        news_auth.JWTSettings(issuer="https://id.example", audiences=("https://api.example",))
    )
    principal = await verifier.verify(token)  # Principal(subject=..., scopes=...)

Guard news-http routes (``pip install 'news-auth[http]'``)::

    auth = news_auth.http.HTTPAuth(jwt=verifier, api_keys=api_keys)


    @app.post("/v1/articles")
    @auth.requires("articles:write")
    async def create_article(article: ArticleIn) -> news_api.Response:
        log.info("created", by=news_auth.current_principal().subject)

API keys (HMAC-SHA256 under a pepper at rest; shown once)::

    api_keys = news_auth.APIKeys(settings.api_keys, news_auth.MemoryAPIKeyStore())
    # or news_auth.db.PostgresAPIKeyStore(db) with news-db (pip install 'news-auth[db]')
    issued = await api_keys.issue(name="ingest", subject="svc:ingest", scopes={"articles:write"})
    print(issued.key.reveal())  # give it to its owner now: it is not stored

Tokens for calls to other services (OAuth2 client credentials; refreshed before expiry)::

    source = news_auth.ClientCredentials(settings.client_credentials)
    headers = {"authorization": await source.authorization()}

Errors derive from `NewsAuthError`; see ``news_auth._errors`` for the tree.
"""

from __future__ import annotations

from news_auth.__about__ import __version__
from news_auth._apikeys import (
    APIKeyRecord,
    APIKeys,
    APIKeyStore,
    IssuedAPIKey,
    MemoryAPIKeyStore,
)
from news_auth._client_credentials import ClientCredentials, TokenSource
from news_auth._errors import (
    APIKeyStoreError,
    AuthConfigError,
    AuthenticationError,
    InsufficientScopeError,
    InvalidAPIKeyError,
    InvalidTokenError,
    KeySetError,
    NewsAuthError,
    TokenRequestError,
)
from news_auth._jwks import KeyCache
from news_auth._jwt import JWTVerifier
from news_auth._principal import Principal, current_principal
from news_auth._settings import (
    APIKeySettings,
    AuthSettings,
    ClientCredentialsSettings,
    JWTSettings,
)

__all__ = [
    "APIKeyRecord",
    "APIKeySettings",
    "APIKeyStore",
    "APIKeyStoreError",
    "APIKeys",
    "AuthConfigError",
    "AuthSettings",
    "AuthenticationError",
    "ClientCredentials",
    "ClientCredentialsSettings",
    "InsufficientScopeError",
    "InvalidAPIKeyError",
    "InvalidTokenError",
    "IssuedAPIKey",
    "JWTSettings",
    "JWTVerifier",
    "KeyCache",
    "KeySetError",
    "MemoryAPIKeyStore",
    "NewsAuthError",
    "Principal",
    "TokenRequestError",
    "TokenSource",
    "__version__",
    "current_principal",
]
