"""The errors news-kafka raises, all under one root.

::

    NewsKafkaError
    ├── KafkaConfigError (also ValueError)      bad settings, found at construction or start
    ├── SerializationError (also TypeError)     a value or key cannot be encoded for Kafka
    ├── PublishError                            a record was not delivered (names topic, key,
    │   │                                       attempts; the Kafka error is ``__cause__``)
    │   ├── PublisherClosedError                publish after close() / before start()
    │   └── BrokerUnavailableError              no broker has answered for a while: publishes
    │                                           fail at once until one answers again
    ├── PoisonRecordError                       raised by a handler: dead-letter this record
    │                                           now, without retries
    ├── ConsumerError                           the consumer could not run (start failed, or
    │                                           a fatal Kafka error stopped it)
    └── AdminError                              a topic or group operation failed

Third-party (aiokafka) errors are translated at the boundary and kept as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "AdminError",
    "BrokerUnavailableError",
    "ConsumerError",
    "KafkaConfigError",
    "NewsKafkaError",
    "PoisonRecordError",
    "PublishError",
    "PublisherClosedError",
    "SerializationError",
]


class NewsKafkaError(Exception):
    """Root of every error raised by news-kafka."""


class KafkaConfigError(NewsKafkaError, ValueError):
    """The settings are invalid or inconsistent; the message names the field and the fix."""


class SerializationError(NewsKafkaError, TypeError):
    """A record's value or key cannot be encoded (unsupported type, tombstone without key)."""


class PublishError(NewsKafkaError):
    """A record (or a batch of records) was not delivered to Kafka.

    Attributes:
        topic: The topic the record was meant for.
        key: The record's key (``None`` when it had none, or for a batch).
        attempts: How many times delivery was tried.
        partition: The partition of the failed batch (``publish_many``), else ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        topic: str,
        key: bytes | None = None,
        attempts: int = 0,
        partition: int | None = None,
    ) -> None:
        super().__init__(message)
        self.topic = topic
        self.key = key
        self.attempts = attempts
        self.partition = partition


class PublisherClosedError(PublishError, RuntimeError):
    """The publisher is not running: publish before ``start()`` or after ``stop()``."""


class BrokerUnavailableError(PublishError):
    """No Kafka broker answers: the publisher fails publishes at once instead of waiting.

    Raised by ``publish``, ``send`` and ``publish_many`` once probes have found no broker for
    ``producer.fail_fast_after`` seconds (and by ``Publisher.health_check``). Nothing was
    sent; publishing resumes by itself when a probe reaches a broker. Answer your own callers
    with "try again later" (HTTP 503 with Retry-After).
    """


class PoisonRecordError(NewsKafkaError):
    """Raise it from a handler to send the record to the dead-letter topic without retries.

    Use it for records that can never succeed (a reference to something that will never exist,
    a business rule that rejects the record); the message goes into the dead-letter headers.
    """


class ConsumerError(NewsKafkaError):
    """The consumer could not start, or a fatal Kafka error stopped it (see ``__cause__``)."""


class AdminError(NewsKafkaError):
    """A topic or consumer-group operation failed (see the message and ``__cause__``)."""
