"""Route registration: conflicts Robyn would hide, refused Robyn features, fallback coverage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from robyn import SubRouter
from robyn.testing import TestClient as RobynTestClient

import news_http

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess


def _app() -> news_http.NewsApp:
    return news_http.create_app(news_http.HTTPSettings(), name="routing")


class TestRegistration:
    @pytest.mark.parametrize(
        ("first", "second", "message"),
        [
            ("/items/:item_id", "/items/:id/parts", "conflicts with :item_id"),
            ("/files/:name", "/files/*rest", "catch-all cannot sit next to"),
            ("/files/*rest", "/files/:name", "cannot sit next to the catch-all"),
        ],
    )
    def test_router_conflicts_are_refused(self, first: str, second: str, message: str) -> None:
        """Routes Robyn's router would silently drop are refused with a clear error."""
        app = _app()

        def handler() -> None: ...

        app.get(first)(handler)
        with pytest.raises(news_http.HTTPConfigError, match=message):
            app.get(second)(handler)

    def test_a_catch_all_must_end_the_route(self) -> None:
        """A catch-all in the middle of a route is refused."""
        with pytest.raises(news_http.HTTPConfigError, match="must be the last segment"):
            _app().get("/a/*rest/b")(lambda: None)

    def test_create_app_leaves_the_root_logger_alone(self) -> None:
        """Robyn() calls logging.basicConfig; create_app keeps the root handlers as they were."""
        import logging

        root = logging.getLogger()
        saved = (list(root.handlers), root.level)
        for handler in saved[0]:  # a fresh process: basicConfig would add its stderr handler
            root.removeHandler(handler)
        try:
            _app()
            assert root.handlers == []
            assert root.level == saved[1]
        finally:
            for handler in saved[0]:
                root.addHandler(handler)

    def test_the_same_route_twice_is_refused(self) -> None:
        """Registering one method and path twice is an error (trailing slash ignored)."""
        app = _app()
        app.get("/x")(lambda: None)
        with pytest.raises(news_http.HTTPConfigError, match="twice"):
            app.get("/x/")(lambda: None)

    def test_const_routes_are_refused(self) -> None:
        """const=True routes bypass every middleware in Rust: refused."""
        with pytest.raises(news_http.HTTPConfigError, match="const"):
            _app().get("/c", const=True)(lambda: "x")

    @pytest.mark.parametrize("method", ["before_request", "after_request"])
    def test_robyn_middlewares_are_refused(self, method: str) -> None:
        """before_request/after_request point to news-http's middlewares instead."""
        with pytest.raises(news_http.HTTPConfigError, match="with_middleware"):
            getattr(_app(), method)()

    def test_robyn_exception_handler_is_refused(self) -> None:
        """@app.exception points to APIError instead."""
        with pytest.raises(news_http.HTTPConfigError, match="APIError"):
            _app().exception(lambda exc: None)

    def test_handlers_with_var_args_are_refused(self) -> None:
        """*args/**kwargs cannot be resolved from a request: refused when composing."""
        app = _app()

        @app.get("/v")
        def handler(*args: Any) -> None: ...

        with pytest.raises(news_http.HTTPConfigError, match=r"\*args"):
            app.finalize()

    def test_routes_cannot_be_added_after_finalize(self) -> None:
        """Once composed, the route table is frozen."""
        app = _app()
        app.finalize()
        with pytest.raises(news_http.HTTPConfigError, match="serving"):
            app.get("/late")(lambda: None)

    def test_decorators_return_the_handler(self) -> None:
        """Route decorators give the handler back unchanged (still callable in unit tests)."""
        app = _app()

        def handler() -> dict[str, int]:
            return {"a": 1}

        assert app.get("/h")(handler) is handler
        assert handler() == {"a": 1}

    def test_mixed_kind_middleware_is_refused(self) -> None:
        """A middleware returning a sync handler for an async route is a clear error."""

        def sync_only(next_handler: Any) -> Any:
            def handler(request: Any) -> Any:
                return next_handler(request)

            return handler

        app = news_http.create_app(name="mixed", middleware=[sync_only])

        @app.get("/a")
        async def handler() -> None: ...

        with pytest.raises(news_http.HTTPConfigError, match="other kind"):
            app.finalize()

    def test_lifecycle_hooks_must_take_no_arguments(self) -> None:
        """A hook that needs arguments is refused at registration."""
        with pytest.raises(news_http.HTTPConfigError, match="no arguments"):
            _app().on_startup(lambda app: None)

    def test_hooks_accumulate_in_order(self) -> None:
        """Robyn's startup_handler/shutdown_handler add hooks; shutdown order is reversed."""
        app = _app()

        def one() -> None: ...

        def two() -> None: ...

        app.startup_handler(one)
        app.startup_handler(two)
        app.shutdown_handler(one)
        app.shutdown_handler(two)
        assert app.startup_hooks == (one, two)
        assert app.shutdown_hooks == (two, one)


