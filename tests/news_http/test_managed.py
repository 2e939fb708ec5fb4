"""app.manage: resources start after the hooks and stop in reverse after the drain."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import news_http
from news_testing.http import start_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess

pytestmark = pytest.mark.slow

APPS_DIR = Path(__file__).parent
ORDER = ["store", "publisher", "search", "session", "consumer"]


def _events(server: ServerProcess) -> list[str]:
    """The lifecycle lines of the managed test app, in order: 'hook started', 'start store'..."""
    out = []
    for line in server.logs:
        if line.get("logger") != "testapp":
            continue
        if line["msg"] in ("hook started", "hook stopped"):
            out.append(line["msg"])
        elif line["msg"] in ("resource started", "resource stopped"):
            verb = "start" if line["msg"] == "resource started" else "stop"
            out.append(f"{verb} {line['resource']}")
    return out


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The app's folder for the store's flush file and the probe's ``down`` file."""
    return tmp_path


def _start(
    folder: Path,
    fail: str = "",
    app: str = "managed",
    env: dict[str, str] | None = None,
    **fields: Any,
) -> ServerProcess:
    settings = news_http.HTTPSettings(host="127.0.0.1", **fields)
    return start_app(
        f"news_http_test_apps:{app}",
        settings=settings,
        pythonpath=[APPS_DIR],
        env={"MANAGED_DIR": str(folder), "MANAGED_FAIL": fail, **(env or {})},
        wait=not fail.endswith(("start", "hang-start")),
    )


@pytest.fixture
def served(folder: Path) -> Iterator[ServerProcess]:
    """The managed test app, serving."""
    server = _start(folder)
    try:
        yield server
    finally:
        server.stop()


