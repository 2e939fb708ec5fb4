"""CORS per the Fetch standard: reflection, Vary, preflight, credentials, refusals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import news_http

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess

ALLOWED = "https://app.news.example"
PATTERNED = "https://preview-42.news.example"
REFUSED = "https://evil.example"
CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
)


def _vary(response: Any) -> set[str]:
    return {
        item.strip().lower()
        for value in response.headers.get_list("vary")
        for item in value.split(",")
        if item.strip()
    }


def _preflight(origin: str, method: str = "POST", headers: str | None = None) -> dict[str, str]:
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return sent


@pytest.fixture(scope="module")
def cors_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """Explicit origins plus a pattern, without credentials."""
    cors = news_http.CORSSettings(
        origins=(ALLOWED,),
        origin_patterns=(r"https://preview-[0-9]+\.news\.example",),
        max_age=1234,
    )
    with serve(settings=local(cors=cors)) as server:
        yield server


@pytest.fixture(scope="module")
def credentials_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """Explicit origin with credentials allowed."""
    cors = news_http.CORSSettings(origins=(ALLOWED,), credentials=True, headers=("*",))
    with serve(settings=local(cors=cors)) as server:
        yield server


@pytest.fixture(scope="module")
def patterns_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """Patterns only, methods and headers written loosely (case, spaces, blank items)."""
    cors = news_http.CORSSettings(
        origin_patterns=(r"https://[a-z]+\.example",),
        methods=("get", " post ", ""),
        headers=("X-One", " ", "X-Two"),
        expose_headers=("X-A", " ", "X-B"),
        max_age=0,
    )
    with serve(settings=local(cors=cors)) as server:
        yield server


@pytest.fixture(scope="module")
def wildcard_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """Any origin, no credentials."""
    cors = news_http.CORSSettings(origins=("*",))
    with serve(settings=local(cors=cors)) as server:
        yield server


class TestActualRequests:
    def test_an_allowed_origin_is_reflected(self, cors_server: ServerProcess) -> None:
        """An allowed origin comes back in ACAO (never *), with expose headers and Vary."""
        response = cors_server.client().get("/", headers={"Origin": ALLOWED})
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert response.headers["access-control-expose-headers"] == "X-Request-ID"
        assert "access-control-allow-credentials" not in response.headers
        assert "origin" in _vary(response)

    def test_a_pattern_allows_an_origin(self, cors_server: ServerProcess) -> None:
        """An origin matching an origin pattern in full is reflected."""
        response = cors_server.client().get("/", headers={"Origin": PATTERNED})
        assert response.headers["access-control-allow-origin"] == PATTERNED

    @pytest.mark.parametrize(
        "origin",
        [
            REFUSED,
            "https://preview-42.news.example.evil.example",  # a pattern must match in full
            "http://app.news.example",  # another scheme is another origin
            "https://app.news.example:8443",  # another port too
            "null",
        ],
    )
    def test_a_disallowed_origin_gets_no_cors_headers(
        self, cors_server: ServerProcess, origin: str
    ) -> None:
        """A refused origin gets the response without any CORS header (but with Vary)."""
        response = cors_server.client().get("/", headers={"Origin": origin})
        assert response.status_code == 200
        for name in CORS_HEADERS:
            assert name not in response.headers
        assert "origin" in _vary(response)

    def test_no_origin_means_no_cors_headers(self, cors_server: ServerProcess) -> None:
        """A same-origin or non-browser request gets no CORS headers, but Vary: Origin."""
        response = cors_server.client().get("/")
        assert "access-control-allow-origin" not in response.headers
        assert "origin" in _vary(response)

    def test_error_responses_carry_cors_headers(self, cors_server: ServerProcess) -> None:
        """Problems (404, 500) are readable cross-origin: they carry the CORS headers."""
        client = cors_server.client()
        for path in ("/no/such/path", "/boom", "/articles/9"):
            response = client.get(path, headers={"Origin": ALLOWED})
            assert response.status_code >= 400
            assert response.headers["access-control-allow-origin"] == ALLOWED, path


class TestPreflight:
    def test_an_allowed_preflight_is_answered(self, cors_server: ServerProcess) -> None:
        """An allowed preflight gets 204 with methods, headers, max age and Vary."""
        response = cors_server.client().options(
            "/articles", headers=_preflight(ALLOWED, "PUT", "content-type, x-request-id")
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == ALLOWED
        methods = response.headers["access-control-allow-methods"].split(", ")
        assert "PUT" in methods
        assert "DELETE" in methods
        allowed_headers = response.headers["access-control-allow-headers"].lower()
        assert "content-type" in allowed_headers
        assert "x-request-id" in allowed_headers
        assert response.headers["access-control-max-age"] == "1234"
        assert {"origin", "access-control-request-method"} <= _vary(response)
        assert response.content == b""

    def test_preflight_is_answered_before_routing(self, cors_server: ServerProcess) -> None:
        """A preflight for a path without any route is still answered (before the 404)."""
        response = cors_server.client().options("/not/a/route", headers=_preflight(ALLOWED, "GET"))
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == ALLOWED

    def test_preflight_wins_over_a_custom_options_route(self, cors_server: ServerProcess) -> None:
        """A route's own OPTIONS handler does not see preflights; plain OPTIONS it does."""
        client = cors_server.client()
        preflight = client.options("/custom-options", headers=_preflight(ALLOWED, "GET"))
        assert preflight.status_code == 204
        plain = client.options("/custom-options")
        assert plain.status_code == 200
        assert plain.headers["allow"] == "GET, OPTIONS"

    @pytest.mark.parametrize(
        ("origin", "method", "headers", "reason"),
        [
            (REFUSED, "POST", None, "origin is not allowed"),
            (ALLOWED, "PURGE", None, "method PURGE is not allowed"),
            (ALLOWED, "POST", "content-type, x-secret", "x-secret"),
        ],
    )
    def test_a_refused_preflight_is_a_403_without_cors_headers(
        self,
        cors_server: ServerProcess,
        origin: str,
        method: str,
        headers: str | None,
        reason: str,
    ) -> None:
        """A preflight with a refused origin, method or header gets 403 and no CORS header."""
        response = cors_server.client().options(
            "/articles", headers=_preflight(origin, method, headers)
        )
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
        assert reason in response.json()["detail"]
        for name in CORS_HEADERS:
            assert name not in response.headers

    def test_a_refused_preflight_varies_on_origin(self, cors_server: ServerProcess) -> None:
        """A refused preflight's 403 says Vary: Origin (a cache must not serve it to others)."""
        for origin, method in ((REFUSED, "POST"), (ALLOWED, "PURGE")):
            response = cors_server.client().options("/articles", headers=_preflight(origin, method))
            assert response.status_code == 403
            assert "origin" in _vary(response)

    def test_the_allowed_preflight_lists_the_policy_exactly(
        self, cors_server: ServerProcess
    ) -> None:
        """Methods and headers as configured, in order; Vary on origin and both request headers."""
        response = cors_server.client().options(
            "/articles", headers=_preflight(PATTERNED, "DELETE", "CONTENT-TYPE,Traceparent")
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == PATTERNED
        assert response.headers["access-control-allow-methods"] == (
            "GET, HEAD, POST, PUT, PATCH, DELETE"
        )
        assert response.headers["access-control-allow-headers"] == (
            "Authorization, Content-Type, X-Request-ID, traceparent, tracestate"
        )
        assert response.headers.get_list("vary") == [
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        ]
        assert "access-control-allow-credentials" not in response.headers
        assert "access-control-expose-headers" not in response.headers

    def test_a_preflight_without_requested_headers_is_allowed(
        self, cors_server: ServerProcess
    ) -> None:
        """No Access-Control-Request-Headers (or an empty one) asks for no header: allowed."""
        for headers in (None, "", ",,"):
            response = cors_server.client().options(
                "/articles", headers=_preflight(ALLOWED, "GET", headers)
            )
            assert response.status_code == 204, headers


class TestLooseSettings:
    def test_a_pattern_only_policy_is_enabled(self, patterns_server: ServerProcess) -> None:
        """Origin patterns alone turn CORS on; expose headers are trimmed, blanks dropped."""
        response = patterns_server.client().get("/", headers={"Origin": "https://abc.example"})
        assert response.headers["access-control-allow-origin"] == "https://abc.example"
        assert response.headers["access-control-expose-headers"] == "X-A, X-B"
        assert "origin" in _vary(response)
        refused = patterns_server.client().get("/", headers={"Origin": "https://a1.example"})
        assert "access-control-allow-origin" not in refused.headers

    def test_methods_and_headers_are_normalised(self, patterns_server: ServerProcess) -> None:
        """Methods are upper-cased and trimmed, header names matched in any case; max age 0."""
        response = patterns_server.client().options(
            "/articles", headers=_preflight("https://abc.example", "POST", "x-two, X-ONE")
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-methods"] == "GET, POST"
        assert response.headers["access-control-allow-headers"] == "X-One, X-Two"
        assert response.headers["access-control-max-age"] == "0"
        refused = patterns_server.client().options(
            "/articles", headers=_preflight("https://abc.example", "PUT")
        )
        assert refused.status_code == 403
        assert "method PUT is not allowed" in refused.json()["detail"]


class TestCredentials:
    def test_credentials_reflect_the_origin_never_star(
        self, credentials_server: ServerProcess
    ) -> None:
        """With credentials, ACAO is the exact origin and ACAC is true; never *."""
        response = credentials_server.client().get("/", headers={"Origin": ALLOWED})
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "origin" in _vary(response)

    def test_credentialed_preflight_echoes_requested_headers(
        self, credentials_server: ServerProcess
    ) -> None:
        """headers=('*',) with credentials echoes the requested headers (no literal *)."""
        response = credentials_server.client().options(
            "/articles", headers=_preflight(ALLOWED, "POST", "x-anything, content-type")
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-credentials"] == "true"
        assert response.headers["access-control-allow-headers"] == "x-anything, content-type"
        assert response.headers["access-control-allow-origin"] == ALLOWED

    def test_credentialed_preflight_without_requested_headers_lists_none(
        self, credentials_server: ServerProcess
    ) -> None:
        """headers=('*',) and no requested header: no Access-Control-Allow-Headers at all."""
        response = credentials_server.client().options(
            "/articles", headers=_preflight(ALLOWED, "PATCH")
        )
        assert response.status_code == 204
        assert "access-control-allow-headers" not in response.headers
        assert response.headers["access-control-allow-credentials"] == "true"

    def test_credentials_refuse_other_origins(self, credentials_server: ServerProcess) -> None:
        """An unlisted origin gets nothing, credentials or not."""
        response = credentials_server.client().get("/", headers={"Origin": REFUSED})
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers

    def test_star_with_credentials_is_refused_at_creation(self) -> None:
        """origins=('*',) with credentials=True is a configuration error, not a policy."""
        settings = news_http.HTTPSettings(
            cors=news_http.CORSSettings(origins=("*",), credentials=True)
        )
        with pytest.raises(news_http.HTTPConfigError, match="credentials"):
            news_http.create_app(settings, name="bad-cors")

    @pytest.mark.parametrize(
        "origin",
        [
            "https://news.example/",
            "news.example",
            "https://news.example/path",
            "https://news.example?q=1",
            "https://News.Example",
            "https://news.example ",
            "null",
            "",
        ],
    )
    def test_malformed_origins_are_refused_at_creation(self, origin: str) -> None:
        """An origin browsers would never send (path, case, no scheme) is a configuration error."""
        settings = news_http.HTTPSettings(
            cors=news_http.CORSSettings(origins=("https://ok.example", origin))
        )
        with pytest.raises(news_http.HTTPConfigError, match="origin"):
            news_http.create_app(settings, name="bad-origin")

    @pytest.mark.parametrize(
        "origin",
        ["https://news.example", "http://localhost:8080", "https://[::1]:8443", "app+x://a-b.c"],
    )
    def test_well_formed_origins_are_accepted(self, origin: str) -> None:
        """scheme://host[:port] origins, IPv6 and custom schemes included, are accepted."""
        settings = news_http.HTTPSettings(cors=news_http.CORSSettings(origins=(origin,)))
        news_http.create_app(settings, name="good-origin")


class TestInvalidNames:
    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("methods", ("GET", "GET POST"), "'GET POST' is not an HTTP method name"),
            ("methods", ("GET, POST",), "is not an HTTP method name"),
            ("methods", ("*",), "'\\*' is not supported"),
            ("methods", ("PÜT",), "is not an HTTP method name"),
            ("headers", ("X Bad",), "headers: 'X Bad' is not a header name"),
            ("headers", ("Content-Type, X-Other",), "is not a header name"),
            ("headers", ("X-Evil\r\nSet-Cookie: a=b",), "is not a header name"),
            ("expose_headers", ("X Bad",), "expose_headers: 'X Bad' is not a header name"),
            ("expose_headers", ("X-A\r\nX-B: c",), "expose_headers"),
            ("origin_patterns", ("https://(unclosed",), "bad origin pattern"),
        ],
    )
    def test_invalid_names_are_configuration_errors(
        self, field: str, value: tuple[str, ...], message: str
    ) -> None:
        """An invalid method or header name fails create_app, naming the field and the value."""
        cors = news_http.CORSSettings(origins=("https://ok.example",), **{field: value})
        with pytest.raises(news_http.HTTPConfigError, match=message):
            news_http.create_app(news_http.HTTPSettings(cors=cors), name="bad-names")

    def test_loose_but_valid_names_are_accepted(self) -> None:
        """Lower-case methods, padded names and blank items are accepted (and normalised)."""
        cors = news_http.CORSSettings(
            origins=("https://ok.example",),
            methods=(" get", "post ", ""),
            headers=("*", " X-One "),
            expose_headers=("", "X-Total-Count", "*"),
        )
        news_http.create_app(news_http.HTTPSettings(cors=cors), name="loose-names")


class TestWildcard:
    def test_wildcard_sends_star_without_vary(self, wildcard_server: ServerProcess) -> None:
        """origins=('*',) without credentials answers * and needs no Vary: Origin."""
        response = wildcard_server.client().get("/", headers={"Origin": REFUSED})
        assert response.headers["access-control-allow-origin"] == "*"
        assert "origin" not in _vary(response)
        assert "access-control-allow-credentials" not in response.headers

    def test_wildcard_preflight_answers_star_without_vary_on_origin(
        self, wildcard_server: ServerProcess
    ) -> None:
        """A wildcard preflight answers * and varies on the request method and headers only."""
        client = wildcard_server.client()
        response = client.options("/articles", headers=_preflight(REFUSED, "PUT", "x-request-id"))
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers.get_list("vary") == [
            "Access-Control-Request-Method, Access-Control-Request-Headers"
        ]
        refused = client.options("/articles", headers=_preflight(REFUSED, "PURGE"))
        assert refused.status_code == 403
        assert "origin" not in _vary(refused)
        no_origin = client.get("/")
        assert "origin" not in _vary(no_origin)
        assert "access-control-allow-origin" not in no_origin.headers


class TestDisabled:
    def test_no_origins_means_no_cors_at_all(self, standard_server: ServerProcess) -> None:
        """With the default settings CORS is off: no CORS headers, preflight is a plain 204."""
        client = standard_server.client()
        response = client.get("/", headers={"Origin": ALLOWED})
        assert "access-control-allow-origin" not in response.headers
        assert "origin" not in _vary(response)
        preflight = client.options("/articles", headers=_preflight(ALLOWED))
        assert "access-control-allow-origin" not in preflight.headers
