"""Kafka for news platform services: typed Publisher, at-least-once Consumer, DLQ, admin.

Publish (values are msgspec Structs, dicts, bytes; the bound request id rides along)::

    import news_kafka, news_log

    settings = news_kafka.KafkaSettings(bootstrap_servers=("kafka:9092",))
    async with news_kafka.Publisher(settings) as publisher:
        with news_log.bind(request_id="r-42"):
            meta = await publisher.publish("articles", Article(id=7, title="..."), key="7")
        await publisher.publish_many("articles", [Article(id=i, title="") for i in range(1000)])

Consume (commit after the handler succeeded; retries, then ``articles.dlq``)::

    async def index(message: news_kafka.Message[Article]) -> None:
        log.info("indexing", article_id=message.value.id)  # carries the request id


    consumer = news_kafka.Consumer(
        settings, topics="articles", group_id="indexer", handler=index, value_type=Article
    )
    async with consumer:
        await consumer.wait()  # until consumer.stop() (e.g. from a SIGTERM handler)

Administer::

    await news_kafka.ensure_topics(settings, [news_kafka.TopicSpec("articles", 6, 3)])

Errors derive from `NewsKafkaError`; see ``news_kafka._errors`` for the tree.
"""

from __future__ import annotations

from news_kafka.__about__ import __version__
from news_kafka._admin import (
    KafkaAdmin,
    PartitionInfo,
    PartitionLag,
    TopicInfo,
    TopicSpec,
    ensure_topics,
)
from news_kafka._consumer import Consumer, Handler
from news_kafka._errors import (
    AdminError,
    BrokerUnavailableError,
    ConsumerError,
    KafkaConfigError,
    NewsKafkaError,
    PoisonRecordError,
    PublisherClosedError,
    PublishError,
    SerializationError,
)
from news_kafka._metrics import KafkaMetricsHook, NoopMetrics
from news_kafka._publisher import Publisher
from news_kafka._records import (
    CONTENT_TYPE_HEADER,
    DLQ_ATTEMPTS,
    DLQ_ERROR_MESSAGE,
    DLQ_ERROR_TYPE,
    DLQ_GROUP,
    DLQ_ORIGINAL_OFFSET,
    DLQ_ORIGINAL_PARTITION,
    DLQ_ORIGINAL_TOPIC,
    REQUEST_ID_HEADER,
    TRACEPARENT_HEADER,
    TRACESTATE_HEADER,
    Headers,
    Message,
    ProducerRecord,
    RecordMetadata,
    ValueDeserializer,
    ValueSerializer,
)
from news_kafka._settings import (
    ConsumerSettings,
    KafkaSettings,
    ProducerSettings,
    RetryPolicy,
    SecuritySettings,
)

__all__ = [
    "CONTENT_TYPE_HEADER",
    "DLQ_ATTEMPTS",
    "DLQ_ERROR_MESSAGE",
    "DLQ_ERROR_TYPE",
    "DLQ_GROUP",
    "DLQ_ORIGINAL_OFFSET",
    "DLQ_ORIGINAL_PARTITION",
    "DLQ_ORIGINAL_TOPIC",
    "REQUEST_ID_HEADER",
    "TRACEPARENT_HEADER",
    "TRACESTATE_HEADER",
    "AdminError",
    "BrokerUnavailableError",
    "Consumer",
    "ConsumerError",
    "ConsumerSettings",
    "Handler",
    "Headers",
    "KafkaAdmin",
    "KafkaConfigError",
    "KafkaMetricsHook",
    "KafkaSettings",
    "Message",
    "NewsKafkaError",
    "NoopMetrics",
    "PartitionInfo",
    "PartitionLag",
    "PoisonRecordError",
    "ProducerRecord",
    "ProducerSettings",
    "PublishError",
    "Publisher",
    "PublisherClosedError",
    "RecordMetadata",
    "RetryPolicy",
    "SecuritySettings",
    "SerializationError",
    "TopicInfo",
    "TopicSpec",
    "ValueDeserializer",
    "ValueSerializer",
    "__version__",
    "ensure_topics",
]
