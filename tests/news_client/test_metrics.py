"""Prometheus metrics of news-client: attempts by route template and status, breaker state."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import CollectorRegistry

import news_client
from news_client._metrics import resolve_metrics
from news_client.metrics import ClientMetrics


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """The sample's value (0.0 when absent)."""
    return registry.get_sample_value(name, labels) or 0.0


class TestClientMetrics:
    async def test_attempts_are_observed_by_route_template(
        self, server: Any, make_settings: Any
    ) -> None:
        """Each attempt lands in the histogram under the route template and its status."""
        registry = CollectorRegistry()
        metrics = ClientMetrics(registry=registry)
        server.fault = "script"
        server.script = [503, None]
        async with news_client.HTTPClient(
            make_settings(server.url), name="articles", metrics=metrics
        ) as client:
            await client.get("/v1/articles/{id}", path_params={"id": 7})
        count = "http_client_request_duration_seconds_count"
        labels = {"dependency": "articles", "method": "GET", "route": "/v1/articles/{id}"}
        assert value(registry, count, **labels, status="503") == 1
        assert value(registry, count, **labels, status="200") == 1
        assert value(registry, "http_client_retries_total", dependency="articles",
                     route="/v1/articles/{id}") == 1  # fmt: skip
        samples = [s for m in registry.collect() for s in m.samples]
        assert not any("/v1/articles/7" in str(s.labels) for s in samples)

    async def test_breaker_state_and_rejections(self, server: Any, make_settings: Any) -> None:
        """The state gauge follows the breaker; refused calls are counted by reason."""
        registry = CollectorRegistry()
        metrics = ClientMetrics(registry=registry)
        async with news_client.HTTPClient(
            make_settings(server.url), name="tags", metrics=metrics
        ) as client:
            assert value(registry, "circuit_breaker_state", breaker="tags", state="closed") == 1
            assert client.breaker is not None
            client.breaker.force_open()
            with pytest.raises(news_client.BreakerOpenError):
                await client.get("/x")
        assert value(registry, "circuit_breaker_state", breaker="tags", state="open") == 1
        assert value(registry, "circuit_breaker_state", breaker="tags", state="closed") == 0
        assert (
            value(
                registry,
                "circuit_breaker_transitions_total",
                breaker="tags",
                from_state="closed",
                to_state="open",
            )
            == 1
        )
        assert (
            value(registry, "http_client_rejected_total", dependency="tags", reason="breaker_open")
            == 1
        )

    def test_routes_are_capped(self) -> None:
        """Past max_routes distinct templates, further ones are counted as 'other'."""
        registry = CollectorRegistry()
        metrics = ClientMetrics(registry=registry, max_routes=2)
        for route in ("/a", "/b", "/c"):
            metrics.request("dep", "GET", route, "200", 0.01)
        count = "http_client_request_duration_seconds_count"
        assert value(registry, count, dependency="dep", method="GET", route="other",
                     status="200") == 1  # fmt: skip


class TestResolve:
    def test_modes(self, recording: Any) -> None:
        """A given hook wins; off gives none; NoopMetrics turns metrics off; auto finds one."""
        assert resolve_metrics(recording, "auto") is recording
        assert resolve_metrics(None, "off") is None
        assert resolve_metrics(news_client.NoopMetrics(), "on") is None
        assert isinstance(resolve_metrics(None, "auto"), ClientMetrics)
        assert resolve_metrics(None, "on") is resolve_metrics(None, "auto")
