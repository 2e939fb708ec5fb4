"""The serializers' contracts without a broker: subjects, wire format, errors that say why."""

from __future__ import annotations

import datetime

import msgspec
import pytest

import news_schema


class Event(msgspec.Struct):
    id: int
    kind: str
    at: datetime.datetime | None = None


class Other(msgspec.Struct):
    id: str


SERIALIZERS = [news_schema.AvroSerializer, news_schema.JSONSchemaSerializer]


class TestSubjects:
    @pytest.mark.parametrize("cls", SERIALIZERS)
    @pytest.mark.parametrize(
        ("strategy", "subject"),
        [
            (news_schema.topic_name_strategy, "clicks-value"),
            (news_schema.record_name_strategy, "Event"),
            (news_schema.topic_record_name_strategy, "clicks-Event"),
        ],
    )
    async def test_strategies_name_the_subject(self, registry, cls, strategy, subject):
        """Each strategy registers under its subject; the header carries the id."""
        serializer = cls(registry, Event, subject_strategy=strategy)
        schema_id = await serializer.prepare("clicks")
        assert serializer.subject("clicks") == subject
        assert await registry.subjects() == [subject]
        data = serializer.serialize("clicks", Event(1, "view"))
        assert data[:5] == b"\x00" + schema_id.to_bytes(4, "big")

    async def test_keys_use_the_key_subject(self, registry):
        """is_key=True registers under <topic>-key."""
        serializer = news_schema.AvroSerializer(registry, Event, is_key=True)
        await serializer.prepare("clicks")
        assert await registry.subjects() == ["clicks-key"]

    async def test_lookup_only_needs_a_registered_schema(self, registry):
        """auto_register=False finds a registered schema, and refuses an unregistered one."""
        lookup = news_schema.AvroSerializer(registry, Event, auto_register=False)
        with pytest.raises(news_schema.SchemaNotFoundError):
            await lookup.prepare("clicks")
        registered = await news_schema.AvroSerializer(registry, Event).prepare("clicks")
        assert await lookup.prepare("clicks") == registered


class TestErrors:
    @pytest.mark.parametrize("cls", SERIALIZERS)
    async def test_unprepared_topic_and_wrong_values_are_refused(self, registry, cls):
        """serialize() names an unprepared topic, and a value that does not fit the type."""
        serializer = cls(registry, Event)
        with pytest.raises(news_schema.SerializeError, match="prepare"):
            serializer.serialize("clicks", Event(1, "view"))
        await serializer.prepare("clicks")
        with pytest.raises(news_schema.SerializeError, match="clicks"):
            serializer.serialize("clicks", {"id": "not a number", "kind": "view"})
        as_dict = serializer.serialize("clicks", {"id": 1, "kind": "view"})
        assert as_dict == serializer.serialize("clicks", Event(1, "view"))

    async def test_records_that_do_not_decode_say_why(self, registry):
        """Bytes outside the wire format, another format's id, a wrong shape: DeserializeError."""
        json_ser = news_schema.JSONSchemaSerializer(registry, Other)
        await json_ser.prepare("other")
        wrong_shape = json_ser.serialize("other", Other("x"))
        avro_ser = news_schema.AvroSerializer(registry, Event)
        await avro_ser.prepare("clicks")
        avro_record = avro_ser.serialize("clicks", Event(1, "view"))

        json_de = news_schema.JSONSchemaDeserializer(registry, Event)
        with pytest.raises(news_schema.DeserializeError, match="wire-format"):
            json_de.deserialize("clicks", b'{"id": 1}')
        with pytest.raises(news_schema.UnknownSchemaError):
            json_de.deserialize("clicks", wrong_shape)
        await json_de.prepare("clicks", wrong_shape)
        with pytest.raises(news_schema.DeserializeError, match="does not decode into Event"):
            json_de.deserialize("clicks", wrong_shape)
        with pytest.raises(news_schema.DeserializeError, match="AVRO schema"):
            await json_de.prepare("clicks", avro_record)

    async def test_a_dict_deserializer_reads_the_writers_shape(self, registry):
        """AvroDeserializer without a type gives dicts in the writer's schema."""
        serializer = news_schema.AvroSerializer(registry, Event)
        await serializer.prepare("clicks")
        data = serializer.serialize("clicks", Event(1, "view"))
        reader = news_schema.AvroDeserializer(registry)
        await reader.prepare("clicks", data)
        assert reader.deserialize("clicks", data) == {"id": 1, "kind": "view", "at": None}

    def test_types_without_an_avro_equivalent_are_refused(self, registry):
        """avro_schema names the field it cannot describe."""

        class Odd(msgspec.Struct):
            when: datetime.time

        with pytest.raises(news_schema.SchemaConfigError, match=r"Odd\.when"):
            news_schema.avro_schema(Odd)
        with pytest.raises(news_schema.SchemaConfigError, match="not a valid Avro schema"):
            news_schema.AvroSerializer(registry, Event, schema={"type": "record"})
