"""Prometheus metrics for `Mongo` (``pip install "news-mongo[metrics]"``).

A `Mongo` built without ``metrics=`` reports here when prometheus-client is installed (setting
``metrics``: ``auto``/``on``/``off``). The families live in prometheus-client's default
registry, which news-metrics' exposition serves (``news_metrics.render()``, ``MetricsServer``,
news-http's ``/metrics``). They come from pymongo's command and pool monitoring:

- ``mongodb_command_duration_seconds{client,command,collection}`` (histogram): every command
  the driver sends (``find``, ``insert``, ``update``, ``aggregate``, ``commitTransaction``...),
  as the driver timed it, by collection (empty for database commands); never a filter;
- ``mongodb_command_errors_total{client,command,collection,error}`` (counter): failed commands
  by the server's code name (``DuplicateKey``, ``WriteConflict``...) or ``network``/``timeout``;
- ``mongodb_pool_checkout_errors_total{client,reason}`` (counter): checkouts that failed
  (``timeout``: the pool was exhausted for pool_timeout; ``connection_error``; ``pool_closed``);
- ``mongodb_pool_connections{client,state}`` (gauge, read at scrape): ``max`` (per server),
  ``open``, ``in_use``;
- ``mongodb_pool_waiting{client}`` (gauge, read at scrape): operations waiting for a
  connection.

``collection`` takes at most ``max_collections`` distinct values per process (then ``other``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final

try:
    from prometheus_client import REGISTRY, Counter, Histogram
    from prometheus_client.core import GaugeMetricFamily
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the install
    if _missing.name is None or not _missing.name.startswith("prometheus_client"):
        raise
    raise ModuleNotFoundError(
        'news_mongo.metrics needs prometheus-client: pip install "news-mongo[metrics]"',
        name="prometheus_client",
    ) from _missing

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prometheus_client import CollectorRegistry

    from news_mongo._metrics import PoolStats

__all__ = ["DURATION_BUCKETS", "MongoMetrics"]

DURATION_BUCKETS: Final = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Command duration buckets, seconds: a find by _id is well under a millisecond on mongod."""


class _PoolCollector:
    """Reads every watched client's pool stats when Prometheus scrapes."""

    def __init__(self) -> None:
        self.pools: dict[str, Callable[[], PoolStats]] = {}

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        connections = GaugeMetricFamily(
            "mongodb_pool_connections",
            "MongoDB pool connections by state (max per server, open, in_use).",
            labels=["client", "state"],
        )
        waiting = GaugeMetricFamily(
            "mongodb_pool_waiting", "Operations waiting for a pooled connection.", labels=["client"]
        )
        for client, read in list(self.pools.items()):
            stats = read()
            connections.add_metric([client, "max"], stats.max_size)
            connections.add_metric([client, "open"], stats.open)
            connections.add_metric([client, "in_use"], stats.in_use)
            waiting.add_metric([client], stats.waiting)
        yield connections
        yield waiting


class MongoMetrics:
    """Records `Mongo` metrics in Prometheus; a `news_mongo.MongoMetricsHook`.

    One instance serves every Mongo of a process (news-mongo makes it on first use).

    Args:
        registry: Where the families live (default: prometheus-client's default registry).
        max_collections: Distinct ``collection`` label values kept; later ones become ``other``.
    """

    def __init__(
        self, *, registry: CollectorRegistry | None = None, max_collections: int = 200
    ) -> None:
        registry = REGISTRY if registry is None else registry
        self.max_collections = max_collections
        self._duration = Histogram(
            "mongodb_command_duration_seconds",
            "Duration of MongoDB commands by command name and collection.",
            ["client", "command", "collection"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._errors = Counter(
            "mongodb_command_errors_total",
            "Failed MongoDB commands by command, collection and error (server code name or kind).",
            ["client", "command", "collection", "error"],
            registry=registry,
        )
        self._checkout_errors = Counter(
            "mongodb_pool_checkout_errors_total",
            "Failed connection checkouts by reason (timeout: the pool was exhausted).",
            ["client", "reason"],
            registry=registry,
        )
        self._pools = _PoolCollector()
        registry.register(self._pools)
        self._lock = threading.Lock()
        self._observe: dict[tuple[str, str, str], Callable[[float], None]] = {}
        self._collections: set[str] = set()

    def _collection(self, collection: str) -> str:
        if collection in self._collections:
            return collection
        with self._lock:
            if len(self._collections) < self.max_collections:
                self._collections.add(collection)
                return collection
        return "other"

    def observe(
        self, client: str, command: str, collection: str, seconds: float, error: str | None
    ) -> None:
        """Record one command's duration and, when it failed, its error."""
        key = (client, command, collection)
        observe = self._observe.get(key)
        if observe is None:
            observe = self._duration.labels(client, command, self._collection(collection)).observe
            self._observe[key] = observe
        observe(seconds)
        if error is not None:
            self._errors.labels(client, command, self._collection(collection), error).inc()

    def pool_error(self, client: str, reason: str) -> None:
        """Count a failed connection checkout."""
        self._checkout_errors.labels(client, reason).inc()

    def watch_pool(self, client: str, stats: Callable[[], PoolStats]) -> None:
        """Report this client's pool gauges from now on."""
        self._pools.pools[client] = stats

    def unwatch_pool(self, client: str) -> None:
        """Stop reporting this client's pool gauges."""
        self._pools.pools.pop(client, None)
