"""Property tests against a real server: no request header or body ever yields a 500."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import news_http

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx

    from news_testing.http import ServerProcess

_TOKEN = st.text(
    alphabet="!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    min_size=1,
    max_size=30,
)
# Header values h11 accepts: visible ASCII and inner spaces/tabs, no surrounding whitespace.
_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("\t"),
    max_size=300,
).map(str.strip)
_INTERESTING = st.sampled_from(
    [
        "X-Request-ID",
        "traceparent",
        "tracestate",
        "Origin",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
        "Accept-Encoding",
        "X-Forwarded-For",
        "Authorization",
        "Cookie",
        "Content-Type",
        "x-api-key",
    ]
)
_HEADERS = st.lists(st.tuples(_INTERESTING | _TOKEN, _VALUE), max_size=12)
_PATHS = st.sampled_from(
    [
        "/",
        "/async",
        "/context",
        "/articles/7",
        "/articles/x",
        "/search?q=a",
        "/big",
        "/secure",
        "/nope/deeper",
        "/boom-not",
        "/static/a/b",
    ]
)
_METHODS = st.sampled_from(["GET", "HEAD", "OPTIONS", "DELETE", "PATCH"])
_RID = re.compile(r"[A-Za-z0-9\-_.:+/=@]{1,128}")
_FORBIDDEN = {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade"}


@pytest.fixture(scope="module")
def fuzz_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """The standard app with CORS, trusted proxies and brotli on: every branch reachable."""
    settings = local(
        cors=news_http.CORSSettings(
            origins=("https://app.example",), origin_patterns=(r"https://[a-z]+\.example",)
        ),
        trusted_proxies=("127.0.0.0/8",),
        brotli=True,
        access_log=False,
    )
    with serve(settings=settings) as server:
        yield server


@pytest.fixture(scope="module")
def client(fuzz_server: ServerProcess) -> Iterator[httpx.Client]:
    """One keep-alive client for all examples."""
    with fuzz_server.client() as http:
        yield http


class TestHeaderFuzzing:
    @settings(
        max_examples=250,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(method=_METHODS, path=_PATHS, headers=_HEADERS)
    def test_no_header_combination_gives_a_500(
        self, client: httpx.Client, method: str, path: str, headers: list[tuple[str, str]]
    ) -> None:
        """Arbitrary request headers never produce a 5xx, and the id is always sound."""
        sent = [(name, value) for name, value in headers if name.lower() not in _FORBIDDEN]
        response = client.request(method, path, headers=sent)
        assert response.status_code < 500, response.text
        rid = response.headers["x-request-id"]
        assert _RID.fullmatch(rid)
        incoming = [v for n, v in sent if n.lower() == "x-request-id"]
        if len(incoming) == 1 and _RID.fullmatch(incoming[0]):
            assert rid == incoming[0]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["title", "author", "name", "email", "tags", "x"])
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=15,
)


class TestBodyFuzzing:
    @settings(
        max_examples=200,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(document=_JSON)
    def test_json_bodies_decode_to_201_400_or_422(
        self, client: httpx.Client, document: Any
    ) -> None:
        """Any JSON document posted to a Struct endpoint is 201, 400 or 422, never 500."""
        response = client.post(
            "/articles",
            content=json.dumps(document).encode(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code in (201, 400, 422), response.text
        if response.status_code == 422:
            assert response.json()["errors"]

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=st.binary(max_size=400))
    def test_arbitrary_bytes_never_give_a_500(self, client: httpx.Client, body: bytes) -> None:
        """Random bytes (not JSON, not UTF-8) are a 4xx problem."""
        response = client.post(
            "/articles", content=body, headers={"content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"] == "application/problem+json"
