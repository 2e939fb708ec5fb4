"""news_testing.http: real server processes for service tests."""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import news_http
import news_testing
from news_testing import AppStartError, WaitTimeoutError, free_port, serve_app, start_app

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing import ServerProcess

APPS = Path(__file__).parent.parent / "news_http"
OWN_APPS = Path(__file__).parent / "apps"
LOOPBACK = news_http.HTTPSettings(host="127.0.0.1")

pytestmark = pytest.mark.slow


class TestServeApp:
    def test_serves_logs_and_stops_cleanly(self) -> None:
        """serve_app starts the app, parses its JSON log lines and stops it with SIGTERM."""
        with serve_app(
            "news_http_test_apps:lifecycle_app", settings=LOOPBACK, pythonpath=[APPS]
        ) as server:
            assert server.url == f"http://127.0.0.1:{server.port}"
            assert server.port != news_http.HTTPSettings().port
            response = server.client().get("/pid", headers={"X-Request-ID": "helper-1"})
            assert response.status_code == 200
            line = server.wait_for_log(logger="news_http.access", request_id="helper-1")
            assert line["status"] == 200
            assert server.exit_code is None
        assert server.result is not None
        assert server.result.exit_code == 0
        assert server.result.signal == signal.SIGTERM
        assert server.find_logs(logger="news_http.server", msg="stopped")
        assert all(isinstance(text, str) for text in server.output)

    def test_a_factory_target_and_explicit_port(self) -> None:
        """A factory is called; an explicitly chosen port is kept."""
        port = free_port()
        settings = news_http.HTTPSettings(host="127.0.0.1", port=port)
        with serve_app(
            "news_http_test_apps:lifecycle", settings=settings, pythonpath=[APPS]
        ) as server:
            assert server.port == port
            assert server.client().get("/pid").status_code == 200

    def test_without_settings_the_apps_own_are_kept(self) -> None:
        """settings=None serves with the app's own settings, on loopback and a free port."""
        with serve_app(
            "news_http_test_apps:custom_settings", pythonpath=[APPS], log_level="warning"
        ) as server:
            assert server.port != 9999
            response = server.client().get("/", headers={"X-Trace-Token": "tok-1"})
            assert response.headers["x-trace-token"] == "tok-1"
            assert server.processes == 1
        assert server.settings is None

    def test_stop_reports_signal_exit_code_and_duration(self) -> None:
        """stop() sends the chosen signal and reports how the process ended."""
        server = start_app("news_http_test_apps:lifecycle", settings=LOOPBACK, pythonpath=[APPS])
        try:
            result = server.stop(signal.SIGINT, timeout=20)
        finally:
            server.kill()
        assert result.exit_code == 0
        assert result.signal == signal.SIGINT
        assert 0 <= result.duration_s < 5
        assert server.stop() is result  # stopping twice reports the same result
        assert "SIGINT" in repr(result)

    def test_wait_for_log_times_out_with_context(self) -> None:
        """wait_for_log raises WaitTimeoutError (a TimeoutError) showing the last lines."""
        with (
            serve_app(
                "news_http_test_apps:lifecycle", settings=LOOPBACK, pythonpath=[APPS]
            ) as server,
            pytest.raises(WaitTimeoutError, match="last lines") as info,
        ):
            server.wait_for_log(msg="this line never comes", within=0.3)
        assert isinstance(info.value, TimeoutError)
        assert isinstance(info.value, news_testing.NewsTestingError)


@pytest.fixture(scope="class")
def fields_server() -> Iterator[ServerProcess]:
    """news_testing_apps:app served once for a class of tests that only read its logs."""
    with serve_app("news_testing_apps:app", settings=LOOPBACK, pythonpath=[OWN_APPS]) as server:
        yield server


