"""Settings of news-metrics: a plain frozen msgspec Struct that news-config (or code) fills."""

from __future__ import annotations

import itertools
import math
from typing import Annotated

import msgspec

from news_metrics._errors import MetricsConfigError

__all__ = [
    "DEFAULT_HTTP_DURATION_BUCKETS",
    "DEFAULT_HTTP_SIZE_BUCKETS",
    "DEFAULT_KAFKA_DURATION_BUCKETS",
    "DEFAULT_REDIS_DURATION_BUCKETS",
    "MetricsSettings",
]

#: Seconds. Fine below 100 ms (where a news API lives), and 0.5 s is a boundary: the shipped
#: latency-SLO alerts count requests slower than 0.5 s from the ``le="0.5"`` bucket.
DEFAULT_HTTP_DURATION_BUCKETS: tuple[float, ...] = (
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
#: Bytes: an empty 204 to a large article list.
DEFAULT_HTTP_SIZE_BUCKETS: tuple[float, ...] = (
    100.0,
    1_000.0,
    10_000.0,
    100_000.0,
    1_000_000.0,
    10_000_000.0,
)
#: Seconds a Kafka handler takes for one message: milliseconds to the retry timeouts.
DEFAULT_KAFKA_DURATION_BUCKETS: tuple[float, ...] = (
    0.001,
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
    60.0,
)
#: Seconds a Redis command takes: a tenth of a millisecond on loopback to the socket timeouts.
DEFAULT_REDIS_DURATION_BUCKETS: tuple[float, ...] = (
    0.0001,
    0.00025,
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
)


def _check_buckets(field: str, buckets: tuple[float, ...]) -> None:
    if not buckets:
        raise MetricsConfigError(f"{field} is empty; give at least one upper bound")
    if any(not math.isfinite(b) for b in buckets):
        raise MetricsConfigError(
            f"{field} must hold finite numbers (+Inf is always added): {buckets!r}"
        )
    if any(b >= c for b, c in itertools.pairwise(buckets)):
        raise MetricsConfigError(f"{field} must be strictly increasing: {buckets!r}")


class MetricsSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How a service exposes metrics: endpoint, standalone server, buckets and cardinality caps."""

    path: Annotated[
        str,
        msgspec.Meta(
            pattern="^/", description="HTTP path of the exposition endpoint (news-http, server)."
        ),
    ] = "/metrics"
    host: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description="Address the standalone exposition server (Kafka-only workers) binds.",
        ),
    ] = "0.0.0.0"  # noqa: S104 - Prometheus scrapes pods from outside: the point is to listen
    port: Annotated[
        int,
        msgspec.Meta(
            ge=0, le=65535, description="Port of the standalone exposition server (0: any free)."
        ),
    ] = 9464
    multiprocess_dir: Annotated[
        str,
        msgspec.Meta(
            description="Folder for multi-process metric files (emptied at start). Empty: "
            "PROMETHEUS_MULTIPROC_DIR if set, else a new private temporary folder."
        ),
    ] = ""
    http_duration_buckets: Annotated[
        tuple[float, ...],
        msgspec.Meta(description="Upper bounds (s) of http_request_duration_seconds."),
    ] = DEFAULT_HTTP_DURATION_BUCKETS
    http_size_buckets: Annotated[
        tuple[float, ...],
        msgspec.Meta(description="Upper bounds (bytes) of http_response_size_bytes."),
    ] = DEFAULT_HTTP_SIZE_BUCKETS
    kafka_duration_buckets: Annotated[
        tuple[float, ...],
        msgspec.Meta(description="Upper bounds (s) of kafka_handler_duration_seconds."),
    ] = DEFAULT_KAFKA_DURATION_BUCKETS
    redis_duration_buckets: Annotated[
        tuple[float, ...],
        msgspec.Meta(description="Upper bounds (s) of redis_command_duration_seconds."),
    ] = DEFAULT_REDIS_DURATION_BUCKETS
    multiprocess_flush_interval: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            le=60.0,
            description="Multi-process mode: seconds between writes of a worker's buffered "
            "values to its files (0: write every value at once, several times slower).",
        ),
    ] = 1.0
    max_routes: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            description="Distinct (method, route) pairs recorded; more are counted as "
            "route='other' (guards against raw paths passed as routes).",
        ),
    ] = 1000
    max_label_values: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            description="Distinct values kept per label of business events and of Kafka "
            "topic/group/error_type labels; further values become 'other'.",
        ),
    ] = 100
    created_series: Annotated[
        bool,
        msgspec.Meta(
            description="Expose the *_created series of counters and histograms (doubles "
            "the series count; off by default)."
        ),
    ] = False
    process_metrics: Annotated[
        bool,
        msgspec.Meta(
            description="Expose process_* (CPU, memory, fds) and python_* runtime metrics."
        ),
    ] = True

    def __post_init__(self) -> None:
        _check_buckets("http_duration_buckets", self.http_duration_buckets)
        _check_buckets("http_size_buckets", self.http_size_buckets)
        _check_buckets("kafka_duration_buckets", self.kafka_duration_buckets)
        _check_buckets("redis_duration_buckets", self.redis_duration_buckets)
