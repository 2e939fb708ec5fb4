"""Shutdown in real processes: bounded, every hook runs, no success once the hooks start."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from news_testing.http import start_app

if TYPE_CHECKING:
    import news_http
    from news_testing.http import ServerProcess

pytestmark = pytest.mark.slow

APPS_DIR = Path(__file__).parent
GRACE = 1.0
HOOK_TIMEOUT = 1.0


def _serve(app: str, settings: news_http.HTTPSettings, **kw: Any) -> ServerProcess:
    return start_app(f"news_http_test_apps:{app}", settings=settings, pythonpath=[APPS_DIR], **kw)


def _bound(hooks: int, *, grace: float = GRACE, hook_timeout: float = HOOK_TIMEOUT) -> float:
    """The documented bound: shutdown_delay + shutdown_grace + hooks x hook_timeout + 5 s."""
    return grace + hooks * hook_timeout + 5.0


class TestShutdownIsBounded:
    @pytest.mark.parametrize(
        "stubborn",
        [
            ["cancelled"],
            ["ignores_cancel"],
            ["never_returns"],
            ["exits"],
            ["cancelled", "ignores_cancel", "never_returns", "exits"],
        ],
    )
    def test_misbehaving_hooks_do_not_stop_the_shutdown(
        self, local: Any, stubborn: list[str]
    ) -> None:
        """Hooks raising CancelledError/SystemExit or never ending: later hooks run, exit 1."""
        settings = local(shutdown_grace=GRACE, hook_timeout=HOOK_TIMEOUT)
        server = _serve("stubborn_shutdown", settings, env={"STUBBORN_HOOKS": ",".join(stubborn)})
        bound = _bound(len(stubborn) + 2)
        try:
            assert server.client().get("/pid").status_code == 200
            result = server.stop(signal.SIGTERM, timeout=bound + 30)
        finally:
            server.kill()
        assert result.exit_code == 1
        assert result.duration_s < bound
        failed = server.find_logs(logger="news_http.server", msg="shutdown hook failed")
        assert [line["hook"].rsplit(".", 1)[-1] for line in failed] == list(reversed(stubborn))
        reasons = {line["hook"].rsplit(".", 1)[-1]: line["reason"] for line in failed}
        if "cancelled" in reasons:
            assert reasons["cancelled"].startswith("CancelledError")
        if "ignores_cancel" in reasons:
            assert "did not stop when cancelled" not in reasons["ignores_cancel"]
            assert reasons["ignores_cancel"].endswith("ignored cancellation; left running")
        if "never_returns" in reasons:
            assert reasons["never_returns"].endswith("left running on its thread")
        if "exits" in reasons:
            assert reasons["exits"] == "SystemExit: 7"
        ran = [line["hook"] for line in server.find_logs(logger="stubborn", msg="shutdown")]
        assert ran == ["flush_journal", "last_hook"]
        stopped = server.find_logs(logger="news_http.server", msg="stopped")
        assert stopped[-1]["exit_code"] == 1

    def test_each_worker_is_bounded_with_several_processes(self, local: Any) -> None:
        """processes=2, hooks that never end: every worker runs its last hook; exit 1 in time."""
        stubborn = ["ignores_cancel", "never_returns"]
        settings = local(processes=2, shutdown_grace=GRACE, hook_timeout=HOOK_TIMEOUT)
        server = _serve("stubborn_shutdown", settings, env={"STUBBORN_HOOKS": ",".join(stubborn)})
        bound = _bound(len(stubborn) + 2)
        try:
            pids = {line["pid"] for line in server.find_logs(msg="serving")}
            result = server.stop(signal.SIGTERM, timeout=bound + 30)
        finally:
            server.kill()
        assert result.exit_code == 1
        assert result.duration_s < bound
        assert len(server.find_logs(logger="stubborn", msg="shutdown", hook="last_hook")) == 2
        assert len(server.find_logs(logger="stubborn", msg="shutdown", hook="flush_journal")) == 2
        exits = server.find_logs(logger="news_http.server", msg="worker exited")
        assert sorted(line["pid"] for line in exits) == sorted(pids)
        assert {line["exit_code"] for line in exits} == {1}

    def test_a_startup_hook_ignoring_cancellation_still_fails_the_start(self, local: Any) -> None:
        """A startup hook that swallows its cancellation: exit 3 after hook_timeout, no hang."""
        server = _serve("stubborn_startup", local(hook_timeout=HOOK_TIMEOUT), wait=False)
        try:
            code = server.process.wait(30)
            line = server.wait_for_log(msg="startup hook failed; not serving")
        finally:
            server.kill()
        assert code == 3
        assert line["hook"].endswith("connect_forever")
        assert line["reason"] == "took longer than 1 s; ignored cancellation; left running"

    def test_the_watchdog_ends_a_process_whose_loop_is_blocked(self, local: Any) -> None:
        """A hook that blocks the event loop: the watchdog exits 1 in time and says where."""
        settings = local(shutdown_grace=GRACE, hook_timeout=HOOK_TIMEOUT)
        server = _serve("stubborn_shutdown", settings, env={"STUBBORN_HOOKS": "blocks_loop"})
        bound = _bound(3)
        try:
            result = server.stop(signal.SIGTERM, timeout=bound + 30)
        finally:
            server.kill()
        assert result.exit_code == 1
        assert result.duration_s < bound
        line = server.wait_for_log(
            msg="shutdown deadline passed; exiting without finishing the shutdown"
        )
        assert line["level"] == "critical"
        assert line["phase"].endswith("blocks_loop")
        assert " in blocks_loop" in line["main_thread"]
        assert not server.find_logs(logger="stubborn", msg="shutdown", hook="last_hook")


class _Client(threading.Thread):
    """A keep-alive client POSTing in a loop until its connection fails or it is told to stop."""

    def __init__(self, url: str, path: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.path = path
        self.stop = stop
        self.answers: list[httpx.Response] = []
        self.failures: list[BaseException] = []
        self.requests = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            while not self.stop.is_set():
                self.requests += 1
                try:
                    self.answers.append(client.post(self.path))
                except httpx.TransportError as exc:
                    self.failures.append(exc)
                    return


def _load(server: ServerProcess, path: str, clients: int) -> tuple[list[_Client], threading.Event]:
    stop = threading.Event()
    started = [_Client(server.url, path, stop) for _ in range(clients)]
    for client in started:
        client.start()
    return started, stop


def _finish(clients: list[_Client], stop: threading.Event) -> list[httpx.Response]:
    stop.set()
    for client in clients:
        client.join(30)
    return [answer for client in clients for answer in client.answers]


class TestDrainClosesConnections:
    def test_keep_alive_clients_do_not_hold_the_drain_open(self, local: Any) -> None:
        """20 keep-alive clients: their connections close; drained well within the grace; exit 0."""
        grace = 8.0
        server = _serve("keep_alive_app", local(shutdown_grace=grace))
        try:
            clients, stop = _load(server, "/work", 20)
            server.wait_for_log(logger="news_http.access", nth=40)
            result = server.stop(signal.SIGTERM, timeout=grace + 30)
            answers = _finish(clients, stop)
        finally:
            server.kill()
        assert result.exit_code == 0
        assert result.duration_s < grace
        assert all(client.failures for client in clients)  # every connection was closed
        assert not [a for a in answers if a.status_code < 300 and a.json()["after_hooks"]]
        assert server.find_logs(logger="news_http.server", msg="stopped")[-1]["requests_reset"] == 0

    @pytest.mark.parametrize("path", ["/work?seconds=1.0", "/work-sync?seconds=1.0"])
    def test_no_success_once_the_hooks_started(self, local: Any, path: str) -> None:
        """Requests still running when the grace ends: reset or 503, never 2xx; counted."""
        server = _serve("keep_alive_app", local(shutdown_grace=0.3))
        try:
            clients, stop = _load(server, path, 4)
            time.sleep(0.5)  # every client has a request in flight
            result = server.stop(signal.SIGTERM, timeout=30)
            answers = _finish(clients, stop)
        finally:
            server.kill()
        assert result.exit_code == 1
        late = [a for a in answers if a.status_code < 300 and a.json()["after_hooks"]]
        assert not late, [a.json() for a in late]
        for answer in answers:
            assert answer.status_code in {200, 503}
        stopped = server.find_logs(logger="news_http.server", msg="stopped")[-1]
        assert stopped["requests_reset"] >= 1
        warning = server.find_logs(
            msg="connections closed before the shutdown hooks; requests in flight reset"
        )
        assert warning[0]["requests_reset"] == stopped["requests_reset"]
