"""What the `Consumer` does with one record: decode, bind, call the handler, retry, dead-letter.

One handler call and one retry loop, in `Handling.handle` (a run of records per call); the
per-partition state (`Partition`) the consumer's workers and the handling share.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from typing import TYPE_CHECKING, Any, Final

import msgspec

from news_kafka._errors import ConsumerError, PoisonRecordError, PublishError
from news_kafka._records import (
    CONTENT_TYPE_HEADER,
    DLQ_ATTEMPTS,
    DLQ_ERROR_MESSAGE,
    DLQ_ERROR_TYPE,
    DLQ_GROUP,
    DLQ_ORIGINAL_OFFSET,
    DLQ_ORIGINAL_PARTITION,
    DLQ_ORIGINAL_TOPIC,
    MSGPACK,
    REQUEST_ID_HEADER,
    TRACEPARENT_HEADER,
    TRACESTATE_HEADER,
    Message,
)
from news_kafka._records import ValueDeserializer as _ValueDeserializer
from news_log import bind, get_logger

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiokafka import TopicPartition

    from news_kafka._metrics import KafkaMetricsHook
    from news_kafka._publisher import Publisher
    from news_kafka._records import ValueDeserializer
    from news_kafka._settings import KafkaSettings

__all__ = ["Abandoned", "Handling", "Partition"]

log = get_logger("news_kafka.consumer")

_MAX_ERROR_MESSAGE: Final = 1000
_CONTEXT_FIELDS: Final = {
    REQUEST_ID_HEADER: "request_id",
    TRACEPARENT_HEADER: "traceparent",
    TRACESTATE_HEADER: "tracestate",
}
_UNBOUND: Final = contextlib.nullcontext()  # reusable: a record without context headers


class Abandoned(Exception):  # noqa: N818 - internal control flow, never escapes the consumer
    """The record's partition was revoked or the consumer is stopping: leave it uncommitted."""


class Partition:
    """What the consumer tracks for one assigned partition."""

    __slots__ = (
        "committed",
        "fetched_from",
        "in_handler",
        "last_enqueued",
        "next_offset",
        "paused",
        "queue",
        "revoked",
        "started",
        "timed_out",
        "tp",
        "wakeup",
        "worker",
    )

    def __init__(self, tp: TopicPartition) -> None:
        self.tp = tp
        self.queue: collections.deque[Any] = collections.deque()
        self.next_offset: int | None = None  # the offset after the last handled record
        self.committed: int | None = None
        self.fetched_from: int | None = None  # the offset of the first record fetched
        self.last_enqueued = -1
        self.worker: asyncio.Task[None] | None = None
        self.wakeup = asyncio.Event()
        self.revoked = False
        self.paused = False
        self.in_handler = False
        self.started = 0.0
        self.timed_out = False


