"""news_http._robyn: Robyn's internals are version-checked; each fast path equals the slow one."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import news_http
from news_http import _robyn
from news_testing.http import start_app

if TYPE_CHECKING:
    from news_testing.http import ServerProcess

APPS_DIR = Path(__file__).parent
SLOW = {_robyn.NO_FAST_PATHS_ENV: "1"}
VOLATILE = {"date"}


def _serve(app: str, settings: news_http.HTTPSettings, env: dict[str, str]) -> ServerProcess:
    target = f"news_http_test_apps:{app}"
    return start_app(target, settings=settings, pythonpath=[APPS_DIR], env=env)


class TestVersionCheck:
    def test_the_installed_robyn_is_the_tested_one(self) -> None:
        """The suite runs against a Robyn inside the tested range, so the fast paths are on."""
        low, high = _robyn.TESTED
        assert low <= _robyn.installed_version()[:2] < high
        assert _robyn.off_reason(environ={}) is None

    def test_another_robyn_turns_the_fast_paths_off(self) -> None:
        """A Robyn outside the tested range: fast paths off, with the reason."""
        reason = _robyn.off_reason(environ={}, version=(0, 89, 1))
        assert reason == "robyn 0.89.1 is outside the tested range >=0.88,<0.89"

    @pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
    def test_the_environment_variable_turns_them_off(self, value: str) -> None:
        """NEWS_HTTP_NO_FAST_PATHS=1 (or true/yes/on) turns the fast paths off."""
        reason = _robyn.off_reason(environ={_robyn.NO_FAST_PATHS_ENV: value})
        assert reason == "NEWS_HTTP_NO_FAST_PATHS is set"
        assert _robyn.off_reason(environ={_robyn.NO_FAST_PATHS_ENV: "0"}) is None


# Every kind of route the chain registers: (method, path, JSON body or None, headers).
KINDS: list[tuple[str, str, Any, dict[str, str]]] = [
    ("GET", "/", None, {}),
    ("HEAD", "/", None, {}),
    ("GET", "/async", None, {}),
    ("GET", "/articles/7?verbose=true", None, {}),
    ("GET", "/articles/abc", None, {}),
    ("POST", "/articles", {"title": "T", "author": {"name": "A", "email": "e"}}, {}),
    ("POST", "/articles", {"title": 1}, {}),
    ("POST", "/articles", None, {"content-type": "text/plain"}),
    ("PUT", "/articles/3", {"title": "T", "author": {"name": "A", "email": "e"}}, {}),
    ("GET", "/search?q=news&tags=a&tags=b", None, {}),
    ("GET", "/search", None, {}),
    ("GET", "/static/css/site.css", None, {}),
    ("GET", "/users/u1/posts/2", None, {}),
    ("GET", "/async-boom", None, {}),
    ("GET", "/conflict", None, {}),
    ("GET", "/empty", None, {}),
    ("GET", "/big-text", None, {"accept-encoding": "gzip"}),
    ("GET", "/robyn-response", None, {}),
    ("GET", "/secure", None, {"x-api-key": "letmein"}),
    ("DELETE", "/guarded/4", None, {"x-api-key": "letmein"}),
    ("POST", "/status-created", None, {}),
    ("GET", "/no/such/path", None, {}),
    ("DELETE", "/articles", None, {}),
    ("OPTIONS", "/custom-options", None, {}),
    ("GET", "/openapi.json", None, {}),
]


def _answers(server: ServerProcess) -> list[tuple[Any, ...]]:
    client = server.client(headers={"x-request-id": "same-id"})
    out = []
    for method, path, body, headers in KINDS:
        content = b"x" if body is None and "content-type" in headers else None
        r = client.request(method, path, json=body, content=content, headers=headers)
        headers_seen = sorted(set(r.headers.items()) - _volatile(r))
        out.append((method, path, r.status_code, r.content, headers_seen))
    return out


class TestConfig:
    def test_the_services_arguments_are_hidden_from_robyn(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Robyn's Config() parses sys.argv: a service's own arguments neither fail nor leak."""
        argv = ["articles.py", "--region", "eu", "--dev", "--processes", "9"]
        monkeypatch.setattr(sys, "argv", list(argv))
        config = _robyn.make_config(processes=2, workers=3, docs=False)
        assert sys.argv == argv
        assert (config.processes, config.workers, config.dev) == (2, 3, False)
        assert config.disable_openapi

    def test_a_service_with_its_own_arguments_can_import_and_create(self) -> None:
        """Importing Robyn (through news_http) does not parse the service's command line."""
        import subprocess

        script = (
            "import sys\n"
            "sys.argv = ['svc.py', '--dev', '--processes', '9', '--region', 'eu']\n"
            "import news_http\n"
            "news_http.create_app(name='svc')\n"
            "assert sys.argv[1:3] == ['--dev', '--processes']\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
class TestFastEqualsSlow:
    def test_every_kind_of_route_answers_the_same(self, local: Any) -> None:
        """Routes registered positionally and through Robyn's Router.add_route answer alike."""
        answers = []
        for env in ({}, SLOW):
            server = _serve("standard", local(docs=True), env)
            try:
                answers.append(_answers(server))
                server.stop()
            finally:
                server.kill()
        assert answers[0] == answers[1]
        assert {a[2] for a in answers[0]} >= {200, 201, 204, 404, 405, 409, 415, 422, 500}

    def test_responses_are_the_same(self, local: Any) -> None:
        """The full stack answers the same with the fast paths off; one line says they are off."""
        answers = []
        for env in ({}, SLOW):
            server = _serve("standard", local(), env)
            try:
                client = server.client(headers={"x-request-id": "same-id"})
                answers.append(
                    [
                        (r.status_code, r.content, sorted(set(r.headers.items()) - _volatile(r)))
                        for r in (client.get("/"), client.get("/async"), client.get("/boom"))
                    ]
                )
                server.stop()
            finally:
                server.kill()
            off = server.find_logs(msg="news-http fast paths off; using Robyn's public behaviour")
            expected = ["NEWS_HTTP_NO_FAST_PATHS is set"] if env else []
            assert [line["reason"] for line in off] == expected
        assert answers[0] == answers[1]

    def test_kept_thread_state_is_the_only_difference(self, local: Any) -> None:
        """Thread-locals of sync handlers persist with the fast path, start afresh without it."""
        counts = {}
        for name, env in (("fast", {}), ("slow", SLOW)):
            server = _serve("standard", local(), env)
            try:
                client = server.client()
                counts[name] = [client.get("/thread-calls").json()["calls"] for _ in range(30)]
                server.stop()
            finally:
                server.kill()
        assert max(counts["fast"]) > 1
        assert set(counts["slow"]) == {1}

    def test_async_routes_keep_the_thread_state_too(self, local: Any) -> None:
        """An async route's entry keeps Robyn's thread state (fast path); not without it."""
        kept = {}
        for name, env in (("fast", {}), ("slow", SLOW)):
            server = _serve("async_only", local(), env)
            try:
                client = server.client()
                kept[name] = [client.get("/kept").json()["kept"] for _ in range(3)]
                server.stop()
            finally:
                server.kill()
        assert kept == {"fast": [1, 1, 1], "slow": [0, 0, 0]}

    @pytest.mark.parametrize("fast", [True, False])
    def test_sigterm_drains_either_way(self, local: Any, fast: bool) -> None:
        """SIGTERM mid-request: 200, exit 0, with the signal guard or with actix's handlers."""
        server = _serve("signals_app", local(shutdown_grace=8.0), {} if fast else SLOW)
        try:
            result: dict[str, Any] = {}

            def call() -> None:
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    result["response"] = client.get("/slow", params={"seconds": 1.0})

            caller = threading.Thread(target=call)
            caller.start()
            server.wait_for_log(msg="slow request started")
            stopped = server.stop(signal.SIGTERM, timeout=30)
            caller.join(30)
        finally:
            server.kill()
        assert result["response"].status_code == 200
        assert stopped.exit_code == 0

    def test_the_signal_guard_restores_pythons_handlers(self, local: Any) -> None:
        """Fast path: SIGTERM/SIGINT go to Python's handler again; slow path: actix keeps them."""
        seen = {}
        for name, env in (("fast", {}), ("slow", SLOW)):
            server = _serve("signals_app", local(), env)
            try:
                client = server.client()
                deadline = time.monotonic() + 10
                while True:
                    handlers = client.get("/sigaction").json()
                    if all(handlers.values()) or time.monotonic() > deadline or name == "slow":
                        break
                    time.sleep(0.05)
                seen[name] = handlers
                server.stop()
            finally:
                server.kill()
        assert seen["fast"] == {"SIGTERM": True, "SIGINT": True}
        assert seen["slow"] == {"SIGTERM": False, "SIGINT": False}


def _volatile(response: httpx.Response) -> set[tuple[str, str]]:
    return {(k, v) for k, v in response.headers.items() if k in VOLATILE}


class TestPlatform:
    def test_run_refuses_other_platforms(self, local: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """On anything but Linux, run() fails at once with a clear message."""
        app = news_http.create_app(local(port=8999), name="elsewhere")
        monkeypatch.setattr(sys, "platform", "darwin")
        with pytest.raises(news_http.ServerStartError, match="Linux only"):
            news_http.run(app)

    def test_pyproject_declares_linux(self) -> None:
        """The distribution says which platform it supports."""
        root = Path(__file__).parents[2]
        text = (root / "packages/news-http/pyproject.toml").read_text()
        assert '"Operating System :: POSIX :: Linux"' in text
