"""Recovery: exceptions become problem+json without internals; the log line has the traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import news_http

if TYPE_CHECKING:
    from news_testing.http import ServerProcess

PROBLEM = "application/problem+json"


class TestUnhandledExceptions:
    def test_a_crash_is_a_generic_500(self, standard_server: ServerProcess) -> None:
        """A handler exception gives 500 problem+json with no exception text in the body."""
        response = standard_server.client().get("/boom", headers={"X-Request-ID": "boom-1"})
        assert response.status_code == 500
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["status"] == 500
        assert body["detail"] == "internal error"
        assert body["request_id"] == "boom-1"
        assert body["instance"] == "/boom"
        assert "hunter2" not in response.text
        assert "RuntimeError" not in response.text
        assert "Traceback" not in response.text

    def test_the_log_line_has_the_traceback_and_request_id(
        self, standard_server: ServerProcess
    ) -> None:
        """The error line carries type, message and stack of the exception, and the request id."""
        standard_server.client().get("/boom", headers={"X-Request-ID": "boom-log-1"})
        line = standard_server.wait_for_log(level="error", request_id="boom-log-1")
        assert line["route"] == "/boom"
        assert line["exception"]["type"] == "RuntimeError"
        assert "hunter2" in line["exception"]["message"]
        assert 'raise RuntimeError("database password is hunter2")' in line["exception"]["stack"]
        access = standard_server.wait_for_log(logger="news_http.access", request_id="boom-log-1")
        assert access["status"] == 500

    def test_async_crashes_are_recovered_too(self, standard_server: ServerProcess) -> None:
        """An exception in an async handler is recovered the same way."""
        response = standard_server.client().get("/async-boom")
        assert response.status_code == 500
        assert "internal-key-name" not in response.text
        assert response.json()["request_id"] == response.headers["x-request-id"]

    def test_an_unsendable_return_value_is_a_500(self, standard_server: ServerProcess) -> None:
        """A handler returning something that cannot be sent is a logged 500, not a crash."""
        response = standard_server.client().get("/bad-return", headers={"X-Request-ID": "bad-1"})
        assert response.status_code == 500
        line = standard_server.wait_for_log(level="error", request_id="bad-1")
        assert "cannot send" in line["exception"]["message"]


class TestAPIErrors:
    def test_an_api_error_keeps_its_status_and_members(
        self, standard_server: ServerProcess
    ) -> None:
        """An APIError renders as its own problem, with its extension members."""
        response = standard_server.client().get("/conflict")
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "conflict"
        assert body["detail"] == "article is locked"
        assert body["locked_by"] == 12
        assert body["request_id"] == response.headers["x-request-id"]

    def test_not_found_from_a_handler(self, standard_server: ServerProcess) -> None:
        """news_api.NotFound raised by a handler is a 404 problem naming the instance."""
        response = standard_server.client().get("/articles/9")
        assert response.status_code == 404
        assert response.json()["instance"] == "/articles/9"
        assert response.json()["detail"] == "no article 9"


class TestUnmatchedRoutes:
    def test_an_unknown_path_is_a_404_problem(self, standard_server: ServerProcess) -> None:
        """A path no route matches gets a problem+json 404 with the request id."""
        response = standard_server.client().get("/no/such/thing", headers={"X-Request-ID": "nf"})
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["request_id"] == "nf"
        line = standard_server.wait_for_log(logger="news_http.access", request_id="nf")
        assert line["route"] == news_http.UNMATCHED_ROUTE
        assert line["status"] == 404

    def test_a_wrong_method_is_a_405_with_allow(self, standard_server: ServerProcess) -> None:
        """A known path with an unsupported method gets 405 and an Allow header."""
        response = standard_server.client().delete("/articles/7")
        assert response.status_code == 405
        assert response.headers["content-type"] == PROBLEM
        assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT"}

    def test_options_on_a_known_path_lists_the_methods(
        self, standard_server: ServerProcess
    ) -> None:
        """A plain OPTIONS (no preflight) on a known path answers 204 with Allow."""
        response = standard_server.client().options("/articles")
        assert response.status_code == 204
        assert set(response.headers["allow"].split(", ")) == {"POST", "OPTIONS"}

    def test_the_root_and_deep_paths_are_covered(self, standard_server: ServerProcess) -> None:
        """Unknown paths at every depth reach the Python stack (request id, problem body)."""
        client = standard_server.client()
        for path in ("/articles/7/comments", "/articles", "/x", "/static", "/a/b/c/d/e"):
            for method in ("GET", "POST", "PATCH", "TRACE"):
                response = client.request(method, path)
                assert "x-request-id" in response.headers, (method, path)
                assert response.status_code < 500, (method, path)
                if response.status_code >= 400:
                    assert response.headers["content-type"] == PROBLEM, (method, path)
