"""HTTPClient against a real aiohttp.web server: headers, errors from problems, auth, lifecycle."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest
from aiohttp import web

import news_client
import news_log
from news_log.testing import capture_logs


class Article(msgspec.Struct):
    ok: bool
    path: str


class TestRequests:
    async def test_get_returns_the_whole_answer(self, server: Any, make_settings: Any) -> None:
        """A GET returns status, headers and body; json() decodes into a Struct."""
        async with news_client.HTTPClient(make_settings(server.url), name="dep") as client:
            response = await client.get("/v1/articles")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json(type=Article) == Article(ok=True, path="/v1/articles")
        assert response.json()["ok"] is True

    async def test_carries_request_id_and_trace_context(
        self, server: Any, make_settings: Any
    ) -> None:
        """Every request carries news-log's request id, traceparent and tracestate."""
        traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        async with news_client.HTTPClient(make_settings(server.url)) as client:
            with news_log.bind(request_id="r-42", traceparent=traceparent, tracestate="a=1"):
                await client.get("/a")
            await client.get("/b")
        first, second = server.requests
        assert first.headers["x-request-id"] == "r-42"
        assert first.headers["traceparent"] == traceparent
        assert first.headers["tracestate"] == "a=1"
        assert first.headers["user-agent"].startswith("news-client/")
        assert "x-request-id" not in second.headers
        assert "traceparent" not in second.headers

    async def test_path_params_are_encoded_into_the_template(
        self, server: Any, make_settings: Any
    ) -> None:
        """path_params fill the route template, percent-encoded; params become the query."""
        async with news_client.HTTPClient(make_settings(server.url + "/api")) as client:
            await client.get(
                "/v1/articles/{id}", path_params={"id": "a b/c"}, params={"lang": "en"}
            )
        request = server.requests[0]
        assert request.raw_path == "/api/v1/articles/a%20b%2Fc?lang=en"

    async def test_json_bodies_are_encoded_with_msgspec(
        self, server: Any, make_settings: Any
    ) -> None:
        """json= sends the value as JSON with its content type."""
        async with news_client.HTTPClient(make_settings(server.url)) as client:
            await client.post("/v1/tags", json=Article(ok=False, path="x"))
        assert server.bodies[0] == b'{"ok":false,"path":"x"}'
        assert server.requests[0].headers["content-type"] == "application/json"

    async def test_a_route_must_be_a_path(self, server: Any, make_settings: Any) -> None:
        """A full URL as the route is refused: routes are templates under base_url."""
        async with news_client.HTTPClient(make_settings(server.url)) as client:
            with pytest.raises(news_client.ClientConfigError, match="must start with '/'"):
                await client.get("http://elsewhere/x")
            with pytest.raises(news_client.ClientConfigError, match="do not fill it"):
                await client.get("/v1/{id}", path_params={"slug": "x"})