class Handling:
    """Runs a consumer's handler on its records: at least once, retried, else dead-lettered.

    Args:
        settings: The consumer's settings (retry policy, dead-letter suffix).
        group: The consumer group (dead-letter headers, metrics labels).
        handler: The service's handler.
        value_type: Decode values into it (JSON, or msgpack by content type); None: bytes.
        deserializer: Decodes values instead (a `ValueDeserializer`); excludes value_type.
        metrics: The metrics hook, if any.
        dead_letter_publisher: A running publisher for dead letters (else one of its own).
        stopping: Tells whether the consumer is stopping (waits are abandoned then).
    """

    __slots__ = (
        "_deserializer",
        "_dlq",
        "_dlq_lock",
        "_group",
        "_handler",
        "_json_decode",
        "_metrics",
        "_msgpack_decode",
        "_policy",
        "_settings",
        "_stopping",
        "handler_timeout",
        "own_publisher",
    )

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        group: str,
        handler: Callable[[Message[Any]], Awaitable[None]],
        value_type: type[Any] | None,
        deserializer: ValueDeserializer | None = None,
        metrics: KafkaMetricsHook | None,
        dead_letter_publisher: Publisher | None,
        stopping: Callable[[], bool],
    ) -> None:
        from news_kafka._errors import KafkaConfigError

        self._settings = settings
        self._group = group
        self._handler = handler
        self._metrics = metrics
        self._policy = settings.consumer.retry
        self._stopping = stopping
        self._dlq = dead_letter_publisher
        self.own_publisher: Publisher | None = None
        self._dlq_lock = asyncio.Lock()
        timeout_ms = settings.consumer.handler_timeout_ms
        self.handler_timeout = timeout_ms / 1000.0 if timeout_ms is not None else None
        self._json_decode: Callable[[bytes], Any] | None = None
        self._msgpack_decode: Callable[[bytes], Any] | None = None
        self._deserializer = deserializer
        if deserializer is not None and not isinstance(deserializer, _ValueDeserializer):
            raise KafkaConfigError(
                f"deserializer {deserializer!r} has no async prepare(topic, data) and "
                "deserialize(topic, data) methods"
            )
        if deserializer is not None and value_type is not None:
            raise KafkaConfigError(
                "pass value_type= or deserializer=, not both: the deserializer decides the type"
            )
        if value_type is not None:
            try:
                self._json_decode = msgspec.json.Decoder(value_type).decode
                self._msgpack_decode = msgspec.msgpack.Decoder(value_type).decode
            except TypeError as exc:
                raise KafkaConfigError(
                    f"value_type {value_type!r} cannot be decoded by msgspec: {exc}"
                ) from exc

    async def handle(self, state: Partition, limit: int) -> bool:  # noqa: PLR0912, PLR0915 - hot path
        """Handle up to ``limit`` records of the partition's queue, oldest first.

        The one handler call and the one retry loop of the consumer: each record is decoded,
        its context bound, the handler run (retried, else dead-lettered), then
        ``state.next_offset`` moves past it. A run of records per call, not one: a coroutine
        per record cost ~0.5 us of CPU each (bench:kafka). Returns False, early, when the
        partition is revoked or the consumer stops (else True); raises `Abandoned` when that
        happens while a record waits for a retry.
        """
        queue = state.queue
        handler, metrics, group = self._handler, self._metrics, self._group
        json_decode = self._json_decode
        stopping = self._stopping
        monotonic = time.monotonic
        handled = 0
        deserializer = self._deserializer
        while queue and handled < limit:
            if state.revoked or stopping():
                return False
            record = queue.popleft()
            handled += 1
            headers = record.headers
            raw = record.value
            try:
                if deserializer is not None:
                    if raw is None:
                        value = None  # a tombstone
                    else:
                        try:
                            value = deserializer.deserialize(record.topic, raw)
                        except LookupError:  # e.g. a schema id not loaded yet
                            value = await self._load(state, record)
                elif headers or raw is None:
                    value = self._decode(record)
                else:
                    value = raw if json_decode is None else json_decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError, LookupError) as exc:
                fields = context_fields(headers) if headers else None
                with bind(**fields) if fields else _UNBOUND:  # its DLQ line has the request id
                    await self._dead_letter(state, record, exc, 0)
                state.next_offset = record.offset + 1
                continue
            message: Message[Any] = Message(
                record.topic,
                record.partition,
                record.offset,
                record.key,
                value,
                headers,
                record.timestamp,
                raw,
            )
            fields = context_fields(headers) if headers else None
            binding = bind(**fields) if fields else None
            if binding is not None:
                binding.__enter__()
            try:
                attempt = 0
                while True:
                    attempt += 1
                    started = state.started = monotonic()
                    state.in_handler = True
                    try:
                        await handler(message)
                    except BaseException as exc:  # noqa: BLE001 - classified: cancellations go on
                        state.in_handler = False
                        error = self._classify(state, exc)
                        if not await self._failed(state, record, error, attempt):
                            break
                    else:
                        state.in_handler = False
                        if metrics is not None:
                            metrics.consumed(record.topic, group)
                            metrics.handler_duration(record.topic, group, monotonic() - started)
                        break
            finally:
                if binding is not None:
                    binding.__exit__(None, None, None)
            state.next_offset = record.offset + 1
        return True

    async def _failed(
        self, state: Partition, record: Any, error: BaseException, attempt: int
    ) -> bool:
        """A handler attempt failed: wait and say True (retry), or dead-letter and say False."""
        if self._metrics is not None:
            self._metrics.handler_failed(record.topic, self._group, type(error).__name__)
        if isinstance(error, PoisonRecordError) or attempt >= self._policy.attempts:
            await self._dead_letter(state, record, error, attempt)
            return False
        delay = self._policy.delay(attempt)
        log.warning(
            "handler failed; retrying",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=self._group,
            attempt=attempt,
            retry_in_s=round(delay, 3),
            error=f"{type(error).__name__}: {error}",
            exc_info=error,
        )
        await self.pause(state, delay)
        return True

    async def _load(self, state: Partition, record: Any) -> Any:
        """Let the deserializer load what the record needs (its schema), then decode it.

        A ``ValueError`` or ``LookupError`` (no such schema id, not the wire format)
        propagates: the record is dead-lettered. Any other error (the registry does not
        answer) is retried with backoff until it succeeds, or the partition goes away (the
        record stays uncommitted): a good record is never dead-lettered for an outage.
        """
        deserializer = self._deserializer
        assert deserializer is not None
        topic, raw = record.topic, record.value
        round_ = 0
        while True:
            round_ += 1
            try:
                await deserializer.prepare(topic, raw)
                return deserializer.deserialize(topic, raw)
            except (ValueError, LookupError):
                raise
            except Exception as exc:  # noqa: BLE001 - an outage: retried, logged
                delay = max(self._policy.delay(min(round_, 10)), 0.5)
                log.error(  # noqa: TRY400 - retried; the error text is enough
                    "cannot load the record's schema; retrying (the partition waits)",
                    topic=topic,
                    partition=record.partition,
                    offset=record.offset,
                    group=self._group,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in_s=round(delay, 3),
                )
                await self.pause(state, delay)

    def _decode(self, record: Any) -> Any:
        raw = record.value
        decode = self._json_decode
        if decode is None:
            return raw
        if record.headers:
            for name, value in record.headers:
                if name == CONTENT_TYPE_HEADER and value == MSGPACK:
                    decode = self._msgpack_decode
        assert decode is not None
        if raw is None:  # a tombstone: a value type that accepts None gets None
            return decode(b"null" if decode is self._json_decode else b"\xc0")
        return decode(raw)

    def _classify(self, state: Partition, error: BaseException) -> BaseException:
        """Turn a timeout cancellation into TimeoutError; re-raise real cancellations."""
        if isinstance(error, asyncio.CancelledError):
            task = asyncio.current_task()
            if not state.timed_out or task is None or task.cancelling() > 1:
                raise error  # a real cancellation (stop, revocation)
            task.uncancel()
            state.timed_out = False
            return TimeoutError(
                f"handler ran longer than {self.handler_timeout}s and was cancelled"
            )
        if not isinstance(error, Exception):
            raise error  # KeyboardInterrupt, SystemExit...
        return error

    async def pause(self, state: Partition, delay: float) -> None:
        """Sleep between attempts; give up (uncommitted) if the partition goes away."""
        state.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await state.wakeup.wait()
        if state.revoked or self._stopping():
            raise Abandoned

    async def _dead_letter(
        self, state: Partition, record: Any, error: BaseException, attempts: int
    ) -> None:
        """Publish the record to its dead-letter topic; retry until done or abandoned."""
        dlq_topic = record.topic + self._settings.consumer.dead_letter_suffix
        message = str(error)[:_MAX_ERROR_MESSAGE]
        headers = [
            *((name, value) for name, value in record.headers if not name.startswith("dlq-")),
            (DLQ_ORIGINAL_TOPIC, record.topic.encode()),
            (DLQ_ORIGINAL_PARTITION, str(record.partition).encode()),
            (DLQ_ORIGINAL_OFFSET, str(record.offset).encode()),
            (DLQ_ERROR_TYPE, qualname(error).encode()),
            (DLQ_ERROR_MESSAGE, message.encode("utf-8", "replace")),
            (DLQ_GROUP, self._group.encode()),
            (DLQ_ATTEMPTS, str(attempts).encode()),
        ]
        round_ = 0
        while True:
            round_ += 1
            try:
                publisher = await self._dead_letter_publisher()
                meta = await publisher.publish(
                    dlq_topic,
                    record.value,
                    key=record.key,
                    headers=headers,
                    partition=None,
                    timestamp=record.timestamp,
                )
            except (PublishError, ConsumerError) as exc:
                delay = self._policy.delay(min(round_, 10))
                log.error(  # noqa: TRY400 - retried; the error text is enough
                    "dead-letter publish failed; retrying (the partition waits)",
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    dead_letter_topic=dlq_topic,
                    error=f"{type(exc).__name__}: {exc}",
                    retry_in_s=round(delay, 3),
                )
                await self.pause(state, max(delay, 0.5))
                continue
            break
        log.error(
            "record dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=self._group,
            dead_letter_topic=dlq_topic,
            dead_letter_offset=meta.offset,
            attempts=attempts,
            error_type=qualname(error),
            error=message,
        )
        if self._metrics is not None:
            self._metrics.dead_lettered(record.topic, self._group)

    async def _dead_letter_publisher(self) -> Publisher:
        if self._dlq is not None:
            return self._dlq
        async with self._dlq_lock:
            if self.own_publisher is None:
                from news_kafka._publisher import Publisher

                publisher = Publisher(self._settings, metrics=self._metrics)
                try:
                    await publisher.start()
                except PublishError as exc:
                    raise ConsumerError(f"cannot start the dead-letter publisher: {exc}") from exc
                self.own_publisher = publisher
            return self.own_publisher


def context_fields(headers: Any) -> dict[str, str] | None:
    """The news-log context fields (request id, trace) carried by a record's headers, if any."""
    fields: dict[str, str] | None = None
    for name, value in headers:
        field = _CONTEXT_FIELDS.get(name)
        if field is not None and value is not None:
            if fields is None:
                fields = {}
            fields[field] = value.decode("utf-8", "replace")
    return fields


def qualname(error: BaseException) -> str:
    """Name an error's type for the DLQ header: ``module.Class``, builtins bare.

    news-kafka's own errors get their public name (``news_kafka.PoisonRecordError``), not
    the private module that defines them.
    """
    cls = type(error)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    if module.startswith("news_kafka._"):
        import news_kafka

        if getattr(news_kafka, cls.__qualname__, None) is cls:
            return f"news_kafka.{cls.__qualname__}"
    return f"{module}.{cls.__qualname__}"
