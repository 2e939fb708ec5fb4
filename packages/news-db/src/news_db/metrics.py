"""Prometheus metrics for `Database` (``pip install "news-db[metrics]"``).

A `Database` built without ``metrics=`` reports here when prometheus-client is installed
(setting ``metrics``: ``auto``/``on``/``off``). The families live in prometheus-client's
default registry, which news-metrics' exposition serves (``news_metrics.render()``,
``MetricsServer``, news-http's ``/metrics``):

- ``db_query_duration_seconds{database,operation}`` (histogram): every call, by the
  caller's ``operation=`` name (or the method's: ``fetchrow``...), never SQL text;
- ``db_query_errors_total{database,operation,error_class}`` (counter): failed calls by
  SQLSTATE class (``23`` integrity, ``40`` conflicts, ``57`` operator intervention, ``08``
  connection...) or ``timeout``, ``connection``, ``pool`` (acquire timeout), ``client``;
- ``db_pool_connections{database,state}`` (gauge, read at scrape): ``max``, ``open``,
  ``in_use``, ``idle``;
- ``db_pool_waiting{database}`` (gauge, read at scrape): callers waiting for a connection.

``operation`` takes at most ``max_operations`` distinct values per process (then ``other``).
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
        'news_db.metrics needs prometheus-client: pip install "news-db[metrics]"',
        name="prometheus_client",
    ) from _missing

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from prometheus_client import CollectorRegistry

    from news_db._metrics import PoolStats

__all__ = ["DURATION_BUCKETS", "DBMetrics"]

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
"""Query duration buckets, seconds: a primary-key lookup is well under a millisecond."""


class _PoolCollector:
    """Reads every watched pool's stats when Prometheus scrapes."""

    def __init__(self) -> None:
        self.pools: dict[str, Callable[[], PoolStats]] = {}

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        connections = GaugeMetricFamily(
            "db_pool_connections",
            "PostgreSQL pool connections by state (max, open, in_use, idle).",
            labels=["database", "state"],
        )
        waiting = GaugeMetricFamily(
            "db_pool_waiting", "Callers waiting for a pooled connection.", labels=["database"]
        )
        for database, read in list(self.pools.items()):
            stats = read()
            connections.add_metric([database, "max"], stats.max_size)
            connections.add_metric([database, "open"], stats.size)
            connections.add_metric([database, "in_use"], stats.in_use)
            connections.add_metric([database, "idle"], stats.idle)
            waiting.add_metric([database], stats.waiting)
        yield connections
        yield waiting


class DBMetrics:
    """Records `Database` metrics in Prometheus; a `news_db.DBMetricsHook`.

    One instance serves every Database of a process (news-db makes it on first use).

    Args:
        registry: Where the families live (default: prometheus-client's default registry).
        max_operations: Distinct ``operation`` label values kept; later ones become ``other``.
    """

    def __init__(
        self, *, registry: CollectorRegistry | None = None, max_operations: int = 200
    ) -> None:
        registry = REGISTRY if registry is None else registry
        self.max_operations = max_operations
        self._duration = Histogram(
            "db_query_duration_seconds",
            "Duration of PostgreSQL calls by operation (the caller's name, never SQL).",
            ["database", "operation"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._errors = Counter(
            "db_query_errors_total",
            "Failed PostgreSQL calls by operation and error class (SQLSTATE class or kind).",
            ["database", "operation", "error_class"],
            registry=registry,
        )
        self._pools = _PoolCollector()
        registry.register(self._pools)
        self._lock = threading.Lock()
        self._observe: dict[tuple[str, str], Callable[[float], None]] = {}
        self._operations: set[str] = set()

    def _operation(self, operation: str) -> str:
        if operation in self._operations:
            return operation
        with self._lock:
            if len(self._operations) < self.max_operations:
                self._operations.add(operation)
                return operation
        return "other"

    def observe(self, database: str, operation: str, seconds: float, error: str | None) -> None:
        """Record one call's duration and, when it failed, its error class."""
        observe = self._observe.get((database, operation))
        if observe is None:
            label = self._operation(operation)
            observe = self._duration.labels(database, label).observe
            self._observe[database, operation] = observe
        observe(seconds)
        if error is not None:
            self._errors.labels(database, self._operation(operation), error).inc()

    def watch_pool(self, database: str, stats: Callable[[], PoolStats]) -> None:
        """Report this pool's gauges from now on."""
        self._pools.pools[database] = stats

    def unwatch_pool(self, database: str) -> None:
        """Stop reporting this pool's gauges."""
        self._pools.pools.pop(database, None)
