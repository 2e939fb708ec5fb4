"""Record types (what is published, what a handler receives) and the value/header codec."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Generic, Protocol, TypeVar, runtime_checkable

import msgspec

from news_kafka._errors import SerializationError

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
    "Headers",
    "Message",
    "ProducerRecord",
    "RecordMetadata",
    "ValueDeserializer",
    "ValueSerializer",
]

T = TypeVar("T")

Headers = Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]]
"""Record headers as given to ``publish``: a mapping or ``(name, value)`` pairs."""

REQUEST_ID_HEADER: Final = "x-request-id"
TRACEPARENT_HEADER: Final = "traceparent"
TRACESTATE_HEADER: Final = "tracestate"
CONTENT_TYPE_HEADER: Final = "content-type"

DLQ_ORIGINAL_TOPIC: Final = "dlq-original-topic"
DLQ_ORIGINAL_PARTITION: Final = "dlq-original-partition"
DLQ_ORIGINAL_OFFSET: Final = "dlq-original-offset"
DLQ_ERROR_TYPE: Final = "dlq-error-type"
DLQ_ERROR_MESSAGE: Final = "dlq-error-message"
DLQ_GROUP: Final = "dlq-group"
DLQ_ATTEMPTS: Final = "dlq-attempts"

# news-log context field -> Kafka header, both ways.
CONTEXT_HEADERS: Final = (
    ("request_id", REQUEST_ID_HEADER),
    ("traceparent", TRACEPARENT_HEADER),
    ("tracestate", TRACESTATE_HEADER),
)
JSON: Final = b"application/json"
MSGPACK: Final = b"application/msgpack"


class RecordMetadata(msgspec.Struct, frozen=True, gc=False):
    """Where Kafka stored a published record.

    Attributes:
        topic: The topic.
        partition: The partition.
        offset: The record's offset in the partition.
        timestamp: The record's timestamp in milliseconds since the epoch (-1 if unknown).
    """

    topic: str
    partition: int
    offset: int
    timestamp: int = -1


class ProducerRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One record for `Publisher.publish_many` (plain values are accepted there too).

    Attributes:
        value: A Struct, dict, list or other msgspec-encodable value, ``bytes`` (sent as is) or
            ``None`` (a tombstone; needs a key).
        key: The record key (str is sent as UTF-8); records with the same key share a partition.
        headers: Extra headers.
        partition: A fixed partition instead of the key's.
        timestamp: Timestamp in milliseconds since the epoch (default: now).
    """

    value: Any
    key: str | bytes | None = None
    headers: Mapping[str, str | bytes] | None = None
    partition: int | None = None
    timestamp: int | None = None


