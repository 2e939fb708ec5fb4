"""``Publisher.send``'s records between aiokafka and the retry loop.

``send`` hands a record to aiokafka and queues the future it got (`SendQueue.queued`, oldest
first); a reaper settles finished futures in the background, counting deliveries and passing
a failed or stuck record to the publisher's one retry loop, in a task of its own. Keyless
records are placed sticky: one partition's batch worth of bytes, then the next (as the Java
client does), for fuller batches at less cost than a choice per record.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import random
import time
from typing import TYPE_CHECKING, Any, Final

from news_kafka._client import is_retriable
from news_kafka._delivery import OneRecord, Record, closed_error
from news_kafka._errors import PublishError

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

    from news_kafka._publisher import Publisher

__all__ = ["REAP_PERIOD", "Queued", "SendQueue"]

REAP_PERIOD: Final = 0.05  # seconds between background checks of queued records

# What a keyless record takes in a batch beyond its value and headers: the v2 record framing
# (length, attributes, timestamp and offset deltas, null key, value length, header count;
# zigzag varints) is at most 11 bytes for values under 8 KiB in a batch spanning less than
# 8 s and 8,192 records; the batch itself starts with a 61-byte header. Counting them makes
# one sticky run fill one batch: counting values alone put a run's last few records in a
# second batch of their own (two batches, requests and acknowledgements per run, not one).
RECORD_OVERHEAD: Final = 11
BATCH_HEADER: Final = 61

# A queued send(): (aiokafka future, tick when queued, attempt, deadline, *record); flat to
# keep the per-record cost at one tuple
Queued = tuple[
    "asyncio.Future[Any]",
    int,
    int,
    float | None,
    str,
    bytes | None,
    bytes | None,
    list[tuple[str, bytes]] | None,
    int | None,
    int | None,
]


class SendQueue:
    """The records ``send`` queued, their reaper and their retries, for one publisher.

    Args:
        publisher: The publisher (its producer, pending count, retry loop, reporting).
        attempt_bound: Seconds one attempt may take.
        batch_size: Bytes of keyless records put on one partition before the next.
    """

    __slots__ = (
        "_attempt_bound",
        "_bound_ticks",
        "_publisher",
        "_sticky",
        "_sticky_bytes",
        "queued",
        "reaper",
        "retries",
        "tick",
    )

    def __init__(self, publisher: Publisher, *, attempt_bound: float, batch_size: int) -> None:
        self._publisher = publisher
        self._attempt_bound = attempt_bound
        self._bound_ticks = int(attempt_bound / REAP_PERIOD) + 1
        self.queued: collections.deque[Queued] = collections.deque()
        self.reaper: asyncio.Task[None] | None = None
        self.retries: set[asyncio.Task[None]] = set()
        self.tick = 0
        # per topic [partition, bytes left in its batch before switching]
        self._sticky: dict[str, list[int]] = {}
        self._sticky_bytes = max(batch_size - BATCH_HEADER, 1)

    # ------------------------------------------------------------------ placing

    def place(
        self, producer: AIOKafkaProducer, topic: str, value: bytes | None, extra: int = 0
    ) -> int | None:
        """The partition of a keyless record without one: the topic's sticky partition.

        The record (``value`` and ``extra`` bytes of headers) stays on the current partition
        if it still fits in that partition's batch, else it starts a run on the next one.
        """
        size = (len(value) if value is not None else 0) + extra + RECORD_OVERHEAD
        sticky = self._sticky.get(topic)
        if sticky is None or sticky[1] < size:
            sticky = self._stick(producer, topic)
            if sticky is None:
                return None
        sticky[1] -= size
        return sticky[0]

    def _stick(self, producer: AIOKafkaProducer, topic: str) -> list[int] | None:
        """Pick the partition the next keyless records of ``topic`` go to.

        Moves on (round robin over the partitions that have a leader) after a batch worth of
        records; None while the topic's metadata is unknown (aiokafka then waits for it and
        picks a partition itself).
        """
        available = producer.client.cluster.available_partitions_for_topic(topic)
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

    # ------------------------------------------------------------------ queueing

    async def enqueue(self, record: Record, deadline: float | None) -> None:
        """``send``'s first attempt in general: hand the record to aiokafka, queue its future.

        A non-retriable error, or a publisher that is closed or failing fast, raises here;
        a retriable one goes to the retry loop in the background.
        """
        publisher = self._publisher
        publisher._pending += 1
        publisher._idle.clear()
        producer = publisher._producer
        refusal: PublishError | None = None
        if producer is None or publisher._closing:
            refusal = closed_error(record[0], record[1], 0, "sent")
        elif publisher._failing_fast:
            assert publisher._breaker is not None
            refusal = publisher._breaker.error(record[0], record[1], 0)
        if refusal is not None or producer is None:
            assert refusal is not None
            publisher._give_up(record, refusal, remember=False)
            raise refusal
        target = record[4]
        if target is None and record[1] is None:  # keyless: sticky, as the fast path
            headers = record[3]
            extra = sum(len(k) + len(v) + 2 for k, v in headers) if headers else 0
            target = self.place(producer, record[0], record[2], extra)
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
            if not is_retriable(exc):
                final = OneRecord(record, publisher._waiters).failure(1, exc, "not retriable")
                publisher._give_up(record, final, remember=False)
                raise final from exc
            self.failed(record, 1, deadline or time.monotonic() + publisher._delivery_timeout, exc)
            return
        self.queued.append((future, self.tick, 1, deadline, *record))
        if self.reaper is None:
            self.reaper = asyncio.ensure_future(self.reap_loop())

    async def reap_loop(self) -> None:
        """Settle queued records in the background: count, retry, expire stuck ones."""
        try:
            while self.queued or self.retries:
                await asyncio.sleep(REAP_PERIOD)
                self.tick += 1
                self.reap(scan_all=False)
        finally:
            self.reaper = None

    def reap(self, *, scan_all: bool) -> None:  # noqa: PLR0912 - one pass, all outcomes
        """Settle the queued records whose delivery finished (oldest first).

        Without ``scan_all`` it stops at the first unfinished record that is still within its
        time bound (records finish roughly in order); an unfinished record past the bound (or
        its deadline) is treated as timed out (aiokafka may never resolve it, #1101). With
        ``scan_all`` every finished record is settled and unfinished ones stay queued.
        """
        queued = self.queued
        if not queued:
            return
        publisher = self._publisher
        metrics = publisher._metrics
        expired_before = self.tick - self._bound_ticks
        now = time.monotonic()
        delivered = 0
        by_topic: dict[str, int] | None = {} if metrics is not None else None
        keep: list[Queued] = []
        while queued:
            entry = queued[0]
            future = entry[0]
            if not future.done():
                if entry[1] >= expired_before and (entry[3] is None or entry[3] > now):
                    if not scan_all:
                        break
                    keep.append(queued.popleft())
                    continue
                queued.popleft()
                error: BaseException = TimeoutError(
                    f"no acknowledgement within {self._attempt_bound:.1f}s "
                    "(broker down or unreachable?)"
                )
                self.failed(entry[4:], entry[2], self._deadline_of(entry, now), error)
                continue
            queued.popleft()
            try:
                future.result()
            except asyncio.CancelledError:
                error = TimeoutError("delivery cancelled")
                self.failed(entry[4:], entry[2], self._deadline_of(entry, now), error)
            except Exception as exc:  # noqa: BLE001 - classified by the retry loop
                self.failed(entry[4:], entry[2], self._deadline_of(entry, now), exc)
            else:
                delivered += 1
                if by_topic is not None:
                    by_topic[entry[4]] = by_topic.get(entry[4], 0) + 1
        if keep:
            queued.extendleft(reversed(keep))
        if delivered:
            publisher._last_ack = now
            publisher._pending -= delivered
            if by_topic and metrics is not None:
                for topic, n in by_topic.items():
                    metrics.published(topic, n)
            if publisher._pending == 0:
                publisher._idle.set()

    def expire_all(self) -> None:
        """Treat every unfinished queued record as timed out now (stop() gave up flushing)."""
        self.tick += self._bound_ticks
        self.reap(scan_all=False)

    def _deadline_of(self, entry: Queued, now: float) -> float:
        """A queued record's deadline: its own, else delivery_timeout_ms from when queued."""
        if entry[3] is not None:
            return entry[3]
        return now + self._publisher._delivery_timeout - (self.tick - entry[1]) * REAP_PERIOD

    def give_up_all(self, error: Any) -> None:
        """Give up every queued record with ``error(topic, key, attempts)``."""
        publisher = self._publisher
        while self.queued:
            entry = self.queued.popleft()
            record = entry[4:]
            publisher._give_up(record, error(record[0], record[1], entry[2]))

    # ------------------------------------------------------------------ retrying

    def failed(self, record: Record, attempts: int, deadline: float, exc: BaseException) -> None:
        """A queued record's attempt failed: the retry loop decides, in a background task.

        While stop() gives up (no producer any more), the record is given up here and now:
        stop() reports every record before it returns.
        """
        publisher = self._publisher
        if publisher._producer is None:
            error = closed_error(record[0], record[1], attempts, "retried")
            error.__cause__ = exc
            publisher._give_up(record, error)
            return
        task = asyncio.ensure_future(self._resend(record, attempts, deadline, exc))
        self.retries.add(task)
        task.add_done_callback(functools.partial(self._resend_done, record, attempts))

    async def _resend(
        self, record: Record, attempts: int, deadline: float, error: BaseException
    ) -> None:
        """Retry a queued record through the retry loop; settle it either way."""
        publisher = self._publisher
        expedite = publisher._expedite_soon if publisher._expedite_enabled else None
        job = OneRecord(record, publisher._waiters, expedite)
        try:
            await publisher._deliver(job, deadline, attempts=attempts, failed=error)
        except PublishError as failure:
            publisher._give_up(record, failure)
            return
        publisher._last_ack = time.monotonic()
        if publisher._metrics is not None:
            publisher._metrics.published(record[0], 1)
        publisher._settle()

    def _resend_done(self, record: Record, attempts: int, task: asyncio.Task[None]) -> None:
        """Settle a record whose retry task ended without settling it (cancelled by stop()).

        The task may be cancelled before its first step (then no code of ``_resend`` runs)
        or while it waits: either way the record is reported, never dropped.
        """
        self.retries.discard(task)
        if not task.cancelled() and task.exception() is None:
            return  # _resend settled it
        error = closed_error(record[0], record[1], attempts, "retried")
        error.__cause__ = task.exception() if not task.cancelled() else None
        self._publisher._give_up(record, error)
