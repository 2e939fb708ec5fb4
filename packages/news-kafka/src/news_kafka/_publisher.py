"""`Publisher`: typed, retried, context-propagating Kafka producer on aiokafka.

Three ways in, one way through: ``publish`` (one record, awaited), ``send`` (queued; a
record whose first attempt fails is retried by a background task) and ``publish_many``
(batches, in news_kafka._batches) all deliver through `Publisher._deliver`, the one retry
loop: attempts bounded in time, backoff per ``producer.retry``, the call's deadline, the
fail-fast state (news_kafka._breaker) and ``stop()`` all decided there.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Any, Final, TypeVar

from news_kafka._client import client_kwargs, is_retriable, probe
from news_kafka._delivery import OneRecord, Record, Waiters, closed_error, show_key
from news_kafka._errors import (
    BrokerUnavailableError,
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
    SerializerCodec,
    build_headers,
    encode_key,
)
from news_kafka._records import ValueSerializer as ValueSerializerType
from news_kafka._sending import SendQueue
from news_kafka._settings import KafkaSettings
from news_kafka._shutdown import run_step
from news_log import get_context, get_logger

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from aiokafka import AIOKafkaProducer

    from news_kafka._breaker import Breaker
    from news_kafka._delivery import Job
    from news_kafka._metrics import KafkaMetricsHook
    from news_kafka._records import Headers

__all__ = ["Publisher"]

log = get_logger("news_kafka.publisher")
# While no broker answers every publish is refused the same way: one line per topic per
# LogSettings.repeat_interval, with the count of those left out (the callers get the error).
_refusals = log.limited()

_R = TypeVar("_R")

_FORCE_CLOSE_TIMEOUT: Final = 2.0  # seconds closing by hand (or ending retry tasks) may take
_HEALTH_TIMEOUT: Final = 2.0  # seconds health_check()'s metadata request may take


class Publisher:
    """Publishes records to Kafka: typed values, retries, request-id headers, bounded close.

    Values are encoded with msgspec (JSON by default, msgpack with
    ``settings.producer.serializer="msgpack"``); ``bytes`` pass through; ``None`` is a tombstone
    (it needs a key). The request id and trace context bound with ``news_log.bind`` go into the
    ``x-request-id``, ``traceparent`` and ``tracestate`` headers.

    Retriable errors (broker unavailable, leader change, timeouts) are retried with exponential
    backoff and jitter (``settings.producer.retry``); any other error, an exhausted policy or
    a passed deadline (``timeout=``, else ``producer.delivery_timeout_ms``) raises
    `PublishError` naming the topic, key, attempts and cause. Every attempt is bounded in
    time, so a broker that never answers cannot hang a caller. When no broker has answered for
    ``producer.fail_fast_after`` seconds, publishes fail at once with `BrokerUnavailableError`
    until one answers again.

    A managed resource for news-http (``app.manage(publisher)``): ``start``/``stop`` and a
    readiness ``health_check`` named ``kafka-publisher``.

    Args:
        settings: Connection and ``producer`` settings (default: ``KafkaSettings()``).
        metrics: A `KafkaMetricsHook` (default: per ``settings.metrics``, news-metrics'
            ``KafkaMetrics`` when it is installed).
        serializer: Writes values instead of msgspec (a `ValueSerializer`, e.g.
            news-schema's ``AvroSerializer``: the Confluent wire format). Its ``prepare(topic)``
            runs once per topic before the first record to it is sent (or ahead, with
            `prepare`); its errors (an incompatible schema, a registry that does not answer)
            propagate from that call unchanged. ``bytes`` values still pass through.

    Example:
        >>> async def main() -> None:  # doctest: +SKIP
        ...     async with Publisher(KafkaSettings()) as publisher:
        ...         meta = await publisher.publish("articles", Article(id=7), key="7")
    """

    health_name: str = "kafka-publisher"
    """The name of `health_check` when news-http's ``app.manage`` registers it."""

    def __init__(
        self,
        settings: KafkaSettings | None = None,
        *,
        metrics: KafkaMetricsHook | None = None,
        serializer: ValueSerializerType | None = None,
    ) -> None:
        self._settings = settings or KafkaSettings()
        cfg = self._settings.producer
        self._serializing: SerializerCodec | None = None
        self._codec: Codec | SerializerCodec
        if serializer is None:
            self._codec = Codec(cfg.serializer)
        else:
            if not isinstance(serializer, ValueSerializerType):
                raise KafkaConfigError(
                    f"serializer {serializer!r} has no async prepare(topic) and "
                    "serialize(topic, value) methods"
                )
            self._codec = self._serializing = SerializerCodec(serializer)
        self._policy = cfg.retry
        self._metrics = resolve_metrics(metrics, self._settings.metrics)
        # One attempt: Kafka's own acknowledgement deadline plus a margin for queueing and
        # linger. aiokafka's future may never resolve otherwise (upstream #1101).
        self._attempt_bound = cfg.request_timeout_ms / 1000.0 * 1.5 + cfg.linger_ms / 1000.0 + 1.0
        self._delivery_timeout = cfg.delivery_timeout_ms / 1000.0
        self._expedite_enabled = cfg.linger_ms > 0
        self._expedite_scheduled = False
        self._producer: AIOKafkaProducer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._breaker: Breaker | None = None
        self._failing_fast = False  # the breaker's verdict, read on every publish
        self._closing = False
        self._pending = 0  # records accepted and not yet delivered or failed for good
        self._idle = asyncio.Event()
        self._idle.set()
        self._last_ack = self._quiet_at = 0.0  # for the breaker: when records last moved
        self._sending = SendQueue(
            self, attempt_bound=self._attempt_bound, batch_size=cfg.batch_size
        )
        self._queued = self._sending.queued  # the same deque: send()'s fast path appends
        self._place = self._sending.place
        # the last propagated context seen, its content type and the headers built from them
        self._context_headers: tuple[object, bytes | None, list[tuple[str, bytes]] | None] = (
            None,
            None,
            None,
        )
        self._failures: list[PublishError] = []
        # attempts waiting for their acknowledgement (publish, retries, publish_many): stop()
        # and the fail-fast state fail them
        self._waiters: Waiters = {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def settings(self) -> KafkaSettings:
        """The settings this publisher was built with."""
        return self._settings

    @property
    def running(self) -> bool:
        """True between a successful ``start()`` and ``stop()``."""
        return self._producer is not None and not self._closing

    @property
    def stop_timeout(self) -> float:
        """Seconds `stop` may take (default timeout): news-http's ``app.manage`` bound for it.

        ``producer.close_timeout_ms`` to flush what was accepted, then ending retries and
        closing the client (bounded). A tighter bound would fail accepted records.
        """
        return self._settings.producer.close_timeout_ms / 1000.0 + 3 * _FORCE_CLOSE_TIMEOUT

    @property
    def failing_fast(self) -> bool:
        """True while no broker answers: publishes fail at once with `BrokerUnavailableError`."""
        return self._failing_fast

    async def start(self) -> None:
        """Connect to Kafka (bootstrap and fetch metadata); raise `PublishError` if it cannot."""
        if self._producer is not None:
            return
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError

        from news_kafka._client import explain_start_failure

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
            why = await explain_start_failure(self._settings, exc)
            raise PublishError(why, topic="") from exc
        self._loop = asyncio.get_running_loop()
        self._producer = producer
        self._closing = False
        self._failing_fast = False
        if cfg.fail_fast_after is not None:
            from news_kafka._breaker import Breaker

            self._breaker = Breaker(
                functools.partial(probe, producer.client, _HEALTH_TIMEOUT),
                waiting_since=self._waiting_since,
                on_unreachable=self._fail_fast,
                on_reachable=self._resume,
                after=cfg.fail_fast_after,
                interval=cfg.probe_interval,
                servers=",".join(self._settings.bootstrap_servers),
            )
            self._breaker.start()
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
            if self._breaker is not None:
                await self._breaker.stop()
            try:
                await self._drain(timeout)
            except TimeoutError:
                log.error(  # noqa: TRY400 - a timeout has no useful traceback
                    "publisher close timed out; undelivered records fail",
                    gave_up="undelivered records",
                    undelivered=self._pending,
                    timeout_s=timeout,
                )
            # From here on nothing is retried: what is still on its way is given up and
            # reported before stop() returns.
            self._producer = None
            self._fail_waiters(None)
            retries = self._sending.retries
            for task in list(retries):
                task.cancel()
            if retries:
                await asyncio.wait(set(retries), timeout=_FORCE_CLOSE_TIMEOUT)
            await _bounded_stop(producer, max(1.0, deadline - time.monotonic()))
        finally:
            self._producer = None
            self._breaker = None
            sending = self._sending
            sending.reap(scan_all=True)
            sending.give_up_all(functools.partial(_closed_after, "delivered"))
            self._fail_waiters(None)
            self._failures.clear()
            if sending.reaper is not None:
                sending.reaper.cancel()
                sending.reaper = None
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

    async def health_check(self) -> str:
        """Readiness: one metadata request over the publisher's connection, within 2 s.

        Returns:
            How many brokers answered (``"1 broker(s)"``).

        Raises:
            PublisherClosedError: The publisher is not running.
            BrokerUnavailableError: No broker answered in time.
        """
        producer = self._producer
        if producer is None or self._closing:
            raise PublisherClosedError("the publisher is not running", topic="")
        try:
            brokers = await probe(producer.client, _HEALTH_TIMEOUT)
        except Exception as exc:
            servers = ",".join(self._settings.bootstrap_servers)
            raise BrokerUnavailableError(
                f"no Kafka broker at {servers} answered a metadata request within "
                f"{_HEALTH_TIMEOUT:g} s: {type(exc).__name__}: {exc}",
                topic="",
            ) from exc
        return f"{brokers} broker(s)"

    async def prepare(self, *topics: str) -> None:
        """Run the serializer's ``prepare`` for these topics now (e.g. at service start).

        With news-schema's serializers this registers the schema under each topic's subject:
        an incompatible schema, or a registry that does not answer, fails here rather than
        on the first record. A no-op without a serializer, and for topics already prepared.
        """
        serializing = self._serializing
        if serializing is not None:
            for topic in topics:
                await serializing.prepare(topic)

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
        sending = self._sending
        async with asyncio.timeout(timeout):
            while self._pending:
                producer = self._producer
                if producer is not None and self._queued:
                    # bounded: with idempotence and the broker down it may hang (#1101)
                    flushing = asyncio.ensure_future(producer.flush())
                    done, _ = await asyncio.wait([flushing], timeout=self._attempt_bound)
                    sending.reap(scan_all=True)
                    if not done:
                        flushing.cancel()
                        sending.expire_all()
                if not self._pending:
                    break
                if sending.retries:
                    await asyncio.wait(set(sending.retries), return_when=asyncio.FIRST_COMPLETED)
                elif not self._queued:
                    await self._idle.wait()  # publish() calls still on their way
                else:
                    await asyncio.sleep(0)

    # ------------------------------------------------------------------ the retry loop

    async def _deliver(
        self,
        job: Job[_R],
        deadline: float,
        *,
        attempts: int = 0,
        failed: BaseException | None = None,
    ) -> _R:
        """The one retry loop of every delivery path: ``publish``, ``send``, ``publish_many``.

        Attempts ``job`` until it succeeds. A retriable failure is retried after the policy's
        backoff while attempts are left, the ``deadline`` (monotonic) allows the wait and the
        publisher runs; anything else raises ``job.failure(...)`` with the cause kept. A
        `PublishError` from an attempt (stop() or the fail-fast state gave up on it) ends it
        as it is, and so does a publisher that is failing fast or closed before an attempt.
        ``attempts``/``failed``: the attempts already made and the last one's error (a
        queued record retried in the background).
        """
        error = failed
        while True:
            if error is not None:
                if not is_retriable(error):
                    raise job.failure(attempts, error, "not retriable") from error
                if attempts >= self._policy.attempts:
                    raise job.failure(attempts, error, "retries exhausted") from error
                delay = self._policy.delay(attempts)
                if time.monotonic() + delay >= deadline:
                    raise job.failure(attempts, error, "timeout reached") from error
                job.retrying(attempts, error, delay)
                await asyncio.sleep(delay)
            producer = self._producer
            if producer is None:
                raise closed_error(job.topic, job.key, attempts, "delivered")
            if self._failing_fast:
                assert self._breaker is not None
                raise self._breaker.error(job.topic, job.key, attempts)
            attempts += 1
            bound = min(self._attempt_bound, deadline - time.monotonic())
            try:
                return await job.run(producer, attempts, bound)
            except PublishError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified above, on the next turn
                error = exc

    def _deadline(self, timeout: float | None) -> float:
        """The monotonic deadline of a call given ``timeout`` (default: delivery_timeout_ms)."""
        if timeout is None:
            return time.monotonic() + self._delivery_timeout
        if not timeout > 0:
            raise KafkaConfigError(f"a publish timeout must be > 0 seconds, not {timeout!r}")
        return time.monotonic() + timeout

    # ------------------------------------------------------------------ single records

    def _record(  # noqa: PLR0917 - mirrors publish() positionally
        self,
        topic: str,
        value: Any,
        key: str | bytes | None,
        headers: Headers | None,
        partition: int | None,
        timestamp: int | None,
    ) -> Record:
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
        timeout: float | None = None,
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
            timeout: Seconds for the whole delivery, every attempt and backoff included
                (default: ``producer.delivery_timeout_ms``).

        Returns:
            Where the record was stored (topic, partition, offset, timestamp).

        Raises:
            BrokerUnavailableError: No broker has answered for a while (failing fast).
            PublishError: Not delivered (non-retriable error, retries exhausted, or the
                timeout passed).
            PublisherClosedError: The publisher is not running.
            SerializationError: The value or key cannot be encoded.
        """
        deadline = self._deadline(timeout)
        serializing = self._serializing
        if serializing is not None and topic not in serializing.prepared:
            await serializing.prepare(topic)
        record = self._record(topic, value, key, headers, partition, timestamp)
        self._pending += 1
        self._idle.clear()
        try:
            expedite = self._expedite_soon if self._expedite_enabled else None
            meta = await self._deliver(OneRecord(record, self._waiters, expedite), deadline)
        except PublishError as error:
            self._report_failure(record, error)
            raise
        finally:
            self._settle()
        self._last_ack = time.monotonic()
        if self._metrics is not None:
            self._metrics.published(topic, 1)
        return meta

    async def send(
        self,
        topic: str,
        value: Any,
        *,
        key: str | bytes | None = None,
        headers: Headers | None = None,
        partition: int | None = None,
        timestamp: int | None = None,
        timeout: float | None = None,
    ) -> None:
        """Queue one record for delivery and return as soon as it is in the producer's buffer.

        The fast path for streams of records: batches with ``linger_ms``, waits only for room
        in the buffer. Delivery is confirmed by `flush` (or `stop`); retriable failures are
        retried in the background (within ``timeout``, as for `publish`), and a record that
        fails for good is logged and makes the next `flush` raise `PublishError`. Use
        `publish` to get each record's metadata. Records without a key or partition fill one
        partition's batch (``batch_size`` bytes), then the next (sticky partitioning, as the
        Java client): fuller batches, less work. Arguments as for `publish`; a non-retriable
        error of the first attempt (record too large...), or a publisher failing fast, raises
        here.
        """
        producer = self._producer
        if (
            producer is not None
            and not self._closing
            and value.__class__ is bytes
            and key is None
            and timeout is None
            and not headers
            and not self._failing_fast
            and not get_context()
        ):  # the common case of a stream of raw records, inlined
            target = partition if partition is not None else self._place(producer, topic, value)
            self._pending += 1
            try:
                future = await producer.send(topic, value, None, target, timestamp, None)
            except Exception:  # noqa: BLE001 - the general path classifies it
                self._pending -= 1
                await self._sending.enqueue((topic, None, value, None, partition, timestamp), None)
                return
            sending = self._sending
            self._queued.append(
                (future, sending.tick, 1, None, topic, None, value, None, partition, timestamp)
            )
            if sending.reaper is None:
                self._idle.clear()
                sending.reaper = asyncio.ensure_future(sending.reap_loop())
            return
        serializing = self._serializing
        if serializing is not None and topic not in serializing.prepared:
            await serializing.prepare(topic)
        record = self._record(topic, value, key, headers, partition, timestamp)
        deadline = None if timeout is None else self._deadline(timeout)
        await self._sending.enqueue(record, deadline)

    def _report_failure(self, record: Record, error: PublishError) -> None:
        cause = error.__cause__ or error
        if isinstance(error, BrokerUnavailableError):  # failing fast: the same line each time
            _refusals.warning(
                "publish failed",
                repeat_key=record[0],
                topic=record[0],
                key=show_key(record[1]),
                attempts=error.attempts,
                error=str(cause),
                error_type=type(cause).__name__,
            )
        else:
            log.warning(
                "publish failed",
                topic=record[0],
                key=show_key(record[1]),
                attempts=error.attempts,
                error=str(cause),
                error_type=type(cause).__name__,
            )
        if self._metrics is not None:
            self._metrics.publish_failed(record[0], type(cause).__name__)

    def _give_up(self, record: Record, error: PublishError, *, remember: bool = True) -> None:
        """A queued record failed for good: log, count, remember for flush(), settle."""
        self._report_failure(record, error)
        if remember:
            self._failures.append(error)
        self._settle()

    def _settle(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()

    def _fail_waiters(self, breaker: Breaker | None) -> None:
        """Fail every attempt waiting for an acknowledgement: stop() (None) or the breaker."""
        for waiter, (topic, key, attempt) in list(self._waiters.items()):
            if not waiter.done():
                if breaker is None:
                    waiter.set_exception(closed_error(topic, key, attempt, "acknowledged"))
                else:
                    waiter.set_exception(breaker.error(topic, key, attempt))

    # ------------------------------------------------------------------ the breaker's side

    def _waiting_since(self) -> float | None:
        """Since when records wait without an acknowledgement (monotonic), or None.

        For the fail-fast state (news_kafka._breaker), which asks once per probe interval.
        """
        now = time.monotonic()
        if not self._pending:
            self._quiet_at = now
            return None
        return max(self._last_ack, self._quiet_at)

    def _fail_fast(self) -> None:
        """No broker answers: fail what waits (publishes, queued records), and what comes."""
        breaker = self._breaker
        assert breaker is not None
        self._failing_fast = True
        self._fail_waiters(breaker)
        self._sending.give_up_all(breaker.error)

    def _resume(self) -> None:
        """A broker answers again: publishing resumes."""
        self._failing_fast = False

    # ------------------------------------------------------------------ expediting

    def _expedite_soon(self) -> None:
        if not self._expedite_scheduled:
            self._expedite_scheduled = True
            assert self._loop is not None
            self._loop.call_soon(self._expedite)

    def _expedite(self) -> None:
        """Make lingering batches ready now: awaited publishes must not pay ``linger_ms``."""
        from news_kafka._aiokafka import expedite

        self._expedite_scheduled = False
        producer = self._producer
        if producer is not None and not expedite(producer):
            self._expedite_enabled = False

    # ------------------------------------------------------------------ batches

    async def publish_many(
        self,
        topic: str,
        records: Iterable[ProducerRecord | Any],
        *,
        headers: Headers | None = None,
        timeout: float | None = None,
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
            timeout: Seconds for the whole call, every attempt and backoff included
                (default: ``producer.delivery_timeout_ms``).

        Returns:
            The metadata of every record, in the order given.

        Raises:
            BrokerUnavailableError: No broker has answered for a while (failing fast).
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

        from news_kafka._batches import BatchJob, plan, prepare

        deadline = self._deadline(timeout)
        if self._failing_fast:
            assert self._breaker is not None
            raise self._breaker.error(topic, None, 0)
        try:
            async with asyncio.timeout(max(0.001, deadline - time.monotonic())):
                partitions = sorted(await producer.partitions_for(topic))
        except (KafkaError, TimeoutError) as exc:
            raise PublishError(
                f"publish_many to topic {topic!r} failed: no metadata for it "
                f"({type(exc).__name__}: {exc}); does the topic exist, is Kafka reachable?",
                topic=topic,
                attempts=1,
            ) from exc
        serializing = self._serializing
        if serializing is not None and topic not in serializing.prepared:
            await serializing.prepare(topic)
        items, shared, all_keyless = prepare(self._codec, topic, records, headers)
        if not items:
            return []
        by_partition, keyless = plan(items, partitions, all_keyless=all_keyless)
        job = BatchJob(
            self._settings.producer,
            producer,
            topic,
            items,
            shared,
            int(time.time() * 1000),
            (by_partition, keyless, partitions),
            self._metrics,
            self._waiters,
        )
        self._pending += 1
        self._idle.clear()
        try:
            results: list[RecordMetadata] = await self._deliver(job, deadline)
        except PublishError as error:
            if self._metrics is not None:
                self._metrics.publish_failed(topic, type(error.__cause__ or error).__name__)
            raise
        finally:
            self._settle()
        self._last_ack = time.monotonic()
        return results


def _closed_after(waited: str, topic: str, key: bytes | None, attempts: int) -> PublishError:
    return closed_error(topic, key, attempts, waited)


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
