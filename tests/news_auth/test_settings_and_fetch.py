"""Settings validation, JWKS parsing and discovery, and the token endpoint's answers."""

from __future__ import annotations

import msgspec
import pytest
from joserfc.jwk import ECKey, OctKey, RSAKey

import news_auth
from news_auth import (
    AuthConfigError,
    ClientCredentials,
    ClientCredentialsSettings,
    JWTSettings,
    JWTVerifier,
    KeyCache,
    KeySetError,
    Principal,
    TokenRequestError,
)
from news_config import Secret
from news_log.testing import capture_logs

ISS = "https://id.example"


class TestJWTSettings:
    """JWTSettings refuses what cannot be verified safely, naming the field."""

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"algorithms": ("none",)}, "'none' never is"),
            ({"algorithms": ("RS256", "HS1")}, "HS1"),
            ({"algorithms": ("HS256",)}, "need jwt.hmac_secret"),
            ({"hmac_secret": Secret("x" * 40)}, "has no HS256"),
            ({"algorithms": ("HS256",), "hmac_secret": Secret("x" * 31)}, "at least 32 bytes"),
            ({"issuer": "", "jwks_url": ""}, "need keys"),
            ({"audiences": ()}, "audiences is empty"),
            ({"min_refresh_interval": 400.0}, "exceeds jwt.jwks_ttl"),
            ({"issuer": "id.example"}, "not an http(s) URL"),
            ({"jwks_url": "file:///etc/keys"}, "not an http(s) URL"),
        ],
    )
    def test_refused(self, fields, message):
        """Each inconsistent combination is an AuthConfigError naming what to fix."""
        base = {"issuer": ISS, "audiences": ("api",)}
        with pytest.raises(AuthConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            JWTSettings(**{**base, **fields})

    def test_accepted_edges(self):
        """HMAC-only needs no key source; a 32-byte secret and equal interval/TTL are fine."""
        JWTSettings(audiences=("api",), algorithms=("HS256",), hmac_secret=Secret("x" * 32))
        JWTSettings(issuer=ISS, audiences=("api",), jwks_ttl=30.0, min_refresh_interval=30.0)
        JWTSettings(jwks_url="http://keys.test/jwks", audiences=("api",))

    def test_defaults(self):
        """RS256/ES256, 10 s leeway, 8 KiB tokens, 5 min keys, 30 s refetch, 4096 cached."""
        s = JWTSettings(issuer=ISS, audiences=("api",))
        assert s.algorithms == ("RS256", "ES256")
        assert (s.leeway, s.max_token_bytes, s.jwks_ttl, s.min_refresh_interval) == (
            10.0,
            8192,
            300.0,
            30.0,
        )
        assert s.required_claims == ("exp", "iat", "sub")
        assert s.accepted_types == ("at+jwt", "application/at+jwt", "JWT")
        assert (s.type_required, s.cache_size, s.fetch_timeout, s.scope_claim) == (
            False,
            4096,
            5.0,
            "scope",
        )

    def test_loaded_from_the_environment(self):
        """AuthSettings nests jwt and api_keys; secrets stay masked."""
        import news_config

        settings = news_config.load(
            news_auth.AuthSettings,
            prefix="AUTH_",
            env_file=None,
            environ={
                "AUTH_JWT__ISSUER": ISS,
                "AUTH_JWT__AUDIENCES": "api,other",
                "AUTH_API_KEYS__PEPPERS": '{"p1": "' + "z" * 40 + '"}',
                "AUTH_API_KEYS__CURRENT_PEPPER_ID": "p1",
            },
        )
        assert settings.jwt is not None
        assert settings.jwt.audiences == ("api", "other")
        assert settings.api_keys is not None
        assert "z" * 40 not in repr(settings)

    def test_client_credentials_defaults(self):
        """Basic auth, 60 s margin, 10 s timeout by default."""
        s = ClientCredentialsSettings(
            client_id="c", client_secret=Secret("s"), token_url="https://id/token"
        )
        assert (s.auth_method, s.refresh_margin, s.timeout, s.scopes, s.resource) == (
            "client_secret_basic",
            60.0,
            10.0,
            (),
            "",
        )


class TestJWKS:
    """Only asymmetric signature keys are taken from a JWKS, public parts only."""

    def _cache(self, json_server, **overrides):
        settings = JWTSettings(jwks_url=f"{json_server.url}/jwks", audiences=("api",), **overrides)
        return KeyCache(settings)

    def test_keys_kept_and_skipped(self, json_server):
        """RSA/EC sig keys are kept; oct, enc, unknown kty and broken entries are skipped."""
        rsa = RSAKey.generate_key(2048, parameters={"kid": "r"}).as_dict(private=True)
        ec = ECKey.generate_key("P-256", parameters={"kid": "e", "use": "sig"}).as_dict()
        enc = ECKey.generate_key("P-256", parameters={"kid": "x", "use": "enc"}).as_dict()
        oct_key = OctKey.generate_key(256, parameters={"kid": "o"}).as_dict()
        json_server.set(
            "/jwks",
            {
                "keys": [
                    rsa,
                    ec,
                    enc,
                    oct_key,
                    {"kty": "XYZ"},
                    "junk",
                    {"kty": "RSA", "kid": "bad", "n": "!", "e": "AQAB"},
                ]
            },
        )
        with capture_logs() as lines:
            snapshot = self._cache(json_server).refresh()
        assert sorted(snapshot.by_kid) == ["e", "r"]
        assert not snapshot.by_kid["r"].is_private  # private members were dropped
        assert any(
            line["msg"] == "skipping a key of the JWKS" and line["kid"] == "bad" for line in lines
        )

    @pytest.mark.parametrize(
        "answer",
        [
            ({"nokeys": []}, 200),
            (b"not json", 200),
            ([1, 2], 200),
            ({"keys": []}, 500),
            (b"x" * (1024 * 1024 + 10), 200),
        ],
    )
    def test_bad_answers_are_key_set_errors(self, json_server, answer):
        """No keys list, not JSON, not an object, an error status, too large: KeySetError."""
        body, status = answer
        json_server.set("/jwks", body, status)
        with pytest.raises(KeySetError, match="no signing keys"):
            self._cache(json_server).refresh()

    def test_fetch_counts_and_interval(self, json_server, clock):
        """A refresh inside the interval does not fetch; force ignores the TTL only."""
        json_server.set("/jwks", {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]})
        settings = JWTSettings(
            jwks_url=f"{json_server.url}/jwks",
            audiences=("api",),
            jwks_ttl=100.0,
            min_refresh_interval=10.0,
        )
        cache = KeyCache(settings, clock=clock)
        assert cache.is_stale()
        cache.refresh()
        cache.refresh(force=True)  # within the interval: no fetch
        clock.advance(10)
        cache.refresh()  # interval passed but keys fresh: no fetch
        assert cache.fetches == 1
        cache.refresh(force=True)
        assert cache.fetches == 2
        assert not cache.is_stale()
        clock.advance(100)
        assert cache.is_stale()

    def test_discovery(self, json_server):
        """The discovery document's jwks_uri is used, once; its issuer must match."""
        json_server.set(
            "/.well-known/openid-configuration",
            {"issuer": json_server.url, "jwks_uri": f"{json_server.url}/keys"},
        )
        json_server.set("/keys", {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]})
        cache = KeyCache(
            JWTSettings(issuer=json_server.url, audiences=("api",), min_refresh_interval=0.0)
        )
        cache.refresh()
        cache.refresh(force=True)
        paths = [path for _, path, _, _ in json_server.requests]
        assert paths == ["/.well-known/openid-configuration", "/keys", "/keys"]

    @pytest.mark.parametrize(
        "document",
        [
            {"issuer": "https://evil.example", "jwks_uri": "http://x/keys"},
            {"issuer": "SELF"},
            {"issuer": "SELF", "jwks_uri": "ftp://x"},
        ],
    )
    def test_bad_discovery(self, json_server, document):
        """Another issuer, no jwks_uri or a non-http one: KeySetError."""
        if document["issuer"] == "SELF":
            document = {**document, "issuer": json_server.url}
        json_server.set("/.well-known/openid-configuration", document)
        cache = KeyCache(JWTSettings(issuer=json_server.url, audiences=("api",)))
        with pytest.raises(KeySetError):
            cache.refresh()

    def test_issuer_with_trailing_slash(self, json_server):
        """An issuer ending in / still finds its discovery document (and must match exactly)."""
        issuer = json_server.url + "/"
        json_server.set(
            "/.well-known/openid-configuration",
            {"issuer": issuer, "jwks_uri": f"{json_server.url}/keys"},
        )
        json_server.set("/keys", {"keys": []})
        assert KeyCache(JWTSettings(issuer=issuer, audiences=("api",))).refresh().keys == ()


