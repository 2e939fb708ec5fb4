"""The built-in endpoints: Prometheus exposition (news-metrics) and health probes (news-health).

Both packages are optional extras (``news-http[metrics]``, ``news-http[health]``), imported here
only when the app turns the feature on (`HTTPSettings.metrics` / `HTTPSettings.health`).

The endpoints run inside the standard stack like any route (request id, compression, the safety
net), with two parts left out on purpose: the metrics hook (a scrape or probe every few seconds
would swamp ``http_requests_total`` and skew the latency histograms) and the access log (one line
per probe per pod every few seconds is noise; failures of the endpoint itself are still logged).
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Literal

from news_http._errors import HTTPConfigError

if TYPE_CHECKING:
    from robyn import Request, Response

    from news_health import HealthRegistry
    from news_http._types import AsyncHandler, HTTPMetricsHook, SyncHandler

__all__ = ["enabled", "health_handlers", "health_registry", "metrics_handler", "metrics_hook"]

_INSTALL = {
    "news_metrics": "pip install 'news-http[metrics]'",
    "news_health": "pip install 'news-http[health]'",
}
_FIELD = {"news_metrics": "metrics", "news_health": "health"}


def enabled(mode: Literal["auto", "on", "off"], module: str) -> bool:
    """Whether an optional feature is on: ``auto`` when ``module`` is importable.

    Raises:
        HTTPConfigError: ``mode`` is ``on`` and ``module`` is not installed.
    """
    if mode == "off":
        return False
    available = importlib.util.find_spec(module) is not None
    if mode == "on" and not available:
        raise HTTPConfigError(
            f"HTTPSettings.{_FIELD[module]}='on' needs {module}: {_INSTALL[module]} "
            f"(or set {_FIELD[module]}='auto' to serve without it)"
        )
    return available


def metrics_hook() -> HTTPMetricsHook:
    """news-metrics' HTTP hook (the families are created on the first request)."""
    import news_metrics

    return news_metrics.HTTPMetrics()


def metrics_handler() -> SyncHandler:
    """The exposition handler: Prometheus text, or OpenMetrics when the Accept header asks."""
    from robyn import Headers, Response

    import news_metrics

    render = news_metrics.render

    def metrics(request: Request) -> Response:
        body, content_type = render(request.headers.get("accept"))
        return Response(
            200, Headers({"content-type": content_type, "cache-control": "no-store"}), body
        )

    return metrics


def health_registry(service: str) -> HealthRegistry:
    """A new registry for the app: readiness fails until startup hooks ran."""
    import news_health

    return news_health.HealthRegistry(service_id=service)


def health_handlers(registry: HealthRegistry) -> tuple[AsyncHandler, AsyncHandler]:
    """The liveness and readiness handlers (async: checks run on the worker's event loop)."""
    from robyn import Headers, Response

    def answer(status: int, content_type: str, body: bytes) -> Response:
        return Response(
            status, Headers({"content-type": content_type, "cache-control": "no-store"}), body
        )

    async def liveness(request: Request) -> Response:
        report = await registry.check_liveness()
        return answer(report.http_status, report.content_type, report.to_json())

    async def readiness(request: Request) -> Response:
        report = await registry.check_readiness()
        return answer(report.http_status, report.content_type, report.to_json())

    return liveness, readiness
