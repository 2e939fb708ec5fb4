"""Static security headers: Rust-side, on every response, overridable, HSTS only when enabled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import news_http

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess

DEFAULTS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


@pytest.fixture(scope="module")
def hsts_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """HSTS on, one header dropped, one extra header."""
    security = news_http.SecurityHeaders(
        hsts=True, hsts_preload=True, referrer_policy="", extra={"Cache-Control": "no-store"}
    )
    with serve(settings=local(security_headers=security)) as server:
        yield server


@pytest.fixture(scope="module")
def plain_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """Security headers disabled."""
    with serve(settings=local(security_headers=news_http.SecurityHeaders(enabled=False))) as s:
        yield s


class TestDefaults:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", "/"), ("GET", "/boom"), ("GET", "/nope"), ("DELETE", "/"), ("POST", "/articles")],
    )
    def test_every_response_has_them(
        self, standard_server: ServerProcess, method: str, path: str
    ) -> None:
        """200s, 500s, 404s, 405s and 400s all carry the default security headers."""
        response = standard_server.client().request(method, path)
        for name, value in DEFAULTS.items():
            assert response.headers.get(name) == value, (name, path)
        assert "strict-transport-security" not in response.headers

    def test_a_handler_can_override_one(self, standard_server: ServerProcess) -> None:
        """A header the handler sets wins over the global value (set only when missing)."""
        response = standard_server.client().get("/frame-ok")
        assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
        assert response.headers["x-content-type-options"] == "nosniff"


class TestConfigured:
    def test_hsts_when_enabled(self, hsts_server: ServerProcess) -> None:
        """hsts=True sends Strict-Transport-Security with max-age, subdomains and preload."""
        response = hsts_server.client().get("/")
        assert (
            response.headers["strict-transport-security"]
            == "max-age=31536000; includeSubDomains; preload"
        )

    def test_empty_value_drops_and_extra_adds(self, hsts_server: ServerProcess) -> None:
        """An empty value drops that header; extra adds static headers."""
        response = hsts_server.client().get("/")
        assert "referrer-policy" not in response.headers
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"

    def test_disabled_sends_none(self, plain_server: ServerProcess) -> None:
        """enabled=False sends none of them."""
        response = plain_server.client().get("/")
        for name in DEFAULTS:
            assert name not in response.headers

    def test_crlf_in_a_value_is_refused(self) -> None:
        """A header value with CR/LF is a configuration error (no response splitting)."""
        security = news_http.SecurityHeaders(extra={"X-Test": "a\r\nSet-Cookie: x=1"})
        with pytest.raises(news_http.HTTPConfigError, match="CR or LF"):
            news_http.create_app(news_http.HTTPSettings(security_headers=security), name="crlf")
