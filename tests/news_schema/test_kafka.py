"""news-schema's serializers in news-kafka's Publisher and Consumer, through a real broker."""

from __future__ import annotations

import datetime
import itertools

import msgspec
import pytest

import news_kafka
import news_schema
from news_kafka import Consumer, Message, Publisher
from news_testing import KafkaCapture, publish_raw

_groups = itertools.count()


class Author(msgspec.Struct):
    name: str
    email: str | None = None


class Article(msgspec.Struct):
    id: int
    title: str
    published: datetime.datetime
    tags: list[str] = msgspec.field(default_factory=list)
    author: Author | None = None


class ArticleV2(msgspec.Struct, rename={"Article": "Article"}):
    """Article with a new field that has a default (a BACKWARD-compatible change)."""

    id: int
    title: str
    published: datetime.datetime
    tags: list[str] = msgspec.field(default_factory=list)
    author: Author | None = None
    section: str = "news"


class Renamed(msgspec.Struct):
    """Article whose title became a number: incompatible."""

    id: int
    title: int
    published: datetime.datetime


def article(i: int) -> Article:
    """An article with every field set."""
    return Article(
        id=i,
        title=f"Budget {i}",
        published=datetime.datetime(2026, 12, 5, 14, 30, i % 60, tzinfo=datetime.UTC),
        tags=["politics"],
        author=Author(name="Ada", email=None),
    )


def group(topic: str) -> str:
    """A fresh consumer group for a topic."""
    return f"{topic}-g{next(_groups)}"


