"""Lifecycle in real processes: graceful SIGTERM/SIGINT, hooks, multi-process, start failures."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import news_http
from news_testing.http import start_app

if TYPE_CHECKING:
    from news_testing.http import ServerProcess

pytestmark = pytest.mark.slow

GRACE = 8.0


class _Call:
    """A request made on a thread, so the test can signal the server meanwhile."""

    def __init__(self, server: ServerProcess, path: str, **params: Any) -> None:
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(server.url, path, params))
        self._thread.start()

    def _run(self, url: str, path: str, params: dict[str, Any]) -> None:
        try:
            with httpx.Client(base_url=url, timeout=30.0) as client:
                self.response = client.get(path, params=params)
        except BaseException as exc:
            self.error = exc

    def result(self) -> httpx.Response:
        self._thread.join(30.0)
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


def _hook_order(server: ServerProcess, msg: str, pid: int | None = None) -> list[str]:
    return [
        line["hook"]
        for line in server.find_logs(logger="lifecycle", msg=msg)
        if pid is None or line["pid"] == pid
    ]


def _serve(app: str, apps_dir: Any, settings: news_http.HTTPSettings, **kw: Any) -> ServerProcess:
    return start_app(f"news_http_test_apps:{app}", settings=settings, pythonpath=[apps_dir], **kw)


@pytest.fixture
def apps_dir() -> Any:
    """The folder of news_http_test_apps."""
    from pathlib import Path

    return Path(__file__).parent


class TestGracefulShutdown:
    @pytest.mark.parametrize(
        ("sig", "path"),
        [
            (signal.SIGTERM, "/slow"),
            (signal.SIGINT, "/slow"),
            (signal.SIGTERM, "/slow-sync"),
        ],
    )
    def test_in_flight_request_finishes_then_hooks_run(
        self, apps_dir: Any, local: Any, sig: int, path: str
    ) -> None:
        """A signal mid-request: the request completes with 200, hooks run reversed, exit 0."""
        server = _serve("lifecycle", apps_dir, local(shutdown_grace=GRACE))
        try:
            assert _hook_order(server, "startup") == ["open_pool", "open_publisher"]
            call = _Call(server, path, seconds=1.5)
            server.wait_for_log(msg="slow request started")
            result = server.stop(sig, timeout=GRACE + 10)
            response = call.result()
        finally:
            server.kill()
        assert response.status_code == 200
        assert response.json()["slept"] == 1.5
        assert result.exit_code == 0
        assert 1.0 < result.duration_s < GRACE
        assert _hook_order(server, "shutdown") == ["close_publisher", "close_pool"]
        stopped = server.find_logs(logger="news_http.server", msg="stopped")
        assert stopped[-1]["exit_code"] == 0
        drain = server.find_logs(msg="shutting down: draining in-flight requests")
        assert drain[0]["in_flight"] == 1
        assert drain[0]["signal"] == signal.Signals(sig).name

    def test_new_connections_are_not_served_while_draining(self, apps_dir: Any, local: Any) -> None:
        """After the signal, a new connection gets no response; the old request does."""
        server = _serve("lifecycle", apps_dir, local(shutdown_grace=GRACE))
        try:
            call = _Call(server, "/slow", seconds=1.5)
            server.wait_for_log(msg="slow request started")
            server.process.send_signal(signal.SIGTERM)
            server.wait_for_log(msg="shutting down: draining in-flight requests")
            with pytest.raises(httpx.TransportError), httpx.Client(timeout=5.0) as late:
                late.get(f"{server.url}/pid")
            assert call.result().status_code == 200
            result = server.stop(timeout=GRACE)
        finally:
            server.kill()
        assert result.exit_code == 0

    def test_idle_server_stops_at_once(self, apps_dir: Any, local: Any) -> None:
        """Without requests in flight, SIGTERM stops the server well within a second."""
        server = _serve("lifecycle", apps_dir, local(shutdown_grace=GRACE))
        try:
            assert server.client().get("/pid").status_code == 200
            result = server.stop(signal.SIGTERM, timeout=GRACE)
        finally:
            server.kill()
        assert result.exit_code == 0
        assert result.duration_s < 1.0
        assert _hook_order(server, "shutdown") == ["close_publisher", "close_pool"]

    def test_grace_period_runs_out(self, apps_dir: Any, local: Any) -> None:
        """A request longer than the grace period is cut off; hooks still run; exit code 1."""
        server = _serve("lifecycle", apps_dir, local(shutdown_grace=0.5))
        try:
            call = _Call(server, "/slow", seconds=5)
            server.wait_for_log(msg="slow request started")
            result = server.stop(signal.SIGTERM, timeout=10)
            with pytest.raises(httpx.TransportError):
                call.result()
        finally:
            server.kill()
        assert result.exit_code == 1
        assert result.duration_s < 3.0
        assert _hook_order(server, "shutdown") == ["close_publisher", "close_pool"]
        server.wait_for_log(msg="grace period over; shutting down with requests in flight")

    def test_a_second_sigint_exits_at_once(self, apps_dir: Any, local: Any) -> None:
        """Ctrl-C twice: the second one does not wait for the drain."""
        server = _serve("lifecycle", apps_dir, local(shutdown_grace=GRACE))
        try:
            call = _Call(server, "/slow", seconds=5)
            server.wait_for_log(msg="slow request started")
            server.process.send_signal(signal.SIGINT)
            server.wait_for_log(msg="shutting down: draining in-flight requests")
            result = server.stop(signal.SIGINT, timeout=5)
            with pytest.raises(httpx.TransportError):
                call.result()
        finally:
            server.kill()
        assert result.exit_code == 1
        assert result.duration_s < 2.0

    def test_logs_stay_json_only(self, apps_dir: Any, local: Any) -> None:
        """news-log stays in charge: Robyn's basicConfig adds no plain-text handler."""
        server = _serve("lifecycle", apps_dir, local())
        try:
            server.client().get("/pid")
            server.stop()
        finally:
            server.kill()
        assert server.output
        for text in server.output:
            assert isinstance(json.loads(text), dict), text


