"""Handler arguments and return values, the app's and a route's middlewares, HEAD."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from news_testing.http import ServerProcess

PROBLEM = "application/problem+json"


class TestArguments:
    def test_path_parameter_is_converted(self, standard_server: ServerProcess) -> None:
        """A path parameter annotated int arrives as an int; a query bool as a bool."""
        response = standard_server.client().get("/articles/7", params={"verbose": "true"})
        assert response.json() == {"data": {"id": 7, "verbose": True}}

    def test_a_bad_path_parameter_names_the_field(self, standard_server: ServerProcess) -> None:
        """A path parameter that does not convert is a 422 naming it."""
        response = standard_server.client().get("/articles/seven")
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0]["field"] == "article_id"

    def test_path_parameters_are_percent_decoded(self, standard_server: ServerProcess) -> None:
        """Path parameters arrive decoded (%20 is a space)."""
        response = standard_server.client().get("/files/annual%20report%C3%A9.pdf")
        assert response.text == "annual reporté.pdf"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"

    def test_several_path_parameters(self, standard_server: ServerProcess) -> None:
        """Every named route parameter is passed, each converted to its annotation."""
        response = standard_server.client().get("/users/ada/posts/3")
        assert response.json() == {"user": "ada", "post": 3}

    def test_catch_all_parameter(self, standard_server: ServerProcess) -> None:
        """A catch-all route parameter gets the rest of the path."""
        response = standard_server.client().get("/static/css/site.css")
        assert response.json() == {"path": "css/site.css"}

    def test_query_parameters(self, standard_server: ServerProcess) -> None:
        """Query parameters: required, list (every value), defaults, decoded."""
        response = standard_server.client().get(
            "/search", params=[("q", "rock & roll"), ("tags", "a"), ("tags", "b c")]
        )
        assert response.json() == {"q": "rock & roll", "tags": ["a", "b c"], "limit": 10}

    def test_a_missing_query_parameter_names_the_field(
        self, standard_server: ServerProcess
    ) -> None:
        """A required query parameter that is absent is a 422 naming it."""
        response = standard_server.client().get("/search", params={"limit": "5"})
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "q", "message": "query parameter is required"}
        ]

    def test_a_bad_query_parameter_names_the_field(self, standard_server: ServerProcess) -> None:
        """A query parameter that does not convert is a 422 naming it."""
        response = standard_server.client().get("/search", params={"q": "x", "limit": "ten"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "limit"


class TestConstraints:
    """``Annotated[T, msgspec.Meta(...)]`` on path and query parameters is enforced."""

    def test_values_inside_the_constraints_pass(self, standard_server: ServerProcess) -> None:
        """Values within the Meta bounds reach the handler converted."""
        client = standard_server.client()
        response = client.get(
            "/bounded/2", params=[("limit", "100"), ("q", "news"), ("ids", "1"), ("ids", "3")]
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"page": 2, "limit": 100, "q": "news", "ids": [1, 3]}
        assert client.get("/bounded/1").json() == {"page": 1, "limit": 10, "q": None, "ids": None}

    @pytest.mark.parametrize(
        ("path", "params", "field", "message"),
        [
            ("/bounded/1", [("limit", "0")], "limit", "query parameter: Expected `int` >= 1"),
            ("/bounded/1", [("limit", "101")], "limit", "query parameter: Expected `int` <= 100"),
            (
                "/bounded/1",
                [("q", "toolong")],
                "q",
                "query parameter: Expected `str` of length <= 5",
            ),
            (
                "/bounded/1",
                [("ids", "1"), ("ids", "0")],
                "ids",
                "query parameter: Expected `int` >= 1",
            ),
            (
                "/bounded/1",
                [("ids", "1"), ("ids", "2"), ("ids", "3"), ("ids", "4")],
                "ids",
                "query parameter: Expected `array` of length <= 3",
            ),
            ("/bounded/0", [], "page", "path parameter: Expected `int` >= 1"),
            (
                "/async-bounded",
                [("limit", "1000")],
                "limit",
                "query parameter: Expected `int` <= 100",
            ),
        ],
    )
    def test_a_value_outside_them_is_a_422_naming_the_parameter(
        self,
        standard_server: ServerProcess,
        path: str,
        params: list[tuple[str, str]],
        field: str,
        message: str,
    ) -> None:
        """A query or path value outside its Meta bounds: 422 problem+json naming it."""
        response = standard_server.client().get(path, params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"] == [{"field": field, "message": message}]


class TestQueryStructs:
    """``news_http.FromQuery[SomeStruct]``: the query string read into a Struct, validated."""

    def test_fields_come_from_the_query(self, standard_server: ServerProcess) -> None:
        """Fields by their encoded names, lists take every value, defaults fill the rest."""
        client = standard_server.client()
        response = client.get("/paged", params=[("page", "3"), ("tags", "a b"), ("tags", "c%")])
        assert response.status_code == 200, response.text
        assert response.json() == {"page": 3, "per_page": 20, "tags": ["a b", "c%"]}
        assert client.get("/paged").json() == {"page": 1, "per_page": 20, "tags": []}
        searched = client.get("/async-search", params={"queryText": "rock", "verbose": "true"})
        assert searched.json() == {"query_text": "rock", "max_hits": 5, "verbose": True}

    @pytest.mark.parametrize(
        ("path", "params", "field", "message"),
        [
            ("/paged", {"page": "0"}, "page", "query parameter: Expected `int` >= 1"),
            ("/paged", {"per_page": "500"}, "per_page", "query parameter: Expected `int` <= 100"),
            ("/paged", {"tags": "x" * 9}, "tags", "query parameter: Expected `str` of length <= 8"),
            ("/paged", {"pgae": "2"}, "pgae", "unknown query parameter"),  # forbid_unknown_fields
            ("/async-search", {"maxHits": "3"}, "queryText", "query parameter is required"),
            (
                "/async-search",
                {"queryText": "x", "maxHits": "many"},
                "maxHits",
                "query parameter: Expected `int`, got `str`",
            ),
        ],
    )
    def test_a_violation_is_a_422_naming_the_parameter(
        self,
        standard_server: ServerProcess,
        path: str,
        params: dict[str, str],
        field: str,
        message: str,
    ) -> None:
        """Meta bounds, required fields, types and unknown names: 422 problem naming it."""
        response = standard_server.client().get(path, params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"] == [{"field": field, "message": message}]

    def test_only_a_struct_can_come_from_the_query(self) -> None:
        """FromQuery of anything but a Struct is refused when the route is composed."""
        import news_http

        app = news_http.create_app(name="bad-query")

        @app.get("/x")
        def x(limit: news_http.FromQuery[int]) -> dict[str, int]:
            return {"limit": limit}

        with pytest.raises(news_http.HTTPConfigError, match="FromQuery"):
            app.finalize()


class TestBodies:
    def test_a_struct_body_is_decoded(self, standard_server: ServerProcess) -> None:
        """A parameter annotated with a Struct gets the decoded JSON body."""
        response = standard_server.client().post(
            "/articles", json={"title": "Hi", "author": {"name": "Ada", "email": "a@x"}}
        )
        assert response.status_code == 201
        assert response.headers["location"] == "/articles/8"
        assert response.json() == {"data": {"title": "Hi", "author": "Ada"}}

    def test_validation_errors_name_the_field(self, standard_server: ServerProcess) -> None:
        """A nested type error is a 422 whose errors name the field path (author.name)."""
        response = standard_server.client().post(
            "/articles", json={"title": "Hi", "author": {"name": 5, "email": "a@x"}}
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        errors = response.json()["errors"]
        assert errors[0]["field"] == "author.name"
        assert "str" in errors[0]["message"]

    def test_a_missing_field_is_named(self, standard_server: ServerProcess) -> None:
        """A missing required field is named too."""
        response = standard_server.client().post("/articles", json={"title": "Hi"})
        assert response.status_code == 422
        assert "author" in response.json()["detail"]

    def test_unknown_fields_are_refused_when_the_struct_says_so(
        self, standard_server: ServerProcess
    ) -> None:
        """forbid_unknown_fields=True Structs refuse extra members with a 422."""
        response = standard_server.client().post(
            "/articles",
            json={"title": "Hi", "author": {"name": "A", "email": "e"}, "extra": 1},
        )
        assert response.status_code == 422
        assert "extra" in response.text

    @pytest.mark.parametrize(
        ("body", "status"), [(b"", 400), (b"{not json", 400), (b"\xff\xfe", 400)]
    )
    def test_malformed_or_missing_bodies_are_400(
        self, standard_server: ServerProcess, body: bytes, status: int
    ) -> None:
        """Missing, malformed or non-UTF-8 bodies are a 400 problem, never a 500."""
        response = standard_server.client().post(
            "/articles", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == status
        assert response.headers["content-type"] == PROBLEM

    def test_async_handlers_decode_bodies_too(self, standard_server: ServerProcess) -> None:
        """An async handler gets path parameter and Struct body alike."""
        response = standard_server.client().put(
            "/articles/3", json={"title": "T", "author": {"name": "A", "email": "e"}}
        )
        assert response.json() == {"id": 3, "title": "T"}


class TestReturnValues:
    def test_none_is_204(self, standard_server: ServerProcess) -> None:
        """Returning None answers 204 with no body."""
        response = standard_server.client().get("/empty")
        assert response.status_code == 204
        assert response.content == b""

    def test_bytes_are_octet_stream(self, standard_server: ServerProcess) -> None:
        """Returning bytes answers application/octet-stream."""
        response = standard_server.client().get("/binary")
        assert response.headers["content-type"] == "application/octet-stream"

    def test_a_robyn_response_passes_through_with_cookies(
        self, standard_server: ServerProcess
    ) -> None:
        """A robyn.Response keeps its status, headers and cookies, plus the stack's headers."""
        response = standard_server.client().get("/robyn-response")
        assert response.status_code == 201
        assert response.text == "made"
        assert response.headers["x-custom"] == "1"
        assert "session=abc" in response.headers["set-cookie"]
        assert "x-request-id" in response.headers

    def test_status_code_of_the_route_applies(self, standard_server: ServerProcess) -> None:
        """Robyn's status_code= sets the status of plain return values."""
        response = standard_server.client().post("/status-created")
        assert response.status_code == 201
        assert response.json() == {"made": True}

    def test_head_answers_like_get_without_body(self, standard_server: ServerProcess) -> None:
        """HEAD on a GET route answers its status and headers, without a body."""
        response = standard_server.client().head("/articles/7")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.content == b""
        missing = standard_server.client().head("/articles/8")
        assert missing.status_code == 404

    def test_sync_handler_threads_keep_their_python_state(
        self, standard_server: ServerProcess
    ) -> None:
        """Robyn's threads keep their Python thread state (and thread-locals) between requests."""
        client = standard_server.client()
        calls = [client.get("/thread-calls").json()["calls"] for _ in range(40)]
        # A handful of Robyn threads serve 40 requests: a thread state made afresh for every
        # call (Robyn's own behaviour) would start every count at 1.
        assert max(calls) > 1, calls


