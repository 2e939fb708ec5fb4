"""Prometheus metrics for news platform services: RED, Kafka and business events, one exposition.

news-http and news-kafka call the hooks (install their ``metrics`` extra); a service records its
own business events and configures the package once::

    import news_metrics

    news_metrics.setup(news_metrics.MetricsSettings(max_label_values=50))

    ARTICLE_PUBLISHED = news_metrics.declare_business_event(
        "article_published", labels=("section",), description="Articles published."
    )
    ARTICLE_PUBLISHED.inc(section="world")  # or, by name:
    news_metrics.business_event("article_published", section="world")

    http = news_metrics.HTTPMetrics()  # news-http's HTTPMetricsHook
    http.request_started("GET", "/v1/articles/:id")
    http.request_finished("GET", "/v1/articles/:id", 200, 0.004, 512)

    body, content_type = news_metrics.render(accept_header)  # what /metrics returns

Kafka-only workers serve the same exposition with ``async with news_metrics.MetricsServer():``.
Forked worker processes (Robyn ``processes > 1``): see `news_metrics.multiprocess`.
Dashboards and alert rules ship in the package: ``news_metrics/dashboards/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from news_metrics import multiprocess
from news_metrics.__about__ import __version__
from news_metrics._errors import (
    EventDeclarationError,
    EventRecordError,
    MetricsConfigError,
    MultiprocessError,
    NewsMetricsError,
    ServerError,
    UnknownEventError,
)
from news_metrics._events import (
    BusinessEvent,
    business_event,
    declare_business_event,
    declared_events,
)
from news_metrics._exposition import Exposition, render
from news_metrics._families import setup
from news_metrics._http import HTTPMetrics
from news_metrics._kafka import KafkaMetrics
from news_metrics._redis import RedisMetrics
from news_metrics._settings import (
    DEFAULT_HTTP_DURATION_BUCKETS,
    DEFAULT_HTTP_SIZE_BUCKETS,
    DEFAULT_KAFKA_DURATION_BUCKETS,
    DEFAULT_REDIS_DURATION_BUCKETS,
    MetricsSettings,
)

if TYPE_CHECKING:
    from news_metrics._server import MetricsServer

# Tracebacks, reprs and docs name the public home (news_metrics.HTTPMetrics). Not the Struct
# (MetricsSettings): msgspec resolves its annotations in the module it names.
for _public in (
    BusinessEvent,
    EventDeclarationError,
    EventRecordError,
    Exposition,
    HTTPMetrics,
    KafkaMetrics,
    MetricsConfigError,
    MultiprocessError,
    NewsMetricsError,
    RedisMetrics,
    ServerError,
    UnknownEventError,
    business_event,
    declare_business_event,
    declared_events,
    render,
    setup,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "DEFAULT_HTTP_DURATION_BUCKETS",
    "DEFAULT_HTTP_SIZE_BUCKETS",
    "DEFAULT_KAFKA_DURATION_BUCKETS",
    "DEFAULT_REDIS_DURATION_BUCKETS",
    "BusinessEvent",
    "EventDeclarationError",
    "EventRecordError",
    "Exposition",
    "HTTPMetrics",
    "KafkaMetrics",
    "MetricsConfigError",
    "MetricsServer",
    "MetricsSettings",
    "MultiprocessError",
    "NewsMetricsError",
    "RedisMetrics",
    "ServerError",
    "UnknownEventError",
    "__version__",
    "business_event",
    "declare_business_event",
    "declared_events",
    "multiprocess",
    "render",
    "setup",
]


def __getattr__(name: str) -> Any:
    # MetricsServer pulls in asyncio; most importers (news-http workers) never need it.
    if name == "MetricsServer":
        from news_metrics._server import MetricsServer

        MetricsServer.__module__ = __name__
        return MetricsServer
    raise AttributeError(f"module 'news_metrics' has no attribute {name!r}")
