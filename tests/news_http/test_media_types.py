"""Routes taking a JSON body refuse other media types with 415, in real server processes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

import news_http

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing.http import ServerProcess

JSON_ACCEPTED = "application/json, application/*+json"


@pytest.fixture(scope="module")
def items_server(
    serve: Callable[..., Any], local: Callable[..., news_http.HTTPSettings]
) -> Iterator[ServerProcess]:
    """The items app, shared by this module's tests."""
    with serve("items", local()) as server:
        yield server


def _titles(server: ServerProcess) -> list[str]:
    return [item["title"] for item in server.client().get("/items").json()["items"]]


class TestJSONRoutes:
    """A handler that takes a JSON body gets JSON only."""

    @pytest.mark.parametrize(
        "content_type",
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
            "application/json; charset=latin-1",
            "application/merge-patch+json",
            "application/vnd.news.item+json; version=2",
        ],
    )
    def test_json_media_types_pass(self, items_server: ServerProcess, content_type: str) -> None:
        """application/json and application/*+json pass, with any parameters."""
        response = items_server.client().post(
            "/items", content=b'{"title": "ok"}', headers={"content-type": content_type}
        )
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "application/jsonx",
            "text/json",
            None,
        ],
    )
    def test_other_media_types_get_415(
        self, items_server: ServerProcess, content_type: str | None
    ) -> None:
        """A simple cross-origin request's types, or none at all: 415 naming what it takes."""
        before = _titles(items_server)
        headers = {"content-type": content_type} if content_type else {}
        response = items_server.client().post(
            "/items", content=b'{"title": "csrf"}', headers=headers
        )
        assert response.status_code == 415, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["accept-post"] == JSON_ACCEPTED
        assert "accept-patch" not in response.headers
        problem = response.json()
        assert problem["code"] == "unsupported_media_type"
        assert problem["accepted"] == ["application/json", "application/*+json"]
        assert problem["request_id"] == response.headers["x-request-id"]
        assert _titles(items_server) == before  # nothing was created

    def test_patch_names_accept_patch(self, items_server: ServerProcess) -> None:
        """A refused PATCH names the accepted types in Accept-Patch too."""
        client = items_server.client()
        assert client.post("/items", json={"title": "first"}).status_code == 201
        response = client.patch(
            "/items/1", content=b'{"title": "x"}', headers={"content-type": "text/plain"}
        )
        assert response.status_code == 415
        assert response.headers["accept-patch"] == JSON_ACCEPTED
        assert response.headers["accept-post"] == JSON_ACCEPTED
        merge = client.patch(
            "/items/1",
            content=b'{"title": "renamed"}',
            headers={"content-type": "application/merge-patch+json"},
        )
        assert merge.status_code == 200
        assert merge.json()["title"] == "renamed"

    def test_an_empty_body_is_not_refused_for_its_type(self, items_server: ServerProcess) -> None:
        """No body, no Content-Type: an optional body is simply absent; a required one is 400."""
        client = items_server.client()
        assert client.post("/touch").json() == {"had_body": False}
        assert client.post("/items").status_code == 400

    def test_the_check_runs_inside_the_stack(self, items_server: ServerProcess) -> None:
        """The 415 is logged, counted and decorated like any response (request id, headers)."""
        response = items_server.client().post(
            "/items",
            content=b"title=x",
            headers={"content-type": "application/x-www-form-urlencoded", "x-request-id": "m-1"},
        )
        assert response.headers["x-request-id"] == "m-1"
        assert response.headers["x-content-type-options"] == "nosniff"
        line = items_server.wait_for_log(logger="news_http.access", request_id="m-1")
        assert (line["status"], line["route"]) == (415, "/items")


class TestDeclaredMediaTypes:
    """@news_http.accepts(...) names what a route takes instead."""

    def test_declared_types_pass_and_others_get_415(self, items_server: ServerProcess) -> None:
        """A text route takes text/plain and text/markdown, and refuses JSON naming them."""
        client = items_server.client()
        for content_type in ("text/plain; charset=utf-8", "text/markdown"):
            response = client.post(
                "/notes", content=b"hello", headers={"content-type": content_type}
            )
            assert response.json() == {"length": 5}
        refused = client.post("/notes", json={"text": "hello"})
        assert refused.status_code == 415
        assert refused.headers["accept-post"] == "text/plain, text/markdown"

    def test_any_type_opts_out(self, items_server: ServerProcess) -> None:
        """accepts('*/*') lets any body through (a JSON route that must take text/plain too)."""
        response = items_server.client().post(
            "/anything", content=b'{"title": "t"}', headers={"content-type": "text/plain"}
        )
        assert response.json() == {"title": "t"}

    def test_routes_without_a_typed_body_are_not_checked(self, items_server: ServerProcess) -> None:
        """A handler reading the raw request decides for itself (no default check)."""
        response = items_server.client().post(
            "/raw", content=b"abc", headers={"content-type": "application/octet-stream"}
        )
        assert response.json() == {"size": 3}

    @pytest.mark.parametrize(
        "bad", ["json", "application/", "application/json; charset=utf-8", "*/json", "a/**"]
    )
    def test_malformed_types_are_refused_at_registration(self, bad: str) -> None:
        """accepts() takes 'type/subtype' patterns only."""
        with pytest.raises(news_http.HTTPConfigError, match="type/subtype"):
            news_http.accepts(bad)

    def test_at_least_one_type(self) -> None:
        """accepts() without a type is refused."""
        with pytest.raises(news_http.HTTPConfigError, match="at least one"):
            news_http.accepts()