class TestMiddlewares:
    def test_app_middleware_wraps_sync_and_async_routes(
        self, standard_server: ServerProcess
    ) -> None:
        """create_app(middleware=[...]) runs around every route, in the route's kind."""
        client = standard_server.client()
        assert client.get("/").headers["x-app-middleware"] == "sync"
        assert client.get("/async").headers["x-app-middleware"] == "async"

    def test_route_middleware_applies_to_its_route_only(
        self, standard_server: ServerProcess
    ) -> None:
        """with_middleware guards its own handler; other methods of the path are unaffected."""
        client = standard_server.client()
        refused = client.get("/secure")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "ApiKey"
        assert refused.headers["content-type"] == PROBLEM
        allowed = client.get("/secure", headers={"x-api-key": "letmein"})
        assert allowed.json() == {"secret": True}
        assert client.post("/secure").json() == {"posted": True}

    def test_route_middleware_works_for_any_method(self, standard_server: ServerProcess) -> None:
        """Unlike Robyn's route-scoped before_request (GET only), it guards a DELETE too."""
        client = standard_server.client()
        assert client.delete("/guarded/3").status_code == 401
        assert client.delete("/guarded/3", headers={"x-api-key": "letmein"}).status_code == 204

    def test_middleware_errors_are_problems_not_bare_500s(
        self, standard_server: ServerProcess
    ) -> None:
        """An error raised in a middleware still gets request id, problem body and log line."""
        response = standard_server.client().get("/secure", headers={"X-Request-ID": "mw-err-1"})
        assert response.json()["request_id"] == "mw-err-1"
        line = standard_server.wait_for_log(logger="news_http.access", request_id="mw-err-1")
        assert line["status"] == 401