class TestOrder:
    """Resources start after the startup hooks and stop in reverse, before the shutdown hooks."""

    def test_start_and_stop_order(self, served: ServerProcess) -> None:
        """Start in registration order after the hooks; stop in reverse, then the hooks; exit 0."""
        assert _events(served) == ["hook started"] + [f"start {n}" for n in ORDER]
        result = served.stop()
        assert result.exit_code == 0, served.output[-20:]
        stops = [f"stop {n}" for n in reversed(ORDER)]
        assert _events(served)[len(ORDER) + 1 :] == [*stops, "hook stopped"]
        names = [line["resource"] for line in served.find_logs(msg="managed resource stopped")]
        # news-http's own lines name each resource: name=, else health_name, else the class
        assert names == ["consumer", "session", "search-cluster", "publisher", "journal"]

    def test_resources_stop_after_the_requests_in_flight(
        self, served: ServerProcess, folder: Path
    ) -> None:
        """Every item answered 201 while SIGTERM arrives is in the store's flush: nothing lost."""
        answers: list[httpx.Response] = []

        def post(n: int) -> None:
            with httpx.Client(base_url=served.url, timeout=30) as client:
                answers.append(client.post("/items", params={"delay": "0.8"}, content=f"i{n}"))

        threads = [threading.Thread(target=post, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        served.wait_for_log(logger="testapp", msg="item request", nth=len(threads))
        served.stop(signal.SIGTERM)
        for thread in threads:
            thread.join(30)
        accepted = [r for r in answers if r.status_code == 201]
        assert accepted, [r.status_code for r in answers]
        stored = (folder / "store.txt").read_text(encoding="utf-8").splitlines()
        assert len(stored) == len(accepted)
        assert served.result is not None
        assert served.result.exit_code == 0


class TestFailures:
    """A failing resource never leaves the others running, and the exit code says so."""

    @pytest.mark.parametrize("mode", ["start", "hang-start"])
    def test_a_failed_start_stops_the_started_ones(self, folder: Path, mode: str) -> None:
        """The consumer cannot start: the four started before it stop in reverse; exit 3."""
        server = _start(folder, f"consumer:{mode}", hook_timeout=1.0)
        try:
            code = server.process.wait(60)
        finally:
            server.kill()
        assert code == 3, server.output[-20:]
        server.wait_for_log(logger="testapp", msg="resource stopped", resource="store")
        stops = [e for e in _events(server) if e.startswith("stop")]
        assert stops == [f"stop {n}" for n in reversed(ORDER[:-1])]
        failed = server.find_logs(msg="startup hook failed; not serving")
        assert failed, server.output[-20:]
        assert failed[0]["hook"] == "consumer.start", failed

    @pytest.mark.parametrize("mode", ["stop", "hang"])
    def test_a_failed_stop_does_not_skip_the_others(self, folder: Path, mode: str) -> None:
        """The publisher's stop raises or hangs past hook_timeout: the rest still stop; exit 1."""
        server = _start(folder, f"publisher:{mode}", hook_timeout=1.0)
        result = server.stop()
        assert result.exit_code == 1
        events = _events(server)
        assert "stop store" in events, events
        assert "hook stopped" in events, events
        assert events.index("stop consumer") < events.index("stop store")
        failed = server.find_logs(msg="shutdown hook failed")
        assert [line["hook"] for line in failed] == ["publisher.stop"]


class TestStopTimeout:
    """A resource whose stop needs longer than hook_timeout gets its own bound, not cut short."""

    @pytest.mark.parametrize(
        ("fail", "env", "ok"),
        [
            ("publisher:slow", {}, False),  # 1.5 s stop, hook_timeout 1 s: cut, exit 1
            ("publisher:slow-declared", {}, True),  # its stop_timeout attribute (3 s)
            ("publisher:slow", {"MANAGED_STOP_TIMEOUT": "3"}, True),  # manage(stop_timeout=3)
        ],
    )
    def test_the_longer_bound_wins(
        self, folder: Path, fail: str, env: dict[str, str], ok: bool
    ) -> None:
        """A 1.5 s stop with hook_timeout=1: cut, unless the resource or manage() says 3 s."""
        server = _start(folder, fail, env=env, hook_timeout=1.0)
        result = server.stop()
        events = _events(server)
        assert ("stop publisher" in events) is ok, events
        assert "stop store" in events, events  # the next ones stop either way
        failed = [line["hook"] for line in server.find_logs(msg="shutdown hook failed")]
        assert failed == ([] if ok else ["publisher.stop"])
        assert result.exit_code == (0 if ok else 1)
        (drain,) = server.find_logs(msg="shutting down: draining in-flight requests")
        # the shutdown deadline counts the publisher's 3 s instead of hook_timeout's 1 s
        assert drain["hooks_budget_s"] == drain["shutdown_hooks"] * 1.0 + (2.0 if ok else 0.0)

    def test_kafka_clients_report_their_stop_bound(self) -> None:
        """news-kafka's Publisher and Consumer say how long their stop may take (> 10 s)."""
        import news_kafka

        async def handler(message: Any) -> None:
            del message

        settings = news_kafka.KafkaSettings(
            producer=news_kafka.ProducerSettings(close_timeout_ms=12_000),
            consumer=news_kafka.ConsumerSettings(stop_timeout_ms=20_000),
        )
        publisher = news_kafka.Publisher(settings)
        consumer = news_kafka.Consumer(settings, topics="t", group_id="g", handler=handler)
        assert 12.0 < publisher.stop_timeout <= 20.0
        assert 20.0 < consumer.stop_timeout <= 35.0
        defaults = news_kafka.KafkaSettings()
        assert news_kafka.Publisher(defaults).stop_timeout > news_http.HTTPSettings().hook_timeout

    @pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "5"])
    def test_a_bad_stop_timeout_is_refused(self, bad: Any) -> None:
        """stop_timeout must be a finite number of seconds > 0."""
        app = news_http.create_app(name="bad")
        with pytest.raises(news_http.HTTPConfigError, match="stop_timeout"):
            app.manage(_Resource(), stop_timeout=bad)


