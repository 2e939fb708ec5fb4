"""Settings of news-auth: frozen msgspec Structs that news-config fills from the environment.

::

    NEWSROOM_AUTH__JWT__ISSUER=https://id.example.com/realms/news
    NEWSROOM_AUTH__JWT__AUDIENCES=https://api.news.example
    NEWSROOM_AUTH__API_KEYS__PEPPERS={"2026": "..."}               (a secret file)
    NEWSROOM_AUTH__API_KEYS__CURRENT_PEPPER_ID=2026

Inconsistent values (HS256 without a secret, an RSA algorithm next to an HMAC secret only, no
audience) raise `AuthConfigError` when the Struct is built, naming the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal

import msgspec

from news_auth._errors import AuthConfigError
from news_config import Secret

__all__ = [
    "APIKeySettings",
    "AuthSettings",
    "ClientCredentialsSettings",
    "JWTSettings",
]

Meta = msgspec.Meta

ASYMMETRIC_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
HMAC_ALGORITHMS: Final = frozenset({"HS256", "HS384", "HS512"})
_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _check_url(field: str, value: str) -> None:
    if value and not value.startswith(("https://", "http://")):
        raise AuthConfigError(f"{field}: {value!r} is not an http(s) URL")


class JWTSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How bearer JWTs are verified: who issues them, for whom, with which keys and algorithms.

    Keys come from ``jwks_url``, or from the issuer's OpenID discovery document
    (``{issuer}/.well-known/openid-configuration``) when only ``issuer`` is set. HMAC
    algorithms need an explicit ``hmac_secret`` and then use nothing else.
    """

    issuer: Annotated[
        str,
        Meta(description="Expected iss claim; also where discovery looks when jwks_url is empty"),
    ] = ""
    jwks_url: Annotated[
        str, Meta(description="JWKS URL of the signing keys (empty: found by OIDC discovery)")
    ] = ""
    audiences: Annotated[
        tuple[str, ...],
        Meta(description="Accepted aud values: a token must name at least one of them"),
    ] = ()
    algorithms: Annotated[
        tuple[str, ...],
        Meta(
            min_length=1,
            description=(
                "Accepted alg values (RS*, PS*, ES*, EdDSA; HS* only with hmac_secret); "
                "'none' is never accepted"
            ),
        ),
    ] = ("RS256", "ES256")
    hmac_secret: Annotated[
        Secret | None,
        Meta(description="Shared secret for HS256/384/512 tokens (at least 32 bytes)"),
    ] = None
    leeway: Annotated[
        float,
        Meta(ge=0, le=300, description="Seconds of clock skew allowed on exp, nbf and iat"),
    ] = 10.0
    required_claims: Annotated[
        tuple[str, ...],
        Meta(description="Claims a token must carry (iss and aud too when configured)"),
    ] = ("exp", "iat", "sub")
    accepted_types: Annotated[
        tuple[str, ...],
        Meta(description="Accepted typ header values (compared case-insensitively)"),
    ] = ("at+jwt", "application/at+jwt", "JWT")
    type_required: Annotated[
        bool, Meta(description="Refuse tokens without a typ header (RFC 9068 strict)")
    ] = False
    max_token_bytes: Annotated[
        int,
        Meta(ge=256, le=65_536, description="Longer tokens are refused before any parsing"),
    ] = 8_192
    jwks_ttl: Annotated[
        float, Meta(ge=1, description="Seconds the fetched keys are used before a refresh")
    ] = 300.0
    min_refresh_interval: Annotated[
        float,
        Meta(
            ge=0,
            description=(
                "Least seconds between two fetches of the keys (an unknown kid refetches at "
                "most this often; failures are retried and logged at this pace)"
            ),
        ),
    ] = 30.0
    fetch_timeout: Annotated[
        float, Meta(gt=0, description="Seconds one JWKS or discovery request may take")
    ] = 5.0
    cache_size: Annotated[
        int,
        Meta(
            ge=0,
            description=(
                "Verified tokens remembered by their full text, each until it expires (at most "
                "jwks_ttl): a client reusing its token is not verified again; 0: verify every time"
            ),
        ),
    ] = 4_096
    scope_claim: Annotated[
        str,
        Meta(description="Claim with the scopes: a space-separated string or a list ('scp')"),
    ] = "scope"

    def __post_init__(self) -> None:
        _check_url("jwt.issuer", self.issuer)
        _check_url("jwt.jwks_url", self.jwks_url)
        algorithms = set(self.algorithms)
        unknown = algorithms - ASYMMETRIC_ALGORITHMS - HMAC_ALGORITHMS
        if unknown:
            raise AuthConfigError(
                f"jwt.algorithms: {sorted(unknown)} are not accepted ('none' never is); use "
                f"{', '.join(sorted(ASYMMETRIC_ALGORITHMS | HMAC_ALGORITHMS))}"
            )
        hmac = algorithms & HMAC_ALGORITHMS
        if hmac and self.hmac_secret is None:
            raise AuthConfigError(
                f"jwt.algorithms: {sorted(hmac)} need jwt.hmac_secret; HMAC tokens are only "
                "accepted with an explicitly configured secret"
            )
        if self.hmac_secret is not None:
            if not hmac:
                raise AuthConfigError(
                    "jwt.hmac_secret is set but jwt.algorithms has no HS256/384/512; add the "
                    "algorithm or remove the secret"
                )
            if len(self.hmac_secret.reveal().encode()) < 32:
                raise AuthConfigError("jwt.hmac_secret must be at least 32 bytes (RFC 7518 3.2)")
        if algorithms & ASYMMETRIC_ALGORITHMS and not (self.jwks_url or self.issuer):
            raise AuthConfigError(
                "jwt: asymmetric algorithms need keys: set jwt.jwks_url, or jwt.issuer for "
                "OpenID discovery"
            )
        if not self.audiences:
            raise AuthConfigError(
                "jwt.audiences is empty; name this API's audience (a token for another API "
                "must not be accepted here)"
            )
        if self.min_refresh_interval > self.jwks_ttl:
            raise AuthConfigError(
                f"jwt.min_refresh_interval ({self.min_refresh_interval}) exceeds jwt.jwks_ttl "
                f"({self.jwks_ttl}); lower it"
            )