class Message(Generic[T]):
    """A consumed record as a handler receives it, value decoded.

    Attributes:
        topic: The topic it came from.
        partition: Its partition.
        offset: Its offset.
        key: The raw key bytes (``None`` when it has none).
        value: The decoded value (``bytes`` when the consumer has no value type).
        headers: The record headers as ``(name, bytes)`` pairs, in order.
        timestamp: Milliseconds since the epoch.
        raw_value: The undecoded value bytes (``None`` for a tombstone).
    """

    __slots__ = (
        "headers",
        "key",
        "offset",
        "partition",
        "raw_value",
        "timestamp",
        "topic",
        "value",
    )

    def __init__(  # noqa: PLR0917 - built positionally on the consumer's hot path
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: T,
        headers: tuple[tuple[str, bytes], ...],
        timestamp: int,
        raw_value: bytes | None,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.raw_value = raw_value

    def header(self, name: str) -> str | None:
        """Return the last header called ``name`` as text (UTF-8, lenient), or ``None``."""
        for hname, hvalue in reversed(self.headers):
            if hname == name:
                return (hvalue or b"").decode("utf-8", "replace")
        return None

    @property
    def request_id(self) -> str | None:
        """The request id the publisher propagated (``x-request-id``), if any."""
        return self.header(REQUEST_ID_HEADER)

    @property
    def key_str(self) -> str | None:
        """The key decoded as UTF-8 (lenient), or ``None``."""
        return None if self.key is None else self.key.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return (
            f"Message(topic={self.topic!r}, partition={self.partition}, offset={self.offset}, "
            f"key={self.key!r}, value={self.value!r})"
        )


def _enc_hook(obj: Any) -> Any:
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


class Codec:
    """Encodes values, keys and headers for the publisher (one per publisher)."""

    __slots__ = ("_content_type", "_encode")

    def __init__(self, serializer: str) -> None:
        if serializer == "msgpack":
            self._encode = msgspec.msgpack.Encoder(enc_hook=_enc_hook).encode
            self._content_type: bytes | None = MSGPACK
        else:
            self._encode = msgspec.json.Encoder(enc_hook=_enc_hook).encode
            self._content_type = None  # JSON is the default; no header needed

    def value(self, value: Any, topic: str) -> tuple[bytes | None, bytes | None]:
        """Return the value bytes and the content type to announce (None for raw bytes)."""
        if value is None:
            return None, None
        if isinstance(value, bytes):
            return value, None
        if isinstance(value, bytearray | memoryview):
            return bytes(value), None
        try:
            return self._encode(value), self._content_type
        except (TypeError, NotImplementedError, OverflowError) as exc:
            raise SerializationError(
                f"cannot encode a {type(value).__name__} for topic {topic!r}: {exc}; publish "
                "a msgspec Struct, dict, list, scalar or bytes"
            ) from exc


@runtime_checkable
class ValueSerializer(Protocol):
    """Writes record values for a `Publisher` (``Publisher(settings, serializer=...)``).

    news-schema's ``AvroSerializer`` and ``JSONSchemaSerializer`` have this shape (news-kafka
    never imports them). The publisher awaits ``prepare(topic)`` once per topic, before the
    first record to it is sent (where a schema registry refuses an incompatible schema), then
    calls ``serialize`` per record: sync, on the hot path.
    """

    async def prepare(self, topic: str) -> Any:
        """Get ready to write records to ``topic`` (register its schema...); idempotent."""
        ...

    def serialize(self, topic: str, value: Any) -> bytes:
        """The value's bytes (raise ``ValueError`` when it cannot be written)."""
        ...


@runtime_checkable
class ValueDeserializer(Protocol):
    """Reads record values for a `Consumer` (``Consumer(..., deserializer=...)``).

    ``deserialize`` is sync, on the hot path. When it raises ``LookupError`` (a schema it has
    not loaded), the consumer awaits ``prepare(topic, data)`` and calls it again. A
    ``ValueError`` (or ``LookupError``) from either sends the record to the dead-letter topic
    at once; any other error of ``prepare`` (the registry is down) is retried with the
    consumer's retry policy, then dead-lettered.
    """

    async def prepare(self, topic: str, data: bytes) -> Any:
        """Load what ``deserialize`` needs for this record (its schema, by id)."""
        ...

    def deserialize(self, topic: str, data: bytes) -> Any:
        """The decoded value of a record of ``topic``."""
        ...


class SerializerCodec:
    """A `Codec` that writes values with a `ValueSerializer` (bytes pass through)."""

    __slots__ = ("_serialize", "prepared", "serializer")

    def __init__(self, serializer: ValueSerializer) -> None:
        self.serializer = serializer
        self._serialize = serializer.serialize
        self.prepared: set[str] = set()

    async def prepare(self, topic: str) -> None:
        """Run the serializer's ``prepare`` for ``topic`` once (errors propagate, unchanged)."""
        if topic not in self.prepared:
            await self.serializer.prepare(topic)
            self.prepared.add(topic)

    def value(self, value: Any, topic: str) -> tuple[bytes | None, bytes | None]:
        """Return the value bytes (no content type: the serializer's format says it)."""
        if value is None:
            return None, None
        if isinstance(value, bytes):
            return value, None
        try:
            return self._serialize(topic, value), None
        except SerializationError:
            raise
        except Exception as exc:
            raise SerializationError(
                f"cannot serialize a {type(value).__name__} for topic {topic!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def encode_key(key: str | bytes | None, topic: str) -> bytes | None:
    """Return the key as bytes (str as UTF-8)."""
    if key is None or isinstance(key, bytes):
        return key
    if isinstance(key, str):
        return key.encode()
    raise SerializationError(
        f"a record key for topic {topic!r} must be str or bytes, not {type(key).__name__}"
    )


def build_headers(
    given: Headers | None,
    context: Mapping[str, Any],
    content_type: bytes | None,
) -> list[tuple[str, bytes]] | None:
    """Merge the caller's headers, the propagated context and the content type."""
    if not given and not context and content_type is None:
        return None
    out: list[tuple[str, bytes]] = []
    if given:
        pairs = given.items() if isinstance(given, Mapping) else given
        for name, raw in pairs:
            out.append((name, raw.encode() if isinstance(raw, str) else bytes(raw)))
    if context:
        present = {name for name, _ in out} if out else ()
        for field, header in CONTEXT_HEADERS:
            value = context.get(field)
            if value is not None and header not in present:
                out.append((header, str(value).encode()))
    if content_type is not None:
        out.append((CONTENT_TYPE_HEADER, content_type))
    return out or None