class TestProblems:
    async def test_problem_json_becomes_the_matching_error(
        self, server: Any, make_settings: Any
    ) -> None:
        """A 404 problem+json from a news service raises NotFoundError with its details."""
        server.fault = "status"
        server.status = 404
        server.problem = {
            "type": "https://problems.news.example/not_found",
            "title": "Not Found",
            "status": 404,
            "detail": "no article 7",
            "code": "not_found",
            "request_id": "r-7",
            "instance": "/v1/articles/7",
            "article_id": 7,
        }
        async with news_client.HTTPClient(make_settings(server.url), name="articles") as client:
            with pytest.raises(news_client.NotFoundError) as caught:
                await client.get("/v1/articles/{id}", path_params={"id": 7})
        error = caught.value
        assert isinstance(error, news_client.HTTPClientError)
        assert error.status == 404
        assert error.detail == "no article 7"
        assert error.code == "not_found"
        assert error.problem is not None
        assert error.problem.request_id == "r-7"
        assert error.problem.extensions == {"article_id": 7}
        assert error.route == "/v1/articles/{id}"
        assert str(error) == (
            "GET articles/v1/articles/{id}: 404 Not Found: no article 7 "
            "(code not_found, request_id r-7)"
        )
        assert server.hits == 1  # a 4xx is not retried

    async def test_validation_failures_carry_the_fields(
        self, server: Any, make_settings: Any
    ) -> None:
        """A 422 raises ValidationFailedError whose problem lists each failing field."""
        server.fault = "status"
        server.status = 422
        server.problem = {
            "title": "Validation failed",
            "status": 422,
            "detail": "title: Expected `str`, got `int`",
            "code": "validation_failed",
            "errors": [{"field": "title", "message": "Expected `str`, got `int`"}],
        }
        async with news_client.HTTPClient(make_settings(server.url)) as client:
            with pytest.raises(news_client.ValidationFailedError) as caught:
                await client.post("/v1/articles", json={"title": 1})
        assert caught.value.problem is not None
        assert caught.value.problem.errors == (
            news_client.FieldError("title", "Expected `str`, got `int`"),
        )

    async def test_statuses_without_a_class_fall_back_to_4xx_5xx(
        self, server: Any, make_settings: Any
    ) -> None:
        """A 418 is an HTTPClientError, a 500 an HTTPServerError; plain text is kept as body."""
        server.routes["/teapot"] = lambda _r: _answer(418, b"short and stout")
        server.routes["/boom"] = lambda _r: _answer(500, b"oops")
        async with news_client.HTTPClient(make_settings(server.url)) as client:
            with pytest.raises(news_client.HTTPClientError) as teapot:
                await client.get("/teapot")
            with pytest.raises(news_client.HTTPServerError) as boom:
                await client.get("/boom")
        assert type(teapot.value) is news_client.HTTPClientError
        assert teapot.value.problem is None
        assert teapot.value.body == b"short and stout"
        assert boom.value.status == 500


async def _answer(status: int, body: bytes) -> web.Response:
    return web.Response(status=status, body=body, content_type="text/plain")


class Tokens:
    """A TokenSource handing out numbered tokens."""

    def __init__(self) -> None:
        self.issued = 0
        self.invalidated = 0

    async def token(self) -> str:
        """The current token."""
        return f"t{self.issued}"

    def invalidate(self) -> None:
        """Issue a new token next time."""
        self.invalidated += 1
        self.issued += 1


class TestAuth:
    async def test_bearer_token_from_the_source(self, server: Any, make_settings: Any) -> None:
        """With a token source every request carries Authorization: Bearer <token>."""
        tokens = Tokens()
        assert isinstance(tokens, news_client.TokenSource)
        async with news_client.HTTPClient(make_settings(server.url), token_source=tokens) as c:
            await c.get("/x")
        assert server.requests[0].headers["authorization"] == "Bearer t0"

    async def test_a_401_refreshes_the_token_once(self, server: Any, make_settings: Any) -> None:
        """A 401 invalidates the token and the request goes once more with a new one."""
        tokens = Tokens()

        async def protected(request: web.Request) -> web.Response:
            if request.headers["authorization"] != "Bearer t1":
                return web.Response(status=401)
            return web.json_response({"ok": True})

        server.routes["/p"] = protected
        async with news_client.HTTPClient(make_settings(server.url), token_source=tokens) as c:
            assert (await c.post("/p")).status == 200
            tokens.issued = 5  # a token the server never accepts
            with pytest.raises(news_client.UnauthorizedError):
                await c.get("/p")
        assert tokens.invalidated == 2
        assert server.hits == 4  # 401 + 200, then 401 + 401: one refresh per call


