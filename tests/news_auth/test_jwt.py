"""Bearer JWT verification against a real OpenID provider (npm oidc-provider)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, import_key

import news_auth
from news_auth import InvalidTokenError, JWTSettings, JWTVerifier, KeyCache, KeySetError
from news_config import Secret
from news_log.testing import capture_logs
from news_testing import DEFAULT_AUDIENCE, ES256_AUDIENCE


def reason_of(verifier: JWTVerifier, token: str) -> str:
    """The rejection reason of ``token`` (fails if it is accepted)."""
    with pytest.raises(InvalidTokenError) as info:
        verifier.verify_sync(token)
    return info.value.reason


@pytest.fixture
def verifier(oidc_provider):
    """A verifier for the session provider (discovery, RS256 and ES256)."""
    return JWTVerifier(oidc_provider.jwt_settings())


class TestAccepted:
    """Tokens of the provider are accepted and become principals."""

    async def test_rs256_access_token(self, oidc_provider, verifier):
        """An RS256 RFC 9068 token from the provider gives subject, client, scopes, issuer."""
        token = oidc_provider.token(scope="articles:write")
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header["typ"] == "at+jwt"
        assert header["alg"] == "RS256"
        principal = await verifier.verify(token)
        assert principal.subject == "news-test-client"
        assert principal.client_id == "news-test-client"
        assert principal.scopes == frozenset({"articles:write"})
        assert principal.issuer == oidc_provider.issuer
        assert principal.method == "jwt"
        assert principal.claims["aud"] == DEFAULT_AUDIENCE
        assert principal.expires_at == principal.claims["exp"]
        assert principal.has_scopes("articles:write")
        assert not principal.has_scopes("articles:write", "articles:read")

    async def test_es256_access_token(self, oidc_provider, verifier):
        """An ES256 token (another resource) is accepted too."""
        token = oidc_provider.token(scope="articles:read", resource=ES256_AUDIENCE)
        assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"] == "ES256"
        principal = await verifier.verify(token)
        assert principal.scopes == frozenset({"articles:read"})
        assert principal.claims["aud"] == ES256_AUDIENCE

    def test_sync_verification(self, oidc_provider, verifier):
        """verify_sync accepts the same tokens (for sync handlers)."""
        principal = verifier.verify_sync(oidc_provider.token(scope="articles:read"))
        assert principal.scopes == frozenset({"articles:read"})

    async def test_keys_are_fetched_once(self, oidc_private_provider):
        """Discovery and JWKS are fetched once; later tokens use the cached keys."""
        verifier = JWTVerifier(oidc_private_provider.jwt_settings())
        oidc_private_provider.reset_stats()
        await verifier.start()
        for _ in range(5):
            await verifier.verify(oidc_private_provider.token())
        stats = oidc_private_provider.stats()
        assert stats["/.well-known/openid-configuration"] == 1
        assert stats["/jwks"] == 1
        assert verifier.keys.fetches == 1
        assert await verifier.health_check() == "2 keys"

    async def test_explicit_jwks_url_needs_no_discovery(self, oidc_private_provider):
        """With jwks_url set, discovery is never asked."""
        settings = oidc_private_provider.jwt_settings(jwks_url=oidc_private_provider.jwks_uri)
        oidc_private_provider.reset_stats()
        async with JWTVerifier(settings) as verifier:
            await verifier.verify(oidc_private_provider.token())
        assert "/.well-known/openid-configuration" not in oidc_private_provider.stats()

    async def test_leeway_accepts_slightly_expired(self, oidc_provider, verifier, forge_token):
        """A token expired less than leeway seconds ago is still accepted."""
        token = forge_token(oidc_provider, exp=int(time.time()) - 3)
        assert (await verifier.verify(token)).subject == "forged-client"

    async def test_plain_jwt_type_and_no_type_are_accepted(
        self, oidc_provider, verifier, forge_token
    ):
        """Typ JWT (any case) and a missing typ are accepted by default."""
        await verifier.verify(forge_token(oidc_provider, header={"typ": "jwt"}))
        await verifier.verify(forge_token(oidc_provider, header={"typ": "application/at+jwt"}))
        no_typ = forge_token(oidc_provider, header={"typ": None})
        await verifier.verify(no_typ)

    async def test_one_fitting_key_needs_no_kid(self, oidc_provider, verifier, forge_token):
        """Without a kid, the one key that fits the algorithm is used."""
        token = forge_token(oidc_provider, drop_kid=True)
        assert (await verifier.verify(token)).subject == "forged-client"

    async def test_scp_list_and_azp(self, oidc_provider, verifier, forge_token):
        """Scopes as an 'scp' list and the client as 'azp' are understood."""
        token = forge_token(
            oidc_provider, scope=None, client_id=None, scp=["a", "b", 3], azp="portal"
        )
        principal = await verifier.verify(token)
        assert principal.scopes == frozenset({"a", "b"})
        assert principal.client_id == "portal"

    async def test_subject_falls_back_to_client_id(self, oidc_provider, forge_token):
        """A token without sub names its client as the subject (when sub is not required)."""
        verifier = JWTVerifier(oidc_provider.jwt_settings(required_claims=("exp",)))
        principal = await verifier.verify(forge_token(oidc_provider, sub=None))
        assert principal.subject == "forged-client"
        nobody = forge_token(oidc_provider, sub=None, client_id=None)
        assert reason_of(verifier, nobody) == "missing_claim"


class TestRejected:
    """Every kind of bad token is refused, each with its reason."""

    def test_expired(self, oidc_provider, verifier, forge_token):
        """Exp more than leeway in the past: expired."""
        token = forge_token(oidc_provider, exp=int(time.time()) - 60)
        assert reason_of(verifier, token) == "expired"

    def test_not_yet_valid(self, oidc_provider, verifier, forge_token):
        """Nbf more than leeway in the future: not_yet_valid."""
        token = forge_token(oidc_provider, nbf=int(time.time()) + 60)
        assert reason_of(verifier, token) == "not_yet_valid"

    def test_nbf_within_leeway_is_accepted(self, oidc_provider, verifier, forge_token):
        """Nbf a few seconds ahead (clock skew) is fine."""
        verifier.verify_sync(forge_token(oidc_provider, nbf=int(time.time()) + 3))

    def test_issued_in_the_future(self, oidc_provider, verifier, forge_token):
        """Iat more than leeway ahead: issued_in_future."""
        token = forge_token(oidc_provider, iat=int(time.time()) + 120)
        assert reason_of(verifier, token) == "issued_in_future"

    def test_wrong_issuer(self, oidc_provider, verifier, forge_token):
        """Another iss (even signed by the right key): wrong_issuer."""
        token = forge_token(oidc_provider, iss="https://evil.example")
        assert reason_of(verifier, token) == "wrong_issuer"

    def test_wrong_audience(self, oidc_provider, verifier, forge_token):
        """A token for another API: wrong_audience; a list naming ours is fine."""
        assert reason_of(verifier, forge_token(oidc_provider, aud="https://other.api")) == (
            "wrong_audience"
        )
        verifier.verify_sync(
            forge_token(oidc_provider, aud=["https://other.api", DEFAULT_AUDIENCE])
        )

    def test_real_token_for_another_audience(self, oidc_provider):
        """A genuine provider token for a resource this API does not accept is refused."""
        verifier = JWTVerifier(oidc_provider.jwt_settings(audiences=(DEFAULT_AUDIENCE,)))
        token = oidc_provider.token(scope="articles:read", resource=ES256_AUDIENCE)
        assert reason_of(verifier, token) == "wrong_audience"

    @pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud"])
    def test_missing_required_claim(self, oidc_provider, verifier, forge_token, claim):
        """Each required claim missing: missing_claim."""
        assert reason_of(verifier, forge_token(oidc_provider, **{claim: None})) == ("missing_claim")

    def test_tampered_payload(self, oidc_provider, verifier, raw_token):
        """Claims changed after signing (more scopes): bad_signature."""
        token = oidc_provider.token(scope="articles:read")
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["scope"] = "articles:read articles:write"
        forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        assert reason_of(verifier, f"{header}.{forged_payload}.{signature}") == "bad_signature"

    def test_tampered_signature(self, oidc_provider, verifier):
        """A changed signature: bad_signature; a cut one too."""
        token = oidc_provider.token()
        header, payload, signature = token.split(".")
        flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
        assert reason_of(verifier, f"{header}.{payload}.{flipped}") == "bad_signature"
        assert reason_of(verifier, f"{header}.{payload}.{signature[:-8]}") == "bad_signature"
        assert reason_of(verifier, f"{header}.{payload}.") == "bad_signature"

    def test_tampered_es256_signature(self, oidc_provider, verifier):
        """ES256 tokens with a changed signature are refused too."""
        token = oidc_provider.token(scope="articles:read", resource=ES256_AUDIENCE)
        header, payload, signature = token.split(".")
        flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
        assert reason_of(verifier, f"{header}.{payload}.{flipped}") == "bad_signature"

    @pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
    def test_alg_none(self, oidc_provider, verifier, raw_token, alg):
        """Alg none (any spelling) or empty: alg_not_allowed, whatever the claims."""
        claims = {
            "iss": oidc_provider.issuer,
            "aud": DEFAULT_AUDIENCE,
            "sub": "x",
            "exp": int(time.time()) + 60,
            "iat": int(time.time()),
        }
        assert reason_of(verifier, raw_token({"alg": alg, "typ": "JWT"}, claims)) == (
            "alg_not_allowed"
        )

    def test_missing_alg(self, oidc_provider, verifier, raw_token):
        """No alg at all: alg_not_allowed."""
        assert reason_of(verifier, raw_token({"typ": "JWT"}, {"sub": "x"})) == "alg_not_allowed"

    def test_rs256_to_hs256_confusion(self, oidc_provider, verifier, raw_token):
        """An HS256 token keyed with the provider's RSA public key is refused."""
        rsa_jwk = next(k for k in oidc_provider.private_jwks() if k["kty"] == "RSA")
        public_pem = import_key(
            {k: v for k, v in rsa_jwk.items() if k in ("kty", "n", "e", "kid")}
        ).as_pem(private=False)
        header = {"alg": "HS256", "typ": "at+jwt", "kid": rsa_jwk["kid"]}
        claims = {
            "iss": oidc_provider.issuer,
            "aud": DEFAULT_AUDIENCE,
            "sub": "attacker",
            "exp": int(time.time()) + 60,
            "iat": int(time.time()),
            "scope": "articles:write",
        }
        unsigned_token = raw_token(header, claims)
        signing_input = unsigned_token.rsplit(".", 1)[0].encode()
        mac = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
        token = f"{signing_input.decode()}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
        assert reason_of(verifier, token) == "alg_not_allowed"
        # Even with HS256 enabled (and its own secret), the RSA key is never the HMAC secret.
        both = JWTVerifier(
            oidc_provider.jwt_settings(
                algorithms=("RS256", "HS256"), hmac_secret=Secret(secrets.token_urlsafe(48))
            )
        )
        assert reason_of(both, token) == "bad_signature"

    def test_unknown_kid_flood_is_bounded(self, oidc_private_provider, forge_token, clock):
        """Hundreds of unknown kids cost the provider one JWKS fetch per interval."""
        settings = oidc_private_provider.jwt_settings(min_refresh_interval=30.0)
        verifier = JWTVerifier(settings, keys=KeyCache(settings, clock=clock))
        verifier.verify_sync(oidc_private_provider.token())
        oidc_private_provider.reset_stats()
        attacker = RSAKey.generate_key(2048)

        def forged(i: int) -> str:
            return jwt.encode(
                {"alg": "RS256", "kid": f"forged-{i}"},
                {"sub": "x", "iss": oidc_private_provider.issuer},
                attacker,
            )

        tokens = [forged(i) for i in range(50)]
        for token in tokens:  # right after the first fetch: no refetch at all
            assert reason_of(verifier, token) == "unknown_kid"
        assert oidc_private_provider.jwks_fetches() == 0
        clock.advance(31)
        for token in tokens:  # the interval passed: exactly one refetch for the whole flood
            assert reason_of(verifier, token) == "unknown_kid"
        assert oidc_private_provider.jwks_fetches() == 1
        assert verifier.keys.fetches == 2

    async def test_unknown_kid_flood_async(self, oidc_private_provider, clock):
        """Concurrent unknown kids on the event loop also cause at most one fetch."""
        settings = oidc_private_provider.jwt_settings(min_refresh_interval=30.0)
        verifier = JWTVerifier(settings, keys=KeyCache(settings, clock=clock))
        await verifier.verify(oidc_private_provider.token())
        oidc_private_provider.reset_stats()
        clock.advance(31)
        attacker = ECKey.generate_key("P-256")
        tokens = [
            jwt.encode({"alg": "ES256", "kid": f"f{i}"}, {"sub": "x"}, attacker) for i in range(40)
        ]
        results = await asyncio.gather(
            *(verifier.verify(t) for t in tokens), return_exceptions=True
        )
        assert all(isinstance(r, InvalidTokenError) and r.reason == "unknown_kid" for r in results)
        assert oidc_private_provider.jwks_fetches() == 1

    def test_missing_kid_with_several_keys(self, oidc_private_provider, forge_token):
        """No kid while several RSA keys are published: kid_required."""
        oidc_private_provider.rotate_keys(keep_old=True)  # two RSA keys now
        verifier = JWTVerifier(oidc_private_provider.jwt_settings())
        token = forge_token(oidc_private_provider, drop_kid=True)
        assert reason_of(verifier, token) == "kid_required"
        verifier.verify_sync(forge_token(oidc_private_provider))  # with its kid: fine

    def test_crit_header(self, oidc_provider, verifier, forge_token):
        """A correctly signed token with a crit header: crit."""
        token = forge_token(oidc_provider, header={"crit": ["exp"]})
        assert reason_of(verifier, token) == "crit"
        empty = forge_token(oidc_provider, header={"crit": []})
        assert reason_of(verifier, empty) == "crit"

    def test_oversized_token_is_refused_before_parsing(self, oidc_provider, verifier):
        """Past max_token_bytes: too_large, even for bytes that are not a token at all."""
        assert reason_of(verifier, "!" * 9000) == "too_large"
        big_claim = oidc_provider.token() + "A" * 8192
        assert reason_of(verifier, big_claim) == "too_large"
        small = JWTVerifier(oidc_provider.jwt_settings(max_token_bytes=256))
        assert reason_of(small, oidc_provider.token()) == "too_large"

    def test_token_at_the_limit_is_parsed(self, oidc_provider):
        """A token exactly max_token_bytes long is checked, not refused for size."""
        token = oidc_provider.token()
        verifier = JWTVerifier(oidc_provider.jwt_settings(max_token_bytes=len(token)))
        verifier.verify_sync(token)

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            "e30.e30.",
            "%%%.e30.e30",
            "eyJhbGciOiJSUzI1NiJ9=.e30.e30",
            "W10.e30.AA",
        ],
    )
    def test_malformed(self, verifier, token):
        """Not three base64url parts of a JSON header: malformed (or alg_not_allowed)."""
        assert reason_of(verifier, token) in {"malformed", "alg_not_allowed"}

    def test_malformed_reasons(self, verifier, raw_token):
        """Two parts, a JWE, bad base64, a non-object header, a non-string kid: malformed."""
        assert reason_of(verifier, "a.b") == "malformed"
        assert reason_of(verifier, "a.b.c.d.e") == "malformed"
        assert reason_of(verifier, "e30.e30.!!") == "malformed"
        assert reason_of(verifier, "W10.e30.") == "malformed"  # header []
        assert reason_of(verifier, raw_token({"alg": "RS256", "kid": 7}, {})) == "malformed"

    def test_payload_not_an_object(self, oidc_provider, verifier, sign_token):
        """A signed payload that is not a JSON object: malformed."""
        rsa = next(k for k in oidc_provider.private_jwks() if k["kty"] == "RSA")
        token = sign_token(
            {"alg": "RS256", "kid": rsa["kid"]}, b"[1,2]", import_key(rsa).private_key, "RS256"
        )
        assert reason_of(verifier, token) == "malformed"

    def test_wrong_type(self, oidc_provider, verifier, forge_token):
        """Typ other than at+jwt/JWT (an ID token's, a DPoP proof's): wrong_type."""
        assert reason_of(verifier, forge_token(oidc_provider, header={"typ": "dpop+jwt"})) == (
            "wrong_type"
        )
        assert reason_of(verifier, forge_token(oidc_provider, header={"typ": 1})) == "wrong_type"

    def test_type_required(self, oidc_provider, forge_token):
        """With type_required, a token without typ is refused."""
        verifier = JWTVerifier(oidc_provider.jwt_settings(type_required=True))
        assert reason_of(verifier, forge_token(oidc_provider, header={"typ": None})) == (
            "wrong_type"
        )

    def test_key_of_another_type(self, oidc_provider, verifier, forge_token):
        """An ES256 token naming the RSA key's kid: key_mismatch."""
        rsa_kid = next(k["kid"] for k in oidc_provider.private_jwks() if k["kty"] == "RSA")
        token = forge_token(oidc_provider, alg="ES256", header={"kid": rsa_kid})
        assert reason_of(verifier, token) == "key_mismatch"

    def test_key_pinned_to_another_alg(self, oidc_provider, forge_token):
        """The RSA key is published with alg RS256: a PS256 token with its kid is refused."""
        verifier = JWTVerifier(oidc_provider.jwt_settings(algorithms=("RS256", "PS256")))
        token = forge_token(oidc_provider, alg="PS256")
        assert reason_of(verifier, token) == "key_mismatch"

    def test_algorithm_not_configured(self, oidc_provider, forge_token):
        """An ES256 token where only RS256 is configured: alg_not_allowed."""
        verifier = JWTVerifier(oidc_provider.jwt_settings(algorithms=("RS256",)))
        token = oidc_provider.token(scope="articles:read", resource=ES256_AUDIENCE)
        assert reason_of(verifier, token) == "alg_not_allowed"

    def test_rejections_are_authentication_errors(self):
        """InvalidTokenError is an AuthenticationError under NewsAuthError."""
        assert issubclass(InvalidTokenError, news_auth.AuthenticationError)
        assert issubclass(InvalidTokenError, news_auth.NewsAuthError)


