"""news-testing's registry speaks Confluent's protocol; news-schema's bytes are Confluent's.

confluent-kafka's own SchemaRegistryClient and Avro (de)serializers run against the registry,
and records cross between them and news-kafka through a real broker, both ways.
"""

from __future__ import annotations

import datetime
import itertools
import json

import confluent_kafka.schema_registry as sr
import msgspec
import pytest
from confluent_kafka import serialization
from confluent_kafka.schema_registry import avro

import news_schema
from news_kafka import Consumer, Message, Publisher
from news_testing import KafkaCapture, publish_raw

_groups = itertools.count()


class Article(msgspec.Struct):
    id: int
    title: str
    published: datetime.datetime
    tags: list[str] = msgspec.field(default_factory=list)
    section: str | None = None


SCHEMA = json.dumps(news_schema.avro_schema(Article))
WHEN = datetime.datetime(2026, 12, 5, 15, 0, 0, 250000, tzinfo=datetime.UTC)


def article(i: int) -> Article:
    """An article."""
    return Article(id=i, title=f"t{i}", published=WHEN, tags=["a", "b"], section="sport")


def context(topic: str) -> object:
    """Confluent's serialization context for a record value of ``topic``."""
    return serialization.SerializationContext(topic, serialization.MessageField.VALUE)


class TestConfluentClient:
    def test_confluent_client_speaks_to_the_registry(self, schema_registry):
        """SchemaRegistryClient registers, looks up, lists, checks and deletes."""
        client = sr.SchemaRegistryClient({"url": schema_registry.url})
        schema = sr.Schema(SCHEMA, "AVRO")
        schema_id = client.register_schema("articles-value", schema)
        assert client.register_schema("articles-value", schema) == schema_id
        assert json.loads(client.get_schema(schema_id).schema_str) == json.loads(SCHEMA)
        latest = client.get_latest_version("articles-value")
        assert (latest.schema_id, latest.version, latest.subject) == (
            schema_id,
            1,
            "articles-value",
        )
        assert client.get_version("articles-value", 1).schema_id == schema_id
        assert client.get_subjects() == ["articles-value"]
        assert client.get_versions("articles-value") == [1]
        assert client.lookup_schema("articles-value", schema).version == 1
        evolved = json.loads(SCHEMA)
        evolved["fields"].append({"name": "words", "type": "long", "default": 0})
        assert client.test_compatibility("articles-value", sr.Schema(json.dumps(evolved), "AVRO"))
        breaking = json.loads(SCHEMA)
        breaking["fields"].append({"name": "words", "type": "long"})
        assert not client.test_compatibility(
            "articles-value", sr.Schema(json.dumps(breaking), "AVRO")
        )
        with pytest.raises(sr.error.SchemaRegistryError) as refused:
            client.register_schema("articles-value", sr.Schema(json.dumps(breaking), "AVRO"))
        assert refused.value.http_status_code == 409
        client.set_compatibility("articles-value", "NONE")
        assert client.get_compatibility("articles-value") == "NONE"
        assert client.register_schema("articles-value", sr.Schema(json.dumps(breaking), "AVRO"))
        assert client.delete_subject("articles-value") == [1, 2]
        fresh = sr.SchemaRegistryClient({"url": schema_registry.url})  # theirs caches latest
        with pytest.raises(sr.error.SchemaRegistryError) as gone:
            fresh.get_latest_version("articles-value")
        assert (gone.value.http_status_code, gone.value.error_code) == (404, 40401)

    async def test_ids_agree_between_the_clients(self, schema_registry, registry):
        """A schema registered by one client has the same id for the other."""
        client = sr.SchemaRegistryClient({"url": schema_registry.url})
        theirs = client.register_schema("articles-value", sr.Schema(SCHEMA, "AVRO"))
        ours = await news_schema.AvroSerializer(registry, Article).prepare("articles")
        assert ours == theirs
        assert json.loads((await registry.get_schema(theirs)).schema) == json.loads(SCHEMA)


class TestBytesAcrossClients:
    async def test_news_kafka_records_decode_with_confluents_deserializer(
        self, schema_registry, registry, kafka_settings, kafka_topic
    ):
        """Records published by news-kafka with AvroSerializer decode with confluent-kafka's."""
        topic = kafka_topic()
        serializer = news_schema.AvroSerializer(registry, Article, schema=SCHEMA)
        async with Publisher(kafka_settings, serializer=serializer) as publisher:
            for i in range(5):
                await publisher.publish(topic, article(i))
        async with KafkaCapture(kafka_settings.bootstrap_servers[0], topic) as capture:
            records = await capture.wait_for(5)
        client = sr.SchemaRegistryClient({"url": schema_registry.url})
        theirs = avro.AvroDeserializer(client)
        decoded = [theirs(record.raw_value, context(topic)) for record in records]
        assert decoded == [
            msgspec.to_builtins(article(i), builtin_types=(datetime.datetime,)) for i in range(5)
        ]

    async def test_confluent_records_are_consumed_by_news_kafka(
        self, schema_registry, registry, kafka_settings, kafka_topic, eventually
    ):
        """Records written by confluent-kafka's AvroSerializer reach a news-kafka handler typed."""
        topic = kafka_topic()
        client = sr.SchemaRegistryClient({"url": schema_registry.url})
        theirs = avro.AvroSerializer(client, SCHEMA)
        bootstrap = kafka_settings.bootstrap_servers[0]
        for i in range(5):
            value = msgspec.to_builtins(article(i), builtin_types=(datetime.datetime,))
            await publish_raw(bootstrap, topic, theirs(value, context(topic)))
        seen: list[Article] = []

        async def handle(message: Message[Article]) -> None:
            seen.append(message.value)

        async with Consumer(
            kafka_settings,
            topics=topic,
            group_id=f"{topic}-g{next(_groups)}",
            handler=handle,
            deserializer=news_schema.AvroDeserializer(registry, Article),
        ):
            await eventually(lambda: len(seen) >= 5, what="5 confluent records")
        assert seen == [article(i) for i in range(5)]
        subjects = await registry.subjects()
        assert subjects == [f"{topic}-value"]
