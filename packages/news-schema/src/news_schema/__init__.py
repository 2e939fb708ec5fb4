"""Typed Kafka records in the Confluent wire format, with a Schema Registry.

Records are written as magic byte 0, the schema id (4 bytes, big-endian) and the payload, so
Java, Go, Kafka Connect and ksqlDB consumers read them with Confluent's deserializers::

    import news_schema
    from news_kafka import Consumer, Publisher

    registry = news_schema.SchemaRegistry(news_schema.RegistrySettings(url="http://registry:8081"))
    async with (
        registry,
        Publisher(settings, serializer=news_schema.AvroSerializer(registry, Article)) as pub,
    ):
        await pub.publish("articles", Article(id=7, title="Budget"))  # registered first

    consumer = Consumer(
        settings,
        topics="articles",
        group_id="indexer",
        handler=handle,
        deserializer=news_schema.AvroDeserializer(registry, Article),
    )

- `SchemaRegistry`: the Confluent REST API (register, lookup, by id, latest, versions,
  compatibility, config, delete) over news-client; ids cached for good, latest with a TTL,
  a subject's caches dropped when it is deleted.
- `AvroSerializer`/`AvroDeserializer` (fastavro; the schema given or made from the Struct by
  `avro_schema`), `JSONSchemaSerializer`/`JSONSchemaDeserializer` (msgspec; the schema from
  `json_schema`).
- Subject name strategies: `topic_name_strategy` (default), `record_name_strategy`,
  `topic_record_name_strategy`.

Errors derive from `NewsSchemaError`; see ``news_schema._errors`` for the tree.
"""

from __future__ import annotations

from news_schema.__about__ import __version__
from news_schema._avro import AvroDeserializer, AvroSerializer
from news_schema._avro_schema import avro_schema
from news_schema._errors import (
    DeserializeError,
    IncompatibleSchemaError,
    InvalidSchemaError,
    NewsSchemaError,
    RegistryError,
    RegistryUnavailableError,
    SchemaConfigError,
    SchemaNotFoundError,
    SerializeError,
    UnknownSchemaError,
)
from news_schema._jsonschema import JSONSchemaDeserializer, JSONSchemaSerializer, json_schema
from news_schema._registry import (
    CompatibilityLevel,
    CompatibilityResult,
    RegisteredSchema,
    Schema,
    SchemaReference,
    SchemaRegistry,
    SchemaType,
)
from news_schema._serde import (
    MAGIC_BYTE,
    SubjectNameStrategy,
    WireDeserializer,
    WireSerializer,
    record_name_strategy,
    schema_id_of,
    topic_name_strategy,
    topic_record_name_strategy,
)
from news_schema._settings import RegistrySettings

__all__ = [
    "MAGIC_BYTE",
    "AvroDeserializer",
    "AvroSerializer",
    "CompatibilityLevel",
    "CompatibilityResult",
    "DeserializeError",
    "IncompatibleSchemaError",
    "InvalidSchemaError",
    "JSONSchemaDeserializer",
    "JSONSchemaSerializer",
    "NewsSchemaError",
    "RegisteredSchema",
    "RegistryError",
    "RegistrySettings",
    "RegistryUnavailableError",
    "Schema",
    "SchemaConfigError",
    "SchemaNotFoundError",
    "SchemaReference",
    "SchemaRegistry",
    "SchemaType",
    "SerializeError",
    "SubjectNameStrategy",
    "UnknownSchemaError",
    "WireDeserializer",
    "WireSerializer",
    "__version__",
    "avro_schema",
    "json_schema",
    "record_name_strategy",
    "schema_id_of",
    "topic_name_strategy",
    "topic_record_name_strategy",
]

# Tracebacks, reprs and docs name the public home (news_schema.SchemaRegistry). Not the
# Structs: msgspec resolves their annotations in the module they name.
for _public in (
    AvroDeserializer,
    AvroSerializer,
    DeserializeError,
    IncompatibleSchemaError,
    InvalidSchemaError,
    JSONSchemaDeserializer,
    JSONSchemaSerializer,
    NewsSchemaError,
    RegistryError,
    RegistryUnavailableError,
    SchemaConfigError,
    SchemaNotFoundError,
    SchemaRegistry,
    SerializeError,
    UnknownSchemaError,
    WireDeserializer,
    WireSerializer,
    avro_schema,
    json_schema,
    record_name_strategy,
    schema_id_of,
    topic_name_strategy,
    topic_record_name_strategy,
):
    _public.__module__ = __name__
del _public
