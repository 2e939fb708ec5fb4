"""Route guards on a real news-http app: 401/403 problems, principals, log context."""

from __future__ import annotations

import asyncio

import pytest
from robyn import testing

import news_api
import news_auth
import news_http
import news_log
from news_auth import APIKeys, APIKeySettings, JWTVerifier, MemoryAPIKeyStore
from news_auth.http import HTTPAuth
from news_config import Secret
from news_log.testing import capture_logs

PEPPER = "p" * 40


def make_app(auth: HTTPAuth):
    """An app with a write route, a read route, an any-caller route and a public one."""
    app = news_http.create_app(news_http.HTTPSettings(), name="guarded")
    log = news_log.get_logger("guarded")

    @app.post("/v1/articles")
    @auth.requires("articles:write")
    async def create(identity) -> news_api.Response:
        principal = news_auth.current_principal()
        log.info("article created")
        return news_api.created(
            {"by": principal.subject, "client": principal.client_id, "identity": identity.claims},
            location="/v1/articles/1",
        )

    @app.get("/v1/me")
    @auth.requires()
    async def me() -> dict:
        principal = news_auth.current_principal()
        return {
            "subject": principal.subject,
            "scopes": sorted(principal.scopes),
            "method": principal.method,
        }

    @app.get("/v1/articles")
    async def public() -> dict:
        return {"principal": news_auth.current_principal()}

    return app


@pytest.fixture
def verifier(oidc_provider):
    """A verifier for the session provider."""
    return JWTVerifier(oidc_provider.jwt_settings())


@pytest.fixture
def api_keys():
    """API keys in memory."""
    settings = APIKeySettings(peppers={"p1": Secret(PEPPER)}, current_pepper_id="p1", prefix="nr")
    return APIKeys(settings, MemoryAPIKeyStore())


@pytest.fixture
def client(verifier, api_keys):
    """A test client of the app guarded by JWTs and API keys."""
    auth = HTTPAuth(jwt=verifier, api_keys=api_keys, realm="newsroom")
    with testing.TestClient(make_app(auth)) as c:
        yield c


def run(coro):
    """Run a coroutine of the (loop-agnostic) memory store from a sync test."""
    return asyncio.run(coro)


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


class TestGuard:
    """Routes behind requires() answer 401, 403 or run the handler with the principal."""

    def test_no_credentials_is_401_with_a_bare_challenge(self, client):
        """No credentials: 401 problem, WWW-Authenticate without an error code (RFC 6750 3.1)."""
        response = client.post("/v1/articles", headers={"X-Request-ID": "r-1"})
        assert response.status_code == 401
        assert response.headers.get("content-type") == "application/problem+json"
        assert response.headers.get("www-authenticate") == 'Bearer realm="newsroom"'
        body = response.json()
        assert body["code"] == "unauthorized"
        assert body["request_id"] == "r-1"

    def test_invalid_token_is_401_invalid_token(self, client):
        """A refused token: 401 invalid_token with RFC 6750's error in the challenge."""
        response = client.post("/v1/articles", headers=bearer("not.a.token"))
        assert response.status_code == 401
        assert response.headers.get("www-authenticate") == (
            'Bearer realm="newsroom", error="invalid_token", '
            'error_description="the token is invalid"'
        )
        assert response.json()["code"] == "invalid_token"
        assert response.json()["status"] == 401

    def test_expired_token_says_so(self, client, oidc_provider, forge_token):
        """An expired token's description says it expired."""
        import time

        token = forge_token(oidc_provider, exp=int(time.time()) - 120)
        response = client.post("/v1/articles", headers=bearer(token))
        assert response.status_code == 401
        assert 'error_description="the credential has expired"' in (
            response.headers.get("www-authenticate")
        )
        assert response.json()["detail"] == "the credential has expired"

    def test_missing_scope_is_403_insufficient_scope(self, client, oidc_provider):
        """A valid token without the scope: 403 insufficient_scope naming the scope."""
        token = oidc_provider.token(scope="articles:read")
        response = client.post("/v1/articles", headers=bearer(token))
        assert response.status_code == 403
        assert response.headers.get("www-authenticate") == (
            'Bearer realm="newsroom", error="insufficient_scope", scope="articles:write"'
        )
        assert response.json()["code"] == "insufficient_scope"

    def test_token_with_the_scope_reaches_the_handler(self, client, oidc_provider):
        """With the scope the handler runs and sees the principal and Robyn's identity."""
        token = oidc_provider.token(scope="articles:write")
        response = client.post("/v1/articles", headers=bearer(token))
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        assert data["by"] == "news-test-client"
        assert data["client"] == "news-test-client"
        assert data["identity"] == {
            "sub": "news-test-client",
            "scope": "articles:write",
            "method": "jwt",
            "client_id": "news-test-client",
        }

    def test_any_authenticated_caller(self, client, oidc_provider):
        """requires() with no scope lets any authenticated caller in, and nobody else."""
        token = oidc_provider.token(scope="articles:read")
        response = client.get("/v1/me", headers=bearer(token))
        assert response.json() == {
            "subject": "news-test-client",
            "scopes": ["articles:read"],
            "method": "jwt",
        }
        assert client.get("/v1/me").status_code == 401

    def test_public_route_has_no_principal(self, client, oidc_provider):
        """A route without requires() runs without a principal, even with a token sent."""
        token = oidc_provider.token()
        assert client.get("/v1/articles", headers=bearer(token)).json() == {"principal": None}

    def test_scheme_is_case_insensitive(self, client, oidc_provider):
        """'bearer' in any case is accepted; other schemes are no credentials."""
        token = oidc_provider.token(scope="articles:write")
        ok = client.post("/v1/articles", headers={"Authorization": f"bEaReR {token}"})
        assert ok.status_code == 201
        basic = client.post("/v1/articles", headers={"Authorization": "Basic dXNlcjpwdw=="})
        assert basic.status_code == 401
        assert basic.json()["code"] == "unauthorized"