class TestTokenEndpointAnswers:
    """What the token endpoint answers is checked before a token is used."""

    def _source(self, json_server, **overrides):
        fields = {
            "client_id": "svc",
            "client_secret": Secret("s3cret:/&"),
            "token_url": f"{json_server.url}/token",
            "scopes": ("a", "b"),
            "resource": "https://api",
        }
        return ClientCredentials(ClientCredentialsSettings(**{**fields, **overrides}))

    async def test_request_shape_basic(self, json_server):
        """Basic auth with URL-encoded id and secret; grant, scopes and resource in the form."""
        json_server.set("/token", {"access_token": "t1", "token_type": "Bearer", "expires_in": 60})
        assert await self._source(json_server).token() == "t1"
        method, _, headers, body = json_server.requests[0]
        import base64
        import urllib.parse

        assert method == "POST"
        assert base64.b64decode(headers["Authorization"].split()[1]) == b"svc:s3cret%3A%2F%26"
        form = dict(urllib.parse.parse_qsl(body.decode()))
        assert form == {
            "grant_type": "client_credentials",
            "scope": "a b",
            "resource": "https://api",
        }

    async def test_request_shape_post(self, json_server):
        """client_secret_post puts id and secret in the form, no Authorization header."""
        json_server.set("/token", {"access_token": "t1", "token_type": "bearer"})
        source = self._source(json_server, auth_method="client_secret_post", scopes=(), resource="")
        assert await source.token() == "t1"
        _, _, headers, body = json_server.requests[0]
        import urllib.parse

        assert "Authorization" not in headers
        assert dict(urllib.parse.parse_qsl(body.decode())) == {
            "grant_type": "client_credentials",
            "client_id": "svc",
            "client_secret": "s3cret:/&",
        }

    @pytest.mark.parametrize(
        ("answer", "message"),
        [
            ({"token_type": "Bearer"}, "without an access_token"),
            ({"access_token": "", "token_type": "Bearer"}, "without an access_token"),
            ({"access_token": "t", "token_type": "mac"}, "'mac' token"),
            ({"access_token": "t", "expires_in": 0}, "expires_in=0"),
            ({"access_token": "t", "expires_in": -5}, "expires_in=-5"),
            ({"access_token": "t", "expires_in": True}, "expires_in=True"),
            ({"access_token": "t", "expires_in": "soon"}, "expires_in='soon'"),
        ],
    )
    async def test_bad_answers(self, json_server, answer, message):
        """Missing token, another token type, a bad lifetime: TokenRequestError."""
        json_server.set("/token", answer)
        with pytest.raises(TokenRequestError, match=message):
            await self._source(json_server).token()

    async def test_lifetime_forms(self, json_server, clock):
        """expires_in as digits works; without it the token lives 300 s."""
        json_server.set("/token", {"access_token": "t", "expires_in": "120"})
        source = self._source(json_server)
        source._clock = clock
        await source.token()
        clock.advance(59)
        await source.token()
        assert source.requests == 1
        clock.advance(2)  # 120 s token, refreshed 60 s early
        await source.token()
        assert source.requests == 2
        json_server.set("/token", {"access_token": "t"})
        fresh = ClientCredentials(source.settings, clock=clock)
        await fresh.token()
        clock.advance(239)
        await fresh.token()
        assert fresh.requests == 1

    async def test_error_answer_names_the_oauth_error(self, json_server):
        """A 400 with error and description: both in the message, status and error set."""
        json_server.set("/token", {"error": "invalid_scope", "error_description": "no b"}, 400)
        with pytest.raises(TokenRequestError, match=r"invalid_scope \(no b\)") as info:
            await self._source(json_server).token()
        assert (info.value.status, info.value.error) == (400, "invalid_scope")

    async def test_error_answer_without_json(self, json_server):
        """A 502 with a non-JSON body: status set, no OAuth error."""
        json_server.set("/token", b"<html>bad gateway</html>", 502)
        with pytest.raises(TokenRequestError) as info:
            await self._source(json_server).token()
        assert (info.value.status, info.value.error) == (502, None)

    async def test_unreachable(self):
        """No server: TokenRequestError without a status."""
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        source = ClientCredentials(
            ClientCredentialsSettings(
                client_id="c",
                client_secret=Secret("s"),
                token_url=f"http://127.0.0.1:{port}/t",
                timeout=2.0,
            )
        )
        with pytest.raises(TokenRequestError) as info:
            await source.token()
        assert info.value.status is None

    async def test_discovery_without_token_endpoint(self, json_server):
        """A discovery document without token_endpoint: TokenRequestError."""
        json_server.set("/.well-known/openid-configuration", {"issuer": json_server.url})
        source = self._source(json_server, token_url="", issuer=json_server.url)
        with pytest.raises(TokenRequestError, match="no token_endpoint"):
            await source.token()