class TestKeyRotationAndOutages:
    """New keys are picked up without restart; an IdP outage does not stop verification."""

    async def test_rotation_is_picked_up(self, oidc_private_provider, clock):
        """After the IdP rotates its keys, its new tokens verify without a restart."""
        settings = oidc_private_provider.jwt_settings(min_refresh_interval=5.0, cache_size=0)
        verifier = JWTVerifier(settings, keys=KeyCache(settings, clock=clock))
        old_token = oidc_private_provider.token()
        await verifier.verify(old_token)
        oidc_private_provider.rotate_keys()
        new_token = oidc_private_provider.token()
        clock.advance(6)
        principal = await verifier.verify(new_token)
        assert principal.subject == "news-test-client"
        assert verifier.keys.fetches == 2
        with pytest.raises(InvalidTokenError) as info:  # the old key was withdrawn
            await verifier.verify(old_token)
        assert info.value.reason == "unknown_kid"

    async def test_rotation_within_the_interval_waits_for_it(self, oidc_private_provider, clock):
        """A new kid right after a fetch is refused until the interval allows a refetch."""
        settings = oidc_private_provider.jwt_settings(min_refresh_interval=5.0)
        verifier = JWTVerifier(settings, keys=KeyCache(settings, clock=clock))
        await verifier.verify(oidc_private_provider.token())
        oidc_private_provider.rotate_keys(keep_old=True)
        new_token = oidc_private_provider.token()
        with pytest.raises(InvalidTokenError):
            await verifier.verify(new_token)
        clock.advance(5)
        await verifier.verify(new_token)

    async def test_stale_keys_refresh_in_the_background(self, oidc_private_provider, clock):
        """After jwks_ttl the cached keys keep serving while one refresh runs."""
        settings = oidc_private_provider.jwt_settings(
            jwks_ttl=60.0, min_refresh_interval=5.0, cache_size=0
        )
        verifier = JWTVerifier(settings, keys=KeyCache(settings, clock=clock))
        token = oidc_private_provider.token()
        await verifier.verify(token)
        clock.advance(61)
        await verifier.verify(token)
        for _ in range(500):
            if verifier.keys.fetches == 2 and not verifier.keys.is_stale():
                break
            await asyncio.sleep(0.01)
        assert verifier.keys.fetches == 2
        assert not verifier.keys.is_stale()

    async def test_idp_down_cached_keys_keep_working(self, oidc_private_provider, clock):
        """With the IdP stopped, cached keys verify; the failure is logged once per interval."""
        settings = oidc_private_provider.jwt_settings(
            jwks_ttl=60.0, min_refresh_interval=10.0, cache_size=0
        )
        cache = KeyCache(settings, clock=clock)
        verifier = JWTVerifier(settings, keys=cache)
        token = oidc_private_provider.token()
        await verifier.verify(token)
        oidc_private_provider.stop()
        with capture_logs() as lines:
            for round_ in range(3):
                clock.advance(61 if round_ == 0 else 10)
                before = cache.fetches
                for _ in range(20):  # many requests in one interval
                    assert (await verifier.verify(token)).subject == "news-test-client"
                for _ in range(500):  # the one background attempt of this interval
                    if cache.fetches == before + 1 and not cache._refreshing:
                        break
                    await asyncio.sleep(0.01)
                assert cache.fetches == before + 1
        errors = [line for line in lines if line["msg"].startswith("JWKS fetch failed")]
        assert len(errors) == 3, errors
        assert errors[0]["level"] == "error"
        assert errors[0]["keys"] == 2
        assert all(e["msg"] == "JWKS fetch failed; keeping the last good keys" for e in errors)

    async def test_idp_comes_back(self, oidc_private_provider, clock):
        """After the outage the keys refresh again (and it is logged)."""
        settings = oidc_private_provider.jwt_settings(jwks_ttl=60.0, min_refresh_interval=10.0)
        cache = KeyCache(settings, clock=clock)
        verifier = JWTVerifier(settings, keys=cache)
        await verifier.verify(oidc_private_provider.token())
        oidc_private_provider.stop()
        clock.advance(61)
        with capture_logs() as lines:
            cache.refresh()
            oidc_private_provider.start()
            clock.advance(10)
            cache.refresh()
        assert [line["msg"] for line in lines] == [
            "JWKS fetch failed; keeping the last good keys",
            "JWKS fetched again",
        ]
        await verifier.verify(oidc_private_provider.token())

    async def test_no_keys_at_all_is_a_key_set_error(self, oidc_private_provider):
        """IdP down before the first fetch: KeySetError (503 upstream), health fails."""
        settings = oidc_private_provider.jwt_settings(jwks_url=oidc_private_provider.jwks_uri)
        oidc_private_provider.stop()
        verifier = JWTVerifier(settings)
        with capture_logs() as lines:
            await verifier.start()  # logged, not raised
        assert lines[0]["msg"] == "JWKS fetch failed; no keys yet"
        with pytest.raises(KeySetError):
            await verifier.health_check()
        token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.e30.AA"
        with pytest.raises(KeySetError, match="no signing keys"):
            await verifier.verify(token)
        with pytest.raises(KeySetError):
            verifier.verify_sync(token)


