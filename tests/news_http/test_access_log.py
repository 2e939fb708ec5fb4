"""The access log (one line per request) and the metrics hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess


@pytest.fixture(scope="module")
def proxied_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """Loopback is a trusted proxy; the metrics hook is on (it logs what it is told)."""
    settings = local(trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    with serve(settings=settings, env={"TESTAPP_METRICS": "1"}) as server:
        yield server


@pytest.fixture(scope="module")
def quiet_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """access_log=False."""
    with serve(settings=local(access_log=False)) as server:
        yield server


class TestAccessLine:
    def test_one_line_with_every_field(self, standard_server: ServerProcess) -> None:
        """Each request writes exactly one access line with the documented fields."""
        standard_server.client().get("/articles/7", headers={"X-Request-ID": "acc-1"})
        line = standard_server.wait_for_log(logger="news_http.access", request_id="acc-1")
        assert line["level"] == "info"
        assert line["msg"] == "request"
        assert line["method"] == "GET"
        assert line["route"] == "/articles/:article_id"
        assert line["path"] == "/articles/7"
        assert line["status"] == 200
        assert isinstance(line["duration_ms"], float)
        assert line["duration_ms"] >= 0
        assert line["bytes"] == len(b'{"data":{"id":7,"verbose":false}}')
        assert line["client_ip"] == "127.0.0.1"
        assert len(standard_server.find_logs(logger="news_http.access", request_id="acc-1")) == 1

    def test_x_forwarded_for_is_ignored_from_untrusted_peers(
        self, standard_server: ServerProcess
    ) -> None:
        """Without trusted proxies the peer address is the client (the header may be forged)."""
        standard_server.client().get(
            "/", headers={"X-Request-ID": "xff-untrusted", "X-Forwarded-For": "203.0.113.9"}
        )
        line = standard_server.wait_for_log(logger="news_http.access", request_id="xff-untrusted")
        assert line["client_ip"] == "127.0.0.1"

    @pytest.mark.parametrize(
        ("forwarded", "client"),
        [
            ("203.0.113.9", "203.0.113.9"),
            ("198.51.100.1, 203.0.113.9, 10.1.2.3", "203.0.113.9"),  # skip trusted hops
            ("10.0.0.1, 10.0.0.2", "10.0.0.1"),  # all trusted: the leftmost
            ("not-an-ip", "127.0.0.1"),  # garbage: the peer
        ],
    )
    def test_trusted_proxies_are_believed(
        self, proxied_server: ServerProcess, forwarded: str, client: str
    ) -> None:
        """From a trusted peer, X-Forwarded-For is read right to left past trusted hops."""
        rid = f"xff-{abs(hash(forwarded))}"
        proxied_server.client().get(
            "/", headers={"X-Request-ID": rid, "X-Forwarded-For": forwarded}
        )
        line = proxied_server.wait_for_log(logger="news_http.access", request_id=rid)
        assert line["client_ip"] == client

    def test_access_log_off(self, quiet_server: ServerProcess) -> None:
        """access_log=False writes no access lines, but requests still work."""
        client = quiet_server.client()
        assert client.get("/", headers={"X-Request-ID": "quiet-1"}).status_code == 200
        client.get("/context", headers={"X-Request-ID": "quiet-2"})
        quiet_server.wait_for_log(msg="inside handler", request_id="quiet-2")
        assert quiet_server.find_logs(logger="news_http.access") == []


class TestMetricsHook:
    def test_the_hook_sees_each_request(self, proxied_server: ServerProcess) -> None:
        """request_started/request_finished get method, route template, status, size, time."""
        proxied_server.client().get("/articles/9", headers={"X-Request-ID": "met-1"})
        started = proxied_server.wait_for_log(msg="metrics started", request_id="met-1")
        finished = proxied_server.wait_for_log(msg="metrics finished", request_id="met-1")
        assert started["method"] == "GET"
        assert started["route"] == "/articles/:article_id"
        assert finished["status"] == 404
        assert finished["response_bytes"] > 0
        assert 0 <= finished["duration_s"] < 5

    def test_unmatched_routes_use_one_label(self, proxied_server: ServerProcess) -> None:
        """Unknown paths are reported under one route label (no cardinality explosion)."""
        proxied_server.client().get("/random/abc123", headers={"X-Request-ID": "met-2"})
        finished = proxied_server.wait_for_log(msg="metrics finished", request_id="met-2")
        assert finished["route"] == "<unmatched>"


class TestFieldsBoundInsideTheRequest:
    """What middlewares and handlers bind (a guard's caller) reaches the access line."""

    @pytest.mark.parametrize("path", ["/tenant", "/async-tenant"])
    def test_the_access_line_carries_them(self, standard_server: ServerProcess, path: str) -> None:
        """Fields bound by a route middleware and the handler are on the access line."""
        rid = f"bound{path.replace('/', '-')}"
        response = standard_server.client().get(
            path, headers={"X-Request-ID": rid, "X-Tenant": "t-9"}
        )
        assert response.status_code == 200
        line = standard_server.wait_for_log(logger="news_http.access", request_id=rid)
        assert line["tenant"] == "t-9"
        assert line["article_id"] == (7 if path == "/tenant" else 8)

    def test_the_line_keeps_its_own_fields(self, standard_server: ServerProcess) -> None:
        """A field bound inside under an access-line name does not replace the line's own."""
        standard_server.client().get("/tenant", headers={"X-Request-ID": "bound-clash"})
        line = standard_server.wait_for_log(logger="news_http.access", request_id="bound-clash")
        assert (line["status"], line["route"], line["tenant"]) == (200, "/tenant", "none")
        inside = standard_server.wait_for_log(msg="tenant handler", request_id="bound-clash")
        assert (inside["status"], inside["route"]) == ("draft", "mine")

    @pytest.mark.parametrize("path", ["/tenant", "/async-tenant"])
    def test_error_lines_carry_them(self, standard_server: ServerProcess, path: str) -> None:
        """A handler's exception is logged with what was bound inside, and so is its 500 line."""
        rid = f"bound-fail{path.replace('/', '-')}"
        response = standard_server.client().get(
            path, params={"fail": "true"}, headers={"X-Request-ID": rid, "X-Tenant": "t-5"}
        )
        assert response.status_code == 500
        error = standard_server.wait_for_log(msg="unhandled exception in handler", request_id=rid)
        assert error["tenant"] == "t-5"
        access = standard_server.wait_for_log(logger="news_http.access", request_id=rid)
        assert (access["status"], access["tenant"]) == (500, "t-5")

    def test_other_requests_do_not_inherit_them(self, standard_server: ServerProcess) -> None:
        """The next requests on the same connection carry nothing bound by an earlier one."""
        client = standard_server.client()
        for n in range(3):
            client.get("/tenant", headers={"X-Request-ID": f"bound-first-{n}", "X-Tenant": "t"})
            client.get("/", headers={"X-Request-ID": f"bound-then-{n}"})
            client.get("/async", headers={"X-Request-ID": f"bound-then-async-{n}"})
        for n in range(3):
            for rid in (f"bound-then-{n}", f"bound-then-async-{n}"):
                line = standard_server.wait_for_log(logger="news_http.access", request_id=rid)
                assert "tenant" not in line
                assert "article_id" not in line
