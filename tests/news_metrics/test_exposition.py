"""render(): Prometheus text or OpenMetrics by Accept header, process and runtime collectors."""

from __future__ import annotations

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

import news_metrics

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def names(body: bytes, *, openmetrics: bool = False) -> set[str]:
    """The sample names of an exposition body."""
    parse = parse_om if openmetrics else parse_text
    return {s.name for f in parse(body.decode()) for s in f.samples}


class TestRender:
    def test_plain_scrapes_get_the_text_format(self, registry):
        """Without an OpenMetrics Accept header the body is text format 0.0.4."""
        news_metrics.HTTPMetrics(registry=registry).request_started("GET", "/a")
        body, content_type = news_metrics.render("text/plain", registry=registry)
        assert content_type == "text/plain; version=0.0.4; charset=utf-8"
        assert "http_requests_in_flight" in names(body)
        assert not body.endswith(b"# EOF\n")

    def test_prometheus_accept_header_gets_openmetrics(self, registry):
        """Prometheus' Accept header negotiates OpenMetrics 1.0 (ends with # EOF)."""
        hook = news_metrics.HTTPMetrics(registry=registry)
        hook.request_started("GET", "/a")
        hook.request_finished("GET", "/a", 200, 0.01, 10)
        exposition = news_metrics.render(PROMETHEUS_ACCEPT, registry=registry)
        assert exposition.content_type.startswith("application/openmetrics-text; version=1.0.0")
        assert exposition.body.endswith(b"# EOF\n")
        assert "http_requests_total" in names(exposition.body, openmetrics=True)

    def test_no_accept_header_means_text(self, registry):
        """A scrape without Accept header (curl) gets the text format."""
        assert news_metrics.render(None, registry=registry).content_type.startswith("text/plain")

    def test_created_series_are_off_by_default(self, registry, settings):
        """*_created samples are not exposed unless MetricsSettings.created_series is set."""
        news_metrics.setup(news_metrics.MetricsSettings())
        hook = news_metrics.HTTPMetrics(registry=registry)
        hook.request_started("GET", "/a")
        hook.request_finished("GET", "/a", 200, 0.01, 10)
        assert not any(
            n.endswith("_created") for n in names(news_metrics.render(None, registry=registry).body)
        )
        news_metrics.setup(news_metrics.MetricsSettings(created_series=True))
        assert "http_requests_created" in names(news_metrics.render(None, registry=registry).body)

    def test_default_registry_has_process_and_runtime_metrics(self, settings):
        """The default exposition carries process_* and python_* collectors; they can be off."""
        news_metrics.setup(news_metrics.MetricsSettings())
        exposed = names(news_metrics.render(None).body)
        for name in (
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "python_gc_collections_total",
            "python_info",
        ):
            assert name in exposed
        news_metrics.setup(news_metrics.MetricsSettings(process_metrics=False))
        exposed = names(news_metrics.render(None).body)
        assert "process_cpu_seconds_total" not in exposed
        assert "python_info" not in exposed
