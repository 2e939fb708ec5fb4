"""``Publisher.publish_many``'s machinery: records packed into batches, one request per batch.

`prepare` encodes the records, `plan` assigns them to partitions (keys exactly as ``publish``
would, key-less records sticky: one partition's batch after the other), and a `BatchJob` is
what the publisher's one retry loop attempts: it builds each batch right before sending it
(the broker works while the next one fills), settles acknowledged batches while later ones
are in flight, and, after a failure, rebuilds only the batches that failed.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
from typing import TYPE_CHECKING, Any, Final

from news_kafka._errors import PublishError, SerializationError
from news_kafka._records import ProducerRecord, RecordMetadata, build_headers, encode_key
from news_log import get_context, get_logger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from aiokafka import AIOKafkaProducer

    from news_kafka._metrics import KafkaMetricsHook
    from news_kafka._records import Codec, Headers, SerializerCodec
    from news_kafka._settings import ProducerSettings

__all__ = ["BatchJob", "plan", "prepare"]

log = get_logger("news_kafka.publisher")
_retries = log.limited()  # one line per topic and error type per repeat_interval (outages)

_BATCH_OVERHEAD: Final = 1024  # bytes kept free in a batch for request framing
_MANY_BATCH: Final = 256 * 1024  # batch size (bytes): sent while the next one fills

# A batch: (partition, indexes of its records, aiokafka BatchBuilder, timestamps)
Batch = tuple[int, "Sequence[int]", Any, list[int]]
# Headers shared by the records of a call, as aiokafka takes them
Shared = list[tuple[str, bytes]]
# publish() waiters the publisher fails on stop() or when failing fast: (topic, key, attempt)
Waiters = dict["asyncio.Future[Any]", tuple[str, bytes | None, int]]


def prepare(
    codec: Codec | SerializerCodec,
    topic: str,
    records: Iterable[ProducerRecord | Any],
    headers: Headers | None,
) -> tuple[list[Any], Shared, bool]:
    """Encode the records: (items, shared headers, whether no record has a key/partition).

    An item is the value itself for a plain ``bytes`` record (key-less, the shared headers),
    else ``(key, value, headers, partition, timestamp)``.
    """
    shared = build_headers(headers, get_context(), None) or []
    codec_value = codec.value
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


def plan(
    items: list[Any], partitions: list[int], *, all_keyless: bool
) -> tuple[dict[int, list[int]], Sequence[int]]:
    """Assign records to partitions: ({partition: indexes} for keyed ones, key-less indexes).

    A key picks its partition as ``publish`` does (murmur2, like the Java client); records
    without key or partition are left to `BatchJob` (sticky, one batch after the other).
    """
    if all_keyless:
        return {}, range(len(items))
    from aiokafka.partitioner import murmur2

    n_partitions = len(partitions)
    by_partition: dict[int, list[int]] = {}
    keyless: list[int] = []
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
    return by_partition, keyless


class BatchJob:
    """One ``publish_many`` call, as the publisher's retry loop attempts it.

    `run` sends the batches still to deliver and returns every record's metadata once all
    are acknowledged; otherwise it raises one batch's error (a non-retriable one first) and
    keeps the failed batches, rebuilt, for the next attempt.
    """

    __slots__ = (
        "_builder_bytes",
        "_compression",
        "_failed",
        "_items",
        "_metrics",
        "_now_ms",
        "_producer",
        "_results",
        "_shared",
        "_todo",
        "_waiters",
        "key",
        "topic",
    )

    def __init__(  # noqa: PLR0917 - the state of one call, built in one place
        self,
        cfg: ProducerSettings,
        producer: AIOKafkaProducer,
        topic: str,
        items: list[Any],
        shared: Shared,
        now_ms: int,
        layout: tuple[dict[int, list[int]], Sequence[int], list[int]],
        metrics: KafkaMetricsHook | None,
        waiters: Waiters,
    ) -> None:
        self.topic = topic
        self.key: bytes | None = None
        self._producer = producer
        self._items = items
        self._shared = shared
        self._now_ms = now_ms
        self._metrics = metrics
        self._waiters = waiters
        self._builder_bytes = max(
            cfg.batch_size, min(cfg.max_request_size - _BATCH_OVERHEAD, _MANY_BATCH)
        )
        self._compression = cfg.compression
        self._results: list[RecordMetadata | None] = [None] * len(items)
        self._failed: list[tuple[Batch, BaseException]] = []
        by_partition, keyless, partitions = layout
        self._todo: Iterable[Batch] = self._batches(by_partition, keyless, partitions)

    def _batches(
        self, by_partition: dict[int, list[int]], keyless: Sequence[int], partitions: list[int]
    ) -> Iterator[Batch]:
        """Pack records into batches, lazily: each is sent before the next is built."""
        for partition, indexes in by_partition.items():
            yield from self._fill(indexes, itertools.repeat(partition).__next__)
        if keyless:
            start = random.randrange(len(partitions))  # noqa: S311 - load spreading
            cycle = iter(range(start, start + 10**12))
            yield from self._fill(keyless, lambda: partitions[next(cycle) % len(partitions)])

    def _fill(self, indexes: Sequence[int], next_partition: Callable[[], int]) -> Iterator[Batch]:
        """Append records to batches; yield each full one (and its partition).

        A batch is ``(partition, indexes, builder, timestamps)``; ``indexes`` is a slice of
        ``indexes``. The appending goes through news_kafka._aiokafka (straight into aiokafka's
        C record builder, or its public ``BatchBuilder.append`` with the fast path off).
        """
        from news_kafka._aiokafka import batch_writer, seal_batch

        items, shared, now_ms = self._items, self._shared, self._now_ms
        new_batch = functools.partial(
            batch_writer,
            self._producer,
            max_bytes=self._builder_bytes,
            compression=self._compression,
        )
        builder, append = new_batch()
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
            if append(n, timestamp, key, value, headers) is None:  # full: send it, start anew
                seal_batch(builder, n)
                yield (next_partition(), indexes[first : first + n], builder, stamps)
                first += n
                builder, append = new_batch()
                stamps, n = [], 0
                append(n, timestamp, key, value, headers)
            n += 1
            stamps.append(timestamp)
        if n:
            seal_batch(builder, n)
            yield (next_partition(), indexes[first : first + n], builder, stamps)

    async def run(self, producer: AIOKafkaProducer, attempt: int, bound: float) -> Any:
        """Send the batches still to deliver; return all metadata when none failed."""
        topic = self.topic
        if self._failed:  # a retry: rebuild what failed (a sent builder cannot be sent again)
            failed, self._failed = self._failed, []
            self._todo = itertools.chain.from_iterable(
                self._fill(batch[1], itertools.repeat(batch[0]).__next__) for batch, _ in failed
            )
        results, failed_now = self._results, self._failed
        sent: list[tuple[Batch, asyncio.Future[Any]]] = []
        delivered = 0
        for batch in self._todo:  # the first round builds each batch right before sending it
            try:
                future = await producer.send_batch(batch[2], topic, partition=batch[0])
            except Exception as exc:  # noqa: BLE001 - classified by the retry loop
                failed_now.append((batch, exc))
                continue
            sent.append((batch, future))
            if sent[0][1].done():  # settle acknowledged batches while the broker works
                delivered += self._settle_done(sent)
        self._todo = ()
        if sent:
            await self._wait(sent, attempt, bound)
        for batch, future in sent:
            if not future.done():
                future.cancel()
                failed_now.append((batch, TimeoutError(f"no acknowledgement within {bound:.1f}s")))
            else:
                delivered += _settle(topic, batch, future, results, failed_now)
        if delivered and self._metrics is not None:
            self._metrics.published(topic, delivered)
        if not failed_now:
            return results
        from news_kafka._client import is_retriable

        failed_now.sort(key=lambda entry: is_retriable(entry[1]))  # a final error first
        raise failed_now[0][1]

    def _settle_done(self, sent: list[tuple[Batch, asyncio.Future[Any]]]) -> int:
        """Settle the acknowledged batches of ``sent`` (kept: the others); records delivered."""
        delivered = 0
        waiting = []
        for batch, future in sent:
            if future.done():
                delivered += _settle(self.topic, batch, future, self._results, self._failed)
            else:
                waiting.append((batch, future))
        sent[:] = waiting
        return delivered

    async def _wait(
        self, sent: list[tuple[Batch, asyncio.Future[Any]]], attempt: int, bound: float
    ) -> None:
        """Wait until every sent batch is done, ``bound`` passed, or the publisher gave up.

        One waiter for the call, failed by ``stop()`` or when the publisher fails fast
        (`PublishError`, which ends the call at once).
        """
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        left = [len(sent)]

        def one_done(_: asyncio.Future[Any]) -> None:
            left[0] -= 1
            if not left[0] and not waiter.done():
                waiter.set_result(None)

        for _, future in sent:
            future.add_done_callback(one_done)
        self._waiters[waiter] = (self.topic, None, attempt)
        try:
            await asyncio.wait((waiter,), timeout=bound)
        finally:
            del self._waiters[waiter]
        if waiter.done() and waiter.exception() is not None:
            raise waiter.exception()  # type: ignore[misc]

    def retrying(self, attempt: int, error: BaseException, delay: float) -> None:
        """Log each failed batch that is retried."""
        for batch, problem in self._failed:
            _retries.warning(
                "publish_many retry",
                repeat_key=(self.topic, type(problem).__name__),
                topic=self.topic,
                partition=batch[0],
                records=len(batch[1]),
                attempt=attempt,
                error=f"{type(problem).__name__}: {problem}",
                retry_in_s=round(delay, 3),
            )

    def failure(self, attempts: int, error: BaseException, why: str) -> PublishError:
        """The call's final error: the batch that failed for good (its partition, its size)."""
        batch = next((b for b, problem in self._failed if problem is error), None)
        where = ""
        if batch is not None:
            where = f" partition {batch[0]} failed for a batch of {len(batch[1])} record(s)"
        else:
            where = " failed"
        return PublishError(
            f"publish_many to topic {self.topic!r}{where} after {attempts} attempt(s), "
            f"{why}: {type(error).__name__}: {error}",
            topic=self.topic,
            attempts=attempts,
            partition=None if batch is None else batch[0],
        )


def _settle(
    topic: str,
    batch: Batch,
    future: asyncio.Future[Any],
    results: list[RecordMetadata | None],
    failed: list[tuple[Batch, BaseException]],
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
