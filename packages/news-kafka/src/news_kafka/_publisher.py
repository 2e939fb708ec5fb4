"""`Publisher`: typed, retried, context-propagating Kafka producer on aiokafka."""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import random
import time
from typing import TYPE_CHECKING, Any, Final

from news_kafka._client import client_kwargs, is_retriable
from news_kafka._errors import (
    KafkaConfigError,
    PublisherClosedError,
    PublishError,
    SerializationError,
)
from news_kafka._metrics import resolve_metrics
from news_kafka._records import (
    Codec,
    ProducerRecord,
    RecordMetadata,
    build_headers,
    encode_key,
)
from news_kafka._settings import KafkaSettings
from news_kafka._shutdown import run_step
from news_log import get_context, get_logger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from types import TracebackType

    from aiokafka import AIOKafkaProducer

    from news_kafka._metrics import KafkaMetricsHook
    from news_kafka._records import Headers

__all__ = ["Publisher"]

log = get_logger(__name__)

_BATCH_OVERHEAD: Final = 1024  # bytes kept free in a publish_many batch for request framing
_REAP_PERIOD: Final = 0.05  # seconds between background checks of queued records
_MANY_BATCH: Final = 256 * 1024  # publish_many's batch size (bytes): sent while the next fills
_FORCE_CLOSE_TIMEOUT: Final = 2.0  # seconds closing by hand (or ending retry tasks) may take


# A record on its way: (topic, key, value, headers, partition, timestamp)
_Record = tuple[
    str, bytes | None, bytes | None, list[tuple[str, bytes]] | None, int | None, int | None
]
# A publish_many batch: (partition, indexes of its records, aiokafka BatchBuilder, timestamps)
_Batch = tuple[int, "Sequence[int]", Any, list[int]]
# A queued send(): (aiokafka future, tick when queued, attempt, *record)
_Queued = tuple[
    "asyncio.Future[Any]",
    int,
    int,
    str,
    bytes | None,
    bytes | None,
    list[tuple[str, bytes]] | None,
    int | None,
    int | None,
]


def _record_of(entry: _Queued) -> _Record:
    """The record part of a queued entry."""
    return entry[3:]


def _closed_error(record: _Record, attempts: int, waited: str) -> PublisherClosedError:
    """The error of a record the publisher was closed on before it was ``waited`` (for)."""
    return PublisherClosedError(
        f"publisher closed while a record for topic {record[0]!r} (key "
        f"{_show_key(record[1])!r}) waited to be {waited}, after {attempts} attempt(s)",
        topic=record[0],
        key=record[1],
        attempts=attempts,
    )