class TestReadiness:
    """A resource's health_check is a critical readiness check named after it."""

    def test_health_check_drives_readiness(self, served: ServerProcess, folder: Path) -> None:
        """Ready with the check's output; 503 naming it while it raises; ready again after."""
        client = served.client()
        body = client.get("/health/ready").json()
        assert body["checks"]["search-cluster"][0]["output"] == "3 nodes", body
        (folder / "down").touch()
        for _ in range(200):  # the registry caches a result for 2 s
            response = client.get("/health/ready")
            if response.status_code == 503:
                break
            time.sleep(0.05)
        assert response.status_code == 503
        check = response.json()["checks"]["search-cluster"][0]
        assert check["status"] == "fail"
        assert "unreachable" in check["output"]
        assert client.get("/health/live").status_code == 200


class TestWorkerWithoutRoutes:
    """A worker with no business routes still gets signals, metrics and probes from the app."""

    def test_probes_metrics_and_a_clean_stop(self, folder: Path) -> None:
        """/health/* and /metrics answer, other paths are problem+json 404s, SIGTERM exits 0."""
        server = _start(folder, app="worker_only")
        client = server.client()
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["status"] == "pass"
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "process_cpu_seconds_total" in metrics.text
        missing = client.get("/")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert server.stop().exit_code == 0
        assert _events(server) == ["start consumer", "stop consumer"]


class _Resource:
    async def start(self) -> None:
        """Start."""

    async def stop(self) -> None:
        """Stop."""


class _Checked(_Resource):
    async def health_check(self) -> None:
        """Pass."""


class TestRegistration:
    """manage() checks its argument and names the readiness check."""

    def test_returns_the_resource_and_lists_it(self) -> None:
        """manage() returns its argument; app.resources lists them in start order."""
        app = news_http.create_app(name="reg")
        first, second = _Resource(), _Resource()
        assert app.manage(first) is first
        app.manage(second, name="second")
        assert app.resources == (first, second)
        assert [h.__qualname__ for h in app.startup_hooks] == ["_resource.start", "second.start"]
        assert [h.__qualname__ for h in app.shutdown_hooks] == ["second.stop", "_resource.stop"]

    def test_check_names(self) -> None:
        """name=, else health_name, else the class name lowered; a clash names the fix."""
        app = news_http.create_app(name="reg")
        assert app.health is not None
        app.manage(_Checked())
        checked = _Checked()
        checked.health_name = "postgres"  # type: ignore[attr-defined]
        app.manage(checked)
        app.manage(_Checked(), name="replica")
        assert app.health.names("readiness")[-3:] == ["_checked", "postgres", "replica"]
        with pytest.raises(news_http.HTTPConfigError, match="name='_checked-2'"):
            app.manage(_Checked())
        assert len(app.resources) == 3

    @pytest.mark.parametrize("bad", [object(), "publisher", 42])
    def test_refuses_what_has_no_lifecycle(self, bad: Any) -> None:
        """Something without start/stop or __aenter__/__aexit__ is refused at once."""
        app = news_http.create_app(name="reg")
        with pytest.raises(news_http.HTTPConfigError, match="start\\(\\) and stop\\(\\)"):
            app.manage(bad)

    def test_refuses_twice_and_after_serving(self) -> None:
        """The same object twice, or a resource added once the app serves, is refused."""
        app = news_http.create_app(name="reg")
        resource = app.manage(_Resource())
        with pytest.raises(news_http.HTTPConfigError, match="twice"):
            app.manage(resource)
        app.finalize()
        with pytest.raises(news_http.HTTPConfigError, match="serving"):
            app.manage(_Resource())

    def test_kafka_clients_fit_the_protocol(self) -> None:
        """news-kafka's Publisher and Consumer are Resources by shape (no import either way)."""
        import news_kafka

        async def handler(message: Any) -> None:
            del message

        publisher = news_kafka.Publisher(news_kafka.KafkaSettings())
        consumer = news_kafka.Consumer(
            news_kafka.KafkaSettings(), topics="t", group_id="g", handler=handler
        )
        assert isinstance(publisher, news_http.Resource)
        assert isinstance(consumer, news_http.Resource)
        app = news_http.create_app(name="reg")
        app.manage(publisher)
        app.manage(consumer)
        assert app.resources == (publisher, consumer)
