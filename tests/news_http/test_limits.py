"""Body limit (413 before the handler) and request timeout (504)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess


@pytest.fixture(scope="module")
def limited_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """1 KiB bodies, half a second per request."""
    with serve(settings=local(max_body_bytes=1024, request_timeout=0.5)) as server:
        yield server


class TestBodyLimit:
    def test_a_body_under_the_limit_is_handled(self, limited_server: ServerProcess) -> None:
        """A body up to max_body_bytes reaches the handler."""
        response = limited_server.client().post("/echo", content=b"x" * 1024)
        assert response.status_code == 200
        assert response.json() == {"size": 1024}

    def test_a_declared_length_over_the_limit_is_413(self, limited_server: ServerProcess) -> None:
        """Content-Length above the limit: 413 problem, and the handler never runs."""
        response = limited_server.client().post(
            "/echo", content=b"x" * 1025, headers={"X-Request-ID": "too-big-1"}
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "the request body must not exceed 1024 bytes"
        line = limited_server.wait_for_log(logger="news_http.access", request_id="too-big-1")
        assert line["status"] == 413

    def test_a_chunked_body_over_the_limit_is_413(self, limited_server: ServerProcess) -> None:
        """A chunked body (no Content-Length) is measured and refused the same way."""

        def chunks() -> Iterator[bytes]:
            for _ in range(4):
                yield b"y" * 400

        response = limited_server.client().post("/echo", content=chunks())
        assert response.status_code == 413

    def test_a_chunked_body_under_the_limit_is_handled(self, limited_server: ServerProcess) -> None:
        """A small chunked body passes."""

        def chunks() -> Iterator[bytes]:
            yield b"a" * 10
            yield b"b" * 10

        response = limited_server.client().post("/echo", content=chunks())
        assert response.json() == {"size": 20}

    def test_the_limit_applies_before_body_decoding(self, limited_server: ServerProcess) -> None:
        """A too-large JSON body is refused with 413, not decoded into a 422."""
        response = limited_server.client().post("/articles", content=b"[" * 2000)
        assert response.status_code == 413


class TestTimeout:
    def test_an_async_handler_is_cancelled_with_504(self, limited_server: ServerProcess) -> None:
        """An async handler past request_timeout is cancelled; the client gets 504 at once."""
        response = limited_server.client().get(
            "/slow", params={"seconds": 5}, headers={"X-Request-ID": "slow-1"}
        )
        assert response.status_code == 504
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "gateway_timeout"
        line = limited_server.wait_for_log(logger="news_http.access", request_id="slow-1")
        assert 450 <= line["duration_ms"] < 2000
        warning = limited_server.wait_for_log(level="warning", request_id="slow-1")
        assert warning["msg"] == "request timed out; handler cancelled"

    def test_a_sync_overrun_is_a_504_with_a_warning(self, limited_server: ServerProcess) -> None:
        """A sync handler cannot be interrupted: when it overruns, the answer is 504."""
        response = limited_server.client().get(
            "/slow-sync", params={"seconds": 0.8}, headers={"X-Request-ID": "slow-sync-1"}
        )
        assert response.status_code == 504
        warning = limited_server.wait_for_log(level="warning", request_id="slow-sync-1")
        assert "cannot be interrupted" in warning["msg"]

    def test_a_handler_within_the_timeout_answers(self, limited_server: ServerProcess) -> None:
        """Handlers finishing in time are untouched."""
        client = limited_server.client()
        assert client.get("/slow", params={"seconds": 0.1}).status_code == 200
        assert client.get("/slow-sync", params={"seconds": 0.1}).status_code == 200
