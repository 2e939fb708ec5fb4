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
