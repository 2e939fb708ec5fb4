"""The Confluent wire format and what the Avro and JSON Schema serializers share.

A record's value is ``0x00`` (the magic byte), the schema id as 4 bytes big-endian, then the
payload (Avro binary, or JSON text). Subjects are named by a strategy from the topic and the
record's name, as Confluent's serializers do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from news_schema._errors import (
    DeserializeError,
    SchemaNotFoundError,
    SerializeError,
    UnknownSchemaError,
)

if TYPE_CHECKING:
    from news_schema._registry import Schema, SchemaRegistry

__all__ = [
    "MAGIC_BYTE",
    "SubjectNameStrategy",
    "record_name_strategy",
    "schema_id_of",
    "topic_name_strategy",
    "topic_record_name_strategy",
]

T = TypeVar("T")

MAGIC_BYTE: Final = 0
"""The first byte of every record in the Confluent wire format."""

SubjectNameStrategy = Callable[[str, str, bool], str]
"""``(topic, record_name, is_key) -> subject``: where a record's schema is registered."""


def topic_name_strategy(topic: str, record_name: str, is_key: bool) -> str:
    """``<topic>-value`` (or ``-key``): one schema per topic (Confluent's default)."""
    return f"{topic}-key" if is_key else f"{topic}-value"


def record_name_strategy(topic: str, record_name: str, is_key: bool) -> str:
    """``<record name>``: one schema per record type, whatever the topic."""
    return record_name


def topic_record_name_strategy(topic: str, record_name: str, is_key: bool) -> str:
    """``<topic>-<record name>``: many record types per topic, each evolving on its own."""
    return f"{topic}-{record_name}"


def header(schema_id: int) -> bytes:
    """The 5-byte wire-format prefix of a record written with ``schema_id``."""
    return b"\x00" + schema_id.to_bytes(4, "big")


def schema_id_of(data: bytes | bytearray | memoryview) -> int:
    """The schema id in a wire-format record's header.

    Raises:
        DeserializeError: The bytes are not in the Confluent wire format.
    """
    if len(data) < 5 or data[0] != MAGIC_BYTE:
        raise DeserializeError(
            f"not a Confluent wire-format record (magic byte 0, 4-byte schema id): "
            f"{len(data)} byte(s) starting {bytes(data[:5])!r}; was it written without a "
            "schema registry serializer?"
        )
    return int.from_bytes(data[1:5], "big")


class WireSerializer(Generic[T]):
    """Registers a schema per topic (async, once) and writes records in the wire format (sync).

    The shape news-kafka's ``Publisher(serializer=...)`` takes: ``await prepare(topic)`` before
    the first record to a topic, then ``serialize(topic, value)`` per record.
    """

    __slots__ = (
        "_auto_register",
        "_headers",
        "_is_key",
        "_normalize",
        "_registry",
        "_strategy",
        "record_name",
        "schema",
    )

    def __init__(
        self,
        registry: SchemaRegistry,
        schema: Schema,
        record_name: str,
        *,
        subject_strategy: SubjectNameStrategy,
        auto_register: bool,
        normalize: bool,
        is_key: bool,
    ) -> None:
        self._registry = registry
        self.schema = schema
        """The writer's schema, as registered."""
        self.record_name = record_name
        """The record's name for the record-name strategies."""
        self._strategy = subject_strategy
        self._auto_register = auto_register
        self._normalize = normalize
        self._is_key = is_key
        self._headers: dict[str, bytes] = {}

    def subject(self, topic: str) -> str:
        """The subject this serializer registers its schema under for ``topic``."""
        return self._strategy(topic, self.record_name, self._is_key)

    def schema_id(self, topic: str) -> int | None:
        """The schema id records to ``topic`` carry, once `prepare` ran for it (else None)."""
        prefix = self._headers.get(topic)
        return None if prefix is None else int.from_bytes(prefix[1:], "big")

    async def prepare(self, topic: str) -> int:
        """Register the schema under ``topic``'s subject (or look it up); return its id.

        Idempotent and cheap once done (the registry client caches the id for good).

        Raises:
            IncompatibleSchemaError: The subject's compatibility rule refused the schema.
            SchemaNotFoundError: ``auto_register=False`` and the schema is not registered.
            RegistryUnavailableError: The registry did not answer and the id is not cached.
        """
        subject = self.subject(topic)
        if self._auto_register:
            schema_id = await self._registry.register(
                subject, self.schema, normalize=self._normalize
            )
        else:
            found = await self._registry.lookup(subject, self.schema, normalize=self._normalize)
            schema_id = found.schema_id
        self._headers[topic] = header(schema_id)
        return schema_id

    def serialize(self, topic: str, value: T | Any) -> bytes:
        """The record's bytes in the wire format (sync: `prepare` must have run for ``topic``).

        Raises:
            SerializeError: The value does not fit the schema, or ``topic`` is not prepared.
        """
        prefix = self._headers.get(topic)
        if prefix is None:
            raise SerializeError(
                f"no schema registered for topic {topic!r} yet (subject "
                f"{self.subject(topic)!r}): await serializer.prepare({topic!r}) first "
                "(news-kafka's Publisher does it before the first record)"
            )
        return prefix + self._payload(value, topic)

    def _payload(self, value: Any, topic: str) -> bytes:
        raise NotImplementedError


