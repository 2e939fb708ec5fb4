"""HTTPSettings.internal_port: metrics and probes on their own port, not on the public one."""

from __future__ import annotations

import signal
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import news_http
from news_testing.http import free_port, start_app

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing.http import ServerProcess

pytestmark = pytest.mark.slow
PATHS = ("/metrics", "/health/live", "/health/ready")


@pytest.fixture
def internal() -> int:
    """A free port for the internal listener."""
    return free_port()


@pytest.fixture
def observed_internal(
    serve: Callable[..., Any], local: Callable[..., news_http.HTTPSettings], internal: int
) -> Iterator[ServerProcess]:
    """The observed app (metrics and health on) with its endpoints on the internal port."""
    with serve("observed", local(internal_port=internal, internal_host="127.0.0.1")) as server:
        yield server


def _internal_client(port: int) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)


class TestSeparatePort:
    """With internal_port set, /metrics and the probes move off the public port."""

    def test_not_on_the_public_port(self, observed_internal: ServerProcess) -> None:
        """The public port answers 404 problems for the three paths."""
        client = observed_internal.client()
        for path in PATHS:
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"
        assert client.get("/items/1").status_code == 200

    def test_on_the_internal_port(self, observed_internal: ServerProcess, internal: int) -> None:
        """The internal port serves the exposition (counting public requests) and the probes."""
        observed_internal.client().get("/items/5")
        with _internal_client(internal) as client:
            metrics = client.get("/metrics")
            assert metrics.status_code == 200
            assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
            series = 'http_requests_total{method="GET",route="/items/:item_id",status="200"}'
            assert series in metrics.text
            openmetrics = client.get(
                "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
            )
            assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
            for path in ("/health/live", "/health/ready"):
                response = client.get(path)
                assert response.status_code == 200, response.text
                assert response.headers["content-type"] == "application/health+json"
                assert response.headers["cache-control"] == "no-store"
            head = client.head("/health/ready")
            assert head.status_code == 200
            assert head.content == b""
            assert client.get("/v1/anything").status_code == 404
            refused = client.post("/metrics")
            assert refused.status_code == 405
            assert refused.headers["allow"] == "GET, HEAD"

    def test_readiness_fails_there_while_draining(
        self, observed_internal: ServerProcess, internal: int
    ) -> None:
        """After SIGTERM the internal readiness answers 503 while a request drains; exit 0."""
        outcome: dict[str, Any] = {}

        def slow() -> None:
            with httpx.Client(base_url=observed_internal.url, timeout=30) as client:
                outcome["response"] = client.get("/slow", params={"seconds": 2})

        thread = threading.Thread(target=slow)
        thread.start()
        observed_internal.wait_for_log(logger="observed", msg="slow request started")
        observed_internal.process.send_signal(signal.SIGTERM)
        statuses = []
        with _internal_client(internal) as client:
            for _ in range(100):
                statuses.append(client.get("/health/ready").status_code)
                if statuses[-1] == 503:
                    break
                time.sleep(0.02)
        thread.join(30)
        assert statuses[-1] == 503, statuses
        assert outcome["response"].status_code == 200
        assert observed_internal.stop().exit_code == 0

    def test_several_processes_share_the_internal_port(
        self, serve: Callable[..., Any], local: Callable[..., news_http.HTTPSettings]
    ) -> None:
        """Every worker listens on the internal port; the scrape adds up all of them."""
        port = free_port()
        settings = local(processes=2, internal_port=port, internal_host="127.0.0.1")
        with serve("observed", settings) as server:
            with server.client() as client:
                for n in range(20):
                    client.get(f"/items/{n}")
            # The worker that served the requests writes its values within a second (or when
            # it answers a scrape itself): scrape until they arrive, whichever worker answers.
            counted = 0.0
            deadline = time.monotonic() + 10
            while counted < 20.0 and time.monotonic() < deadline:
                with _internal_client(port) as client:
                    text = client.get("/metrics").text
                counted = sum(
                    float(row.rsplit(" ", 1)[1])
                    for row in text.splitlines()
                    if row.startswith('http_requests_total{method="GET",route="/items/:item_id"')
                )
                if counted < 20.0:
                    time.sleep(0.1)
            assert counted == 20.0
        assert server.result is not None
        assert server.result.exit_code == 0


class TestConfiguration:
    """Bad internal ports are refused clearly."""

    def test_same_as_the_public_port(self) -> None:
        """internal_port equal to port is refused when the settings are made."""
        with pytest.raises(news_http.HTTPConfigError, match="internal_port 8080"):
            news_http.HTTPSettings(internal_port=8080)

    def test_a_busy_internal_port_stops_the_worker(self, local: Any) -> None:
        """Another process on the internal port: the worker exits 3 saying which port."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            server = start_app(
                "news_http_test_apps:observed",
                settings=local(internal_port=port, internal_host="127.0.0.1"),
                pythonpath=[__import__("pathlib").Path(__file__).parent],
                wait=False,
            )
            try:
                code = server.process.wait(60)
            finally:
                server.kill()
        assert code == 3
        failed = server.wait_for_log(msg="startup hook failed; not serving")
        assert f"internal port {port}" in failed["reason"]
