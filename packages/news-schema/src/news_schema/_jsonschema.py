"""JSON Schema in the Confluent wire format: `JSONSchemaSerializer`, `JSONSchemaDeserializer`.

The schema is generated from the msgspec type (``msgspec.json.schema``); values are encoded
and decoded by msgspec, whose typed decoding is the validation.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

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

__all__ = ["JSONSchemaDeserializer", "JSONSchemaSerializer", "json_schema"]

T = TypeVar("T")


def json_schema(type_: Any) -> dict[str, Any]:
    """The JSON Schema of a msgspec type (``msgspec.json.schema``), titled with its name.

    Raises:
        SchemaConfigError: msgspec cannot describe the type.
    """
    try:
        schema: dict[str, Any] = msgspec.json.schema(type_)
    except TypeError as exc:
        raise SchemaConfigError(f"no JSON Schema for {type_!r}: {exc}") from exc
    name = getattr(type_, "__name__", None)
    if name and "title" not in schema:
        schema = {"title": name, **schema}
    return schema


class JSONSchemaSerializer(WireSerializer[T]):
    """Writes values as JSON in the Confluent wire format, with a JSON Schema registered.

    The schema is made from ``type`` (``msgspec.json.schema``) unless given; values are
    Structs of ``type`` (or anything msgspec converts into it; checked). Hand it to
    news-kafka's Publisher: ``Publisher(settings, serializer=JSONSchemaSerializer(registry,
    Article))``. Registration happens when the publisher first meets a topic, before any
    record is sent (`IncompatibleSchemaError` there when the subject's rule refuses it).

    Args:
        registry: The registry client.
        type: The values' type.
        schema: The JSON Schema (text or dict); default: `json_schema` of ``type``.
        subject_strategy: Names the subject from topic and record name (the schema's
            ``title``, else the type's name).
        auto_register: Register the schema (True), or only look it up (False).
        normalize: Ask the registry to normalize the schema before comparing.
        is_key: Serialize record keys (subject ``<topic>-key``).
    """

    __slots__ = ("_encode", "type")

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
        if schema is None:
            schema = json_schema(type)
        if isinstance(schema, str):
            try:
                parsed = json.loads(schema)
            except ValueError as exc:
                raise SchemaConfigError(f"schema: not JSON: {exc}") from exc
            text = schema
        else:
            parsed, text = schema, json.dumps(schema, separators=(",", ":"))
        name = parsed.get("title") if isinstance(parsed, dict) else None
        super().__init__(
            registry,
            Schema(schema=text, schema_type="JSON"),
            str(name or getattr(type, "__name__", "record")),
            subject_strategy=subject_strategy,
            auto_register=auto_register,
            normalize=normalize,
            is_key=is_key,
        )
        self.type = type
        """The values' type."""
        self._encode = msgspec.json.Encoder().encode

    def _payload(self, value: Any, topic: str) -> bytes:
        if value.__class__ is not self.type:
            try:
                value = msgspec.convert(value, self.type, from_attributes=True)
            except msgspec.ValidationError as exc:
                raise SerializeError(
                    f"a {type(value).__name__} for topic {topic!r} does not fit the JSON Schema "
                    f"of {getattr(self.type, '__name__', self.type)}: {exc}"
                ) from exc
        try:
            return self._encode(value)
        except (TypeError, OverflowError) as exc:
            raise SerializeError(f"cannot encode a value for topic {topic!r}: {exc}") from exc


class JSONSchemaDeserializer(WireDeserializer[T], Generic[T]):
    """Reads JSON Schema records in the Confluent wire format into ``type`` (msgspec).

    A record's schema id is checked once against the registry (it must be a JSON schema);
    the payload is decoded and validated by msgspec into ``type``. Hand it to news-kafka's
    Consumer: ``Consumer(..., deserializer=JSONSchemaDeserializer(registry, Article))``.

    Args:
        registry: The registry client.
        type: The type to decode into (a Struct, or any msgspec type).
    """

    __slots__ = ("_decode", "type")

    def __init__(self, registry: SchemaRegistry, type: type[T]) -> None:
        super().__init__(registry)
        self.type = type
        """The type values are decoded into."""
        self._decode = msgspec.json.Decoder(type).decode

    def _target(self) -> str:
        return getattr(self.type, "__name__", repr(self.type))

    def _decoder(self, schema_id: int, schema: Schema, topic: str) -> Callable[[bytes], T]:
        if schema.schema_type != "JSON":
            raise DeserializeError(
                f"record of topic {topic!r} names schema id {schema_id}, a {schema.schema_type} "
                "schema; this is a JSON Schema deserializer"
            )
        decode = self._decode

        def decode_json(data: bytes) -> T:
            return decode(memoryview(data)[5:])

        return decode_json