class TestMultiProcess:
    def test_each_worker_drains_and_runs_its_hooks(self, apps_dir: Any, local: Any) -> None:
        """processes=2: hooks once per worker; SIGTERM drains each worker; exit 0."""
        server = _serve("lifecycle", apps_dir, local(processes=2, shutdown_grace=GRACE))
        try:
            serving = server.find_logs(logger="news_http.server", msg="serving")
            pids = {line["pid"] for line in serving}
            assert len(pids) == 2
            assert server.process.pid not in pids
            for pid in pids:
                assert _hook_order(server, "startup", pid) == ["open_pool", "open_publisher"]
            call = _Call(server, "/slow", seconds=1.5)
            started = server.wait_for_log(msg="slow request started")
            result = server.stop(signal.SIGTERM, timeout=GRACE + 10)
            response = call.result()
        finally:
            server.kill()
        assert response.status_code == 200
        assert response.json()["pid"] == started["pid"]
        assert result.exit_code == 0
        assert 1.0 < result.duration_s < GRACE
        for pid in pids:
            assert _hook_order(server, "shutdown", pid) == ["close_publisher", "close_pool"]
        exits = server.find_logs(logger="news_http.server", msg="worker exited")
        assert sorted(line["pid"] for line in exits) == sorted(pids)
        assert all(line["exit_code"] == 0 for line in exits)

    def test_requests_are_served_by_both_workers(self, apps_dir: Any, local: Any) -> None:
        """Both workers accept on the shared port."""
        server = _serve("lifecycle", apps_dir, local(processes=2, workers=1))
        try:
            seen: set[int] = set()
            deadline = time.monotonic() + 10
            while len(seen) < 2 and time.monotonic() < deadline:
                with httpx.Client(base_url=server.url) as client:  # a new connection each time
                    seen.add(client.get("/pid").json()["pid"])
            result = server.stop()
        finally:
            server.kill()
        assert len(seen) == 2
        assert result.exit_code == 0


class TestStartupFailures:
    def test_a_failing_startup_hook_exits_non_zero(self, apps_dir: Any, local: Any) -> None:
        """A startup hook that raises: clear critical line, no serving, exit code 3."""
        server = _serve("failing_startup", apps_dir, local(), wait=False)
        try:
            code = server.process.wait(20)
            server.wait_for_log(msg="startup hook failed; not serving")
        finally:
            server.kill()
        assert code == 3
        line = server.find_logs(msg="startup hook failed; not serving")[0]
        assert line["level"] == "critical"
        assert line["hook"].endswith("connect_database")
        assert "ConnectionRefusedError: database at db:5432" in line["reason"]
        assert server.find_logs(logger="failing", msg="startup")  # the first hook ran
        assert not server.find_logs(msg="serving")
        assert not server.find_logs(msg="shutdown ran")

    def test_a_failing_worker_stops_the_supervisor(self, apps_dir: Any, local: Any) -> None:
        """processes=2 with a failing hook: the supervisor stops and exits non-zero."""
        server = _serve("failing_startup", apps_dir, local(processes=2), wait=False)
        try:
            code = server.process.wait(30)
        finally:
            server.kill()
        assert code == 3
        assert server.find_logs(msg="worker exited unexpectedly")

    def test_a_stuck_startup_hook_times_out(self, apps_dir: Any, local: Any) -> None:
        """An async startup hook that overruns hook_timeout fails the same way."""
        server = _serve("slow_startup", apps_dir, local(hook_timeout=0.5), wait=False)
        try:
            code = server.process.wait(20)
            line = server.wait_for_log(msg="startup hook failed; not serving")
        finally:
            server.kill()
        assert code == 3
        assert line["reason"] == "took longer than 0.5 s"


class TestBusyPort:
    @pytest.mark.timeout(60)  # a regression would serve forever in the test process
    def test_run_refuses_a_busy_port(self, local: Any) -> None:
        """run() raises PortInUseError before starting anything (no prompt, no sharing)."""
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            app = news_http.create_app(local(port=port), name="busy")
            with pytest.raises(news_http.PortInUseError, match=f"port {port}"):
                news_http.run(app)

    def test_a_second_server_on_the_same_port_fails_clearly(
        self, apps_dir: Any, local: Any
    ) -> None:
        """Robyn binds with SO_REUSEPORT; news-http refuses instead of sharing the port."""
        first = _serve("lifecycle", apps_dir, local())
        try:
            second = _serve("lifecycle", apps_dir, local(port=first.port), wait=False)
            try:
                code = second.process.wait(20)
                line = second.wait_for_log(msg="cannot start the server")
            finally:
                second.kill()
            assert code != 0
            assert "already in use" in line["error"]
            assert first.client().get("/pid").status_code == 200
        finally:
            first.stop()
            first.kill()

    @pytest.mark.timeout(60)
    def test_a_host_name_is_refused(self, local: Any) -> None:
        """Host must be an IP address (Robyn's socket cannot resolve names)."""
        app = news_http.create_app(local(host="localhost", port=8999), name="named")
        with pytest.raises(news_http.HTTPConfigError, match="IP address"):
            news_http.run(app)
