"""news_testing.http: real server processes for service tests."""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import news_http
from news_testing.http import ServerStartError, free_port, serve_app, start_app

if TYPE_CHECKING:
    from collections.abc import Callable

    from news_testing.http import ServerProcess

APPS = Path(__file__).parent.parent / "news_http"
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
        """wait_for_log raises TimeoutError showing the last lines."""
        with (
            serve_app(
                "news_http_test_apps:lifecycle", settings=LOOPBACK, pythonpath=[APPS]
            ) as server,
            pytest.raises(TimeoutError, match="last lines"),
        ):
            server.wait_for_log(msg="this line never comes", timeout=0.3)


class TestStartFailures:
    def test_a_server_that_exits_raises_with_its_lines(self) -> None:
        """A process that dies while starting raises ServerStartError with its last lines."""
        with pytest.raises(ServerStartError, match="exited with code 3") as info:
            start_app("news_http_test_apps:failing_startup", settings=LOOPBACK, pythonpath=[APPS])
        assert "startup hook failed" in str(info.value)

    def test_a_bad_target_raises(self) -> None:
        """A target that is not an app fails clearly."""
        with pytest.raises(ServerStartError, match="exited with code"):
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