class TestWaitForLogFields:
    def test_a_field_named_count_or_timeout_is_matched(self, fields_server) -> None:
        """Keyword fields count= and timeout= match log fields, not the helper's options."""
        client = fields_server.client()
        client.post("/log", json={"event": "tally", "count": 1, "timeout": 5})
        client.post("/log", json={"event": "tally", "count": 3, "timeout": 5})
        line = fields_server.wait_for_log(event="tally", count=3, timeout=5)
        assert line["count"] == 3
        assert fields_server.find_logs(event="tally", count=1, timeout=5)[0]["count"] == 1

    def test_any_field_name_is_matched_through_a_dict(self, fields_server) -> None:
        """A positional dict matches fields named like the options (within, nth) too."""
        client = fields_server.client()
        client.post("/log", json={"event": "opts", "within": 1, "nth": 2})
        line = fields_server.wait_for_log({"event": "opts", "within": 1, "nth": 2}, within=10)
        assert line["nth"] == 2
        assert fields_server.find_logs({"within": 1}, event="opts") == [line]

    def test_nth_waits_for_that_many_and_returns_the_nth(self, fields_server) -> None:
        """nth=2 returns the second matching line; fewer than nth times out."""
        client = fields_server.client()
        for i in range(2):
            client.post("/log", json={"event": "numbered", "i": i})
        assert fields_server.wait_for_log(event="numbered", nth=2)["i"] == 1
        with pytest.raises(WaitTimeoutError, match="2 of 3 log line"):
            fields_server.wait_for_log(event="numbered", nth=3, within=0.3)

    def test_a_predicate_and_fields_combine(self, fields_server) -> None:
        """A positional predicate is applied with the keyword fields."""
        client = fields_server.client()
        client.post("/log", json={"event": "pred", "size": 7})
        line = fields_server.wait_for_log(lambda line: line["size"] > 5, event="pred")
        assert line["size"] == 7

    def test_a_missing_field_does_not_equal_none(self, fields_server) -> None:
        """A line without a field does not match field=None."""
        fields_server.client().post("/log", json={"event": "no-extra"})
        fields_server.wait_for_log(event="no-extra")
        assert fields_server.find_logs(event="no-extra", extra=None) == []


class TestServeAppEnv:
    def test_env_is_merged_over_the_parent_environment(self, monkeypatch) -> None:
        """The server inherits os.environ; env adds and overrides; None removes a variable."""
        monkeypatch.setenv("NEWS_TESTING_INHERITED", "from-parent")
        monkeypatch.setenv("NEWS_TESTING_OVERRIDDEN", "from-parent")
        monkeypatch.setenv("NEWS_TESTING_REMOVED", "from-parent")
        env = {
            "NEWS_TESTING_GIVEN": "given",
            "NEWS_TESTING_OVERRIDDEN": "given",
            "NEWS_TESTING_REMOVED": None,
        }
        with serve_app(
            "news_testing_apps:app", settings=LOOPBACK, pythonpath=[OWN_APPS], env=env
        ) as server:
            client = server.client()

            def value(name: str) -> str | None:
                got: str | None = client.get(f"/env/{name}").json()["data"]["value"]
                return got

            assert value("NEWS_TESTING_INHERITED") == "from-parent"
            assert value("NEWS_TESTING_GIVEN") == "given"
            assert value("NEWS_TESTING_OVERRIDDEN") == "given"
            assert value("NEWS_TESTING_REMOVED") is None


class TestStartFailures:
    def test_a_server_that_exits_raises_with_its_lines(self) -> None:
        """A process that dies while starting raises AppStartError with its last lines."""
        with pytest.raises(AppStartError, match="exited with code 3") as info:
            start_app("news_http_test_apps:failing_startup", settings=LOOPBACK, pythonpath=[APPS])
        assert "startup hook failed" in str(info.value)
        assert isinstance(info.value, RuntimeError)
        assert isinstance(info.value, news_testing.NewsTestingError)

    def test_a_bad_target_raises(self) -> None:
        """A target that is not an app fails clearly."""
        with pytest.raises(AppStartError, match="exited with code"):
            start_app("news_http_test_apps:Author", settings=LOOPBACK, pythonpath=[APPS])


class TestFixture:
    def test_http_server_fixture_starts_and_cleans_up(
        self, http_server: Callable[..., ServerProcess]
    ) -> None:
        """The http_server fixture starts apps; the plugin stops them after the test."""
        server = http_server("news_http_test_apps:lifecycle", settings=LOOPBACK, pythonpath=[APPS])
        assert server.client().get("/pid").json()["pid"] == server.process.pid


class TestFreePort:
    def test_free_port_can_be_bound(self) -> None:
        """free_port returns a port nothing listens on."""
        port = free_port()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))

    def test_free_ports_stay_out_of_the_ephemeral_range(self) -> None:
        """Picked ports lie below the kernel's ephemeral range, where outgoing connections land."""
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as fh:
            start = int(fh.read().split()[0])
        ports = {free_port() for _ in range(20)}
        assert all(1024 <= port < start for port in ports), sorted(ports)
        assert len(ports) > 1  # picked at random, not one fixed port for every caller
