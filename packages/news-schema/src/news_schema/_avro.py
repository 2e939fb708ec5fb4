"""Avro in the Confluent wire format: `AvroSerializer` and `AvroDeserializer` (fastavro)."""

from __future__ import annotations

import datetime
import decimal
import io
import json
import uuid
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import fastavro
import msgspec

from news_schema._avro_schema import avro_schema
from news_schema._avro_writer import compile_writer
from news_schema._errors import DeserializeError, SchemaConfigError, SerializeError
from news_schema._registry import Schema
from news_schema._serde import (
    SubjectNameStrategy,
    WireDeserializer,
    WireSerializer,
    topic_name_strategy,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from news_schema._registry import SchemaRegistry

__all__ = ["AvroDeserializer", "AvroSerializer"]

T = TypeVar("T")

# Kept as themselves for fastavro (its logical types take them), not turned into strings.
_AVRO_BUILTINS: Final = (
    datetime.datetime,
    datetime.date,
    datetime.time,
    uuid.UUID,
    decimal.Decimal,
    bytes,
    bytearray,
)


def _parse(schema: str | dict[str, Any], what: str) -> tuple[dict[str, Any], Any, str]:
    """(the schema as JSON, fastavro's parsed schema, the record's full name)."""
    try:
        raw = json.loads(schema) if isinstance(schema, str) else schema
        parsed = fastavro.parse_schema(raw)
    except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
        raise SchemaConfigError(f"{what}: not a valid Avro schema: {exc}") from exc
    name = parsed.get("name", "") if isinstance(parsed, dict) else ""
    if not name and isinstance(raw, dict):
        name = str(raw.get("type", ""))
    return raw, parsed, name


class AvroSerializer(WireSerializer[T]):
    """Writes values as Avro in the Confluent wire format, with the schema registered.

    Values are msgspec Structs of ``type`` (or dicts shaped like them; checked); the schema is
    given, or made from ``type`` by `avro_schema`. Hand it to news-kafka's Publisher::

        serializer = AvroSerializer(registry, Article)
        async with Publisher(settings, serializer=serializer) as publisher:
            await publisher.publish("articles", Article(id=7, title="..."))

    The schema is registered under ``subject_strategy(topic, record_name, False)``
    (``<topic>-value`` by default) when the publisher first meets a topic, before any record
    is sent: a schema the subject's compatibility rule refuses raises
    `IncompatibleSchemaError` there.

    Args:
        registry: The registry client (started before the first `prepare`).
        type: The Struct type of the values.
        schema: The Avro schema (JSON text or dict); default: ``avro_schema(type)``.
        subject_strategy: Names the subject from topic and record name.
        auto_register: Register the schema (True), or only look it up (False: it must be
            registered already, e.g. by a CI step).
        normalize: Ask the registry to normalize the schema before comparing.
        is_key: Serialize record keys (subject ``<topic>-key``).
    """

    __slots__ = ("_parsed", "_to_builtins", "_write", "type")

    def __init__(
        self,
        registry: SchemaRegistry,
        type: type[T],
        *,
        schema: str | dict[str, Any] | None = None,
        subject_strategy: SubjectNameStrategy = topic_name_strategy,
        auto_register: bool = True,
        normalize: bool = False,
        is_key: bool = False,
    ) -> None:
        raw, parsed, name = _parse(schema if schema is not None else avro_schema(type), "schema")
        text = schema if isinstance(schema, str) else json.dumps(raw, separators=(",", ":"))
        super().__init__(
            registry,
            Schema(schema=text, schema_type="AVRO"),
            name,
            subject_strategy=subject_strategy,
            auto_register=auto_register,
            normalize=normalize,
            is_key=is_key,
        )
        self.type = type
        """The values' type."""
        self._parsed = parsed
        self._to_builtins = msgspec.to_builtins
        # A writer compiled for this schema (None: a construct it does not cover; fastavro)
        self._write = compile_writer(raw, type)

    def _payload(self, value: Any, topic: str) -> bytes:
        if value.__class__ is not self.type:
            try:
                value = msgspec.convert(value, self.type, from_attributes=True)
            except msgspec.ValidationError as exc:
                raise SerializeError(
                    f"a {type(value).__name__} for topic {topic!r} is not a "
                    f"{getattr(self.type, '__name__', self.type)}: {exc}"
                ) from exc
        try:
            write = self._write
            if write is not None:
                return write(value)
            record = self._to_builtins(value, builtin_types=_AVRO_BUILTINS)
            out = io.BytesIO()
            fastavro.schemaless_writer(out, self._parsed, record)
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            raise SerializeError(
                f"a {type(value).__name__} for topic {topic!r} does not fit Avro record "
                f"{self.record_name!r}: {type(exc).__name__}: {exc}"
            ) from exc
        return out.getvalue()


class AvroDeserializer(WireDeserializer[T], Generic[T]):
    """Reads Avro records in the Confluent wire format into ``type``, by schema id.

    The writer's schema is fetched by the id in each record (once; cached for good) and
    resolved against the reader's schema (given, or ``avro_schema(type)``), so records
    written with older or newer compatible schemas decode into today's type. Hand it to
    news-kafka's Consumer: ``Consumer(..., deserializer=AvroDeserializer(registry, Article))``.

    Args:
        registry: The registry client.
        type: The type to decode into (a Struct); None: plain dicts in the writer's shape.
        schema: The reader's Avro schema (default: ``avro_schema(type)``; with ``type=None``,
            the writer's).
    """

    __slots__ = ("_reader", "_reader_raw", "type")

    def __init__(
        self,
        registry: SchemaRegistry,
        type: type[T] | None = None,
        *,
        schema: str | dict[str, Any] | None = None,
    ) -> None:
        super().__init__(registry)
        self.type = type
        """The type values are decoded into (None: dicts)."""
        self._reader: Any = None
        self._reader_raw: Any = None
        if schema is not None or type is not None:
            self._reader_raw, self._reader, _ = _parse(
                schema if schema is not None else avro_schema(type),  # type: ignore[arg-type]
                "reader schema",
            )

    def _target(self) -> str:
        return getattr(self.type, "__name__", "a dict")

    def _decoder(self, schema_id: int, schema: Schema, topic: str) -> Callable[[bytes], T]:
        if schema.schema_type != "AVRO":
            raise DeserializeError(
                f"record of topic {topic!r} names schema id {schema_id}, a {schema.schema_type} "
                "schema; this is an Avro deserializer"
            )
        writer_raw, writer, _ = _parse(schema.schema, f"schema id {schema_id}")
        reader = self._reader
        if reader is not None and writer_raw == self._reader_raw:
            reader = None  # the same schema: no resolution needed
        target = self.type
        read = fastavro.schemaless_reader
        bytes_io = io.BytesIO
        if target is None:

            def decode_dict(data: bytes) -> Any:
                buffer = bytes_io(data)
                buffer.seek(5)
                return read(buffer, writer, reader)

            return decode_dict
        convert = msgspec.convert

        def decode(data: bytes) -> T:
            buffer = bytes_io(data)
            buffer.seek(5)
            return convert(read(buffer, writer, reader), target)

        return decode