class APIKeySettings(msgspec.Struct, frozen=True, kw_only=True):
    """How API keys look and are stored: the visible prefix, the peppers, the last-used stamp.

    A key is ``<prefix>_<id>_<secret>``; only HMAC-SHA256(pepper, key) is stored, under the id
    of the pepper used. Add a pepper and make it current to rotate: keys made under an older
    pepper still verify (its id is stored with the hash) and are re-hashed with the current
    one the next time they are used.
    """

    peppers: Annotated[
        dict[str, Secret],
        Meta(description="HMAC keys by id (at least 32 bytes each); keep old ones until unused"),
    ] = msgspec.field(default_factory=dict)
    current_pepper_id: Annotated[
        str, Meta(description="Id of the pepper that hashes new and re-hashed keys")
    ] = ""
    prefix: Annotated[
        str,
        Meta(
            pattern=r"^[a-z][a-z0-9]{0,15}$",
            description="Visible start of every key (e.g. 'nr' for newsroom), for secret scanners",
        ),
    ] = "nk"
    last_used_interval: Annotated[
        float,
        Meta(ge=0, description="Least seconds between two last-used stamps of one key"),
    ] = 300.0
    header: Annotated[
        str,
        Meta(pattern=r"^[A-Za-z0-9-]+$", description="Request header carrying an API key"),
    ] = "X-API-Key"

    def __post_init__(self) -> None:
        if not self.peppers:
            raise AuthConfigError(
                "api_keys.peppers is empty; set {id: secret of 32+ random bytes} and "
                "api_keys.current_pepper_id"
            )
        for pepper_id, pepper in self.peppers.items():
            if not _ID.fullmatch(pepper_id):
                raise AuthConfigError(
                    f"api_keys.peppers: id {pepper_id!r} must be 1-64 of A-Z a-z 0-9 . _ -"
                )
            if len(pepper.reveal().encode()) < 32:
                raise AuthConfigError(f"api_keys.peppers: {pepper_id!r} is shorter than 32 bytes")
        if self.current_pepper_id not in self.peppers:
            raise AuthConfigError(
                f"api_keys.current_pepper_id {self.current_pepper_id!r} is not one of the "
                f"peppers ({', '.join(sorted(self.peppers))})"
            )


class ClientCredentialsSettings(msgspec.Struct, frozen=True, kw_only=True):
    """An OAuth2 client-credentials client: where to get tokens, as whom, for what."""

    client_id: Annotated[str, Meta(min_length=1, description="This service's client id")]
    client_secret: Annotated[Secret, Meta(description="This service's client secret")]
    token_url: Annotated[
        str, Meta(description="Token endpoint (empty: found by OIDC discovery of issuer)")
    ] = ""
    issuer: Annotated[
        str, Meta(description="Issuer whose discovery document names the token endpoint")
    ] = ""
    scopes: Annotated[tuple[str, ...], Meta(description="Scopes to ask for")] = ()
    resource: Annotated[
        str, Meta(description="RFC 8707 resource indicator of the API to call (empty: none)")
    ] = ""
    auth_method: Annotated[
        Literal["client_secret_basic", "client_secret_post"],
        Meta(description="How the secret is sent: HTTP Basic or in the form body"),
    ] = "client_secret_basic"
    refresh_margin: Annotated[
        float,
        Meta(
            ge=0,
            description=(
                "Refresh this many seconds before expiry (at most half the token's lifetime)"
            ),
        ),
    ] = 60.0
    timeout: Annotated[
        float, Meta(gt=0, description="Seconds one token (or discovery) request may take")
    ] = 10.0

    def __post_init__(self) -> None:
        _check_url("client_credentials.token_url", self.token_url)
        _check_url("client_credentials.issuer", self.issuer)
        if not (self.token_url or self.issuer):
            raise AuthConfigError(
                "client_credentials: set token_url, or issuer for OpenID discovery"
            )


class AuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A service's authentication settings: bearer JWTs, API keys, or both."""

    jwt: Annotated[JWTSettings | None, Meta(description="Bearer JWT verification")] = None
    api_keys: Annotated[APIKeySettings | None, Meta(description="API keys")] = None