class Publisher:
    """Publishes records to Kafka: typed values, retries, request-id headers, bounded close.

    Values are encoded with msgspec (JSON by default, msgpack with
    ``settings.producer.serializer="msgpack"``); ``bytes`` pass through; ``None`` is a tombstone
    (it needs a key). The request id and trace context bound with ``news_log.bind`` go into the
    ``x-request-id``, ``traceparent`` and ``tracestate`` headers.

    Retriable errors (broker unavailable, leader change, timeouts) are retried with exponential
    backoff and jitter (``settings.producer.retry``); any other error, or an exhausted policy,
    raises `PublishError` naming the topic, key, attempts and cause. Every delivery attempt is
    bounded in time, so a broker that never answers cannot hang a caller.

    Args:
        settings: Connection and ``producer`` settings (default: ``KafkaSettings()``).
        metrics: A `KafkaMetricsHook` (default: per ``settings.metrics``, news-metrics'
            ``KafkaMetrics`` when it is installed).

    Example:
        >>> async def main() -> None:  # doctest: +SKIP
        ...     async with Publisher(KafkaSettings()) as publisher:
        ...         meta = await publisher.publish("articles", Article(id=7), key="7")
    """

    def __init__(
        self,
        settings: KafkaSettings | None = None,
        *,
        metrics: KafkaMetricsHook | None = None,
    ) -> None:
        self._settings = settings or KafkaSettings()
        cfg = self._settings.producer
        self._codec = Codec(cfg.serializer)
        self._policy = cfg.retry
        self._metrics = resolve_metrics(metrics, self._settings.metrics)
        # One attempt: Kafka's own acknowledgement deadline plus a margin for queueing and
        # linger. aiokafka's future may never resolve otherwise (upstream #1101).
        self._attempt_bound = cfg.request_timeout_ms / 1000.0 * 1.5 + cfg.linger_ms / 1000.0 + 1.0
        self._bound_ticks = int(self._attempt_bound / _REAP_PERIOD) + 1
        self._expedite_enabled = cfg.linger_ms > 0
        self._expedite_scheduled = False
        self._producer: AIOKafkaProducer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._pending = 0  # records accepted and not yet delivered or failed for good
        self._idle = asyncio.Event()
        self._idle.set()
        # send(): (aiokafka future, tick when queued, attempt, *record), oldest first; flat to
        # keep the per-record cost at one tuple
        self._queued: collections.deque[_Queued] = collections.deque()
        # send() of keyless records: per topic [partition, bytes left before switching]
        # (sticky partitioning, as the Java client: full batches, no per-record choice)
        self._sticky: dict[str, list[int]] = {}
        self._sticky_bytes = cfg.batch_size
        # the last propagated context seen, its content type and the headers built from them
        self._context_headers: tuple[object, bytes | None, list[tuple[str, bytes]] | None] = (
            None,
            None,
            None,
        )
        self._tick = 0
        self._reaper: asyncio.Task[None] | None = None
        self._retries: set[asyncio.Task[None]] = set()
        self._failures: list[PublishError] = []
        # publish() calls waiting for their acknowledgement: stop() fails them
        self._waiters: dict[asyncio.Future[Any], tuple[_Record, int]] = {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def settings(self) -> KafkaSettings:
        """The settings this publisher was built with."""
        return self._settings

    @property
    def running(self) -> bool:
        """True between a successful ``start()`` and ``stop()``."""
        return self._producer is not None and not self._closing

    async def start(self) -> None:
        """Connect to Kafka (bootstrap and fetch metadata); raise `PublishError` if it cannot."""
        if self._producer is not None:
            return
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        cfg = self._settings.producer
        try:
            producer = AIOKafkaProducer(
                **client_kwargs(self._settings),
                acks=-1 if cfg.acks == "all" else int(cfg.acks),
                enable_idempotence=cfg.idempotence,
                linger_ms=cfg.linger_ms,
                max_batch_size=cfg.batch_size,
                max_request_size=cfg.max_request_size,
                compression_type=None if cfg.compression == "none" else cfg.compression,
                request_timeout_ms=cfg.request_timeout_ms,
            )
        except (ValueError, RuntimeError) as exc:  # e.g. compression library missing
            raise KafkaConfigError(f"producer: {exc}") from exc
        try:
            await asyncio.wait_for(producer.start(), self._attempt_bound)
        except (KafkaError, OSError, TimeoutError) as exc:
            await _bounded_stop(producer, 2.0)
            raise PublishError(
                f"cannot connect to Kafka at {','.join(self._settings.bootstrap_servers)}: "
                f"{type(exc).__name__}: {exc}; check bootstrap_servers and security settings",
                topic="",
            ) from exc
        self._loop = asyncio.get_running_loop()
        self._producer = producer
        self._closing = False
        log.debug("publisher started", client_id=self._settings.client_id)

    async def stop(self, timeout: float | None = None) -> None:
        """Flush every accepted record (bounded by ``timeout`` seconds), then disconnect.

        ``timeout`` defaults to ``settings.producer.close_timeout_ms``. Records still undelivered
        when it expires fail (``publish`` callers get `PublishError`) and are logged; ``stop``
        itself does not raise for them (``flush`` does). Never raises, and always ends, also
        against a dead broker: aiokafka's own ``stop()`` is bounded, closed by hand if it
        fails or hangs, and what was given up is logged (``gave_up``). Only a cancellation of
        the caller's own task propagates.
        """
        producer = self._producer
        if producer is None:
            return
        self._closing = True
        if timeout is None:
            timeout = self._settings.producer.close_timeout_ms / 1000.0
        deadline = time.monotonic() + timeout
        try:
            try:
                await self._drain(timeout)
            except TimeoutError:
                log.error(  # noqa: TRY400 - a timeout has no useful traceback
                    "publisher close timed out; undelivered records fail",
                    gave_up="undelivered records",
                    undelivered=self._pending,
                    timeout_s=timeout,
                )
            for task in list(self._retries):
                task.cancel()
            if self._retries:
                await asyncio.wait(set(self._retries), timeout=_FORCE_CLOSE_TIMEOUT)
            # No retries from here on: a record that aiokafka fails while it stops (the reaper
            # settles it meanwhile) is given up and reported now, not retried after stop().
            self._producer = None
            await _bounded_stop(producer, max(1.0, deadline - time.monotonic()))
        finally:
            self._producer = None
            self._reap(scan_all=True)
            while self._queued:
                entry = self._queued.popleft()
                record, attempt = _record_of(entry), entry[2]
                self._give_up(record, attempt, _closed_error(record, attempt, "delivered"))
            for waiter, (record, attempt) in list(self._waiters.items()):
                if not waiter.done():
                    waiter.set_exception(_closed_error(record, attempt, "acknowledged"))
            self._failures.clear()
            if self._reaper is not None:
                self._reaper.cancel()
                self._reaper = None
            log.debug("publisher stopped")

    async def close(self, timeout: float | None = None) -> None:
        """Same as `stop`: flush what was accepted (bounded), then disconnect."""
        await self.stop(timeout)

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record accepted so far is delivered or has failed for good.

        Raises:
            PublishError: Records queued with `send` failed since the last ``flush`` (the
                first failure is the cause; every failure was logged when it happened).
            TimeoutError: ``timeout`` seconds passed first.
        """
        await self._drain(timeout)
        failures, self._failures = self._failures, []
        if failures:
            first = failures[0]
            raise PublishError(
                f"{len(failures)} queued record(s) were not delivered; first: {first}",
                topic=first.topic,
                key=first.key,
                attempts=first.attempts,
            ) from first

    async def _drain(self, timeout: float | None) -> None:
        async with asyncio.timeout(timeout):
            while self._pending:
                producer = self._producer
                if producer is not None and self._queued:
                    # bounded: with idempotence and the broker down it may hang (#1101)
                    flushing = asyncio.ensure_future(producer.flush())
                    done, _ = await asyncio.wait([flushing], timeout=self._attempt_bound)
                    self._reap(scan_all=True)
                    if not done:
                        flushing.cancel()
                        self._tick += self._bound_ticks  # expire what is still stuck
                        self._reap(scan_all=False)
                if not self._pending:
                    break
                if self._retries:
                    await asyncio.wait(set(self._retries), return_when=asyncio.FIRST_COMPLETED)
                elif not self._queued:
                    await self._idle.wait()  # publish() calls still on their way
                else:
                    await asyncio.sleep(0)

    # ------------------------------------------------------------------ single records

    def _record(  # noqa: PLR0917 - mirrors publish() positionally
        self,
        topic: str,
        value: Any,
        key: str | bytes | None,
        headers: Headers | None,
        partition: int | None,
        timestamp: int | None,
    ) -> _Record:
        """Encode one record (value, key, headers with the propagated context)."""
        if self._producer is None or self._closing:
            raise PublisherClosedError(
                f"publish to {topic!r} on a publisher that is not running; "
                "use `async with Publisher(...)` or call start() first",
                topic=topic,
                key=key if isinstance(key, bytes) else None,
            )
        if value.__class__ is bytes:
            value_bytes: bytes | None = value
            content_type = None
        else:
            value_bytes, content_type = self._codec.value(value, topic)
        key_bytes = key if key is None or key.__class__ is bytes else encode_key(key, topic)
        if value_bytes is None and key_bytes is None:
            raise SerializationError(
                f"a tombstone (value None) for topic {topic!r} needs a key: it deletes that key"
            )
        context = get_context()
        if not headers and context:
            # The bound context (a mapping news-log replaces, never mutates) repeats from
            # record to record: its headers are built once and shared (aiokafka copies them
            # into the batch; nothing changes them).
            cached = self._context_headers
            if cached[0] is context and cached[1] is content_type:
                record_headers = cached[2]
            else:
                record_headers = build_headers(None, context, content_type)
                self._context_headers = (context, content_type, record_headers)
        elif headers or context or content_type is not None:
            record_headers = build_headers(headers, context, content_type)
        else:
            record_headers = None
        return (topic, key_bytes, value_bytes, record_headers, partition, timestamp)

    async def publish(
        self,
        topic: str,
        value: Any,
        *,
        key: str | bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> RecordMetadata:
        """Publish one record and wait until Kafka acknowledged it.

        Concurrent calls share batches (aiokafka sends one request per broker at a time and
        queues the rest); a lone call does not wait for ``linger_ms``.

        Args:
            topic: The topic.
            value: A msgspec Struct, dict, list or scalar (encoded), ``bytes`` (as is) or
                ``None`` (a tombstone; needs ``key``).
            key: The record key (str as UTF-8); same key, same partition.
            headers: Extra headers (mapping or pairs; str values as UTF-8).
            partition: A fixed partition instead of the key's.
            timestamp: Milliseconds since the epoch (default: now).

        Returns:
            Where the record was stored (topic, partition, offset, timestamp).

        Raises:
            PublishError: Not delivered (non-retriable error or retries exhausted).
            PublisherClosedError: The publisher is not running.
            SerializationError: The value or key cannot be encoded.
        """
        record = self._record(topic, value, key, headers, partition, timestamp)
        self._pending += 1
        self._idle.clear()
        try:
            return await self._publish(record)
        finally:
            self._settle()

    async def _publish(self, record: _Record) -> RecordMetadata:
        topic, key, value, headers, partition, timestamp = record
        attempt = 0
        while True:
            attempt += 1
            producer = self._producer
            if producer is None:
                raise PublisherClosedError(
                    f"publisher stopped before the record for topic {topic!r} (key "
                    f"{_show_key(key)!r}) was delivered, after {attempt - 1} attempt(s)",
                    topic=topic,
                    key=key,
                    attempts=attempt - 1,
                )
            try:
                async with asyncio.timeout(self._attempt_bound):
                    future = await producer.send(
                        topic,
                        value,
                        key,
                        partition=partition,
                        timestamp_ms=timestamp,
                        headers=headers,
                    )
                    if self._expedite_enabled:
                        self._schedule_expedite()
                    waiter = self._loop.create_future()  # type: ignore[union-attr]
                    self._waiters[waiter] = (record, attempt)
                    future.add_done_callback(functools.partial(_relay, waiter))
                    try:
                        meta = await waiter
                    finally:
                        del self._waiters[waiter]
            except PublisherClosedError as closed:  # stop() gave up on it
                self._report_failure(record, attempt, closed)
                raise
            except Exception as exc:
                if is_retriable(exc) and attempt < self._policy.attempts and self.running:
                    delay = self._retry_delay(record, attempt, exc)
                    await asyncio.sleep(delay)
                    continue
                error = self._error(record, attempt, exc)
                self._report_failure(record, attempt, error)
                raise error from exc
            if self._metrics is not None:
                self._metrics.published(topic, 1)
            return RecordMetadata(meta.topic, meta.partition, meta.offset, meta.timestamp)

    async def send(
        self,
        topic: str,
        value: Any,
        *,
        key: str | bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Queue one record for delivery and return as soon as it is in the producer's buffer.

        The fast path for streams of records: batches with ``linger_ms``, waits only for room
        in the buffer. Delivery is confirmed by `flush` (or `stop`); retriable failures are
        retried in the background, and a record that fails for good is logged and makes the
        next `flush` raise `PublishError`. Use `publish` to get each record's metadata.
        Records without a key or partition fill one partition's batch (``batch_size`` bytes),
        then the next (sticky partitioning, as the Java client): fuller batches, less work.
        Arguments as for `publish`; a non-retriable error of the first attempt (record too
        large...) raises here.
        """
        producer = self._producer
        if (
            producer is not None
            and not self._closing
            and value.__class__ is bytes
            and key is None
            and not headers
            and not get_context()
        ):  # the common case of a stream of raw records, inlined
            target = partition if partition is not None else self._place(producer, topic, value)
            self._pending += 1
            try:
                future = await producer.send(topic, value, None, target, timestamp, None)
            except Exception:  # noqa: BLE001 - the general path classifies it
                self._pending -= 1
                await self._enqueue_first((topic, None, value, None, partition, timestamp))
                return
            self._queued.append(
                (future, self._tick, 1, topic, None, value, None, partition, timestamp)
            )
            if self._reaper is None:
                self._idle.clear()
                self._reaper = asyncio.ensure_future(self._reap_loop())
            return
        await self._enqueue_first(self._record(topic, value, key, headers, partition, timestamp))

    def _place(self, producer: AIOKafkaProducer, topic: str, value: bytes | None) -> int | None:
        """The partition of a keyless record without one: the topic's sticky partition."""
        sticky = self._sticky.get(topic)
        if sticky is None or sticky[1] <= 0:
            sticky = self._stick(producer, topic)
            if sticky is None:
                return None
        sticky[1] -= len(value or b"")
        return sticky[0]

    def _stick(self, producer: AIOKafkaProducer, topic: str) -> list[int] | None:
        """Pick the partition the next keyless ``send`` records of ``topic`` go to.

        Moves on (round robin over the partitions that have a leader) after a batch worth of
        bytes; None while the topic's metadata is unknown (aiokafka then waits for it and
        picks a partition itself).
        """
        try:
            available = producer.client.cluster.available_partitions_for_topic(topic)
        except AttributeError:  # pragma: no cover - aiokafka changed: let it choose
            available = None
        if not available:
            self._sticky.pop(topic, None)
            return None
        ordered = sorted(available)
        sticky = self._sticky.get(topic)
        if sticky is None:
            start = random.randrange(len(ordered))  # noqa: S311 - load spreading
            sticky = self._sticky[topic] = [ordered[start], 0]
        else:
            later = [p for p in ordered if p > sticky[0]]
            sticky[0] = later[0] if later else ordered[0]
        sticky[1] = self._sticky_bytes
        return sticky

    async def _enqueue_first(self, record: _Record) -> None:
        self._pending += 1
        self._idle.clear()
        await self._enqueue(record, 1, raise_now=True)

    async def _enqueue(self, record: _Record, attempt: int, *, raise_now: bool = False) -> None:
        """Hand a record to aiokafka (one attempt); failures go to the retry logic."""
        producer = self._producer
        if producer is None:
            self._give_up(record, attempt - 1, _closed_error(record, attempt - 1, "retried"))
            return
        target = record[4]
        if target is None and record[1] is None:  # keyless: sticky, as the fast path
            target = self._place(producer, record[0], record[2])
        try:
            future = await producer.send(
                record[0],
                record[2],
                record[1],
                partition=target,
                timestamp_ms=record[5],
                headers=record[3],
            )
        except Exception as exc:
            if raise_now and not is_retriable(exc):
                error = self._error(record, attempt, exc)
                self._give_up(record, attempt, error, remember=False)
                raise error from exc
            self._failed(record, attempt, exc)
            return
        self._queued.append((future, self._tick, attempt, *record))
        if self._reaper is None:
            self._idle.clear()
            self._reaper = asyncio.ensure_future(self._reap_loop())

    async def _reap_loop(self) -> None:
        """Settle queued records in the background: count, retry, expire stuck ones."""
        try:
            while self._queued or self._retries:
                await asyncio.sleep(_REAP_PERIOD)
                self._tick += 1
                self._reap(scan_all=False)
        finally:
            self._reaper = None

    def _reap(self, *, scan_all: bool) -> None:  # noqa: PLR0912 - one pass, all outcomes
        """Settle the queued records whose delivery finished (oldest first).

        Without ``scan_all`` it stops at the first unfinished record that is still within its
        time bound (records finish roughly in order); an unfinished record past the bound is
        treated as timed out (aiokafka may never resolve it, #1101). With ``scan_all`` every
        finished record is settled and unfinished ones stay queued.
        """
        queued = self._queued
        expired_before = self._tick - self._bound_ticks
        delivered = 0
        by_topic: dict[str, int] | None = {} if self._metrics is not None else None
        keep: list[_Queued] = []
        while queued:
            entry = queued[0]
            future = entry[0]
            if not future.done():
                if entry[1] >= expired_before:
                    if not scan_all:
                        break
                    keep.append(queued.popleft())
                    continue
                queued.popleft()
                self._failed(
                    _record_of(entry),
                    entry[2],
                    TimeoutError(
                        f"no acknowledgement within {self._attempt_bound:.1f}s "
                        "(broker down or unreachable?)"
                    ),
                )
                continue
            queued.popleft()
            try:
                future.result()
            except asyncio.CancelledError:
                self._failed(_record_of(entry), entry[2], TimeoutError("delivery cancelled"))
            except Exception as exc:  # noqa: BLE001 - classified by _failed
                self._failed(_record_of(entry), entry[2], exc)
            else:
                delivered += 1
                if by_topic is not None:
                    by_topic[entry[3]] = by_topic.get(entry[3], 0) + 1
        if keep:
            queued.extendleft(reversed(keep))
        if delivered:
            self._pending -= delivered
            if by_topic and self._metrics is not None:
                for topic, n in by_topic.items():
                    self._metrics.published(topic, n)
            if self._pending == 0:
                self._idle.set()

    def _failed(self, record: _Record, attempt: int, exc: BaseException) -> None:
        """Retry a failed queued record later, or give up on it."""
        if is_retriable(exc) and attempt < self._policy.attempts and self._producer is not None:
            delay = self._retry_delay(record, attempt, exc)
            task = asyncio.ensure_future(self._retry(record, attempt + 1, delay))
            self._retries.add(task)
            task.add_done_callback(functools.partial(self._retry_done, record, attempt))
            return
        self._give_up(record, attempt, self._error(record, attempt, exc))

    async def _retry(self, record: _Record, attempt: int, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._enqueue(record, attempt)

    def _retry_done(self, record: _Record, attempts: int, task: asyncio.Task[None]) -> None:
        """Settle a record whose retry task ended without handing it on (cancelled by stop()).

        The task may be cancelled before its first step (then no code of ``_retry`` runs) or
        while aiokafka waits for buffer space: either way the record is reported, never dropped.
        """
        self._retries.discard(task)
        if not task.cancelled() and task.exception() is None:
            return  # _enqueue settled it: queued again, or given up with a log line
        error = _closed_error(record, attempts, "retried")
        error.__cause__ = task.exception() if not task.cancelled() else None
        self._give_up(record, attempts, error)

    def _retry_delay(self, record: _Record, attempt: int, exc: BaseException) -> float:
        delay = self._policy.delay(attempt)
        log.warning(
            "publish retry",
            topic=record[0],
            key=_show_key(record[1]),
            attempt=attempt,
            error=f"{type(exc).__name__}: {exc}",
            retry_in_s=round(delay, 3),
        )
        return delay

    def _error(self, record: _Record, attempts: int, exc: BaseException) -> PublishError:
        why = "retries exhausted" if is_retriable(exc) else "not retriable"
        error = PublishError(
            f"publish to topic {record[0]!r} (key {_show_key(record[1])!r}) failed after "
            f"{attempts} attempt(s), {why}: {type(exc).__name__}: {exc}",
            topic=record[0],
            key=record[1],
            attempts=attempts,
        )
        error.__cause__ = exc
        return error

    def _report_failure(self, record: _Record, attempts: int, error: PublishError) -> None:
        cause = error.__cause__ or error
        log.warning(
            "publish failed",
            topic=record[0],
            key=_show_key(record[1]),
            attempts=attempts,
            error=str(cause),
            error_type=type(cause).__name__,
        )
        if self._metrics is not None:
            self._metrics.publish_failed(record[0], type(cause).__name__)

    def _give_up(
        self, record: _Record, attempts: int, error: PublishError, *, remember: bool = True
    ) -> None:
        """A queued record failed for good: log, count, remember for flush(), settle."""
        self._report_failure(record, attempts, error)
        if remember:
            self._failures.append(error)
        self._settle()

    def _settle(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()

    def _schedule_expedite(self) -> None:
        if not self._expedite_scheduled:
            self._expedite_scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._expedite)

    def _expedite(self) -> None:
        """Make lingering batches ready now: awaited publishes must not pay ``linger_ms``.

        aiokafka has no public "send now"; closing the open batch builders (as its
        ``flush_for_commit`` does) and waking the sender is the same move.
        """
        self._expedite_scheduled = False
        producer = self._producer
        if producer is None:
            return
        try:
            accumulator = producer._message_accumulator
            for batches in accumulator._batches.values():
                if batches:
                    batches[-1]._builder.close()
            waiter = accumulator._waiter_future
            if not waiter.done():
                waiter.set_result(None)
        except AttributeError:  # aiokafka changed its internals: fall back to lingering
            self._expedite_enabled = False
            log.warning("publisher cannot expedite batches with this aiokafka; linger applies")

    # ------------------------------------------------------------------ batches

    async def publish_many(
        self,
        topic: str,
        records: Iterable[ProducerRecord | Any],
        *,
        headers: Headers | None = None,
    ) -> list[RecordMetadata]:
        """Publish many records at once: one batch request per partition, retried per batch.

        Much faster than one ``publish`` per record (records are packed into batches of up to
        ``max_request_size`` bytes, one request per partition). Records with a key go to the
        key's partition exactly as ``publish`` would put them (murmur2, like the Java client);
        records without one fill one partition's batch, then the next (sticky, balanced).
        Not atomic: when a partition's batch fails for good, batches of other partitions may
        have been delivered.

        Args:
            topic: The topic.
            records: `ProducerRecord` values, or plain values (no key).
            headers: Headers added to every record.

        Returns:
            The metadata of every record, in the order given.

        Raises:
            PublishError: A batch was not delivered (``partition`` names it).
            PublisherClosedError: The publisher is not running.
            SerializationError: A value or key cannot be encoded (nothing was sent).
        """
        producer = self._producer
        if producer is None or self._closing:
            raise PublisherClosedError(
                f"publish_many to {topic!r} on a publisher that is not running",
                topic=topic,
            )
        from aiokafka.errors import KafkaError
        from aiokafka.partitioner import murmur2

        try:
            partitions = sorted(await producer.partitions_for(topic))
        except KafkaError as exc:
            raise PublishError(
                f"publish_many to topic {topic!r} failed: no metadata for it "
                f"({type(exc).__name__}: {exc}); does the topic exist?",
                topic=topic,
                attempts=1,
            ) from exc
        items, shared, all_keyless = self._prepare_many(topic, records, headers)
        if not items:
            return []
        n_partitions = len(partitions)
        by_partition: dict[int, list[int]] = {}
        keyless: Sequence[int]
        if all_keyless:
            keyless = range(len(items))
        else:
            keyless = []
            for index, item in enumerate(items):
                if item.__class__ is bytes:
                    keyless.append(index)
                    continue
                if item[3] is not None:
                    target = item[3]
                elif item[0] is not None:
                    target = partitions[(murmur2(item[0]) & 0x7FFFFFFF) % n_partitions]
                else:
                    keyless.append(index)
                    continue
                by_partition.setdefault(target, []).append(index)
        now_ms = int(time.time() * 1000)
        batches = self._build_batches(
            items, shared, now_ms, by_partition=by_partition, keyless=keyless, partitions=partitions
        )
        self._pending += 1
        self._idle.clear()
        try:
            return await self._send_batches(topic, items, shared, now_ms, batches)
        finally:
            self._settle()

    def _prepare_many(
        self,
        topic: str,
        records: Iterable[ProducerRecord | Any],
        headers: Headers | None,
    ) -> tuple[list[Any], list[tuple[str, bytes]], bool]:
        """Encode the records: (items, shared headers, whether no record has a key/partition).

        An item is the value itself for a plain ``bytes`` record (key-less, the shared headers),
        else ``(key, value, headers, partition, timestamp)``.
        """
        context = get_context()
        shared = build_headers(headers, context, None) or []
        codec_value = self._codec.value
        items: list[Any] = []
        append = items.append
        all_keyless = True
        for record in records:
            if record.__class__ is bytes:
                append(record)
                continue
            if isinstance(record, ProducerRecord):
                value_bytes, content_type = codec_value(record.value, topic)
                key_bytes = encode_key(record.key, topic)
                if value_bytes is None and key_bytes is None:
                    raise SerializationError(
                        f"a tombstone (value None) for topic {topic!r} needs a key"
                    )
                record_headers = shared
                if record.headers or content_type is not None:
                    record_headers = build_headers(record.headers, {}, content_type) or []
                    if shared:
                        names = {name for name, _ in record_headers}
                        record_headers += [h for h in shared if h[0] not in names]
                if key_bytes is not None or record.partition is not None:
                    all_keyless = False
                append((key_bytes, value_bytes, record_headers, record.partition, record.timestamp))
                continue
            value_bytes, content_type = codec_value(record, topic)
            if value_bytes is None:
                raise SerializationError(
                    f"a tombstone (value None) for topic {topic!r} needs a key; "
                    "pass ProducerRecord(value=None, key=...)"
                )
            if content_type is None:
                append(value_bytes)
            else:
                append((None, value_bytes, [*shared, ("content-type", content_type)], None, None))
        return items, shared, all_keyless

    def _new_builder(self) -> Any:
        from aiokafka.producer.message_accumulator import BatchBuilder

        cfg = self._settings.producer
        size = max(cfg.batch_size, min(cfg.max_request_size - _BATCH_OVERHEAD, _MANY_BATCH))
        compression = 0
        if cfg.compression != "none":
            from aiokafka import AIOKafkaProducer

            compression = AIOKafkaProducer._COMPRESSORS[cfg.compression][1]
        return BatchBuilder(size, compression)

    def _build_batches(
        self,
        items: list[Any],
        shared: list[tuple[str, bytes]],
        now_ms: int,
        *,
        by_partition: dict[int, list[int]],
        keyless: Sequence[int],
        partitions: list[int],
    ) -> Iterator[_Batch]:
        """Pack records into batches, lazily: each is sent before the next is built."""
        for partition, indexes in by_partition.items():
            same = itertools.repeat(partition).__next__
            yield from self._fill(items, shared, now_ms, indexes, same)
        if keyless:
            start = random.randrange(len(partitions))  # noqa: S311 - load spreading
            cycle = iter(range(start, start + 10**12))
            yield from self._fill(
                items,
                shared,
                now_ms,
                keyless,
                lambda: partitions[next(cycle) % len(partitions)],
            )

    def _fill(
        self,
        items: list[Any],
        shared: list[tuple[str, bytes]],
        now_ms: int,
        indexes: Sequence[int],
        next_partition: Callable[[], int],
    ) -> Iterator[_Batch]:
        """Append records to batch builders; yield each full one (and its partition).

        The records go straight into aiokafka's C record builder (the ``BatchBuilder``
        wrapper's per-record Python frame is a third of the cost), with the wrapper's
        record count kept in step so ``send_batch`` sees a normal batch. A batch is
        ``(partition, indexes, builder, timestamps)``; ``indexes`` is a slice of ``indexes``.
        """
        builder = self._new_builder()
        raw_append: Any = getattr(getattr(builder, "_builder", None), "append", None)
        direct = raw_append is not None and hasattr(builder, "_relative_offset")
        stamps: list[int] = []
        first = 0  # position in indexes of the batch's first record
        n = 0
        for index in indexes:
            item = items[index]
            if item.__class__ is bytes:
                key, value, headers, timestamp = None, item, shared, now_ms
            else:
                key, value, headers, _, timestamp = item
                if timestamp is None:
                    timestamp = now_ms
            if direct:
                meta = raw_append(n, timestamp, key, value, headers)
            else:
                meta = builder.append(timestamp=timestamp, key=key, value=value, headers=headers)
            if meta is None:
                if direct:
                    builder._relative_offset = n
                builder.close()  # closed: aiokafka sends it at once (no linger_ms)
                yield (next_partition(), indexes[first : first + n], builder, stamps)
                first += n
                builder = self._new_builder()
                raw_append = builder._builder.append if direct else None
                stamps, n = [], 0
                if direct:
                    meta = raw_append(n, timestamp, key, value, headers)
                else:
                    meta = builder.append(
                        timestamp=timestamp, key=key, value=value, headers=headers
                    )
            n += 1
            stamps.append(timestamp)
        if n:
            if direct:
                builder._relative_offset = n
            builder.close()
            yield (next_partition(), indexes[first : first + n], builder, stamps)

    async def _send_batches(  # noqa: PLR0912 - one loop: send, classify, retry
        self,
        topic: str,
        items: list[Any],
        shared: list[tuple[str, bytes]],
        now_ms: int,
        batches: Iterator[_Batch],
    ) -> list[RecordMetadata]:
        results: list[RecordMetadata | None] = [None] * len(items)
        attempts = 0
        todo: Iterable[_Batch] = batches
        while True:
            attempts += 1
            producer = self._producer
            if producer is None:
                raise PublisherClosedError(
                    f"publisher stopped during publish_many to {topic!r}",
                    topic=topic,
                    attempts=attempts,
                )
            sent: list[tuple[_Batch, asyncio.Future[Any]]] = []
            failed: list[tuple[_Batch, BaseException]] = []
            delivered = 0
            for batch in todo:  # the first round builds each batch right before sending it
                try:
                    future = await producer.send_batch(batch[2], topic, partition=batch[0])
                except Exception as exc:  # noqa: BLE001 - classified below
                    failed.append((batch, exc))
                    continue
                sent.append((batch, future))
                if sent[0][1].done():  # settle acknowledged batches while the broker works
                    waiting = []
                    for done_batch, done in sent:
                        if done.done():
                            delivered += _settle_batch(topic, done_batch, done, results, failed)
                        else:
                            waiting.append((done_batch, done))
                    sent = waiting
            if sent:
                await asyncio.wait([f for _, f in sent], timeout=self._attempt_bound)
            for batch, future in sent:
                if not future.done():
                    future.cancel()
                    failed.append((batch, TimeoutError("no acknowledgement in time")))
                else:
                    delivered += _settle_batch(topic, batch, future, results, failed)
            if delivered and self._metrics is not None:
                self._metrics.published(topic, delivered)
            if not failed:
                return results  # type: ignore[return-value]
            retry: list[_Batch] = []
            for batch, problem in failed:
                if not is_retriable(problem) or attempts >= self._policy.attempts:
                    if self._metrics is not None:
                        self._metrics.publish_failed(topic, type(problem).__name__)
                    raise PublishError(
                        f"publish_many to topic {topic!r} partition {batch[0]} failed for a "
                        f"batch of {len(batch[1])} record(s) after {attempts} attempt(s), "
                        f"{'retries exhausted' if is_retriable(problem) else 'not retriable'}: "
                        f"{type(problem).__name__}: {problem}",
                        topic=topic,
                        attempts=attempts,
                        partition=batch[0],
                    ) from problem
                log.warning(
                    "publish_many retry",
                    topic=topic,
                    partition=batch[0],
                    records=len(batch[1]),
                    attempt=attempts,
                    error=f"{type(problem).__name__}: {problem}",
                )
                partition, indexes, _, _ = batch
                retry.extend(
                    self._fill(items, shared, now_ms, indexes, itertools.repeat(partition).__next__)
                )
            todo = retry
            await asyncio.sleep(self._policy.delay(attempts))


def _settle_batch(
    topic: str,
    batch: _Batch,
    future: asyncio.Future[Any],
    results: list[RecordMetadata | None],
    failed: list[tuple[_Batch, BaseException]],
) -> int:
    """Record a finished batch: its records' metadata, or its error; return records delivered."""
    if future.cancelled():
        failed.append((batch, TimeoutError("batch cancelled")))
        return 0
    problem = future.exception()
    if problem is not None:
        failed.append((batch, problem))
        return 0
    base = future.result().offset
    partition, indexes, _, stamps = batch
    n = len(indexes)
    if isinstance(indexes, range) and indexes.step == 1:
        results[indexes.start : indexes.stop] = [
            RecordMetadata(topic, partition, offset, stamp)
            for offset, stamp in zip(range(base, base + n), stamps, strict=True)
        ]
    else:
        for index, offset, stamp in zip(indexes, itertools.count(base), stamps, strict=False):
            results[index] = RecordMetadata(topic, partition, offset, stamp)
    return n


def _show_key(key: bytes | None) -> str | None:
    if key is None:
        return None
    return key.decode("utf-8", "replace")


def _relay(waiter: asyncio.Future[Any], future: asyncio.Future[Any]) -> None:
    """Pass aiokafka's outcome of a record on to the publish() call waiting for it."""
    if waiter.done():  # stop() failed it already
        return
    if future.cancelled():
        waiter.set_exception(TimeoutError("delivery cancelled"))
        return
    error = future.exception()
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(future.result())


async def _bounded_stop(producer: AIOKafkaProducer, timeout: float) -> None:
    """Stop an aiokafka producer; close it by hand if that fails or hangs (upstream #1101)."""
    if await run_step(producer.stop(), timeout=timeout, what="aiokafka producer stop", log=log):
        return
    from news_kafka._aiokafka import force_close_producer

    await run_step(
        force_close_producer(producer),
        timeout=_FORCE_CLOSE_TIMEOUT,
        what="closing the producer's client by hand",
        log=log,
    )