class TestPrincipal:
    """Principal's helpers."""

    def test_log_fields(self):
        """Principal and auth_method always; client_id when known; never claims."""
        assert Principal(subject="s").log_fields() == {"principal": "s", "auth_method": "jwt"}
        full = Principal(subject="s", method="api_key", client_id="k", claims={"x": 1})
        assert full.log_fields() == {"principal": "s", "auth_method": "api_key", "client_id": "k"}

    def test_has_scopes(self):
        """Every asked scope must be held; none asked is always true."""
        p = Principal(subject="s", scopes=frozenset({"a", "b"}))
        assert p.has_scopes()
        assert p.has_scopes("a", "b")
        assert not p.has_scopes("a", "c")

    def test_frozen(self):
        """A Principal cannot be changed."""
        with pytest.raises(AttributeError):
            Principal(subject="s").subject = "t"  # type: ignore[misc]
        assert msgspec.json.decode(msgspec.json.encode(Principal(subject="s")))["subject"] == "s"

    def test_verifier_without_keys_is_not_ready_yet(self):
        """A verifier never started reports no keys."""
        verifier = JWTVerifier(JWTSettings(issuer=ISS, audiences=("api",)))
        assert verifier.keys.snapshot is None
        assert verifier.keys.fetches == 0


class TestKeyKinds:
    """Every asymmetric family verifies with its own key kind, curve and size only."""

    def _verifier(self, json_server, keys, algorithms):
        json_server.set("/jwks", {"keys": [k.as_dict(private=False) for k in keys]})
        return JWTVerifier(
            JWTSettings(
                jwks_url=f"{json_server.url}/jwks",
                audiences=("api",),
                algorithms=algorithms,
                required_claims=("exp",),
            )
        )

    def _claims(self):
        import time as _time

        return {"sub": "s", "aud": "api", "exp": int(_time.time()) + 60}

    def test_eddsa(self, json_server):
        """An EdDSA (Ed25519) token verifies with an OKP key."""
        from joserfc import jwt
        from joserfc.jwk import OKPKey

        key = OKPKey.generate_key("Ed25519", parameters={"kid": "ed"})
        verifier = self._verifier(json_server, [key], ("EdDSA",))
        import warnings

        from joserfc.errors import SecurityWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            token = jwt.encode(
                {"alg": "EdDSA", "kid": "ed"}, self._claims(), key, algorithms=["EdDSA"]
            )
        assert verifier.verify_sync(token).subject == "s"

    def test_es384_with_a_p256_key_is_a_mismatch(self, json_server):
        """An ES384 token naming a P-256 key: key_mismatch (curves are pinned per alg)."""
        from joserfc import jwt

        p256 = ECKey.generate_key("P-256", parameters={"kid": "p256"})
        p384 = ECKey.generate_key("P-384", parameters={"kid": "p384"})
        verifier = self._verifier(json_server, [p256, p384], ("ES384",))
        good = jwt.encode(
            {"alg": "ES384", "kid": "p384"}, self._claims(), p384, algorithms=["ES384"]
        )
        assert verifier.verify_sync(good).subject == "s"
        _, payload, sig = good.split(".")
        import base64
        import json as _json

        other = (
            base64.urlsafe_b64encode(_json.dumps({"alg": "ES384", "kid": "p256"}).encode())
            .decode()
            .rstrip("=")
        )
        with pytest.raises(news_auth.InvalidTokenError) as info:
            verifier.verify_sync(f"{other}.{payload}.{sig}")
        assert info.value.reason == "key_mismatch"

    def test_header_too_large(self, json_server):
        """A header over 2 KiB (within the token limit) is refused as too_large."""
        verifier = self._verifier(json_server, [ECKey.generate_key("P-256")], ("ES256",))
        import base64
        import json as _json

        head = (
            base64.urlsafe_b64encode(_json.dumps({"alg": "ES256", "kid": "k" * 2100}).encode())
            .decode()
            .rstrip("=")
        )
        with pytest.raises(news_auth.InvalidTokenError) as info:
            verifier.verify_sync(f"{head}.e30.AAAA")
        assert info.value.reason == "too_large"

    def test_base64_length_that_cannot_be(self, json_server):
        """A part whose length is 1 modulo 4 is not base64url: malformed."""
        verifier = self._verifier(json_server, [ECKey.generate_key("P-256")], ("ES256",))
        with pytest.raises(news_auth.InvalidTokenError) as info:
            verifier.verify_sync("eyJhbGciOiJFUzI1NiJ9.e30.AAAAA")
        assert info.value.reason == "malformed"

    def test_non_string_issuer_is_not_the_principals(self, json_server):
        """Claims of odd types do not leak into the principal's typed fields."""
        from joserfc import jwt

        key = ECKey.generate_key("P-256", parameters={"kid": "k"})
        verifier = self._verifier(json_server, [key], ("ES256",))
        claims = {**self._claims(), "client_id": 7, "scope": 5}
        principal = verifier.verify_sync(jwt.encode({"alg": "ES256", "kid": "k"}, claims, key))
        assert principal.client_id is None
        assert principal.scopes == frozenset()
        assert principal.issuer is None
        assert isinstance(principal.expires_at, float)