class TestSubRouter:
    def test_sub_router_routes_run_through_the_chain(self) -> None:
        """include_router re-registers a SubRouter's routes (with prefix) through news-http."""
        app = _app()
        router = SubRouter(prefix="/v1")

        @router.get("/ping")
        def ping() -> dict[str, str]:
            return {"pong": "yes"}

        app.include_router(router)
        assert ("GET", "/v1/ping") in app.routes_summary()
        with RobynTestClient(app) as client:
            response = client.get("/v1/ping", headers={"X-Request-ID": "sub-1"})
        assert response.status_code == 200
        assert response.json() == {"pong": "yes"}
        assert response.headers.get("x-request-id") == "sub-1"


class TestInProcessClient:
    def test_robyn_test_client_runs_the_chain(self) -> None:
        """robyn.testing.TestClient (where faithful: plain handlers) runs the whole chain."""
        settings = news_http.HTTPSettings(
            cors=news_http.CORSSettings(origins=("https://app.example",))
        )
        app = news_http.create_app(settings, name="inprocess")

        @app.get("/items/:item_id")
        def item(item_id: int) -> dict[str, int]:
            return {"id": item_id}

        with RobynTestClient(app) as client:
            ok = client.get("/items/4", headers={"Origin": "https://app.example"})
            bad = client.get("/items/four")
        assert ok.json() == {"id": 4}
        assert ok.headers.get("access-control-allow-origin") == "https://app.example"
        assert ok.headers.get("x-request-id")
        assert bad.status_code == 422


@pytest.fixture(scope="module")
def param_root_server(serve: Any) -> Iterator[ServerProcess]:
    """Routes with a parameter at the root (no root catch-all possible in Robyn's router)."""
    with serve("param_root") as server:
        yield server


class TestFallbackCoverage:
    @pytest.mark.parametrize(
        ("method", "path", "status"),
        [
            ("GET", "/", 404),
            ("GET", "/about", 200),
            ("GET", "/about/edit", 200),
            ("GET", "/about/edit/more", 404),
            ("GET", "/a/b/c", 404),
            ("POST", "/about", 405),
            ("POST", "/api/v2/items", 200),
            ("GET", "/api/v2/items", 405),  # POST /api/:version/items exists
            ("GET", "/api/v2/items/x/y", 200),
            ("DELETE", "/api/v2/items/x", 405),
            ("PUT", "/api", 405),  # GET /:slug matches
            ("PATCH", "/zzz/yyy", 404),
        ],
    )
    def test_every_path_reaches_the_stack(
        self, param_root_server: ServerProcess, method: str, path: str, status: int
    ) -> None:
        """Even where Robyn cannot hold a root catch-all, every request gets the stack."""
        response = param_root_server.client().request(method, path)
        assert response.status_code == status
        assert "x-request-id" in response.headers
        if status >= 400:
            assert response.headers["content-type"] == "application/problem+json"


@pytest.fixture(scope="module")
def docs_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """docs=True."""
    with serve("docs_app", local(docs=True)) as server:
        yield server


class TestDocs:
    def test_docs_are_off_by_default(self, standard_server: ServerProcess) -> None:
        """/docs and /openapi.json are 404 unless enabled."""
        client = standard_server.client()
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404

    def test_docs_when_enabled(self, docs_server: ServerProcess) -> None:
        """docs=True serves the OpenAPI document (titled with the service name) and the UI."""
        client = docs_server.client()
        spec = client.get("/openapi.json")
        assert spec.status_code == 200
        assert spec.json()["info"]["title"] == "docsapp"
        assert "/items/{item_id}" in spec.json()["paths"]
        page = client.get("/docs")
        assert page.status_code == 200
        assert "content-security-policy" not in page.headers  # Swagger UI needs its scripts
