"""`KafkaSettings`: everything a service configures about Kafka, as frozen msgspec Structs.

news-config fills the tree from the environment, e.g. with ``prefix="NEWSROOM_KAFKA__"``::

    NEWSROOM_KAFKA__BOOTSTRAP_SERVERS=kafka-1:9092,kafka-2:9092
    NEWSROOM_KAFKA__SECURITY__PROTOCOL=SASL_SSL
    NEWSROOM_KAFKA__SECURITY__SASL_MECHANISM=SCRAM-SHA-512
    NEWSROOM_KAFKA__SECURITY__USERNAME=newsroom
    NEWSROOM_KAFKA__SECURITY__PASSWORD=...            (or a secret file)
    NEWSROOM_KAFKA__PRODUCER__LINGER_MS=5
    NEWSROOM_KAFKA__CONSUMER__GROUP_ID=newsroom-indexer

Inconsistent values (SASL without a username, a heartbeat longer than a third of the session
timeout...) raise `KafkaConfigError` when the Struct is built, so a service fails at start-up
with a message that names the field.
"""

from __future__ import annotations

import random
from typing import Annotated, Literal

import msgspec

from news_config import Secret
from news_kafka._errors import KafkaConfigError

__all__ = [
    "ConsumerSettings",
    "KafkaSettings",
    "ProducerSettings",
    "RetryPolicy",
    "SecuritySettings",
]

