"""`Publisher`: typed, retried, context-propagating Kafka producer on aiokafka."""

from __future__ import annotations

import asyncio
import collections
import random
import time
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from news_kafka._client import client_kwargs, is_retriable
from news_kafka._errors import (
    KafkaConfigError,
    PublisherClosedError,
    PublishError,
    SerializationError,
)
from news_kafka._records import (
    Codec,
    ProducerRecord,
    RecordMetadata,
    build_headers,
    encode_key,
)
from news_kafka._settings import KafkaSettings
from news_log import get_context, get_logger

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from aiokafka import AIOKafkaProducer

    from news_kafka._metrics import KafkaMetricsHook
    from news_kafka._records import Headers

__all__ = ["Publisher"]

log = get_logger(__name__)

_BATCH_OVERHEAD: Final = 1024  # bytes kept free in a publish_many batch for request framing
_WATCHDOG_PERIOD: Final = 0.5


class _Job:
    """One record on its way to Kafka: what to send, how often it was tried, who waits."""

    __slots__ = (
        "attempts",
        "finished",
        "future",
        "headers",
        "inner",
        "key",
        "partition",
        "timestamp",
        "topic",
        "value",
    )

    def __init__(  # noqa: PLR0917 - internal, built in one place
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None,
        partition: int | None,
        timestamp: int | None,
        future: asyncio.Future[RecordMetadata],
    ) -> None:
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
        self.timestamp = timestamp
        self.future = future
        self.attempts = 0
        self.inner: asyncio.Future[Any] | None = None
        self.finished = False


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
        self._metrics = metrics
        # One attempt: Kafka's own acknowledgement deadline plus a margin for queueing and
        # linger. aiokafka's future may never resolve otherwise (upstream #1101).
        self._attempt_bound = cfg.request_timeout_ms / 1000.0 * 1.5 + cfg.linger_ms / 1000.0 + 1.0
        self._expedite_enabled = cfg.linger_ms > 0
        self._expedite_scheduled = False
        self._producer: AIOKafkaProducer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # (deadline, job, aiokafka future) per attempt, deadlines in increasing order
        self._inflight: collections.deque[tuple[float, _Job, asyncio.Future[Any]]] = (
            collections.deque()
        )
        self._watchdog: asyncio.Task[None] | None = None
        self._retries: set[asyncio.Task[None]] = set()

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
        when it expires fail with `PublishError` (their callers see it) and are logged.
        """
        producer = self._producer
        if producer is None:
            return
        self._closing = True
        if timeout is None:
            timeout = self._settings.producer.close_timeout_ms / 1000.0
        deadline = time.monotonic() + timeout
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.error(  # noqa: TRY400 - a timeout has no useful traceback
                "publisher close timed out; undelivered records fail",
                undelivered=self._pending,
                timeout_s=timeout,
            )
        for task in list(self._retries):
            task.cancel()
        await _bounded_stop(producer, max(1.0, deadline - time.monotonic()))
        self._producer = None
        for _, job, _ in list(self._inflight):
            self._finish_error(
                job,
                PublisherClosedError(
                    f"publisher closed before the record for topic {job.topic!r} "
                    f"(key {job.key!r}) was delivered after {job.attempts} attempt(s)",
                    topic=job.topic,
                    key=job.key,
                    attempts=job.attempts,
                ),
            )
        self._inflight.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
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
        """Wait until every record accepted so far is delivered or has failed.

        Raises:
            TimeoutError: ``timeout`` seconds passed first.
        """
        if timeout is None:
            await self._idle.wait()
        else:
            await asyncio.wait_for(self._idle.wait(), timeout)

    # ------------------------------------------------------------------ single records

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
        future = await self._submit(topic, value, key, headers, partition, timestamp, True)
        return await future

    async def send(
        self,
        topic: str,
        value: Any,
        *,
        key: str | bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
    ) -> asyncio.Future[RecordMetadata]:
        """Queue one record and return at once with a future of its `RecordMetadata`.

        The fast path for streams of records: waits only for room in the producer's buffer,
        and batches with ``linger_ms``. Retries happen in the background; the future holds the
        final `PublishError` if delivery failed (failures are logged too, never lost silently).
        ``flush()``/``stop()`` wait for every queued record. Arguments as for `publish`.
        """
        return await self._submit(topic, value, key, headers, partition, timestamp, False)

    async def _submit(  # noqa: PLR0917 - internal hot path, positional on purpose
        self,
        topic: str,
        value: Any,
        key: str | bytes | None,
        headers: Headers | None,
        partition: int | None,
        timestamp: int | None,
        expedite: bool,
    ) -> asyncio.Future[RecordMetadata]:
        producer = self._producer
        if producer is None or self._closing:
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
        record_headers = (
            build_headers(headers, context, content_type)
            if headers or context or content_type is not None
            else None
        )
        assert self._loop is not None
        job = _Job(
            topic,
            key_bytes,
            value_bytes,
            record_headers,
            partition,
            timestamp,
            self._loop.create_future(),
        )
        self._pending += 1
        if self._pending == 1:
            self._idle.clear()
        await self._attempt(job, first=True)
        if expedite and self._expedite_enabled:
            self._schedule_expedite()
        return job.future

    async def _attempt(self, job: _Job, *, first: bool = False) -> None:
        """Hand the job to aiokafka once; errors go to the retry logic (or raise on first)."""
        producer = self._producer
        if producer is None:
            self._finish_error(
                job,
                PublisherClosedError(
                    f"publisher stopped while retrying a record for {job.topic!r}",
                    topic=job.topic,
                    key=job.key,
                    attempts=job.attempts,
                ),
            )
            return
        job.attempts += 1
        try:
            inner = await producer.send(
                job.topic,
                job.value,
                job.key,
                partition=job.partition,
                timestamp_ms=job.timestamp,
                headers=job.headers,
            )
        except Exception as exc:
            if first and not is_retriable(exc):
                error = self._error(job, exc)
                self._finish_error(job, error)
                raise error from exc
            self._failed(job, exc)
            return
        job.inner = inner
        self._inflight.append((time.monotonic() + self._attempt_bound, job, inner))
        if self._watchdog is None:
            self._watchdog = asyncio.ensure_future(self._watch())
        inner.add_done_callback(partial(self._delivered, job))

    def _delivered(self, job: _Job, inner: asyncio.Future[Any]) -> None:
        if job.inner is not inner:  # a stale attempt (timed out and retried)
            return
        job.inner = None
        if inner.cancelled():
            self._failed(job, TimeoutError("delivery cancelled"))
            return
        exc = inner.exception()
        if exc is not None:
            self._failed(job, exc)
            return
        md = inner.result()
        future = job.future
        if not future.done():
            future.set_result(RecordMetadata(md.topic, md.partition, md.offset, md.timestamp))
        if self._metrics is not None:
            self._metrics.published(job.topic, 1)
        self._done(job)

    def _failed(self, job: _Job, exc: BaseException) -> None:
        if (
            is_retriable(exc)
            and job.attempts < self._policy.attempts
            and self._producer is not None
            and not job.future.done()
        ):
            delay = self._policy.delay(job.attempts)
            log.warning(
                "publish retry",
                topic=job.topic,
                key=_show_key(job.key),
                attempt=job.attempts,
                error=f"{type(exc).__name__}: {exc}",
                retry_in_s=round(delay, 3),
            )
            task = asyncio.ensure_future(self._retry(job, delay))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
            return
        self._finish_error(job, self._error(job, exc))

    async def _retry(self, job: _Job, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self._finish_error(
                job,
                PublisherClosedError(
                    f"publisher closed while a record for topic {job.topic!r} (key "
                    f"{_show_key(job.key)!r}) waited to be retried after {job.attempts} "
                    "attempt(s)",
                    topic=job.topic,
                    key=job.key,
                    attempts=job.attempts,
                ),
            )
            raise
        await self._attempt(job)

    def _error(self, job: _Job, exc: BaseException) -> PublishError:
        retriable = is_retriable(exc)
        why = "retries exhausted" if retriable else "not retriable"
        error = PublishError(
            f"publish to topic {job.topic!r} (key {_show_key(job.key)!r}) failed after "
            f"{job.attempts} attempt(s), {why}: {type(exc).__name__}: {exc}",
            topic=job.topic,
            key=job.key,
            attempts=job.attempts,
        )
        error.__cause__ = exc
        return error

    def _finish_error(self, job: _Job, error: PublishError) -> None:
        future = job.future
        if future.done():  # the caller gave up (cancelled); nobody to tell
            self._done(job)
            return
        future.set_exception(error)
        job.inner = None
        log.warning(
            "publish failed",
            topic=job.topic,
            key=_show_key(job.key),
            attempts=job.attempts,
            error=str(error.__cause__ or error),
            error_type=type(error.__cause__ or error).__name__,
        )
        if self._metrics is not None:
            self._metrics.publish_failed(job.topic, type(error.__cause__ or error).__name__)
        future.add_done_callback(_consume_exception)
        self._done(job)

    def _done(self, job: _Job | None) -> None:
        if job is not None:
            if job.finished:
                return
            job.finished = True
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()

    async def _watch(self) -> None:
        """Fail attempts that outlive their bound (aiokafka may never resolve them, #1101)."""
        inflight = self._inflight
        try:
            while inflight:
                await asyncio.sleep(_WATCHDOG_PERIOD)
                now = time.monotonic()
                while inflight:
                    deadline, job, inner = inflight[0]
                    if job.inner is inner and not job.future.done():
                        if deadline >= now:
                            break
                        job.inner = None  # the late answer of this attempt is ignored
                        self._failed(
                            job,
                            TimeoutError(
                                f"no acknowledgement within {self._attempt_bound:.1f}s "
                                "(broker down or unreachable?)"
                            ),
                        )
                    inflight.popleft()
        finally:
            self._watchdog = None

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
        items = self._prepare_many(topic, records, headers)
        if not items:
            return []
        n_partitions = len(partitions)
        by_partition: dict[int, list[int]] = {}
        keyless: list[int] = []
        for index, item in enumerate(items):
            if item[3] is not None:
                target = item[3]
            elif item[0] is not None:
                target = partitions[(murmur2(item[0]) & 0x7FFFFFFF) % n_partitions]
            else:
                keyless.append(index)
                continue
            by_partition.setdefault(target, []).append(index)
        batches = self._build_batches(items, by_partition, keyless, partitions)
        self._pending += 1
        self._idle.clear()
        try:
            return await self._send_batches(topic, items, batches)
        finally:
            self._done(None)

    def _prepare_many(
        self,
        topic: str,
        records: Iterable[ProducerRecord | Any],
        headers: Headers | None,
    ) -> list[
        tuple[bytes | None, bytes | None, list[tuple[str, bytes]] | None, int | None, int | None]
    ]:
        context = get_context()
        shared = build_headers(headers, context, None)
        codec_value = self._codec.value
        items: list[
            tuple[
                bytes | None, bytes | None, list[tuple[str, bytes]] | None, int | None, int | None
            ]
        ] = []
        append = items.append
        for record in records:
            if record.__class__ is bytes:
                append((None, record, shared, None, None))
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
                append((key_bytes, value_bytes, record_headers, record.partition, record.timestamp))
                continue
            value_bytes, content_type = codec_value(record, topic)
            if value_bytes is None:
                raise SerializationError(
                    f"a tombstone (value None) for topic {topic!r} needs a key; "
                    "pass ProducerRecord(value=None, key=...)"
                )
            record_headers = shared
            if content_type is not None:
                record_headers = [*(shared or ()), ("content-type", content_type)]
            append((None, value_bytes, record_headers, None, None))
        return items

    def _new_builder(self) -> Any:
        from aiokafka.producer.message_accumulator import BatchBuilder

        cfg = self._settings.producer
        size = max(cfg.batch_size, cfg.max_request_size - _BATCH_OVERHEAD)
        compression = 0
        if cfg.compression != "none":
            from aiokafka import AIOKafkaProducer

            compression = AIOKafkaProducer._COMPRESSORS[cfg.compression][1]
        return BatchBuilder(size, compression)

    def _build_batches(
        self,
        items: list[Any],
        by_partition: dict[int, list[int]],
        keyless: list[int],
        partitions: list[int],
    ) -> list[tuple[int, list[int], Any, list[int]]]:
        """Pack records into batches: (partition, indexes, builder, timestamps)."""
        batches: list[tuple[int, list[int], Any, list[int]]] = []
        for partition, indexes in by_partition.items():
            batches.extend(self._fill(items, indexes, lambda p=partition: p))
        if keyless:
            start = random.randrange(len(partitions))  # noqa: S311 - load spreading
            cycle = iter(range(start, start + 10**12))
            batches.extend(
                self._fill(items, keyless, lambda: partitions[next(cycle) % len(partitions)])
            )
        return batches

    def _fill(
        self, items: list[Any], indexes: list[int], next_partition: Any
    ) -> list[tuple[int, list[int], Any, list[int]]]:
        out: list[tuple[int, list[int], Any, list[int]]] = []
        builder = self._new_builder()
        batch_indexes: list[int] = []
        stamps: list[int] = []
        for index in indexes:
            key, value, headers, _, timestamp = items[index]
            meta = builder.append(timestamp=timestamp, key=key, value=value, headers=headers or [])
            if meta is None:
                out.append((next_partition(), batch_indexes, builder, stamps))
                builder = self._new_builder()
                batch_indexes, stamps = [], []
                meta = builder.append(
                    timestamp=timestamp, key=key, value=value, headers=headers or []
                )
            batch_indexes.append(index)
            stamps.append(meta.timestamp)
        if batch_indexes:
            out.append((next_partition(), batch_indexes, builder, stamps))
        return out

    async def _send_batches(  # noqa: PLR0912 - one loop: send, classify, retry
        self,
        topic: str,
        items: list[Any],
        batches: list[tuple[int, list[int], Any, list[int]]],
    ) -> list[RecordMetadata]:
        results: list[RecordMetadata | None] = [None] * len(items)
        attempts = 0
        todo = batches
        while todo:
            attempts += 1
            producer = self._producer
            if producer is None:
                raise PublisherClosedError(
                    f"publisher stopped during publish_many to {topic!r}",
                    topic=topic,
                    attempts=attempts,
                )
            sent: list[tuple[tuple[int, list[int], Any, list[int]], asyncio.Future[Any]]] = []
            failed: list[tuple[tuple[int, list[int], Any, list[int]], BaseException]] = []
            for batch in todo:
                try:
                    future = await producer.send_batch(batch[2], topic, partition=batch[0])
                except Exception as exc:  # noqa: BLE001 - classified below
                    failed.append((batch, exc))
                else:
                    sent.append((batch, future))
            if sent:
                await asyncio.wait([f for _, f in sent], timeout=self._attempt_bound)
            for batch, future in sent:
                if not future.done():
                    future.cancel()
                    failed.append((batch, TimeoutError("no acknowledgement in time")))
                elif future.cancelled():
                    failed.append((batch, TimeoutError("batch cancelled")))
                elif (problem := future.exception()) is not None:
                    failed.append((batch, problem))
                else:
                    base = future.result().offset
                    partition, indexes, _, stamps = batch
                    for i, index in enumerate(indexes):
                        results[index] = RecordMetadata(topic, partition, base + i, stamps[i])
            if self._metrics is not None:
                delivered = sum(len(b[1]) for b, f in sent if f.done() and not f.cancelled())
                delivered -= sum(len(b[1]) for b, _ in failed if any(b is s for s, _ in sent))
                if delivered > 0:
                    self._metrics.published(topic, delivered)
            todo = []
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
                todo.extend(self._fill(items, indexes, lambda p=partition: p))
            if todo:
                await asyncio.sleep(self._policy.delay(attempts))
        return results  # type: ignore[return-value]


def _show_key(key: bytes | None) -> str | None:
    if key is None:
        return None
    return key.decode("utf-8", "replace")


def _consume_exception(future: asyncio.Future[Any]) -> None:
    """Mark a failed future's exception as seen (the failure is logged by the publisher)."""
    if not future.cancelled():
        future.exception()


async def _bounded_stop(producer: AIOKafkaProducer, timeout: float) -> None:
    """Stop an aiokafka producer; force it closed if it hangs (upstream #1101)."""
    try:
        await asyncio.wait_for(producer.stop(), timeout)
    except TimeoutError:
        log.error(  # noqa: TRY400 - a timeout has no useful traceback
            "aiokafka producer did not stop in time; closing it forcibly", timeout_s=timeout
        )
        sender = getattr(producer, "_sender", None)
        task = getattr(sender, "sender_task", None)
        if task is not None:
            task.cancel()
        try:
            await asyncio.wait_for(producer.client.close(), 2.0)
        except (TimeoutError, OSError) as exc:
            log.error("aiokafka client did not close", error=str(exc))  # noqa: TRY400
    except Exception as exc:  # noqa: BLE001 - closing must not raise on a broken connection
        log.warning("aiokafka producer stop failed", error=f"{type(exc).__name__}: {exc}")