class TestHMAC:
    """HS256 only with an explicit secret, and then only that secret."""

    def _settings(self, secret: str) -> JWTSettings:
        return JWTSettings(
            issuer="https://id.example",
            audiences=("api",),
            algorithms=("HS256",),
            hmac_secret=Secret(secret),
        )

    def _token(self, secret: str, **claims):
        now = int(time.time())
        from joserfc.jwk import OctKey

        body = {
            "iss": "https://id.example",
            "aud": "api",
            "sub": "svc",
            "iat": now,
            "exp": now + 60,
            **claims,
        }
        return jwt.encode({"alg": "HS256"}, body, OctKey.import_key(secret.encode()))

    async def test_hs256_with_the_configured_secret(self):
        """A token HMAC'd with the configured secret is accepted, without any key fetch."""
        secret = secrets.token_urlsafe(48)
        verifier = JWTVerifier(self._settings(secret))
        await verifier.start()
        assert (await verifier.verify(self._token(secret))).subject == "svc"
        assert verifier.keys.fetches == 0
        assert await verifier.health_check() == "HMAC secret"

    def test_other_secret_is_refused(self):
        """Another secret: bad_signature."""
        verifier = JWTVerifier(self._settings(secrets.token_urlsafe(48)))
        assert reason_of(verifier, self._token(secrets.token_urlsafe(48))) == "bad_signature"

    @pytest.mark.parametrize("claims", [{"sub": 123}, {"jti": 5}])
    def test_a_claim_of_the_wrong_type_is_an_invalid_claim(self, claims):
        """A registered claim of the wrong type without a reason of its own: invalid_claim."""
        secret = secrets.token_urlsafe(48)
        verifier = JWTVerifier(self._settings(secret))
        assert reason_of(verifier, self._token(secret, **claims)) == "invalid_claim"