class TestAPIKeysOverHTTP:
    """API keys work from their header or as bearer tokens."""

    def test_header_and_bearer(self, client, api_keys):
        """X-API-Key and Authorization: Bearer <key> both authenticate."""
        issued = run(api_keys.issue(name="robot", subject="svc:robot", scopes={"articles:write"}))
        key = issued.key.reveal()
        by_header = client.post("/v1/articles", headers={"X-API-Key": key})
        assert by_header.status_code == 201
        assert by_header.json()["data"]["by"] == "svc:robot"
        assert by_header.json()["data"]["client"] == issued.record.key_id
        assert client.post("/v1/articles", headers=bearer(key)).status_code == 201

    def test_revoked_key_is_401(self, client, api_keys):
        """A revoked key: 401 invalid_token saying it was revoked."""
        issued = run(api_keys.issue(name="robot", subject="svc", scopes={"articles:write"}))
        run(api_keys.revoke(issued.record.key_id))
        response = client.post("/v1/articles", headers={"X-API-Key": issued.key.reveal()})
        assert response.status_code == 401
        assert response.json()["detail"] == "the API key was revoked"

    def test_key_without_scope_is_403(self, client, api_keys):
        """A key without the scope: 403."""
        issued = run(api_keys.issue(name="reader", subject="svc", scopes={"articles:read"}))
        response = client.post("/v1/articles", headers={"X-API-Key": issued.key.reveal()})
        assert response.status_code == 403

    def test_garbage_key(self, client):
        """A malformed key in the header: 401 invalid_token."""
        response = client.post("/v1/articles", headers={"X-API-Key": "hello"})
        assert response.status_code == 401
        assert response.json()["detail"] == "the API key is invalid"


class TestContext:
    """The principal rides in news-log's context and never leaks past the request."""

    def test_handler_log_lines_name_the_caller(self, client, oidc_provider):
        """Lines written by the handler carry principal, auth_method and client_id."""
        token = oidc_provider.token(scope="articles:write")
        with capture_logs() as lines:
            assert client.post("/v1/articles", headers=bearer(token)).status_code == 201
        created = next(line for line in lines if line["msg"] == "article created")
        assert created["principal"] == "news-test-client"
        assert created["auth_method"] == "jwt"
        assert created["client_id"] == "news-test-client"
        assert token not in str(lines)

    def test_failures_are_logged_rate_limited(self, client):
        """Refusals are logged with their reason, once per interval per reason."""
        with capture_logs() as lines:
            for _ in range(5):
                client.post("/v1/articles", headers=bearer("x.y.z"))
        failures = [line for line in lines if line["msg"] == "authentication failed"]
        assert len(failures) == 1
        assert failures[0]["reason"] == "malformed"

    def test_no_principal_outside_requests(self):
        """current_principal() is None outside a guarded request."""
        assert news_auth.current_principal() is None


