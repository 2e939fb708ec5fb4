"""HTTPMetrics: the news-http hook records the RED families with cached children."""

from __future__ import annotations

import math
import threading
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter

import news_metrics

ROUTE = "/v1/articles/:id"


@runtime_checkable
class HTTPMetricsHook(Protocol):
    """news-http's hook protocol, as agreed in the team brief."""

    def request_started(self, method: str, route: str) -> None:
        """A request began."""

    def request_finished(
        self, method: str, route: str, status: int, duration_s: float, response_bytes: int
    ) -> None:
        """A request ended."""


def served(hook: news_metrics.HTTPMetrics, method: str, route: str, *result: float) -> None:
    """One request through the hook: started, then finished with (status, duration, bytes)."""
    status, d, n = result
    hook.request_started(method, route)
    hook.request_finished(method, route, int(status), d, int(n))


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def all_samples(registry: CollectorRegistry) -> Samples:
    """Every sample of *registry*, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
    }


class TestHTTPMetrics:
    def test_satisfies_the_news_http_hook_protocol(self, registry):
        """An HTTPMetrics instance is structurally a news-http HTTPMetricsHook."""
        hook: HTTPMetricsHook = news_metrics.HTTPMetrics(registry=registry)
        assert isinstance(hook, HTTPMetricsHook)

    def test_counts_requests_by_method_route_and_status(self, registry, recorder_path):
        """http_requests_total counts each (method, route, status) separately."""
        hook = news_metrics.HTTPMetrics(registry=registry)
        for _ in range(3):
            served(hook, "GET", ROUTE, 200, 0.01, 100)
        served(hook, "GET", ROUTE, 404, 0.01, 50)
        served(hook, "POST", "/v1/articles", 201, 0.02, 10)

        def count(method: str, route: str, status: str) -> float | None:
            labels = {"method": method, "route": route, "status": status}
            return registry.get_sample_value("http_requests_total", labels)

        assert count("GET", ROUTE, "200") == 3
        assert count("GET", ROUTE, "404") == 1
        assert count("POST", "/v1/articles", "201") == 1

    def test_durations_land_in_the_right_buckets(self, registry, recorder_path):
        """Each duration counts in the first bucket whose bound is >= it, cumulatively exposed."""
        hook = news_metrics.HTTPMetrics(registry=registry)
        for d in (0.0005, 0.001, 0.003, 0.3, 0.5, 0.7, 42.0):
            served(hook, "GET", ROUTE, 200, d, 1)

        def bucket(le: str) -> float | None:
            labels = {"method": "GET", "route": ROUTE, "le": le}
            return registry.get_sample_value("http_request_duration_seconds_bucket", labels)

        assert bucket("0.001") == 2  # 0.0005 and exactly 0.001
        assert bucket("0.005") == 3
        assert bucket("0.25") == 3
        assert bucket("0.5") == 5  # 0.3 and exactly 0.5
        assert bucket("1.0") == 6
        assert bucket("10.0") == 6
        assert bucket("+Inf") == 7
        labels = {"method": "GET", "route": ROUTE}
        assert registry.get_sample_value("http_request_duration_seconds_count", labels) == 7
        total = registry.get_sample_value("http_request_duration_seconds_sum", labels)
        assert total is not None
        assert math.isclose(total, 0.0005 + 0.001 + 0.003 + 0.3 + 0.5 + 0.7 + 42.0)

    def test_response_sizes_are_a_histogram(self, registry, recorder_path):
        """http_response_size_bytes observes the body size of each response."""
        hook = news_metrics.HTTPMetrics(registry=registry)
        served(hook, "GET", ROUTE, 200, 0.01, 512)
        served(hook, "GET", ROUTE, 200, 0.01, 5_000_000)
        labels = {"method": "GET", "route": ROUTE}
        assert registry.get_sample_value("http_response_size_bytes_sum", labels) == 5_000_512
        le_1000 = {**labels, "le": "1000.0"}
        assert registry.get_sample_value("http_response_size_bytes_bucket", le_1000) == 1
        le_1e7 = {**labels, "le": "1e+07"}
        assert registry.get_sample_value("http_response_size_bytes_bucket", le_1e7) == 2

    def test_in_flight_rises_while_served_and_returns_to_zero(self, registry, recorder_path):
        """http_requests_in_flight counts started, not yet finished requests per route."""
        hook = news_metrics.HTTPMetrics(registry=registry)
        labels = {"method": "GET", "route": ROUTE}
        hook.request_started("GET", ROUTE)
        hook.request_started("GET", ROUTE)
        assert registry.get_sample_value("http_requests_in_flight", labels) == 2
        hook.request_finished("GET", ROUTE, 200, 0.01, 1)
        assert registry.get_sample_value("http_requests_in_flight", labels) == 1
        hook.request_finished("GET", ROUTE, 500, 0.01, 1)
        assert registry.get_sample_value("http_requests_in_flight", labels) == 0

    def test_fast_and_public_recorders_expose_identical_samples(self):
        """The direct recorders produce exactly what prometheus-client's public methods do."""
        from news_metrics import _prometheus

        results = []
        for fast in (True, False):
            old = _prometheus.use_fast_path(fast)
            try:
                registry = CollectorRegistry()
                hook = news_metrics.HTTPMetrics(registry=registry)
                for i in range(200):
                    served(hook, "GET", f"/r/{i % 7}", 200 + i % 3, (i % 13) * 0.07, i * 97)
                hook.request_started("PUT", "/r/x")
                results.append(all_samples(registry))
            finally:
                _prometheus.use_fast_path(old)
        assert results[0] == results[1]
        assert len(results[0]) > 100

    def test_made_up_methods_are_recorded_as_other(self, registry):
        """A method outside the HTTP standard set is labelled method="other"."""
        hook = news_metrics.HTTPMetrics(registry=registry)
        served(hook, "BREW", ROUTE, 405, 0.001, 0)
        labels = {"method": "other", "route": ROUTE, "status": "405"}
        assert registry.get_sample_value("http_requests_total", labels) == 1

    def test_routes_past_the_cap_become_other_with_one_warning(self, registry, settings, logged):
        """Past max_routes distinct pairs, new routes count as route="other", warned once."""
        news_metrics.setup(news_metrics.MetricsSettings(max_routes=3))
        hook = news_metrics.HTTPMetrics(registry=registry)
        for i in range(10):
            served(hook, "GET", f"/raw/path/{i}", 200, 0.01, 1)
        labels = {"method": "GET", "route": "other", "status": "200"}
        assert registry.get_sample_value("http_requests_total", labels) == 7
        kept = {"method": "GET", "route": "/raw/path/2", "status": "200"}
        assert registry.get_sample_value("http_requests_total", kept) == 1
        warnings = [m for m in logged.messages() if "max_routes" in m]
        assert len(warnings) == 1
        assert "/raw/path/3" in warnings[0]

    def test_a_metric_name_clash_is_logged_and_the_request_goes_on(self, registry, logged):
        """If the registry already has http_requests_total, recording logs, never raises."""
        Counter("http_requests_total", "someone else's", registry=registry)
        hook = news_metrics.HTTPMetrics(registry=registry)
        for _ in range(3):
            served(hook, "GET", ROUTE, 200, 0.01, 1)
        errors = [m for m in logged.messages() if "cannot record HTTP metrics" in m]
        assert errors == [f"news_metrics: cannot record HTTP metrics for GET {ROUTE}"]

    def test_threads_recording_at_once_lose_no_counts(self, registry, recorder_path):
        """Concurrent requests on many threads are all counted."""
        hook = news_metrics.HTTPMetrics(registry=registry)

        def work(n: int) -> None:
            for i in range(2000):
                served(hook, "GET", f"/t/{(n + i) % 5}", 200, 0.001, 10)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = sum(
            registry.get_sample_value(
                "http_requests_total", {"method": "GET", "route": f"/t/{r}", "status": "200"}
            )
            or 0
            for r in range(5)
        )
        assert total == 16000

    def test_nan_duration_is_counted_without_raising(self, registry, recorder_path):
        """A NaN duration (a clock bug) does not break the request: it lands in +Inf."""
        hook = news_metrics.HTTPMetrics(registry=registry)
        served(hook, "GET", ROUTE, 200, float("nan"), 1)
        labels = {"method": "GET", "route": ROUTE, "status": "200"}
        assert registry.get_sample_value("http_requests_total", labels) == 1
