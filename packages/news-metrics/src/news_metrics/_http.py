"""`HTTPMetrics`: the news-http metrics hook (HTTP RED families)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from news_metrics._families import OTHER, HTTPFamilies, current_settings, http_families

if TYPE_CHECKING:
    from collections.abc import Callable

    from prometheus_client import CollectorRegistry

__all__ = ["HTTPMetrics"]

log = logging.getLogger("news_metrics")

#: Methods recorded as themselves; anything else (a client's made-up verb) is ``other``.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)


def _noop(_amount: float) -> None:
    return None


def _Sink() -> Any:  # noqa: N802 - stands in for the class it builds
    """A status counter stand-in that records nothing (direct path): `_prometheus.Sink`."""
    from news_metrics import _prometheus

    return _prometheus.Sink()


class _Route:
    """Cached children of one (method, route): what a request on it records.

    ``start()`` and ``finish(status, seconds, size)`` are closures over the children: with
    prometheus-client's in-memory values the six updates of a finished request are made under one
    lock (`_prometheus.DIRECT_LOCK`); otherwise through the per-value recorders of `_prometheus`.
    """

    __slots__ = (
        "finish",
        "in_flight",
        "labels",
        "observe_duration",
        "observe_size",
        "start",
        "statuses",
    )

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
        self.statuses: dict[int, Any] = {}
        self.start: Callable[[], None] = _noop_start
        self.finish: Callable[[int, float, float], None] = _noop_finish


def _noop_start() -> None:
    return None


def _noop_finish(_status: int, _seconds: float, _size: float) -> None:
    return None


_DISABLED = _Route(("", ""), _noop, _noop, _noop)


class HTTPMetrics:
    """Records HTTP RED metrics; satisfies news-http's ``HTTPMetricsHook`` protocol.

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
        self._families: HTTPFamilies | None = None
        self._lock = threading.Lock()
        self._warned = False

    def request_started(self, method: str, route: str) -> None:
        """Count a request on (*method*, *route*) as in flight; pair with `request_finished`."""
        entry = self._routes.get((method, route))
        if entry is None:
            entry = self._resolve(method, route)
        entry.start()

    def request_finished(
        self, method: str, route: str, status: int, duration_s: float, response_bytes: int
    ) -> None:
        """Record a finished request: count, duration, response size; no longer in flight."""
        entry = self._routes.get((method, route))
        if entry is None:
            entry = self._resolve(method, route)
        entry.finish(status, duration_s, response_bytes)

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
                    entry = self._make_route(families, labels)
                    self._routes[labels] = entry
                return entry
        except Exception:
            log.exception("news_metrics: cannot record HTTP metrics for %s %s", method, route)
            if len(self._routes) < current_settings().max_routes:
                self._routes[method, route] = _DISABLED  # log once per route, not per request
            return _DISABLED

    def _make_route(self, families: HTTPFamilies, labels: tuple[str, str]) -> _Route:
        from news_metrics import _prometheus

        in_flight_child = families.in_flight.labels(*labels)
        duration_child = families.duration.labels(*labels)
        size_child = families.size.labels(*labels)
        entry = _Route(
            labels,
            _prometheus.gauge_inc(in_flight_child),
            _prometheus.histogram_observe(duration_child),
            _prometheus.histogram_observe(size_child),
        )
        in_flight = _prometheus.direct_value(in_flight_child)
        duration = _prometheus.direct_histogram(duration_child)
        size = _prometheus.direct_histogram(size_child)
        if in_flight is not None and duration is not None and size is not None:
            self._direct(entry, in_flight, duration, size)
        else:
            self._generic(entry)
        return entry

    def _generic(self, entry: _Route) -> None:
        """Per-value recorders (multi-process buffering, or the public-method fallback)."""
        in_flight, statuses = entry.in_flight, entry.statuses
        observe_duration, observe_size = entry.observe_duration, entry.observe_size
        status_of = self._status

        def start() -> None:
            in_flight(1)

        def finish(status: int, seconds: float, size: float) -> None:
            in_flight(-1)
            count = statuses.get(status)
            if count is None:
                count = status_of(entry, status, direct=False)
            count(1)
            observe_duration(seconds)
            observe_size(size)

        entry.start, entry.finish = start, finish

    def _direct(
        self,
        entry: _Route,
        in_flight: Any,
        duration: tuple[Any, tuple[Any, ...], tuple[float, ...]],
        sizes: tuple[Any, tuple[Any, ...], tuple[float, ...]],
    ) -> None:
        """In-memory values: one lock per event, no call per value (`_prometheus` does it)."""
        from news_metrics import _prometheus

        def status_of(status: int) -> Any:
            return self._status(entry, status, direct=True)

        entry.start, entry.finish = _prometheus.direct_route_recorders(
            in_flight, duration, sizes, entry.statuses, status_of
        )

    def _status(self, entry: _Route, status: int, *, direct: bool) -> Any:
        """The status counter of *entry*: a recorder, or (direct) a value object."""
        from news_metrics import _prometheus

        if entry is _DISABLED:
            return _Sink() if direct else _noop
        try:
            with self._lock:
                count = entry.statuses.get(status)
                if count is None:
                    families = self._families
                    assert families is not None
                    label = str(status) if 100 <= status <= 999 else OTHER
                    child = families.requests.labels(entry.labels[0], entry.labels[1], label)
                    if direct:  # the route's other values are in memory: so is this one
                        count = _prometheus.direct_value(child, checked=False)
                        if count is None:
                            log.error("news_metrics: HTTP status %r not counted", status)
                            count = _Sink()
                    else:
                        count = _prometheus.counter_inc(child)
                    entry.statuses[status] = count
                return count
        except Exception:
            log.exception("news_metrics: cannot count HTTP status %r", status)
            return _Sink() if direct else _noop

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