class WireDeserializer(Generic[T]):
    """Reads wire-format records by schema id (sync), loading unknown ids first (async).

    The shape news-kafka's ``Consumer(deserializer=...)`` takes: ``deserialize`` raises
    `UnknownSchemaError` (a ``LookupError``) for an id it has not loaded; the consumer awaits
    ``prepare(topic, data)`` (which fetches the schema by id) and tries again.
    """

    __slots__ = ("_decoders", "_registry")

    def __init__(self, registry: SchemaRegistry) -> None:
        self._registry = registry
        self._decoders: dict[int, Callable[[bytes], T]] = {}

    async def prepare(self, topic: str, data: bytes) -> None:
        """Load the schema the record names (by id) from the registry; cached for good.

        Raises:
            DeserializeError: The bytes are not in the wire format, or the schema cannot
                be read into this deserializer's type.
            SchemaNotFoundError: The registry has no schema with that id.
            RegistryUnavailableError: The registry did not answer.
        """
        schema_id = schema_id_of(data)
        if schema_id in self._decoders:
            return
        try:
            schema = await self._registry.get_schema(schema_id)
        except SchemaNotFoundError as exc:
            raise SchemaNotFoundError(
                f"record of topic {topic!r} names schema id {schema_id}, which the registry at "
                f"{self._registry.settings.url} does not have ({exc}); was it written against "
                "another registry?",
                schema_id=schema_id,
                error_code=exc.error_code,
            ) from exc
        self._decoders[schema_id] = self._decoder(schema_id, schema, topic)

    def deserialize(self, topic: str, data: bytes) -> T:
        """Decode one record's value into the type.

        Raises:
            UnknownSchemaError: The record's schema id is not loaded yet (await `prepare`).
            DeserializeError: Not the wire format, or the payload does not decode.
        """
        if len(data) < 5 or data[0] != MAGIC_BYTE:
            schema_id_of(data)  # raises, saying why
        decode = self._decoders.get(int.from_bytes(data[1:5], "big"))
        if decode is None:
            schema_id = int.from_bytes(data[1:5], "big")
            raise UnknownSchemaError(
                f"record of topic {topic!r} names schema id {schema_id}, which is not loaded: "
                "await deserializer.prepare(topic, data) first (news-kafka's Consumer does)"
            )
        try:
            return decode(data)
        except Exception as exc:
            raise fail(topic, int.from_bytes(data[1:5], "big"), self._target(), exc) from exc

    def _decoder(self, schema_id: int, schema: Schema, topic: str) -> Callable[[bytes], T]:
        raise NotImplementedError

    def _target(self) -> str:
        raise NotImplementedError


def fail(topic: str, schema_id: int, what: str, exc: BaseException) -> DeserializeError:
    """A `DeserializeError` for a record of ``topic`` written with ``schema_id``."""
    return DeserializeError(
        f"record of topic {topic!r} (schema id {schema_id}) does not decode into {what}: "
        f"{type(exc).__name__}: {exc}"
    )
