"""The access line of a guarded request names the caller (served app, real process)."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest

import news_http
from news_auth import APIKeys, MemoryAPIKeyStore
from news_testing.http import serve_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess

APPS_DIR = Path(__file__).parent


@pytest.fixture(scope="module")
def apps() -> Iterator[Any]:
    """The served app's module (imported here too, for its key settings)."""
    sys.path.insert(0, str(APPS_DIR))
    try:
        yield importlib.import_module("news_auth_test_apps")
    finally:
        sys.path.remove(str(APPS_DIR))


@pytest.fixture(scope="module")
def keys(apps: Any) -> dict[str, Any]:
    """Two issued keys (a writer and a reader): their keys in clear and stored records."""
    api_keys = APIKeys(apps.key_settings(), MemoryAPIKeyStore())
    writer = asyncio.run(
        api_keys.issue(name="robot", subject="svc:robot", scopes={"articles:write"})
    )
    reader = asyncio.run(api_keys.issue(name="reader", subject="svc:reader", scopes=()))
    return {
        "writer": writer.key.reveal(),
        "writer_id": writer.record.key_id,
        "reader": reader.key.reveal(),
        "reader_id": reader.record.key_id,
        "records": msgspec.json.encode([writer.record, reader.record]).decode(),
    }


@pytest.fixture(scope="module")
def server(keys: dict[str, Any]) -> Iterator[ServerProcess]:
    """The guarded app, accepting the two keys."""
    with serve_app(
        "news_auth_test_apps:guarded",
        settings=news_http.HTTPSettings(host="127.0.0.1"),
        pythonpath=[APPS_DIR],
        env={"TESTAUTH_KEY_RECORDS": keys["records"]},
    ) as served:
        yield served


class TestAccessLineNamesTheCaller:
    def test_a_valid_key_is_named_on_the_access_line(
        self, server: ServerProcess, keys: dict[str, Any]
    ) -> None:
        """The access line of a request with a valid API key has principal, method, key id."""
        response = server.client().post(
            "/v1/articles", headers={"X-API-Key": keys["writer"], "X-Request-ID": "who-key"}
        )
        assert response.status_code == 201, response.text
        line = server.wait_for_log(logger="news_http.access", request_id="who-key")
        assert line["status"] == 201
        assert line["principal"] == "svc:robot"
        assert line["auth_method"] == "api_key"
        assert line["client_id"] == keys["writer_id"]
        handler = server.wait_for_log(msg="article created", request_id="who-key")
        assert handler["principal"] == "svc:robot"
        trail = server.find_logs(request_id="who-key")
        assert keys["writer"] not in json.dumps(trail)

    def test_an_anonymous_request_names_nobody(self, server: ServerProcess) -> None:
        """Public and refused anonymous requests: access lines without principal fields."""
        client = server.client()
        assert client.get("/v1/articles", headers={"X-Request-ID": "anon-get"}).status_code == 200
        refused = client.post("/v1/articles", headers={"X-Request-ID": "anon-post"})
        assert refused.status_code == 401
        for rid, status in (("anon-get", 200), ("anon-post", 401)):
            line = server.wait_for_log(logger="news_http.access", request_id=rid)
            assert line["status"] == status
            assert not {"principal", "auth_method", "client_id"} & line.keys()

    def test_a_refused_scope_names_the_caller(
        self, server: ServerProcess, keys: dict[str, Any]
    ) -> None:
        """A valid key without the scope: the 403's access line says whose key it was."""
        response = server.client().post(
            "/v1/articles", headers={"X-API-Key": keys["reader"], "X-Request-ID": "who-403"}
        )
        assert response.status_code == 403
        line = server.wait_for_log(logger="news_http.access", request_id="who-403")
        assert (line["status"], line["principal"], line["client_id"]) == (
            403,
            "svc:reader",
            keys["reader_id"],
        )
        assert keys["reader"] not in json.dumps(server.find_logs(request_id="who-403"))
