"""`RedisMetrics`: the news-redis metrics hook (command latency, errors, pool, rate limits)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from news_metrics._families import LabelGuard, RedisFamilies, current_settings, redis_families

if TYPE_CHECKING:
    from collections.abc import Callable

    from prometheus_client import CollectorRegistry

__all__ = ["RedisMetrics"]

log = logging.getLogger("news_metrics")


def _noop(_amount: float) -> None:
    return None


class RedisMetrics:
    """Records Redis metrics; satisfies news-redis's ``RedisMetricsHook`` protocol.

    One instance serves every client and limiter of a process. Families (created on first
    use): ``redis_command_duration_seconds{client,command}``,
    ``redis_command_errors_total{client,command,error_type}``,
    ``redis_pool_connections_in_use{client}`` (updated after each command),
    ``redis_pool_connections_max{client}`` and
    ``redis_ratelimit_decisions_total{policy,outcome}``. ``command``, ``error_type`` and
    ``policy`` take at most `MetricsSettings.max_label_values` distinct values (then
    ``other``).

    Never raises: a failure to create a metric is logged and the command goes on.

    Args:
        registry: Where the families live; the default registry unless a test isolates them.
    """

    __slots__ = (
        "_durations",
        "_errors",
        "_families",
        "_guards",
        "_lock",
        "_pools",
        "_rate_limited",
        "_registry",
    )

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self._registry = registry
        self._families: RedisFamilies | None = None
        self._guards: dict[str, LabelGuard] = {}
        self._lock = threading.Lock()
        self._durations: dict[tuple[str, str], Callable[[float], None]] = {}
        self._errors: dict[tuple[str, str, str], Callable[[float], None]] = {}
        self._pools: dict[str, tuple[Callable[[], int], Callable[[float], None]]] = {}
        self._rate_limited: dict[tuple[str, str], Callable[[float], None]] = {}

    # --- the hook ------------------------------------------------------------------------------

    def command(self, client: str, command: str, seconds: float) -> None:
        """Observe one command of ``client`` that got its reply after ``seconds``."""
        observe = self._durations.get((client, command))
        if observe is None:
            observe = self._resolve_duration(client, command)
        observe(seconds)
        pool = self._pools.get(client)
        if pool is not None:
            pool[1](pool[0]())

    def command_failed(self, client: str, command: str, error_type: str) -> None:
        """Count one failed command (``error_type``: the news-redis error class name)."""
        inc = self._errors.get((client, command, error_type))
        if inc is None:
            inc = self._resolve_error(client, command, error_type)
        inc(1)
        pool = self._pools.get(client)
        if pool is not None:
            pool[1](pool[0]())

    def pool(self, client: str, size: int, in_use: Callable[[], int]) -> None:
        """Register ``client``'s pool: its size now, connections in use after each command."""
        try:
            with self._lock:
                families = self._ready()
                families.pool_size.labels(client).set(size)
                gauge: Any = families.in_use.labels(client)
                gauge.set(in_use())
                self._pools[client] = (in_use, gauge.set)
        except Exception:
            log.exception("news_metrics: cannot record the Redis pool of %r", client)

    def rate_limited(self, policy: str, outcome: str) -> None:
        """Count one rate-limit decision of ``policy``."""
        inc = self._rate_limited.get((policy, outcome))
        if inc is None:
            inc = self._resolve_rate_limited(policy, outcome)
        inc(1)

    # --- slow path -----------------------------------------------------------------------------

    def _ready(self) -> RedisFamilies:
        families = self._families
        if families is None:
            families = self._families = redis_families(self._registry)
        return families

    def _admit(self, label: str, value: str) -> str:
        guard = self._guards.get(label)
        if guard is None:
            cap = current_settings().max_label_values
            guard = self._guards[label] = LabelGuard("redis_*", label, cap)
        return guard.admit(value)

    def _resolve_duration(self, client: str, command: str) -> Callable[[float], None]:
        from news_metrics import _prometheus

        try:
            with self._lock:
                families = self._ready()
                labels = (self._admit("client", client), self._admit("command", command))
                observe = _prometheus.histogram_observe(families.duration.labels(*labels))
                if labels == (client, command):
                    self._durations[client, command] = observe
                return observe
        except Exception:
            log.exception("news_metrics: cannot observe Redis command %r", command)
            self._durations[client, command] = _noop
            return _noop

    def _resolve_error(self, client: str, command: str, error_type: str) -> Callable[[float], None]:
        from news_metrics import _prometheus

        try:
            with self._lock:
                families = self._ready()
                labels = (
                    self._admit("client", client),
                    self._admit("command", command),
                    self._admit("error_type", error_type),
                )
                inc = _prometheus.counter_inc(families.errors.labels(*labels))
                if labels == (client, command, error_type):
                    self._errors[client, command, error_type] = inc
                return inc
        except Exception:
            log.exception("news_metrics: cannot count Redis errors of %r", command)
            self._errors[client, command, error_type] = _noop
            return _noop

    def _resolve_rate_limited(self, policy: str, outcome: str) -> Callable[[float], None]:
        from news_metrics import _prometheus

        try:
            with self._lock:
                families = self._ready()
                labels = (self._admit("policy", policy), self._admit("outcome", outcome))
                inc = _prometheus.counter_inc(families.rate_limited.labels(*labels))
                if labels == (policy, outcome):
                    self._rate_limited[policy, outcome] = inc
                return inc
        except Exception:
            log.exception("news_metrics: cannot count rate-limit decisions of %r", policy)
            self._rate_limited[policy, outcome] = _noop
            return _noop
