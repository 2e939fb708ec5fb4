"""Metrics and health endpoints (the ``metrics`` and ``health`` extras) in real server processes."""

from __future__ import annotations

import pathlib
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families

import news_http

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing.http import ServerProcess

pytestmark = pytest.mark.slow

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
ENDPOINT_PATHS = ("/metrics", "/health/live", "/health/ready")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(client: httpx.Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _requests(samples: Samples, route: str, status: str) -> float:
    return _value(samples, "http_requests_total", method="GET", route=route, status=status)


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll until ``condition`` holds (a wait for an event, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {what}")
        time.sleep(0.05)


class _Call:
    """A GET made on its own thread and connection, so the test can act meanwhile."""

    def __init__(self, url: str, path: str, **params: Any) -> None:
        self.response: httpx.Response | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(url, path, params))
        self._thread.start()

    def _run(self, url: str, path: str, params: dict[str, Any]) -> None:
        try:
            self.response = httpx.get(url + path, params=params, timeout=30.0)
        except BaseException as exc:
            self.error = exc

    def result(self) -> httpx.Response:
        self._thread.join(30.0)
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


@pytest.fixture(scope="module")
def observed(
    serve: Callable[..., Any], local: Callable[..., news_http.HTTPSettings]
) -> Iterator[ServerProcess]:
    """The ``observed`` app (metrics and health on by default), one process, per module."""
    with serve("observed", local()) as server:
        yield server


class TestMetricsEndpoint:
    """GET /metrics: news-metrics' exposition of the app's request metrics."""

    def test_requests_are_counted_by_route_template_and_status(
        self, observed: ServerProcess
    ) -> None:
        """2xx/4xx/5xx and unmatched requests land under the route template, never the path."""
        client = observed.client()
        before = _scrape(client)
        for path in ("/items/1", "/items/2", "/items/150", "/boom", "/no/such/path"):
            client.get(path)
        after = _scrape(client)

        def delta(route: str, status: str) -> float:
            return _requests(after, route, status) - _requests(before, route, status)

        assert delta("/items/:item_id", "200") == 2
        assert delta("/items/:item_id", "404") == 1
        assert delta("/boom", "500") == 1
        assert delta(news_http.UNMATCHED_ROUTE, "404") == 1
        routes = {dict(labels).get("route") for _, labels in after}
        assert "/items/1" not in routes
        assert "/no/such/path" not in routes
        count = _value(
            after, "http_request_duration_seconds_count", method="GET", route="/items/:item_id"
        )
        assert count >= 3
        assert _value(after, "process_open_fds") > 0  # process metrics ride along

    def test_endpoints_are_not_counted_and_not_access_logged(self, observed: ServerProcess) -> None:
        """Scrapes and probes leave no request metrics and no access log lines."""
        client = observed.client()
        for _ in range(3):
            for path in ENDPOINT_PATHS:
                assert client.get(path).status_code == 200
        marker = client.get("/items/3")
        observed.wait_for_log(logger="news_http.access", request_id=marker.headers["x-request-id"])
        samples = _scrape(client)
        routes = {dict(labels).get("route") for _, labels in samples}
        assert routes.isdisjoint(ENDPOINT_PATHS)
        logged = {line.get("path") for line in observed.find_logs(logger="news_http.access")}
        assert logged.isdisjoint(ENDPOINT_PATHS)
        assert "/items/3" in logged

    def test_in_flight_gauge_follows_a_slow_request(self, observed: ServerProcess) -> None:
        """http_requests_in_flight is 1 while a request runs and 0 once it answered."""
        client = observed.client()

        def in_flight() -> float:
            return _value(_scrape(client), "http_requests_in_flight", method="GET", route="/slow")

        call = _Call(observed.url, "/slow", seconds=3)
        _wait_for(lambda: in_flight() == 1, "the slow request is in flight")
        assert call.result().status_code == 200
        assert in_flight() == 0

    def test_openmetrics_by_accept_negotiation(self, observed: ServerProcess) -> None:
        """Prometheus' Accept gets OpenMetrics; anything else the 0.0.4 text format."""
        client = observed.client()
        assert client.get("/items/4").status_code == 200  # the families exist from here on
        text = client.get("/metrics")
        assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE http_requests_total counter" in text.text
        openmetrics = client.get("/metrics", headers={"accept": OPENMETRICS})
        assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
        assert openmetrics.text.endswith("# EOF\n")
        assert "# TYPE http_requests counter" in openmetrics.text
        assert openmetrics.headers["cache-control"] == "no-store"

    def test_other_paths_and_gzip(
        self, serve: Callable[..., Any], local: Callable[..., news_http.HTTPSettings]
    ) -> None:
        """metrics_path moves the endpoint; large scrapes are gzipped for clients that ask."""
        settings = local(metrics_path="/internal/metrics", liveness_path="/livez")
        with serve("observed", settings) as server:
            client = server.client()
            assert client.get("/metrics").status_code == 404
            scrape = client.get("/internal/metrics", headers={"accept-encoding": "gzip"})
            assert scrape.status_code == 200
            assert scrape.headers["content-encoding"] == "gzip"
            assert "http_requests" in scrape.text or "process_" in scrape.text
            assert client.get("/livez").status_code == 200
            assert client.get("/health/ready").status_code == 200

    def test_off_serves_neither_endpoint(
        self, serve: Callable[..., Any], local: Callable[..., news_http.HTTPSettings]
    ) -> None:
        """metrics='off' and health='off': the paths are ordinary unmatched 404s."""
        with serve("observed", local(metrics="off", health="off")) as server:
            client = server.client()
            for path in ENDPOINT_PATHS:
                response = client.get(path)
                assert response.status_code == 404
                assert response.headers["content-type"] == "application/problem+json"
            assert client.get("/items/1").status_code == 200


class TestHealthEndpoints:
    """GET /health/live and /health/ready: app.health's reports as application/health+json."""

    def test_live_and_ready_pass_once_started(self, observed: ServerProcess) -> None:
        """Both probes answer 200 with draft health+json reports of the app's checks."""
        client = observed.client()
        live = client.get("/health/live")
        assert live.status_code == 200
        assert live.headers["content-type"] == "application/health+json"
        assert live.json()["status"] == "pass"
        assert "event_loop" in live.json()["checks"]
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["serviceId"] == "observed"
        assert body["checks"]["lifecycle"][0]["output"] == "started"
        assert body["checks"]["dependency"][0]["status"] == "pass"

    @pytest.mark.parametrize("processes", [1, 2])
    def test_failing_critical_check_makes_ready_503(
        self,
        serve: Callable[..., Any],
        local: Callable[..., news_http.HTTPSettings],
        processes: int,
    ) -> None:
        """A critical check added with app.health.add fails: ready 503, live still 200."""
        env = {"OBSERVED_DEPENDENCY_DOWN": "1"}
        with serve("observed", local(processes=processes), env=env) as server:
            client = server.client()
            ready = client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.headers["content-type"] == "application/health+json"
            body = ready.json()
            assert body["status"] == "fail"
            assert body["checks"]["dependency"][0]["status"] == "fail"
            assert "ConnectionError" in body["checks"]["dependency"][0]["output"]
            assert client.get("/health/live").status_code == 200
        assert server.result is not None
        assert server.result.exit_code == 0

    @pytest.mark.parametrize(
        ("processes", "shutdown_delay"), [(1, 0.0), (1, 3.0), (2, 0.0), (2, 3.0)]
    )
    def test_ready_503_on_sigterm_while_a_request_is_in_flight(
        self,
        serve: Callable[..., Any],
        local: Callable[..., news_http.HTTPSettings],
        processes: int,
        shutdown_delay: float,
    ) -> None:
        """SIGTERM: readiness fails at once, the slow request still gets 200, exit 0.

        The probe client's connection is opened before the signal. With a delay the server
        still serves it: readiness 503, liveness 200. Without one the listener stops accepting
        at once and the drain closes idle keep-alive connections, the probe's too: a probe
        then fails to connect, which a kubelet counts as a failed probe as well.
        """
        settings = local(processes=processes, shutdown_delay=shutdown_delay, shutdown_grace=10)
        with serve("observed", settings) as server:
            probe = server.client()
            assert probe.get("/health/ready").status_code == 200
            call = _Call(server.url, "/slow", seconds=4)
            server.wait_for_log(msg="slow request started")
            server.process.send_signal(signal.SIGTERM)
            statuses: list[int | str] = []

            def ready_fails() -> bool:
                try:
                    statuses.append(probe.get("/health/ready").status_code)
                except httpx.TransportError as exc:
                    statuses.append(type(exc).__name__)
                return statuses[-1] != 200

            _wait_for(ready_fails, "readiness fails after SIGTERM", timeout=10)
            assert call.response is None  # the slow request is still in flight
            if shutdown_delay > 0:
                assert statuses[-1] == 503
                report = probe.get("/health/ready").json()
                assert report["checks"]["lifecycle"][0]["output"] == "shutting down"
                assert probe.get("/health/live").status_code == 200
            assert call.result().status_code == 200
            result = server.stop(timeout=30)
        assert result.exit_code == 0


class TestMultiProcess:
    """processes > 1: every worker records into the multi-process folder; /metrics adds up."""

    def test_metrics_of_all_workers_add_up(
        self, serve: Callable[..., Any], local: Callable[..., news_http.HTTPSettings]
    ) -> None:
        """Requests served by both workers are all counted in any worker's scrape."""
        sent = 40
        with serve("observed", local(processes=2)) as server:
            pids = set()
            for index in range(sent):  # a new connection each: the kernel spreads them
                response = httpx.get(f"{server.url}/items/{index % 10}", timeout=30.0)
                assert response.status_code == 200
                pids.add(response.json()["pid"])
            assert len(pids) == 2
            client = server.client()

            def all_counted() -> bool:
                return _requests(_scrape(client), "/items/:item_id", "200") == sent

            _wait_for(all_counted, f"the scrape counts all {sent} requests")
            samples = _scrape(client)
            assert (
                _value(samples, "http_requests_in_flight", method="GET", route="/items/:item_id")
                == 0
            )
            assert client.get("/health/live").status_code == 200
            assert client.get("/health/ready").status_code == 200
            directory = server.find_logs(msg="multi-process metrics")[0]["directory"]
        assert server.result is not None
        assert server.result.exit_code == 0
        assert not pathlib.Path(directory).exists()  # the private folder is removed at the end


class TestSettings:
    """HTTPSettings' metrics and health fields: clear errors, optional extras."""

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"metrics_path": "metrics"}, "metrics_path must start with '/'"),
            ({"readiness_path": "/ready/"}, "readiness_path must be a plain path"),
            ({"liveness_path": "/live?x=1"}, "liveness_path must be a plain path"),
            ({"liveness_path": "/health/:probe"}, "liveness_path must be a fixed path"),
            ({"readiness_path": "/health/live"}, "readiness_path and liveness_path are both"),
            ({"metrics_path": "/health/ready"}, "readiness_path and metrics_path are both"),
        ],
    )
    def test_bad_paths_are_refused(self, fields: dict[str, str], message: str) -> None:
        """Paths must start with '/', be plain, fixed, and differ from each other."""
        with pytest.raises(news_http.HTTPConfigError, match=message.replace("?", r"\?")):
            news_http.HTTPSettings(**fields)

    def test_bad_path_from_the_environment_names_the_field(self) -> None:
        """Decoding (as news-config does) reports the same message as a ValidationError."""
        with pytest.raises(msgspec.ValidationError, match="metrics_path must start with"):
            msgspec.json.decode(b'{"metrics_path": "x"}', type=news_http.HTTPSettings)

    def test_shutdown_delay_cannot_be_negative(self) -> None:
        """shutdown_delay is seconds, >= 0."""
        with pytest.raises(msgspec.ValidationError, match="shutdown_delay"):
            msgspec.json.decode(b'{"shutdown_delay": -1}', type=news_http.HTTPSettings)

    def test_route_clashing_with_an_endpoint_is_refused(self) -> None:
        """A service route on metrics_path fails when the app starts serving, naming the field."""
        app = news_http.create_app(news_http.HTTPSettings(), name="clash")

        @app.get("/metrics")
        def mine() -> dict[str, bool]:
            return {"mine": True}

        with pytest.raises(news_http.HTTPConfigError, match=r"HTTPSettings\.metrics_path"):
            app.finalize()

    @pytest.mark.parametrize(
        ("module", "field"), [("news_metrics", "metrics"), ("news_health", "health")]
    )
    def test_on_without_the_extra_says_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch, module: str, field: str
    ) -> None:
        """'on' without the package: HTTPConfigError with the pip line; 'auto': simply off."""
        monkeypatch.setitem(sys.modules, module, None)  # import and find_spec see it missing
        with pytest.raises(news_http.HTTPConfigError, match=rf"news-http\[{field}\]"):
            news_http.create_app(news_http.HTTPSettings(**{field: "on"}), name="x")
        app = news_http.create_app(news_http.HTTPSettings(), name="x")
        if field == "metrics":
            assert not app.serves_metrics
            assert app.metrics is None
        else:
            assert app.health is None

    def test_defaults_use_news_metrics_and_news_health(self) -> None:
        """Auto with both installed: HTTPMetrics records requests, app.health is a registry."""
        import news_health
        import news_metrics

        app = news_http.create_app(name="defaults")
        assert isinstance(app.metrics, news_metrics.HTTPMetrics)
        assert isinstance(app.health, news_health.HealthRegistry)
        assert app.serves_metrics
        off = news_http.create_app(news_http.HTTPSettings(metrics="off", health="off"), name="x")
        assert off.metrics is None
        assert off.health is None
