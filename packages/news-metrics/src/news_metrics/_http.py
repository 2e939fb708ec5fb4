"""`HttpMetrics`: the news-http metrics hook (HTTP RED families)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from news_metrics import _fast
from news_metrics._families import OTHER, HttpFamilies, current_settings, http_families

if TYPE_CHECKING:
    from collections.abc import Callable

    from prometheus_client import CollectorRegistry

__all__ = ["HttpMetrics"]

log = logging.getLogger("news_metrics")

#: Methods recorded as themselves; anything else (a client's made-up verb) is ``other``.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)


def _noop(_amount: float) -> None:
    return None


class _Route:
    """Cached children of one (method, route): what a request on it records."""

    __slots__ = ("in_flight", "labels", "observe_duration", "observe_size", "statuses")

    def __init__(
        self,
        labels: tuple[str, str],
        in_flight: Callable[[float], None],
        observe_duration: Callable[[float], None],
        observe_size: Callable[[float], None],
    ) -> None:
        self.labels = labels
        self.in_flight = in_flight
        self.observe_duration = observe_duration
        self.observe_size = observe_size
        self.statuses: dict[int, Callable[[float], None]] = {}


_DISABLED = _Route(("", ""), _noop, _noop, _noop)


class HttpMetrics:
    """Records HTTP RED metrics; satisfies news-http's ``HttpMetricsHook`` protocol.

    One instance serves every request of a process. Each (method, route) pair and status is
    resolved to its metric children once and cached, so a request costs a few dictionary lookups
    and value increments. Routes must be templates (``/v1/articles/:id``), never raw paths; past
    `MetricsSettings.max_routes` distinct pairs, new ones are recorded as ``route="other"``.

    Families (created on first use, in *registry* or prometheus-client's default one):
    ``http_requests_total{method,route,status}``, ``http_request_duration_seconds{method,route}``,
    ``http_requests_in_flight{method,route}``, ``http_response_size_bytes{method,route}``.

    Never raises: a failure to create a metric is logged once and the request goes on.

    Args:
        registry: Where the families live; the default registry unless a test isolates them.
            In multi-process mode every process's values are in the files regardless.
    """

    __slots__ = ("_families", "_lock", "_registry", "_routes", "_warned")

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self._registry = registry
        self._routes: dict[tuple[str, str], _Route] = {}
        self._families: HttpFamilies | None = None
        self._lock = threading.Lock()
        self._warned = False

    def request_started(self, method: str, route: str) -> None:
        """Count a request on (*method*, *route*) as in flight; pair with `request_finished`."""
        entry = self._routes.get((method, route))
        if entry is None:
            entry = self._resolve(method, route)
        entry.in_flight(1)

    def request_finished(
        self, method: str, route: str, status: int, duration_s: float, response_bytes: int
    ) -> None:
        """Record a finished request: count, duration, response size; no longer in flight."""
        entry = self._routes.get((method, route))
        if entry is None:
            entry = self._resolve(method, route)
        entry.in_flight(-1)
        count = entry.statuses.get(status)
        if count is None:
            count = self._status(entry, status)
        count(1)
        entry.observe_duration(duration_s)
        entry.observe_size(response_bytes)

    # --- slow path: first time a (method, route) or status is seen -----------------------------

    def _resolve(self, method: str, route: str) -> _Route:
        try:
            with self._lock:
                families = self._families
                if families is None:
                    families = self._families = http_families(self._registry)
                # Made-up methods and routes past the cap are recorded under "other" and their
                # raw key is not cached, so they cannot grow the cache either.
                labels = (method if method in KNOWN_METHODS else OTHER, route)
                entry = self._routes.get(labels)
                if entry is None and len(self._routes) >= current_settings().max_routes:
                    self._warn_routes_capped(route)
                    labels = (labels[0], OTHER)
                    entry = self._routes.get(labels)
                if entry is None:
                    entry = _Route(
                        labels,
                        _fast.gauge_inc(families.in_flight.labels(*labels)),
                        _fast.histogram_observe(families.duration.labels(*labels)),
                        _fast.histogram_observe(families.size.labels(*labels)),
                    )
                    self._routes[labels] = entry
                return entry
        except Exception:
            log.exception("news_metrics: cannot record HTTP metrics for %s %s", method, route)
            if len(self._routes) < current_settings().max_routes:
                self._routes[method, route] = _DISABLED  # log once per route, not per request
            return _DISABLED

    def _status(self, entry: _Route, status: int) -> Callable[[float], None]:
        if entry is _DISABLED:
            return _noop
        try:
            with self._lock:
                count = entry.statuses.get(status)
                if count is None:
                    families = self._families
                    assert families is not None
                    label = str(status) if 100 <= status <= 999 else OTHER
                    child = families.requests.labels(entry.labels[0], entry.labels[1], label)
                    count = entry.statuses[status] = _fast.counter_inc(child)
                return count
        except Exception:
            log.exception("news_metrics: cannot count HTTP status %r", status)
            return _noop

    def _warn_routes_capped(self, route: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "http metrics: %d distinct (method, route) pairs reached "
                "(MetricsSettings.max_routes); new ones are recorded as route=%r (first one: %r). "
                "Pass route templates like /v1/articles/:id, never raw paths.",
                current_settings().max_routes,
                OTHER,
                route,
            )