class TestVerifiedTokenCache:
    """A token verified once is answered from memory until it expires, within bounds."""

    def test_cached_token_outlives_its_withdrawn_key(self, oidc_private_provider, clock):
        """A remembered token is not checked again; with cache_size=0 it is."""
        for size, accepted in ((16, True), (0, False)):
            settings = oidc_private_provider.jwt_settings(min_refresh_interval=1.0, cache_size=size)
            verifier = JWTVerifier(settings, keys=KeyCache(settings, clock=clock))
            token = oidc_private_provider.token()
            verifier.verify_sync(token)
            oidc_private_provider.rotate_keys()
            clock.advance(2)
            verifier.keys.refresh(force=True)
            if accepted:
                assert verifier.verify_sync(token).subject == "news-test-client"
                verifier.clear_cache()
            assert reason_of(verifier, token) == "unknown_kid"

    def test_cache_is_bounded(self, oidc_private_provider, clock):
        """Past cache_size the oldest token is forgotten first."""
        settings = oidc_private_provider.jwt_settings(min_refresh_interval=1.0, cache_size=1)
        verifier = JWTVerifier(settings, keys=KeyCache(settings, clock=clock))
        first, second = oidc_private_provider.token(), oidc_private_provider.token()
        verifier.verify_sync(first)
        verifier.verify_sync(second)  # evicts first
        oidc_private_provider.rotate_keys()
        clock.advance(2)
        verifier.keys.refresh(force=True)
        assert verifier.verify_sync(second).subject == "news-test-client"
        assert reason_of(verifier, first) == "unknown_kid"

    async def test_expired_token_leaves_the_cache(self, oidc_provider, forge_token):
        """A remembered token stops working when it expires."""
        verifier = JWTVerifier(oidc_provider.jwt_settings(leeway=0.0))
        token = forge_token(oidc_provider, exp=int(time.time()) + 2)
        await verifier.verify(token)
        await verifier.verify(token)
        await asyncio.sleep(
            max(
                0.0,
                json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]
                - time.time(),
            )
            + 0.1
        )
        with pytest.raises(InvalidTokenError) as info:
            await verifier.verify(token)
        assert info.value.reason == "expired"

    def test_rejections_are_not_cached(self, oidc_provider, verifier):
        """A refused token is refused again (and checked again) every time."""
        for _ in range(3):
            assert reason_of(verifier, "x.y.z") == "malformed"
