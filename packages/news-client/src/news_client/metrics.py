"""Prometheus metrics for news-client (``pip install "news-client[metrics]"``).

A client built without ``metrics=`` reports here when prometheus-client is installed (setting
``metrics``: ``auto``/``on``/``off``). The families live in prometheus-client's default
registry, which news-metrics' exposition serves (``news_metrics.render()``, ``MetricsServer``,
news-http's ``/metrics``):

- ``http_client_request_duration_seconds{dependency,method,route,status}`` (histogram): every
  attempt, by the caller's route template (never the URL) and the answer's status, or
  ``timeout`` / ``connect_error`` / ``transport_error``;
- ``http_client_retries_total{dependency,route}`` (counter): attempts after the first;
- ``http_client_rejected_total{dependency,reason}`` (counter): calls refused before sending,
  ``breaker_open`` or ``bulkhead_full``;
- ``circuit_breaker_state{breaker,state}`` (gauge): 1 for the breaker's current state
  (``closed``, ``open``, ``half_open``), 0 for the others (resilience4j's shape);
- ``circuit_breaker_transitions_total{breaker,from_state,to_state}`` (counter).

``route`` takes at most ``max_routes`` distinct values per process (then ``other``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final

try:
    from prometheus_client import REGISTRY, Counter, Gauge, Histogram
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the install
    if _missing.name is None or not _missing.name.startswith("prometheus_client"):
        raise
    raise ModuleNotFoundError(
        'news_client.metrics needs prometheus-client: pip install "news-client[metrics]"',
        name="prometheus_client",
    ) from _missing

if TYPE_CHECKING:
    from collections.abc import Callable

    from prometheus_client import CollectorRegistry

    from news_client._breaker import BreakerState

__all__ = ["DURATION_BUCKETS", "ClientMetrics"]

DURATION_BUCKETS: Final = (
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
    30.0,
)
"""Attempt duration buckets, seconds: a loopback call takes well under a millisecond."""

_STATES: Final = ("closed", "open", "half_open")


class ClientMetrics:
    """Records outbound calls in Prometheus; a `news_client.ClientMetricsHook`.

    One instance serves every client of a process (news-client makes it on first use).

    Args:
        registry: Where the families live (default: prometheus-client's default registry).
        max_routes: Distinct ``route`` label values kept; later ones become ``other``.
    """

    def __init__(self, *, registry: CollectorRegistry | None = None, max_routes: int = 200) -> None:
        registry = REGISTRY if registry is None else registry
        self.max_routes = max_routes
        self._duration = Histogram(
            "http_client_request_duration_seconds",
            "Outbound HTTP attempts by dependency, method, route template and status.",
            ["dependency", "method", "route", "status"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._retries = Counter(
            "http_client_retries_total",
            "Outbound HTTP attempts after the first, by dependency and route template.",
            ["dependency", "route"],
            registry=registry,
        )
        self._rejected = Counter(
            "http_client_rejected_total",
            "Outbound calls refused before sending: breaker_open or bulkhead_full.",
            ["dependency", "reason"],
            registry=registry,
        )
        self._state = Gauge(
            "circuit_breaker_state",
            "1 for a circuit breaker's current state (closed, open, half_open), else 0.",
            ["breaker", "state"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._transitions = Counter(
            "circuit_breaker_transitions_total",
            "Circuit breaker state changes, by breaker and the states left and entered.",
            ["breaker", "from_state", "to_state"],
            registry=registry,
        )
        self._lock = threading.Lock()
        self._observe: dict[tuple[str, str, str, str], Callable[[float], None]] = {}
        self._routes: set[str] = set()

    def _route(self, route: str) -> str:
        if route in self._routes:
            return route
        with self._lock:
            if len(self._routes) < self.max_routes:
                self._routes.add(route)
                return route
        return "other"

    def request(
        self, dependency: str, method: str, route: str, status: str, seconds: float
    ) -> None:
        """Observe one attempt's duration."""
        key = (dependency, method, route, status)
        observe = self._observe.get(key)
        if observe is None:
            child = self._duration.labels(dependency, method, self._route(route), status)
            observe = self._observe[key] = child.observe
        observe(seconds)

    def retried(self, dependency: str, route: str) -> None:
        """Count one retry."""
        self._retries.labels(dependency, self._route(route)).inc()

    def rejected(self, dependency: str, reason: str) -> None:
        """Count one call refused before sending."""
        self._rejected.labels(dependency, reason).inc()

    def breaker_state(self, breaker: str, old: BreakerState, new: BreakerState) -> None:
        """Set the state gauge of ``breaker`` and count the transition."""
        for state in _STATES:
            self._state.labels(breaker, state).set(1 if state == new else 0)
        if old != new:
            self._transitions.labels(breaker, old, new).inc()
