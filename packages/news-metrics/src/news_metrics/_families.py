"""The standard metric families, the process-wide settings, and `setup`.

Families are created lazily, the first time a hook records something in a process, never at import
or construction: in multi-process mode the value class (mmap files) must be in place before the
first metric object exists, and services build their app (and its hooks) before the runner calls
`news_metrics.multiprocess.prepare()`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any, Final

from news_metrics._errors import MetricsConfigError
from news_metrics._settings import MetricsSettings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "HTTP_FAMILIES",
    "KAFKA_FAMILIES",
    "REDIS_FAMILIES",
    "FamilySpec",
    "HTTPFamilies",
    "KafkaFamilies",
    "RedisFamilies",
    "current_settings",
    "http_families",
    "kafka_families",
    "redis_families",
    "setup",
    "values_are_multiprocess",
]

log = logging.getLogger("news_metrics")

OTHER: Final = "other"


class FamilySpec:
    """One standard family: name (as exposed), type, labels, help text, multiprocess gauge mode."""

    __slots__ = ("buckets_field", "help", "labels", "mode", "name", "type")

    def __init__(
        self,
        name: str,
        type: str,
        labels: tuple[str, ...],
        help: str,
        *,
        buckets_field: str | None = None,
        mode: str | None = None,
    ) -> None:
        self.name = name
        self.type = type
        self.labels = labels
        self.help = help
        self.buckets_field = buckets_field
        self.mode = mode


HTTP_REQUESTS = FamilySpec(
    "http_requests_total",
    "counter",
    ("method", "route", "status"),
    "HTTP requests served, by method, route template and status code.",
)
HTTP_DURATION = FamilySpec(
    "http_request_duration_seconds",
    "histogram",
    ("method", "route"),
    "Time from receiving an HTTP request to its response being ready, in seconds.",
    buckets_field="http_duration_buckets",
)
HTTP_IN_FLIGHT = FamilySpec(
    "http_requests_in_flight",
    "gauge",
    ("method", "route"),
    "HTTP requests being served right now.",
    mode="livesum",
)
HTTP_SIZE = FamilySpec(
    "http_response_size_bytes",
    "histogram",
    ("method", "route"),
    "Size of HTTP response bodies, in bytes.",
    buckets_field="http_size_buckets",
)
KAFKA_PUBLISHED = FamilySpec(
    "kafka_messages_published_total",
    "counter",
    ("topic",),
    "Kafka messages acknowledged by the broker, by topic.",
)
KAFKA_PUBLISH_ERRORS = FamilySpec(
    "kafka_publish_errors_total",
    "counter",
    ("topic", "error_type"),
    "Kafka publish attempts that failed, by topic and error type.",
)
KAFKA_CONSUMED = FamilySpec(
    "kafka_messages_consumed_total",
    "counter",
    ("topic", "group"),
    "Kafka messages handed to a consumer's handler, by topic and consumer group.",
)
KAFKA_HANDLER_ERRORS = FamilySpec(
    "kafka_handler_errors_total",
    "counter",
    ("topic", "group", "error_type"),
    "Kafka handler attempts that raised, by topic, consumer group and error type.",
)
KAFKA_DEAD_LETTERED = FamilySpec(
    "kafka_messages_dead_lettered_total",
    "counter",
    ("topic", "group"),
    "Kafka messages sent to the dead-letter topic, by source topic and consumer group.",
)
KAFKA_HANDLER_DURATION = FamilySpec(
    "kafka_handler_duration_seconds",
    "histogram",
    ("topic", "group"),
    "Time a Kafka handler took for one message, in seconds.",
    buckets_field="kafka_duration_buckets",
)
KAFKA_LAG = FamilySpec(
    "kafka_consumer_lag",
    "gauge",
    ("topic", "partition", "group"),
    "Messages in a partition not yet consumed by the group (high watermark - position).",
    mode="livemostrecent",
)

REDIS_DURATION = FamilySpec(
    "redis_command_duration_seconds",
    "histogram",
    ("client", "command"),
    "Time a Redis command took from send to reply, by client and command, in seconds.",
    buckets_field="redis_duration_buckets",
)
REDIS_ERRORS = FamilySpec(
    "redis_command_errors_total",
    "counter",
    ("client", "command", "error_type"),
    "Redis commands that failed, by client, command and news-redis error type.",
)
REDIS_POOL_IN_USE = FamilySpec(
    "redis_pool_connections_in_use",
    "gauge",
    ("client",),
    "Connections of a Redis client's pool lent out (as of its last command).",
    mode="livesum",
)
REDIS_POOL_SIZE = FamilySpec(
    "redis_pool_connections_max",
    "gauge",
    ("client",),
    "The most connections a Redis client's pool opens (pool_size).",
    mode="livesum",
)
REDIS_RATE_LIMITED = FamilySpec(
    "redis_ratelimit_decisions_total",
    "counter",
    ("policy", "outcome"),
    "Rate-limit checks by policy and outcome (allowed, limited, fallback_allowed, "
    "fallback_limited, failed_open, failed_closed).",
)

HTTP_FAMILIES: Final = (HTTP_REQUESTS, HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_SIZE)
REDIS_FAMILIES: Final = (
    REDIS_DURATION,
    REDIS_ERRORS,
    REDIS_POOL_IN_USE,
    REDIS_POOL_SIZE,
    REDIS_RATE_LIMITED,
)
KAFKA_FAMILIES: Final = (
    KAFKA_PUBLISHED,
    KAFKA_PUBLISH_ERRORS,
    KAFKA_CONSUMED,
    KAFKA_HANDLER_ERRORS,
    KAFKA_DEAD_LETTERED,
    KAFKA_HANDLER_DURATION,
    KAFKA_LAG,
)

_BUCKET_FIELDS: Final = (
    "http_duration_buckets",
    "http_size_buckets",
    "kafka_duration_buckets",
    "redis_duration_buckets",
)

_lock = threading.RLock()
_settings = MetricsSettings()
# Which bucket settings were used to create families; None until the first family exists.
_frozen_buckets: dict[str, tuple[float, ...]] | None = None
# True once a family was created with in-memory values (single-process mode).
_created_in_memory = False
_http: dict[int, tuple[CollectorRegistry, HTTPFamilies]] = {}
_kafka: dict[int, tuple[CollectorRegistry, KafkaFamilies]] = {}
_redis: dict[int, tuple[CollectorRegistry, RedisFamilies]] = {}


def current_settings() -> MetricsSettings:
    """The settings in force in this process (`setup`'s, or the defaults)."""
    return _settings


def values_are_multiprocess() -> bool:
    """Whether prometheus-client records new metric values into multi-process mmap files."""
    from news_metrics import _prometheus

    return _prometheus.values_are_multiprocess()


def created_in_memory() -> bool:
    """Whether a standard family was already created with in-memory (single-process) values."""
    return _created_in_memory


def _apply_globals(settings: MetricsSettings) -> None:
    import prometheus_client as pc

    if settings.created_series:
        pc.enable_created_metrics()  # type: ignore[no-untyped-call]
    else:
        pc.disable_created_metrics()  # type: ignore[no-untyped-call]
    default_collectors = (pc.PROCESS_COLLECTOR, pc.PLATFORM_COLLECTOR, pc.GC_COLLECTOR)
    for collector in default_collectors:
        # The public API only: registering twice is a ValueError, unregistering a stranger a
        # KeyError (no peeking into the registry's private maps).
        if settings.process_metrics:
            with contextlib.suppress(ValueError):
                pc.REGISTRY.register(collector)
        else:
            with contextlib.suppress(KeyError):
                pc.REGISTRY.unregister(collector)


def setup(settings: MetricsSettings | None = None) -> None:
    """Apply *settings* to this process (call once at startup; calling again is fine).

    Turns the ``*_created`` series on or off and the process/runtime collectors of the default
    registry, and sets the buckets and cardinality caps used from now on.

    Raises:
        MetricsConfigError: buckets differ from those of metrics already created in this process
            (a histogram's buckets cannot change once it exists: restart to change them).
    """
    global _settings  # noqa: PLW0603 - process-wide configuration, like logging's
    settings = settings if settings is not None else MetricsSettings()
    with _lock:
        if _frozen_buckets is not None:
            changed = [f for f in _BUCKET_FIELDS if getattr(settings, f) != _frozen_buckets[f]]
            if changed:
                raise MetricsConfigError(
                    f"{', '.join(changed)} cannot change: metrics using the old buckets already "
                    "exist in this process; call news_metrics.setup() before recording anything"
                )
        _settings = settings
        _apply_globals(settings)


def _freeze() -> MetricsSettings:
    """Record that families now exist with the current buckets; return the settings in force."""
    global _frozen_buckets, _created_in_memory  # noqa: PLW0603
    from news_metrics import _prometheus

    if _frozen_buckets is None:
        _frozen_buckets = {f: getattr(_settings, f) for f in _BUCKET_FIELDS}
        _apply_globals(_settings)
    if values_are_multiprocess():
        _prometheus.set_buffering(_settings.multiprocess_flush_interval)
    else:
        _prometheus.set_buffering(0.0)
        _created_in_memory = True
    return _settings


def _make(spec: FamilySpec, registry: CollectorRegistry, settings: MetricsSettings) -> Any:
    from prometheus_client import Counter, Gauge, Histogram

    if spec.type == "counter":
        return Counter(spec.name, spec.help, spec.labels, registry=registry)
    if spec.type == "histogram":
        assert spec.buckets_field is not None
        buckets = getattr(settings, spec.buckets_field)
        return Histogram(spec.name, spec.help, spec.labels, registry=registry, buckets=buckets)
    return Gauge(
        spec.name,
        spec.help,
        spec.labels,
        registry=registry,
        multiprocess_mode=spec.mode or "all",  # type: ignore[arg-type]
    )


class HTTPFamilies:
    """The four HTTP RED families of one registry."""

    __slots__ = ("duration", "in_flight", "requests", "size")

    def __init__(self, registry: CollectorRegistry, settings: MetricsSettings) -> None:
        self.requests: Counter = _make(HTTP_REQUESTS, registry, settings)
        self.duration: Histogram = _make(HTTP_DURATION, registry, settings)
        self.in_flight: Gauge = _make(HTTP_IN_FLIGHT, registry, settings)
        self.size: Histogram = _make(HTTP_SIZE, registry, settings)


class KafkaFamilies:
    """The seven Kafka families of one registry."""

    __slots__ = (
        "consumed",
        "dead_lettered",
        "handler_duration",
        "handler_errors",
        "lag",
        "publish_errors",
        "published",
    )

    def __init__(self, registry: CollectorRegistry, settings: MetricsSettings) -> None:
        self.published: Counter = _make(KAFKA_PUBLISHED, registry, settings)
        self.publish_errors: Counter = _make(KAFKA_PUBLISH_ERRORS, registry, settings)
        self.consumed: Counter = _make(KAFKA_CONSUMED, registry, settings)
        self.handler_errors: Counter = _make(KAFKA_HANDLER_ERRORS, registry, settings)
        self.dead_lettered: Counter = _make(KAFKA_DEAD_LETTERED, registry, settings)
        self.handler_duration: Histogram = _make(KAFKA_HANDLER_DURATION, registry, settings)
        self.lag: Gauge = _make(KAFKA_LAG, registry, settings)


class RedisFamilies:
    """The five Redis families of one registry."""

    __slots__ = ("duration", "errors", "in_use", "pool_size", "rate_limited")

    def __init__(self, registry: CollectorRegistry, settings: MetricsSettings) -> None:
        self.duration: Histogram = _make(REDIS_DURATION, registry, settings)
        self.errors: Counter = _make(REDIS_ERRORS, registry, settings)
        self.in_use: Gauge = _make(REDIS_POOL_IN_USE, registry, settings)
        self.pool_size: Gauge = _make(REDIS_POOL_SIZE, registry, settings)
        self.rate_limited: Counter = _make(REDIS_RATE_LIMITED, registry, settings)


def redis_families(registry: CollectorRegistry | None = None) -> RedisFamilies:
    """The Redis families of *registry* (default: prometheus-client's), created on first use."""
    reg = _registry(registry)
    found = _redis.get(id(reg))
    if found is not None:
        return found[1]
    with _lock:
        found = _redis.get(id(reg))
        if found is None:
            found = _redis[id(reg)] = (reg, RedisFamilies(reg, _freeze()))
        return found[1]


def _registry(registry: CollectorRegistry | None) -> CollectorRegistry:
    if registry is not None:
        return registry
    from prometheus_client import REGISTRY

    return REGISTRY


def http_families(registry: CollectorRegistry | None = None) -> HTTPFamilies:
    """The HTTP families of *registry* (default: prometheus-client's), created on first use."""
    reg = _registry(registry)
    found = _http.get(id(reg))
    if found is not None:
        return found[1]
    with _lock:
        found = _http.get(id(reg))
        if found is None:
            found = _http[id(reg)] = (reg, HTTPFamilies(reg, _freeze()))
        return found[1]


def kafka_families(registry: CollectorRegistry | None = None) -> KafkaFamilies:
    """The Kafka families of *registry* (default: prometheus-client's), created on first use."""
    reg = _registry(registry)
    found = _kafka.get(id(reg))
    if found is not None:
        return found[1]
    with _lock:
        found = _kafka.get(id(reg))
        if found is None:
            found = _kafka[id(reg)] = (reg, KafkaFamilies(reg, _freeze()))
        return found[1]


class LabelGuard:
    """Caps the distinct values one label takes; later new values become ``other``.

    Used on the slow path only (when a label set is first seen). Thread-safe.
    """

    __slots__ = ("_lock", "_seen", "_warned", "cap", "label", "owner")

    def __init__(self, owner: str, label: str, cap: int) -> None:
        self.owner = owner
        self.label = label
        self.cap = cap
        self._seen: set[str] = set()
        self._warned = False
        self._lock = threading.Lock()

    def admit(self, value: str) -> str:
        """Return *value* if it is known or there is room for it, else ``other``."""
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self.cap:
                self._seen.add(value)
                return value
            if not self._warned:
                self._warned = True
                log.warning(
                    "metric %s: label %r reached %d distinct values; further new values are "
                    "recorded as %r (first one refused: %r)",
                    self.owner,
                    self.label,
                    self.cap,
                    OTHER,
                    value,
                )
            return OTHER
