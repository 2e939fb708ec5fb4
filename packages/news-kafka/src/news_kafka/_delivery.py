"""One record's delivery as the publisher's retry loop attempts it, and the shared error texts."""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from news_kafka._errors import PublisherClosedError, PublishError
from news_kafka._records import RecordMetadata
from news_log import get_logger

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

__all__ = ["Job", "OneRecord", "Record", "Waiters", "closed_error", "show_key"]

log = get_logger("news_kafka.publisher")
# A broker outage makes every waiting record retry alike: one line per topic and error type
# per LogSettings.repeat_interval, with the count of those left out.
_retries = log.limited()

T_co = TypeVar("T_co", covariant=True)

# A record on its way: (topic, key, value, headers, partition, timestamp)
Record = tuple[
    str, bytes | None, bytes | None, list[tuple[str, bytes]] | None, int | None, int | None
]
# Attempts waiting for their acknowledgement, (topic, key, attempt) each: the publisher fails
# them on stop() and when it starts failing fast
Waiters = dict["asyncio.Future[Any]", tuple[str, bytes | None, int]]


class Job(Protocol, Generic[T_co]):
    """One delivery as ``Publisher._deliver`` attempts it: a record, or publish_many's batches."""

    topic: str
    key: bytes | None

    async def run(self, producer: AIOKafkaProducer, attempt: int, bound: float) -> T_co:
        """Make attempt ``attempt`` (within ``bound`` seconds); raise its error."""

    def retrying(self, attempt: int, error: BaseException, delay: float) -> None:
        """Say (log) that failed attempt ``attempt`` is retried after ``delay`` seconds."""

    def failure(self, attempts: int, error: BaseException, why: str) -> PublishError:
        """The final error after ``attempts`` attempts, the last one failing with ``error``."""


class OneRecord:
    """One record (``publish``, a ``send`` retried), as the retry loop attempts it.

    Args:
        record: The encoded record.
        waiters: Where an attempt waiting for its acknowledgement registers.
        expedite: Called after a record was handed to aiokafka (linger skipped), or None.
    """

    __slots__ = ("_expedite", "_waiters", "key", "record", "topic")

    def __init__(self, record: Record, waiters: Waiters, expedite: Any | None = None) -> None:
        self.record = record
        self.topic = record[0]
        self.key = record[1]
        self._waiters = waiters
        self._expedite = expedite

    async def run(self, producer: AIOKafkaProducer, attempt: int, bound: float) -> RecordMetadata:
        """Hand the record to aiokafka and wait (``bound`` seconds) for its acknowledgement."""
        topic, key, value, headers, partition, timestamp = self.record
        waiters = self._waiters
        try:
            async with asyncio.timeout(bound):
                future = await producer.send(
                    topic, value, key, partition=partition, timestamp_ms=timestamp, headers=headers
                )
                if self._expedite is not None:
                    self._expedite()
                waiter = asyncio.get_running_loop().create_future()
                waiters[waiter] = (topic, key, attempt)
                future.add_done_callback(functools.partial(relay, waiter))
                try:
                    meta = await waiter
                finally:
                    del waiters[waiter]
        except TimeoutError as exc:
            if str(exc):
                raise
            raise TimeoutError(
                f"no acknowledgement within {bound:.1f}s (broker down or unreachable?)"
            ) from None
        return RecordMetadata(meta.topic, meta.partition, meta.offset, meta.timestamp)

    def retrying(self, attempt: int, error: BaseException, delay: float) -> None:
        """Log the retry."""
        _retries.warning(
            "publish retry",
            repeat_key=(self.topic, type(error).__name__),
            topic=self.topic,
            key=show_key(self.key),
            attempt=attempt,
            error=f"{type(error).__name__}: {error}",
            retry_in_s=round(delay, 3),
        )

    def failure(self, attempts: int, error: BaseException, why: str) -> PublishError:
        """The record's final error."""
        failure = PublishError(
            f"publish to topic {self.topic!r} (key {show_key(self.key)!r}) failed after "
            f"{attempts} attempt(s), {why}: {type(error).__name__}: {error}",
            topic=self.topic,
            key=self.key,
            attempts=attempts,
        )
        failure.__cause__ = error
        return failure


def relay(waiter: asyncio.Future[Any], future: asyncio.Future[Any]) -> None:
    """Pass aiokafka's outcome of a record on to the attempt waiting for it."""
    if waiter.done():  # stop() or the fail-fast state failed it already
        return
    if future.cancelled():
        waiter.set_exception(TimeoutError("delivery cancelled"))
        return
    error = future.exception()
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(future.result())


def closed_error(topic: str, key: bytes | None, attempts: int, waited: str) -> PublisherClosedError:
    """The error of a record the publisher was closed on before it was ``waited`` (for)."""
    return PublisherClosedError(
        f"publisher closed while a record for topic {topic!r} (key {show_key(key)!r}) "
        f"waited to be {waited}, after {attempts} attempt(s)",
        topic=topic,
        key=key,
        attempts=attempts,
    )


def show_key(key: bytes | None) -> str | None:
    """A key for messages and log lines (UTF-8, replacing what does not decode)."""
    if key is None:
        return None
    return key.decode("utf-8", "replace")
