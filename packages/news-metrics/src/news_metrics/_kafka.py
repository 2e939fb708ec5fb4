"""`KafkaMetrics`: the news-kafka metrics hook (publish, consume, handler, DLQ, lag families)."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from news_metrics._families import KafkaFamilies, LabelGuard, current_settings, kafka_families

if TYPE_CHECKING:
    from collections.abc import Callable

    from prometheus_client import CollectorRegistry

__all__ = ["KafkaMetrics"]

log = logging.getLogger("news_metrics")


def _noop(_amount: float) -> None:
    return None


class _Consumer:
    """Cached children of one (topic, group): what handling a message records."""

    __slots__ = ("consumed", "dead_lettered", "errors", "labels", "observe_duration")

    def __init__(
        self,
        labels: tuple[str, str],
        consumed: Callable[[float], None],
        dead_lettered: Callable[[float], None],
        observe_duration: Callable[[float], None],
    ) -> None:
        self.labels = labels
        self.consumed = consumed
        self.dead_lettered = dead_lettered
        self.observe_duration = observe_duration
        self.errors: dict[str, Callable[[float], None]] = {}


_DISABLED = _Consumer(("", ""), _noop, _noop, _noop)


class KafkaMetrics:
    """Records Kafka metrics; satisfies news-kafka's ``KafkaMetricsHook`` protocol.

    One instance serves every publisher and consumer of a process; label sets are resolved to
    metric children once and cached. ``topic``, ``group`` and ``error_type`` values are capped at
    `MetricsSettings.max_label_values` distinct values each (then ``other``, with one warning).

    Families (created on first use): ``kafka_messages_published_total{topic}``,
    ``kafka_publish_errors_total{topic,error_type}``,
    ``kafka_messages_consumed_total{topic,group}``,
    ``kafka_handler_errors_total{topic,group,error_type}``,
    ``kafka_messages_dead_lettered_total{topic,group}``,
    ``kafka_handler_duration_seconds{topic,group}``, ``kafka_consumer_lag{topic,partition,group}``.

    Never raises: a failure to create a metric is logged and the message goes on.

    Args:
        registry: Where the families live; the default registry unless a test isolates them.
    """

    __slots__ = (
        "_consumers",
        "_families",
        "_guards",
        "_lags",
        "_lock",
        "_publish_errors",
        "_published",
        "_registry",
    )

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self._registry = registry
        self._families: KafkaFamilies | None = None
        self._guards: dict[str, LabelGuard] = {}
        self._lock = threading.Lock()
        self._published: dict[str, Callable[[float], None]] = {}
        self._publish_errors: dict[tuple[str, str], Callable[[float], None]] = {}
        self._consumers: dict[tuple[str, str], _Consumer] = {}
        self._lags: dict[tuple[str, int, str], Callable[[float], None]] = {}

    # --- the hook ------------------------------------------------------------------------------

    def published(self, topic: str, n: int) -> None:
        """Count *n* messages the broker acknowledged on *topic*."""
        inc = self._published.get(topic)
        if inc is None:
            inc = self._resolve_published(topic)
        if n > 0:
            inc(n)

    def publish_failed(self, topic: str, error_type: str) -> None:
        """Count a failed publish to *topic* (*error_type*: the exception's class name)."""
        inc = self._publish_errors.get((topic, error_type))
        if inc is None:
            inc = self._resolve_publish_error(topic, error_type)
        inc(1)

    def consumed(self, topic: str, group: str) -> None:
        """Count a message of *topic* handed to *group*'s handler."""
        entry = self._consumers.get((topic, group))
        if entry is None:
            entry = self._resolve_consumer(topic, group)
        entry.consumed(1)

    def handler_failed(self, topic: str, group: str, error_type: str) -> None:
        """Count a handler attempt that raised *error_type*."""
        entry = self._consumers.get((topic, group))
        if entry is None:
            entry = self._resolve_consumer(topic, group)
        inc = entry.errors.get(error_type)
        if inc is None:
            inc = self._resolve_handler_error(entry, error_type)
        inc(1)

    def dead_lettered(self, topic: str, group: str) -> None:
        """Count a message of *topic* that *group* sent to the dead-letter topic."""
        entry = self._consumers.get((topic, group))
        if entry is None:
            entry = self._resolve_consumer(topic, group)
        entry.dead_lettered(1)

    def handler_duration(self, topic: str, group: str, seconds: float) -> None:
        """Observe how long *group*'s handler took for one message of *topic*."""
        entry = self._consumers.get((topic, group))
        if entry is None:
            entry = self._resolve_consumer(topic, group)
        entry.observe_duration(seconds)

    def lag(self, topic: str, partition: int, group: str, lag: int) -> None:
        """Set the consumer lag of (*topic*, *partition*) for *group*, in messages."""
        set_lag = self._lags.get((topic, partition, group))
        if set_lag is None:
            set_lag = self._resolve_lag(topic, partition, group)
        set_lag(lag)

    # --- slow path -----------------------------------------------------------------------------

    def _ready(self) -> KafkaFamilies:
        families = self._families
        if families is None:
            families = self._families = kafka_families(self._registry)
        return families

    def _admit(self, label: str, value: str) -> str:
        guard = self._guards.get(label)
        if guard is None:
            cap = current_settings().max_label_values
            guard = self._guards[label] = LabelGuard("kafka_*", label, cap)
        return guard.admit(value)

    def _resolve_published(self, topic: str) -> Callable[[float], None]:
        from news_metrics import _prometheus

        try:
            with self._lock:
                families = self._ready()
                label = self._admit("topic", topic)
                inc = _prometheus.counter_inc(families.published.labels(label))
                if label == topic:
                    self._published[topic] = inc
                return inc
        except Exception:
            log.exception("news_metrics: cannot count Kafka messages published to %r", topic)
            self._published[topic] = _noop  # log once per label set, not per message
            return _noop

    def _resolve_publish_error(self, topic: str, error_type: str) -> Callable[[float], None]:
        from news_metrics import _prometheus

        try:
            with self._lock:
                families = self._ready()
                labels = (self._admit("topic", topic), self._admit("error_type", error_type))
                inc = _prometheus.counter_inc(families.publish_errors.labels(*labels))
                if labels == (topic, error_type):
                    self._publish_errors[topic, error_type] = inc
                return inc
        except Exception:
            log.exception("news_metrics: cannot count Kafka publish errors for %r", topic)
            self._publish_errors[topic, error_type] = _noop
            return _noop

    def _resolve_consumer(self, topic: str, group: str) -> _Consumer:
        from news_metrics import _prometheus

        try:
            with self._lock:
                entry = self._consumers.get((topic, group))
                if entry is not None:
                    return entry
                families = self._ready()
                labels = (self._admit("topic", topic), self._admit("group", group))
                entry = self._consumers.get(labels)
                if entry is None:
                    entry = _Consumer(
                        labels,
                        _prometheus.counter_inc(families.consumed.labels(*labels)),
                        _prometheus.counter_inc(families.dead_lettered.labels(*labels)),
                        _prometheus.histogram_observe(families.handler_duration.labels(*labels)),
                    )
                    self._consumers[labels] = entry
                return entry
        except Exception:
            log.exception("news_metrics: cannot record Kafka consumer metrics for %r", topic)
            self._consumers[topic, group] = _DISABLED
            return _DISABLED

    def _resolve_handler_error(self, entry: _Consumer, error_type: str) -> Callable[[float], None]:
        if entry is _DISABLED:
            return _noop
        from news_metrics import _prometheus

        try:
            with self._lock:
                families = self._ready()
                label = self._admit("error_type", error_type)
                inc = entry.errors.get(label)
                if inc is None:
                    child = families.handler_errors.labels(*entry.labels, label)
                    inc = entry.errors[label] = _prometheus.counter_inc(child)
                if label != error_type:
                    return inc
                entry.errors[error_type] = inc
                return inc
        except Exception:
            log.exception("news_metrics: cannot count Kafka handler errors %r", error_type)
            return _noop

    def _resolve_lag(self, topic: str, partition: int, group: str) -> Callable[[float], None]:

        try:
            with self._lock:
                families = self._ready()
                labels = (self._admit("topic", topic), str(partition), self._admit("group", group))
                set_lag: Callable[[float], None] = families.lag.labels(*labels).set
                if labels[0] == topic and labels[2] == group:
                    self._lags[topic, partition, group] = set_lag
                return set_lag
        except Exception:
            log.exception("news_metrics: cannot set Kafka consumer lag for %r", topic)
            self._lags[topic, partition, group] = _noop
            return _noop