Meta = msgspec.Meta


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How often and how patiently to retry: exponential backoff with jitter.

    The delay after failed attempt *n* (1-based) is ``min(backoff_max_ms, backoff_base_ms *
    2**(n-1))``, of which a random fraction of up to ``jitter`` is taken away (so many clients
    that failed together do not retry together).
    """

    attempts: Annotated[
        int,
        Meta(ge=1, le=1000, description="Tries in total, the first one included (1 = no retry)"),
    ] = 5
    backoff_base_ms: Annotated[
        float, Meta(ge=0, description="Delay after the first failed attempt, in milliseconds")
    ] = 100.0
    backoff_max_ms: Annotated[
        float, Meta(ge=0, description="Upper bound of any single delay, in milliseconds")
    ] = 5_000.0
    jitter: Annotated[
        float,
        Meta(ge=0, le=1, description="Fraction of each delay randomised away (0 = fixed delays)"),
    ] = 0.5

    def __post_init__(self) -> None:
        if self.backoff_max_ms < self.backoff_base_ms:
            raise KafkaConfigError(
                f"retry: backoff_max_ms ({self.backoff_max_ms}) is below backoff_base_ms "
                f"({self.backoff_base_ms}); raise backoff_max_ms or lower backoff_base_ms"
            )

    def delay(self, attempt: int) -> float:
        """Return the delay in seconds to wait after failed attempt ``attempt`` (1-based)."""
        base = min(self.backoff_max_ms, self.backoff_base_ms * 2.0 ** min(attempt - 1, 60))
        if self.jitter:
            base -= base * self.jitter * random.random()  # noqa: S311 - jitter, not crypto
        return base / 1000.0


SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class SecuritySettings(msgspec.Struct, frozen=True, kw_only=True):
    """How to connect: TLS and SASL (PLAIN or SCRAM) credentials."""

    protocol: Annotated[
        SecurityProtocol,
        Meta(description="PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over TLS)"),
    ] = "PLAINTEXT"
    sasl_mechanism: Annotated[
        SaslMechanism,
        Meta(description="SASL mechanism for SASL_* protocols: PLAIN, SCRAM-SHA-256/512"),
    ] = "PLAIN"
    username: Annotated[
        str | None, Meta(description="SASL username (required for SASL_* protocols)")
    ] = None
    password: Annotated[
        Secret | None, Meta(description="SASL password (required for SASL_* protocols)")
    ] = None
    ssl_cafile: Annotated[
        str | None,
        Meta(description="PEM file of CAs to trust for TLS (None: the system's trust store)"),
    ] = None
    ssl_certfile: Annotated[
        str | None, Meta(description="PEM client certificate, for mutual TLS")
    ] = None
    ssl_keyfile: Annotated[str | None, Meta(description="PEM private key of ssl_certfile")] = None
    ssl_key_password: Annotated[
        Secret | None, Meta(description="Password of ssl_keyfile, when it is encrypted")
    ] = None
    ssl_check_hostname: Annotated[
        bool, Meta(description="Check that the broker certificate matches its host name")
    ] = True

    def __post_init__(self) -> None:
        uses_sasl = self.protocol.startswith("SASL_")
        uses_tls = self.protocol in {"SSL", "SASL_SSL"}
        if uses_sasl and not self.username:
            raise KafkaConfigError(
                f"security: protocol {self.protocol} needs security.username (and "
                "security.password); set both, or use protocol PLAINTEXT/SSL"
            )
        if uses_sasl and not self.password:
            raise KafkaConfigError(
                f"security: protocol {self.protocol} needs security.password for user "
                f"{self.username!r}; set it (news-config reads it from env or a secret file)"
            )
        if not uses_sasl and (self.username or self.password):
            raise KafkaConfigError(
                f"security: username/password are set but protocol is {self.protocol}, which "
                "sends no credentials; use SASL_SSL (or SASL_PLAINTEXT) or remove them"
            )
        tls_files = [
            name
            for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_key_password")
            if getattr(self, name)
        ]
        if tls_files and not uses_tls:
            raise KafkaConfigError(
                f"security: {', '.join(tls_files)} set but protocol is {self.protocol}, which "
                "does not use TLS; use SSL or SASL_SSL, or remove them"
            )
        if self.ssl_keyfile and not self.ssl_certfile:
            raise KafkaConfigError(
                "security: ssl_keyfile is set without ssl_certfile; mutual TLS needs both"
            )


Acks = Literal["all", "1", "0"]
Compression = Literal["none", "gzip", "snappy", "lz4", "zstd"]
Serializer = Literal["json", "msgpack"]


class ProducerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the `Publisher` batches, acknowledges, encodes and retries."""

    acks: Annotated[
        Acks,
        Meta(description="Acknowledgement: all (every in-sync replica), 1 (leader) or 0 (none)"),
    ] = "all"
    idempotence: Annotated[
        bool,
        Meta(
            description="Idempotent producer: no duplicates from internal retries (needs acks=all)"
        ),
    ] = True
    linger_ms: Annotated[
        int,
        Meta(
            ge=0,
            le=60_000,
            description="Extra wait to fill batches for send(); awaited publish() never waits it",
        ),
    ] = 0
    batch_size: Annotated[
        int, Meta(ge=1024, description="Maximum bytes of one batch per partition (send())")
    ] = 16_384
    max_request_size: Annotated[
        int, Meta(ge=1024, description="Largest record (and publish_many batch) in bytes")
    ] = 1_048_576
    compression: Annotated[
        Compression, Meta(description="Batch compression: none, gzip, snappy, lz4 or zstd")
    ] = "none"
    request_timeout_ms: Annotated[
        int,
        Meta(
            ge=100,
            description="Time for Kafka to acknowledge a batch; also one delivery attempt's bound",
        ),
    ] = 30_000
    serializer: Annotated[
        Serializer,
        Meta(description="Encoding of Structs/dicts: json or msgpack (named in content-type)"),
    ] = "json"
    close_timeout_ms: Annotated[
        int, Meta(ge=0, description="close(): how long to wait for accepted records to flush")
    ] = 30_000
    delivery_timeout_ms: Annotated[
        int,
        Meta(
            ge=1000,
            description="Upper bound of one delivery, every attempt and backoff included "
            "(Kafka's delivery.timeout.ms); a call's timeout= overrides it",
        ),
    ] = 120_000
    fail_fast_after: (
        Annotated[
            float,
            Meta(
                ge=0,
                description="Seconds no broker may answer (probed while records wait) before "
                "publishes fail at once with BrokerUnavailableError; empty: never",
            ),
        ]
        | None
    ) = 5.0
    probe_interval: Annotated[
        float,
        Meta(
            gt=0,
            le=60,
            description="Seconds between probes (a metadata request) while records wait "
            "unacknowledged, and while failing fast",
        ),
    ] = 1.0
    retry: Annotated[RetryPolicy, Meta(description="Retries of retriable delivery errors")] = (
        msgspec.field(default_factory=RetryPolicy)
    )

    def __post_init__(self) -> None:
        if self.delivery_timeout_ms < self.request_timeout_ms + self.linger_ms:
            raise KafkaConfigError(
                f"producer: delivery_timeout_ms ({self.delivery_timeout_ms}) must be at least "
                f"request_timeout_ms + linger_ms ({self.request_timeout_ms + self.linger_ms}): "
                "one attempt must fit in a delivery"
            )
        if self.idempotence and self.acks != "all":
            raise KafkaConfigError(
                f"producer: idempotence needs acks=all, got acks={self.acks}; set acks=all "
                "or idempotence=false"
            )
        if self.batch_size > self.max_request_size:
            raise KafkaConfigError(
                f"producer: batch_size ({self.batch_size}) exceeds max_request_size "
                f"({self.max_request_size}); a batch must fit in one request"
            )


AutoOffsetReset = Literal["earliest", "latest"]
MetricsMode = Literal["auto", "on", "off"]


def _default_handler_retry() -> RetryPolicy:
    return RetryPolicy(attempts=3, backoff_base_ms=200.0, backoff_max_ms=5_000.0)


class ConsumerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How a `Consumer` joins its group, fetches, runs handlers, retries and dead-letters."""

    group_id: Annotated[
        str | None, Meta(description="Consumer group (the Consumer's group_id= overrides it)")
    ] = None
    auto_offset_reset: Annotated[
        AutoOffsetReset,
        Meta(description="Where a group without committed offsets starts: earliest or latest"),
    ] = "earliest"
    max_poll_records: Annotated[
        int, Meta(ge=1, description="Most records fetched per poll (per batch)")
    ] = 500
    max_poll_interval_ms: Annotated[
        int,
        Meta(ge=1000, description="Longest gap between polls before Kafka evicts the member"),
    ] = 300_000
    session_timeout_ms: Annotated[
        int,
        Meta(ge=100, description="Member is dead after this long without a heartbeat"),
    ] = 10_000
    heartbeat_interval_ms: Annotated[
        int, Meta(ge=10, description="Heartbeat period; at most a third of session_timeout_ms")
    ] = 3_000
    fetch_max_wait_ms: Annotated[
        int, Meta(ge=0, description="How long the broker may hold a fetch waiting for data")
    ] = 500
    max_partition_fetch_bytes: Annotated[
        int, Meta(ge=1024, description="Most bytes fetched per partition per request")
    ] = 1_048_576
    concurrency: Annotated[
        int, Meta(ge=1, le=1024, description="Partitions whose records are handled at once")
    ] = 8
    # Large enough for one fetch response of small records (max_partition_fetch_bytes of
    # 200-byte records): aiokafka fetches a partition again only once its previous records
    # were taken, so a smaller queue leaves the handlers idle during every fetch round trip.
    max_buffered_records: Annotated[
        int,
        Meta(ge=1, description="Records queued per partition before fetching it is held back"),
    ] = 5_000
    handler_timeout_ms: (
        Annotated[
            int,
            Meta(ge=1, description="One handler call's time limit (a failed attempt if exceeded)"),
        ]
        | None
    ) = 60_000
    commit_interval_ms: Annotated[
        int, Meta(ge=0, description="Least time between two offset commits (progress batching)")
    ] = 200
    stop_timeout_ms: Annotated[
        int, Meta(ge=0, description="stop(): how long in-flight handlers may take to finish")
    ] = 30_000
    dead_letter_suffix: Annotated[
        str,
        Meta(min_length=1, description="Dead-letter topic of topic T is T + this suffix"),
    ] = ".dlq"
    retry: Annotated[
        RetryPolicy, Meta(description="Handler retries before a record is dead-lettered")
    ] = msgspec.field(default_factory=_default_handler_retry)

    def __post_init__(self) -> None:
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise KafkaConfigError(
                f"consumer: heartbeat_interval_ms ({self.heartbeat_interval_ms}) must be at "
                f"most a third of session_timeout_ms ({self.session_timeout_ms}); lower the "
                "heartbeat or raise the session timeout"
            )
        if (
            self.handler_timeout_ms is not None
            and self.handler_timeout_ms >= self.max_poll_interval_ms
        ):
            raise KafkaConfigError(
                f"consumer: handler_timeout_ms ({self.handler_timeout_ms}) must be below "
                f"max_poll_interval_ms ({self.max_poll_interval_ms})"
            )


class KafkaSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Kafka connection, security, producer and consumer settings for a service.

    Example:
        >>> settings = KafkaSettings(bootstrap_servers=("kafka-1:9092", "kafka-2:9092"))
        >>> settings.producer.acks
        'all'
    """

    bootstrap_servers: Annotated[
        tuple[str, ...],
        Meta(min_length=1, description="Brokers to bootstrap from, host:port each"),
    ] = ("localhost:9092",)
    client_id: Annotated[
        str, Meta(min_length=1, description="Client id shown in broker logs and quotas")
    ] = "news-kafka"
    metadata_max_age_ms: Annotated[
        int, Meta(ge=100, description="Refresh cluster metadata at least this often")
    ] = 300_000
    retry_backoff_ms: Annotated[
        int, Meta(ge=0, description="aiokafka's internal wait before re-sending a request")
    ] = 100
    security: Annotated[SecuritySettings, Meta(description="TLS and SASL settings")] = (
        msgspec.field(default_factory=SecuritySettings)
    )
    producer: Annotated[ProducerSettings, Meta(description="Publisher settings")] = msgspec.field(
        default_factory=ProducerSettings
    )
    consumer: Annotated[ConsumerSettings, Meta(description="Consumer settings")] = msgspec.field(
        default_factory=ConsumerSettings
    )
    metrics: Annotated[
        MetricsMode,
        Meta(
            description=(
                "Prometheus metrics when no metrics= hook is passed: auto (if news-metrics is "
                "installed), on (require it), off"
            )
        ),
    ] = "auto"

    def __post_init__(self) -> None:
        for server in self.bootstrap_servers:
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise KafkaConfigError(
                    f"bootstrap_servers: {server!r} is not host:port (e.g. kafka-1:9092); "
                    "list brokers separated by commas"
                )
