"""Request id and trace context: generated, accepted, refused, echoed, bound into log lines."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest

import news_http

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _is_uuid4(value: str) -> bool:
    parsed = uuid.UUID(value)
    return parsed.version == 4 and str(parsed) == value


class TestGeneratedIds:
    def test_new_request_id_is_a_canonical_uuid4(self) -> None:
        """new_request_id() returns canonical, version-4, distinct UUID strings."""
        ids = {news_http.new_request_id() for _ in range(1000)}
        assert len(ids) == 1000
        assert all(_is_uuid4(value) for value in ids)

    def test_a_request_without_id_gets_a_fresh_uuid(self, standard_server: ServerProcess) -> None:
        """Without X-Request-ID the response carries a generated UUID4, new per request."""
        client = standard_server.client()
        first = client.get("/").headers["x-request-id"]
        second = client.get("/").headers["x-request-id"]
        assert _is_uuid4(first)
        assert _is_uuid4(second)
        assert first != second


class TestIncomingIds:
    @pytest.mark.parametrize(
        "incoming",
        [
            "abc-123",
            "01J9Z8K3M4N5P6Q7R8S9T0V1W2",
            "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            "Root=1-5f84c7a9+svc/edge:7@x_y.z",
            "a" * 128,
        ],
    )
    def test_a_well_formed_id_is_kept(self, standard_server: ServerProcess, incoming: str) -> None:
        """A well-formed incoming id (safe characters, <= 128) is echoed and used as is."""
        response = standard_server.client().get("/context", headers={"X-Request-ID": incoming})
        assert response.headers["x-request-id"] == incoming
        assert response.json()["request_id"] == incoming

    @pytest.mark.parametrize(
        "incoming",
        ["a" * 129, "has space", 'quote"d', "semi;colon", "new\tline", "<script>", "ümlaut", ""],
    )
    def test_a_malformed_id_is_replaced(
        self, standard_server: ServerProcess, incoming: str
    ) -> None:
        """A malformed incoming id is not echoed: a fresh UUID4 replaces it."""
        response = standard_server.client().get(
            "/context", headers=[("X-Request-ID", incoming.encode("utf-8"))]
        )
        rid = response.headers["x-request-id"]
        assert rid != incoming
        assert _is_uuid4(rid)
        assert response.json()["request_id"] == rid

    def test_the_header_name_is_case_insensitive(self, standard_server: ServerProcess) -> None:
        """x-request-id in any case is the same header."""
        response = standard_server.client().get("/", headers={"x-REQUEST-id": "lower-1"})
        assert response.headers["X-Request-ID"] == "lower-1"


class TestPropagation:
    def test_handler_and_access_lines_carry_the_id(self, standard_server: ServerProcess) -> None:
        """The handler's log line and the access line both carry the request's id."""
        standard_server.client().get("/context", headers={"X-Request-ID": "prop-sync-1"})
        handler_line = standard_server.wait_for_log(msg="inside handler", request_id="prop-sync-1")
        access_line = standard_server.wait_for_log(
            logger="news_http.access", request_id="prop-sync-1"
        )
        assert handler_line["logger"] == "testapp"
        assert access_line["route"] == "/context"

    def test_async_handlers_see_the_id(self, standard_server: ServerProcess) -> None:
        """An async handler runs inside the bound context too (across an await)."""
        response = standard_server.client().get(
            "/async-context", headers={"X-Request-ID": "prop-async-1"}
        )
        assert response.json() == {"request_id": "prop-async-1"}
        standard_server.wait_for_log(msg="inside async handler", request_id="prop-async-1")

    def test_traceparent_is_bound_when_valid(self, standard_server: ServerProcess) -> None:
        """A valid W3C traceparent (and tracestate) is bound for every line of the request."""
        response = standard_server.client().get(
            "/context",
            headers={
                "X-Request-ID": "trace-1",
                "traceparent": TRACEPARENT,
                "tracestate": "vendor=abc",
            },
        )
        assert response.json()["bound"] == {
            "request_id": "trace-1",
            "traceparent": TRACEPARENT,
            "tracestate": "vendor=abc",
        }
        line = standard_server.wait_for_log(logger="news_http.access", request_id="trace-1")
        assert line["traceparent"] == TRACEPARENT

    @pytest.mark.parametrize(
        "traceparent",
        [
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",  # zero trace id
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  # zero parent id
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  # forbidden version
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  # upper case
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",  # v00 + fields
            "garbage",
        ],
    )
    def test_an_invalid_traceparent_is_dropped(
        self, standard_server: ServerProcess, traceparent: str
    ) -> None:
        """An invalid traceparent is not bound (and a tracestate without one is ignored)."""
        response = standard_server.client().get(
            "/context", headers={"traceparent": traceparent, "tracestate": "vendor=abc"}
        )
        assert set(response.json()["bound"]) == {"request_id"}

    def test_a_future_traceparent_version_is_accepted(self, standard_server: ServerProcess) -> None:
        """A later version may append fields: its first 55 characters must still parse."""
        value = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-more"
        response = standard_server.client().get("/context", headers={"traceparent": value})
        assert response.json()["bound"]["traceparent"] == value

    @pytest.mark.parametrize(("length", "kept"), [(512, True), (513, False)])
    def test_a_future_traceparent_is_at_most_512_characters(
        self, standard_server: ServerProcess, length: int, kept: bool
    ) -> None:
        """A later version's traceparent is accepted up to 512 characters, no longer."""
        value = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-"
        value += "f" * (length - len(value))
        response = standard_server.client().get("/context", headers={"traceparent": value})
        assert ("traceparent" in response.json()["bound"]) is kept

    @pytest.mark.parametrize(("length", "kept"), [(512, True), (513, False)])
    def test_tracestate_is_bound_up_to_512_characters(
        self, standard_server: ServerProcess, length: int, kept: bool
    ) -> None:
        """Tracestate is bound next to a valid traceparent when it is 1-512 printable characters."""
        tracestate = "v=" + "a" * (length - 2)
        response = standard_server.client().get(
            "/context", headers={"traceparent": TRACEPARENT, "tracestate": tracestate}
        )
        bound = response.json()["bound"]
        assert bound["traceparent"] == TRACEPARENT
        assert (bound.get("tracestate") == tracestate) is kept
        assert ("tracestate" in bound) is kept


class TestCurrentRequestId:
    def test_outside_a_request_there_is_no_id(self) -> None:
        """current_request_id() is None outside a request, and for a non-string bound id."""
        import news_log

        assert news_http.current_request_id() is None
        with news_log.bind(request_id=42):
            assert news_http.current_request_id() is None
        with news_log.bind(request_id="r-7"):
            assert news_http.current_request_id() == "r-7"


@pytest.fixture(scope="class")
def correlation_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """The standard app with the id in X-Correlation-ID."""
    with serve(settings=local(request_id_header="X-Correlation-ID")) as server:
        yield server


class TestCustomHeader:
    def test_the_configured_header_carries_the_id(self, correlation_server: ServerProcess) -> None:
        """request_id_header renames the header both ways; X-Request-ID is then ignored."""
        client = correlation_server.client()
        response = client.get("/context", headers={"X-Correlation-ID": "corr-1"})
        assert response.headers["x-correlation-id"] == "corr-1"
        assert "x-request-id" not in response.headers
        other = client.get("/context", headers={"X-Request-ID": "ignored"})
        assert other.json()["request_id"] != "ignored"
        assert re.fullmatch(r"[0-9a-f-]{36}", other.headers["x-correlation-id"])