class TestLifecycle:
    async def test_calls_need_a_started_client(self, server: Any, make_settings: Any) -> None:
        """Before start() and after stop(), calls raise ClientClosedError."""
        client = news_client.HTTPClient(make_settings(server.url))
        with pytest.raises(news_client.ClientClosedError, match="start"):
            await client.get("/x")
        await client.start()
        await client.get("/x")
        await client.stop()
        with pytest.raises(news_client.ClientClosedError):
            await client.get("/x")
        await client.stop()  # twice is fine

    async def test_stop_lets_in_flight_calls_finish(self, server: Any, make_settings: Any) -> None:
        """stop() refuses new calls but waits for the ones in flight (nothing lost)."""
        server.fault = "delay"
        server.delay = 0.2
        client = news_client.HTTPClient(make_settings(server.url, stop_timeout=30.0))
        await client.start()
        call = asyncio.create_task(client.get("/slow"))
        while not server.hits:
            await asyncio.sleep(0.01)
        await client.stop()
        assert (await call).status == 200

    async def test_stop_is_bounded(self, silent: Any, make_settings: Any) -> None:
        """A call still running after stop_timeout is cut off; stop() returns and logs it."""
        client = news_client.HTTPClient(
            make_settings(silent.url, stop_timeout=0.05, total_timeout=3600.0, read_timeout=3600.0)
        )
        await client.start()
        call = asyncio.create_task(client.get("/never"))
        while not silent.connections:
            await asyncio.sleep(0.01)
        with capture_logs() as lines:
            await client.stop()
        assert any(line["msg"] == "stopping with calls in flight" for line in lines)
        with pytest.raises(news_client.NewsClientError):
            await call

    async def test_health_check(self, server: Any, make_settings: Any) -> None:
        """Readiness passes with the breaker's state; with health_path it calls that route."""
        client = news_client.HTTPClient(make_settings(server.url, health_path="/health"))
        assert client.health_name == "client:127.0.0.1"
        with pytest.raises(news_client.ClientClosedError):
            await client.health_check()
        async with client:
            assert "200 in" in await client.health_check()
            assert server.requests[-1].path == "/health"
            server.fault = "status"
            with pytest.raises(news_client.ServiceUnavailableError):
                await client.health_check()
        plain = news_client.HTTPClient(make_settings(server.url))
        async with plain:
            assert await plain.health_check() == "breaker closed"


class TestSettings:
    def test_base_url_is_checked(self) -> None:
        """A base URL that is not http(s)://host is refused, naming the field."""
        with pytest.raises(news_client.ClientConfigError, match="base_url"):
            news_client.ClientSettings(base_url="enrichment:8080")
        with pytest.raises(news_client.ClientConfigError, match="query"):
            news_client.ClientSettings(base_url="http://e/?x=1")
        with pytest.raises(news_client.ClientConfigError, match="base_url is empty"):
            news_client.HTTPClient(news_client.ClientSettings())

    def test_settings_load_from_the_environment(self) -> None:
        """news-config fills ClientSettings from variables (nested with __)."""
        import news_config

        loaded = news_config.load(
            news_client.ClientSettings,
            prefix="ENRICH_",
            env_file=None,
            environ={
                "ENRICH_BASE_URL": "http://enrichment:8080",
                "ENRICH_TOTAL_TIMEOUT": "2.5",
                "ENRICH_BREAKER__FAILURE_RATE_THRESHOLD": "25",
                "ENRICH_RETRY_STATUSES": "503,504",
            },
        )
        assert loaded.total_timeout == 2.5
        assert loaded.breaker.failure_rate_threshold == 25.0
        assert loaded.retry_statuses == frozenset({503, 504})

    def test_inconsistent_settings_are_refused(self) -> None:
        """An attempt timeout above the total, or bad statuses, are refused."""
        with pytest.raises(news_client.ClientConfigError, match="attempt_timeout"):
            news_client.ClientSettings(total_timeout=1.0, attempt_timeout=2.0)
        with pytest.raises(news_client.ClientConfigError, match="retry_statuses"):
            news_client.ClientSettings(retry_statuses=frozenset({99}))
        with pytest.raises(news_client.ClientConfigError, match="backoff_max"):
            news_client.RetrySettings(backoff_base=2.0, backoff_max=1.0)
        with pytest.raises(news_client.ClientConfigError, match="cert_file"):
            news_client.TLSSettings(key_file="k.pem")