FORMATS = {
    "avro": (news_schema.AvroSerializer, news_schema.AvroDeserializer),
    "json": (news_schema.JSONSchemaSerializer, news_schema.JSONSchemaDeserializer),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
class TestRoundTrip:
    async def test_records_published_are_consumed_as_structs(
        self, fmt, registry, kafka_settings, kafka_topic, eventually
    ):
        """Structs published with the serializer reach the handler decoded, in the wire format."""
        ser_cls, de_cls = FORMATS[fmt]
        topic = kafka_topic(partitions=2)
        seen: list[Message[Article]] = []

        async def handle(message: Message[Article]) -> None:
            seen.append(message)

        serializer = ser_cls(registry, Article)
        async with Publisher(kafka_settings, serializer=serializer) as publisher:
            for i in range(10):
                await publisher.publish(topic, article(i), key=str(i))
            for i in range(10, 20):
                await publisher.send(topic, article(i), key=str(i))
            await publisher.publish_many(topic, [article(i) for i in range(20, 30)])
        schema_id = serializer.schema_id(topic)
        assert schema_id is not None
        async with Consumer(
            kafka_settings,
            topics=topic,
            group_id=group(topic),
            handler=handle,
            deserializer=de_cls(registry, Article),
        ):
            await eventually(lambda: len(seen) >= 30, what="30 records handled")
        assert sorted(m.value.id for m in seen) == list(range(30))
        for message in seen:
            assert message.value == article(message.value.id)
            assert message.raw_value is not None
            assert news_schema.schema_id_of(message.raw_value) == schema_id

    async def test_unknown_schema_id_goes_to_the_dlq(
        self, fmt, registry, kafka_settings, kafka_topic, eventually
    ):
        """A record naming a schema id the registry lacks is dead-lettered; the rest flow."""
        ser_cls, de_cls = FORMATS[fmt]
        topic = kafka_topic()
        bootstrap = kafka_settings.bootstrap_servers[0]
        seen: list[int] = []

        async def handle(message: Message[Article]) -> None:
            seen.append(message.value.id)

        async with Publisher(kafka_settings, serializer=ser_cls(registry, Article)) as publisher:
            await publisher.publish(topic, article(1))
            await publish_raw(bootstrap, topic, b"\x00\x00\x00\x03\xe7payload", key=b"bad")
            await publish_raw(bootstrap, topic, b"{not the wire format}", key=b"raw")
            await publisher.publish(topic, article(2))
        async with Consumer(
            kafka_settings,
            topics=topic,
            group_id=group(topic),
            handler=handle,
            deserializer=de_cls(registry, Article),
        ):
            await eventually(lambda: len(seen) >= 2, what="the good records")
            async with KafkaCapture(bootstrap, f"{topic}.dlq") as dlq:
                dead = await dlq.wait_for(2)
        raw, unknown = sorted(dead, key=lambda record: record.key or b"", reverse=True)
        assert seen == [1, 2]
        assert unknown.key == b"bad"
        assert unknown.headers[news_kafka.DLQ_ERROR_TYPE] == "news_schema.SchemaNotFoundError"
        assert "schema id 999" in unknown.headers[news_kafka.DLQ_ERROR_MESSAGE]
        assert raw.key == b"raw"
        assert raw.headers[news_kafka.DLQ_ERROR_TYPE] == "news_schema.DeserializeError"
        assert "not a Confluent wire-format record" in raw.headers[news_kafka.DLQ_ERROR_MESSAGE]

    async def test_incompatible_schema_is_refused_before_any_record_is_sent(
        self, fmt, registry, kafka_settings, kafka_topic
    ):
        """A schema the subject's rule refuses fails prepare/publish; nothing reaches the topic."""
        ser_cls, _ = FORMATS[fmt]
        topic = kafka_topic()
        async with Publisher(kafka_settings, serializer=ser_cls(registry, Article)) as publisher:
            await publisher.prepare(topic)
        async with Publisher(kafka_settings, serializer=ser_cls(registry, Renamed)) as publisher:
            bad = Renamed(id=1, title=5, published=article(1).published)
            with pytest.raises(news_schema.IncompatibleSchemaError) as refused:
                await publisher.publish(topic, bad)
            with pytest.raises(news_schema.IncompatibleSchemaError):
                await publisher.send(topic, bad)
        assert refused.value.subject == f"{topic}-value"
        assert f"{topic}-value" in str(refused.value)
        async with news_kafka.KafkaAdmin(kafka_settings) as admin:
            assert await admin.end_offsets([topic]) == {(topic, 0): 0}


async def test_evolved_avro_records_read_into_the_old_and_new_types(
    registry, kafka_settings, kafka_topic, eventually
):
    """v1 and v2 records of one subject decode into v2 (default filled) by schema resolution."""
    topic = kafka_topic()
    got: list[ArticleV2] = []

    async def handle(message: Message[ArticleV2]) -> None:
        got.append(message.value)

    v2_schema = news_schema.avro_schema(ArticleV2)
    v2_schema["name"] = "Article"
    async with Publisher(
        kafka_settings, serializer=news_schema.AvroSerializer(registry, Article)
    ) as p:
        await p.publish(topic, article(1))
    v2 = news_schema.AvroSerializer(registry, ArticleV2, schema=v2_schema)
    async with Publisher(kafka_settings, serializer=v2) as p:
        old = article(2)
        await p.publish(topic, ArticleV2(**msgspec.structs.asdict(old), section="sport"))
    async with Consumer(
        kafka_settings,
        topics=topic,
        group_id=group(topic),
        handler=handle,
        deserializer=news_schema.AvroDeserializer(registry, ArticleV2, schema=v2_schema),
    ):
        await eventually(lambda: len(got) >= 2, what="both versions")
    assert [a.section for a in got] == ["news", "sport"]
    assert await registry.versions(f"{topic}-value") == [1, 2]


async def test_registry_outage_holds_the_partition_and_loses_nothing(
    registry, schema_registry, kafka_settings, kafka_topic, eventually
):
    """With the registry down, a record of an unseen schema id waits (no DLQ); then decodes."""
    from news_log.testing import capture_logs

    topic = kafka_topic()
    seen: list[int] = []

    async def handle(message: Message[Article]) -> None:
        seen.append(message.value.id)

    async with Publisher(
        kafka_settings, serializer=news_schema.AvroSerializer(registry, Article)
    ) as p:
        await p.publish(topic, article(1))
        await p.publish(topic, article(2))
    schema_registry.stop()
    fresh = news_schema.SchemaRegistry(registry.settings)  # knows no schema id yet
    with capture_logs() as lines:
        async with (
            fresh,
            Consumer(
                kafka_settings,
                topics=topic,
                group_id=group(topic),
                handler=handle,
                deserializer=news_schema.AvroDeserializer(fresh, Article),
            ),
        ):
            waiting = "cannot load the record's schema; retrying (the partition waits)"
            await eventually(
                lambda: sum(line["msg"] == waiting for line in lines) >= 2,
                what="retries while the registry is down",
            )
            assert seen == []
            schema_registry.start()
            await eventually(lambda: len(seen) >= 2, what="records after the registry is back")
    assert seen == [1, 2]
    assert not [line for line in lines if line["msg"] == "record dead-lettered"]
    [first] = [line for line in lines if line["msg"] == waiting][:1]
    assert first["error"].startswith("RegistryUnavailableError")