class TestConfiguration:
    """Guards that cannot work are refused before serving."""

    def test_needs_a_verifier(self):
        """HTTPAuth without jwt or api_keys is refused."""
        with pytest.raises(news_auth.AuthConfigError):
            HTTPAuth()

    @pytest.mark.parametrize("scope", ["", "two words", 'q"uote'])
    def test_bad_scope(self, verifier, scope):
        """Empty scopes or scopes with spaces or quotes are refused."""
        with pytest.raises(news_auth.AuthConfigError):
            HTTPAuth(jwt=verifier).requires(scope)

    def test_sync_handler_with_jwt(self, oidc_provider, verifier):
        """A sync handler can be guarded by JWTs."""
        auth = HTTPAuth(jwt=verifier)
        app = news_http.create_app(news_http.HTTPSettings(), name="sync")

        @app.get("/sync")
        @auth.requires("articles:read")
        def sync_route() -> dict:
            return {"sub": news_auth.current_principal().subject}

        with testing.TestClient(app) as c:
            ok = c.get("/sync", headers=bearer(oidc_provider.token(scope="articles:read")))
            assert ok.json() == {"sub": "news-test-client"}
            assert c.get("/sync").status_code == 401
            bad = c.get("/sync", headers=bearer(oidc_provider.token(scope="articles:write")))
            assert bad.status_code == 403

    def test_sync_handler_with_api_keys_is_refused(self, verifier, api_keys):
        """API keys need an async handler: refused when the chain is composed."""
        guard = HTTPAuth(jwt=verifier, api_keys=api_keys).middleware("x")
        with pytest.raises(news_auth.AuthConfigError, match="async"):
            guard(lambda request: None)

    def test_no_keys_is_503(self, oidc_private_provider):
        """The IdP down before any key was fetched: 503 with Retry-After."""
        settings = oidc_private_provider.jwt_settings(jwks_url=oidc_private_provider.jwks_uri)
        token = oidc_private_provider.token()
        oidc_private_provider.stop()
        with testing.TestClient(make_app(HTTPAuth(jwt=JWTVerifier(settings)))) as c:
            response = c.post("/v1/articles", headers=bearer(token))
        assert response.status_code == 503
        assert response.headers.get("retry-after") == "5"


class TestChallengeDetails:
    """Challenges quote safely and failures are logged at a bounded rate."""

    def test_realm_with_quotes_is_sanitised(self, verifier):
        """A realm with quotes or backslashes cannot break the header."""
        auth = HTTPAuth(jwt=verifier, realm='news"room\\')
        with testing.TestClient(make_app(auth)) as c:
            response = c.post("/v1/articles")
        assert response.headers.get("www-authenticate") == 'Bearer realm="news\'room"'

    def test_no_realm(self, verifier):
        """Without a realm the challenge is bare Bearer, and errors follow it directly."""
        with testing.TestClient(make_app(HTTPAuth(jwt=verifier))) as c:
            missing = c.post("/v1/articles")
            invalid = c.post("/v1/articles", headers=bearer("a.b.c"))
        assert missing.headers.get("www-authenticate") == "Bearer"
        assert invalid.headers.get("www-authenticate") == (
            'Bearer error="invalid_token", error_description="the token is invalid"'
        )

    def test_failure_log_interval(self, verifier):
        """With failure_log_interval=0 every refusal is logged, each with suppressed=0."""
        auth = HTTPAuth(jwt=verifier, failure_log_interval=0.0)
        with testing.TestClient(make_app(auth)) as c, capture_logs() as lines:
            for _ in range(3):
                c.post("/v1/articles", headers=bearer("a.b.c"))
        failures = [line for line in lines if line["msg"] == "authentication failed"]
        assert [f["suppressed"] for f in failures] == [0, 0, 0]
        assert all(f["credential"] == "jwt" for f in failures)

    def test_only_api_keys_treats_any_bearer_as_a_key(self, api_keys):
        """With API keys only, a bearer JWT is a malformed key: 401 invalid_token."""
        with testing.TestClient(make_app(HTTPAuth(api_keys=api_keys))) as c:
            response = c.post("/v1/articles", headers=bearer("eyJ.x.y"))
        assert response.status_code == 401
        assert response.json()["detail"] == "the API key is invalid"

    def test_empty_bearer_is_no_credentials(self, verifier):
        """'Bearer' with nothing after it counts as no credentials."""
        with testing.TestClient(make_app(HTTPAuth(jwt=verifier))) as c:
            response = c.post("/v1/articles", headers={"Authorization": "Bearer   "})
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


class TestFailureLogRate:
    """Refusals are logged through news-log's limited logger: once per interval per kind."""

    def test_repeats_within_the_interval_are_counted_not_written(self, verifier, api_keys):
        """Three bad tokens, one line; a bad API key is another kind with its own line."""
        auth = HTTPAuth(jwt=verifier, api_keys=api_keys, failure_log_interval=60.0)
        with testing.TestClient(make_app(auth)) as c, capture_logs() as lines:
            for _ in range(3):
                c.post("/v1/articles", headers=bearer("a.b.c"))
            c.post("/v1/articles", headers={"x-api-key": "nr_nope_nope"})
        failures = [line for line in lines if line["msg"] == "authentication failed"]
        assert [(f["credential"], f["suppressed"]) for f in failures] == [
            ("jwt", 0),
            ("api_key", 0),
        ]
