"""`Consumer`: at-least-once, in order per partition, bounded concurrency, retries, DLQ."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from news_kafka._client import client_kwargs, is_retriable
from news_kafka._errors import ConsumerError, KafkaConfigError
from news_kafka._handling import Abandoned, Handling, Partition
from news_kafka._metrics import resolve_metrics
from news_kafka._records import Message
from news_kafka._settings import KafkaSettings
from news_kafka._shutdown import end_tasks, run_step
from news_log import get_logger

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from types import TracebackType

    from aiokafka import AIOKafkaConsumer, TopicPartition

    from news_kafka._metrics import KafkaMetricsHook
    from news_kafka._publisher import Publisher
    from news_kafka._records import ValueDeserializer

__all__ = ["Consumer", "Handler"]

T = TypeVar("T")

Handler = Callable[[Message[Any]], Awaitable[None]]
"""An async function that handles one record; raising means "not handled" (retried, DLQ)."""

log = get_logger("news_kafka.consumer")
# What a broker outage repeats: one line per group and error type per repeat_interval.
_outage = log.limited()

_CHUNK: Final = 256  # records a partition handles before letting others take the slot
_HELD_BACK_POLL_MS: Final = 5  # poll timeout while some partitions wait for queue room
_COMMIT_CHECK: Final = 0.1  # the committer looks for progress at least this often
_SUPERVISOR_PERIOD: Final = 0.25
_FINAL_COMMIT_TIMEOUT: Final = 5.0  # stop(): seconds the last offset commit may take
_CLIENT_STOP_TIMEOUT: Final = 5.0  # stop(): seconds aiokafka's stop (leaving the group) may take
_DLQ_STOP_TIMEOUT: Final = 5.0  # stop(): seconds the own dead-letter publisher may flush
_FORCE_CLOSE_TIMEOUT: Final = 2.0  # seconds closing a client by hand may take
_LAG_PERIOD: Final = 1.0  # seconds between lag reports to the metrics hook
_MAX_SILENCE: Final = 30.0  # health_check(): longest fetch-loop silence of a running consumer


class Consumer(Generic[T]):
    """Consumes topics in a group and runs an async handler per record, at least once.

    - Offsets are committed only after the handler returned for that record and for all
      earlier records of its partition (a rebalance commits what is done before partitions
      are revoked; nothing is ever auto-committed).
    - Records of one partition are handled in order; up to ``consumer.concurrency``
      partitions are handled at once.
    - A handler error is retried (``consumer.retry``); a record that keeps failing, that
      cannot be decoded, or whose handler raises `PoisonRecordError` goes to the dead-letter
      topic ``<topic><consumer.dead_letter_suffix>`` with headers naming the original topic,
      partition, offset, error type and message, and the partition moves on.
    - A handler that runs past ``consumer.handler_timeout_ms`` is cancelled (a failed attempt).
    - The handler's log lines carry the record's request id and trace context (from the
      ``x-request-id``/``traceparent``/``tracestate`` headers, bound with ``news_log.bind``).
    - ``stop()`` lets in-flight handlers finish (bounded), commits, and leaves the group.
    - A managed resource for news-http (``app.manage(consumer)``): ``start``/``stop`` and a
      readiness ``health_check`` named ``kafka-consumer:<group id>``.

    Args:
        settings: Connection and ``consumer`` settings.
        topics: Topic name(s) to subscribe to (or ``pattern``).
        pattern: A regular expression of topic names, instead of ``topics``.
        handler: ``async def handler(message: Message[T]) -> None``.
        value_type: Decode values into this type with msgspec (JSON, or msgpack when the
            record's ``content-type`` says so); ``None`` hands over raw ``bytes``.
        deserializer: Decodes values instead of ``value_type`` (a `ValueDeserializer`, e.g.
            news-schema's ``AvroDeserializer``: the Confluent wire format, by schema id). A
            record it cannot read (unknown schema id, not the wire format) goes to the
            dead-letter topic; while its ``prepare`` fails otherwise (the registry is down)
            the partition waits and retries.
        group_id: The consumer group (default: ``settings.consumer.group_id``).
        metrics: A `KafkaMetricsHook` (default: per ``settings.metrics``, news-metrics'
            ``KafkaMetrics`` when it is installed). Per-partition lag is reported every second.
        dead_letter_publisher: A running `Publisher` for dead letters (default: the consumer
            starts its own from ``settings`` on the first dead letter).

    Example:
        >>> async def handle(message: Message[Article]) -> None:  # doctest: +SKIP
        ...     log.info("indexing", article_id=message.value.id)
        >>> consumer = Consumer(  # doctest: +SKIP
        ...     settings, topics="articles", group_id="indexer", handler=handle, value_type=Article
        ... )
        >>> async with consumer:  # doctest: +SKIP
        ...     await consumer.wait()
    """

    def __init__(
        self,
        settings: KafkaSettings | None = None,
        *,
        topics: str | Sequence[str] | None = None,
        pattern: str | None = None,
        handler: Callable[[Message[T]], Awaitable[None]],
        value_type: type[T] | None = None,
        deserializer: ValueDeserializer | None = None,
        group_id: str | None = None,
        metrics: KafkaMetricsHook | None = None,
        dead_letter_publisher: Publisher | None = None,
    ) -> None:
        self._settings = settings or KafkaSettings()
        cfg = self._settings.consumer
        if isinstance(topics, str):
            topics = (topics,)
        if (not topics) == (pattern is None):
            raise KafkaConfigError(
                "Consumer needs exactly one of topics= (names) or pattern= (a regex)"
            )
        self._topics = tuple(topics or ())
        self._pattern = pattern
        group = group_id or cfg.group_id
        if not group:
            raise KafkaConfigError(
                "Consumer needs a group id: pass group_id= or set consumer.group_id "
                "(e.g. NEWSROOM_KAFKA__CONSUMER__GROUP_ID)"
            )
        self._group: str = group
        if not callable(handler):
            raise KafkaConfigError(f"handler must be an async function, got {handler!r}")
        self._metrics = resolve_metrics(metrics, self._settings.metrics)
        self._handling = Handling(
            self._settings,
            group=group,
            handler=handler,
            value_type=value_type,
            deserializer=deserializer,
            metrics=self._metrics,
            dead_letter_publisher=dead_letter_publisher,
            stopping=lambda: self._stopping,
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._states: dict[TopicPartition, Partition] = {}
        self._semaphore = asyncio.Semaphore(cfg.concurrency)
        self._commit_lock = asyncio.Lock()
        self._progress = asyncio.Event()
        self._space = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._stopping = False
        self._done = asyncio.Event()
        self._failure: BaseException | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._last_poll = 0.0
        self._last_fetch = 0.0
        self._last_lag = 0.0

    # ------------------------------------------------------------------ health signals

    @property
    def running(self) -> bool:
        """True while the consumer is started and fetching (False after stop or a failure)."""
        return self._running and not self._stopping

    @property
    def group_id(self) -> str:
        """The consumer group."""
        return self._group

    @property
    def last_poll_monotonic(self) -> float:
        """``time.monotonic()`` of the fetch loop's last round (0.0 before the first poll).

        A round is a successful poll, or, while every partition's queue is full (slow
        handlers), a check for room (at least every second): the loop is alive.
        """
        return self._last_poll

    @property
    def error(self) -> BaseException | None:
        """The fatal error that stopped the consumer (also raised by `wait`), else None."""
        return self._failure

    @property
    def last_fetch_monotonic(self) -> float:
        """``time.monotonic()`` of the last poll that returned records (0.0 before the first)."""
        return self._last_fetch

    @property
    def assignment(self) -> frozenset[tuple[str, int]]:
        """The ``(topic, partition)`` pairs currently assigned to this member."""
        return frozenset((tp.topic, tp.partition) for tp in self._states)

    def committed_offsets(self) -> dict[tuple[str, int], int]:
        """The offsets this member committed so far, per ``(topic, partition)`` it holds."""
        return {
            (tp.topic, tp.partition): state.committed
            for tp, state in self._states.items()
            if state.committed is not None
        }

    @property
    def health_name(self) -> str:
        """The name of `health_check` when news-http's ``app.manage`` registers it."""
        return f"kafka-consumer:{self._group}"

    @property
    def stop_timeout(self) -> float:
        """Seconds `stop` may take (default timeout): news-http's ``app.manage`` bound for it.

        ``consumer.stop_timeout_ms`` for the handlers in flight, then the final commit and
        leaving the group (each bounded), and the own dead-letter publisher's flush if one
        was started. A tighter bound would cut the handlers short or skip the commit (their
        records are then redelivered).
        """
        seconds = (
            self._settings.consumer.stop_timeout_ms / 1000.0
            + _FINAL_COMMIT_TIMEOUT
            + _CLIENT_STOP_TIMEOUT
        )
        if self._handling.own_publisher is not None:
            seconds += _DLQ_STOP_TIMEOUT + _CLIENT_STOP_TIMEOUT
        return seconds

    async def health_check(self) -> str:
        """Readiness: the consumer runs and its fetch loop polls (no I/O; never blocks).

        Returns:
            How many partitions this member holds (``"3 partition(s)"``).

        Raises:
            ConsumerError: It is not running, a fatal error stopped it, or its fetch loop has
                not polled for 30 s (the group membership outlives a stuck loop: see
                ``news_kafka.health.consumer_check`` for the liveness version).
        """
        if self._failure is not None:
            raise ConsumerError(
                f"consumer group {self._group!r} stopped on a fatal error: "
                f"{type(self._failure).__name__}: {self._failure}"
            )
        if not self.running:
            raise ConsumerError(f"consumer group {self._group!r} is not running")
        if self._last_poll and time.monotonic() - self._last_poll > _MAX_SILENCE:
            raise ConsumerError(
                f"consumer group {self._group!r}: the fetch loop has not polled for "
                f"{time.monotonic() - self._last_poll:.0f} s"
            )
        return f"{len(self._states)} partition(s)"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect, subscribe and start fetching; raise `ConsumerError` if Kafka is unreachable.

        Partitions are assigned when the group has formed (shortly after ``start`` returns).
        """
        if self._consumer is not None:
            return
        from aiokafka import AIOKafkaConsumer
        from aiokafka.errors import KafkaError

        cfg = self._settings.consumer
        consumer = AIOKafkaConsumer(
            **client_kwargs(self._settings),
            group_id=self._group,
            enable_auto_commit=False,  # time-based autocommit breaks at-least-once (#900)
            auto_offset_reset=cfg.auto_offset_reset,
            max_poll_records=cfg.max_poll_records,
            max_poll_interval_ms=cfg.max_poll_interval_ms,
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=cfg.heartbeat_interval_ms,
            fetch_max_wait_ms=cfg.fetch_max_wait_ms,
            max_partition_fetch_bytes=cfg.max_partition_fetch_bytes,
            request_timeout_ms=max(40_000, cfg.session_timeout_ms + 5_000),
        )
        listener = _make_listener(self)
        try:
            await asyncio.wait_for(consumer.start(), 60.0)
            if self._pattern is not None:
                consumer.subscribe(pattern=self._pattern, listener=listener)
            else:
                consumer.subscribe(topics=list(self._topics), listener=listener)
        except (KafkaError, OSError, TimeoutError) as exc:
            await _bounded_consumer_stop(consumer, 5.0, self._group)
            raise ConsumerError(
                f"consumer group {self._group!r} cannot start against "
                f"{','.join(self._settings.bootstrap_servers)}: {type(exc).__name__}: {exc}; "
                "check bootstrap_servers and security settings"
            ) from exc
        self._consumer = consumer
        self._running = True
        self._stopping = False
        self._done.clear()
        self._failure = None
        self._tasks = [
            asyncio.ensure_future(self._poll_loop()),
            asyncio.ensure_future(self._commit_loop()),
            asyncio.ensure_future(self._supervise()),
        ]
        log.info(
            "consumer started",
            group=self._group,
            topics=list(self._topics) if self._topics else None,
            pattern=self._pattern,
        )

    async def stop(self, timeout: float | None = None) -> None:
        """Finish in-flight handlers (bounded), commit what was handled, leave the group.

        Records fetched but not yet started are left uncommitted: the group redelivers them.
        ``timeout`` (seconds) defaults to ``consumer.stop_timeout_ms``; handlers still running
        after it are cancelled (their records stay uncommitted). Never raises, and always
        ends, also against a dead broker: a step that fails or hangs (the final commit,
        leaving the group, aiokafka's own ``stop()``, which raises ``CancelledError`` after a
        broker loss) is given up after its bound and logged (``gave_up``). Only a cancellation
        of the caller's own task propagates.
        """
        consumer = self._consumer
        if consumer is None:
            return
        if self._stopping:  # another stop() (or a fatal error) is already at it
            await self._done.wait()
            return
        if timeout is None:
            timeout = self._settings.consumer.stop_timeout_ms / 1000.0
        self._stopping = True
        try:
            await self._shut_down(consumer, timeout)
        finally:
            self._states.clear()
            self._consumer = None
            self._running = False
            self._done.set()
            log.info("consumer stopped", group=self._group)

    async def _shut_down(self, consumer: AIOKafkaConsumer, timeout: float) -> None:
        """The steps of `stop`, each bounded; a failed step is logged and the next one runs."""
        poll, committer, supervisor = self._tasks
        await end_tasks((poll,), log=log)
        for state in self._states.values():
            state.queue.clear()
            state.wakeup.set()
        workers = [s.worker for s in self._states.values() if s.worker is not None]
        if workers:
            _, late = await asyncio.wait(workers, timeout=timeout)
            if late:
                log.warning(
                    "handlers still running at stop were cancelled; their records stay uncommitted",
                    group=self._group,
                    cancelled=len(late),
                    timeout_s=timeout,
                )
                await end_tasks(list(late), log=log)
        await end_tasks((supervisor, committer), log=log)
        group = self._group
        await run_step(
            self._commit(),
            timeout=_FINAL_COMMIT_TIMEOUT,
            what="final offset commit (uncommitted records will be redelivered)",
            log=log,
            group=group,
        )
        await _bounded_consumer_stop(consumer, _CLIENT_STOP_TIMEOUT, group)
        if self._handling.own_publisher is not None:
            publisher, self._handling.own_publisher = self._handling.own_publisher, None
            await run_step(
                publisher.stop(_DLQ_STOP_TIMEOUT),
                timeout=_DLQ_STOP_TIMEOUT + _CLIENT_STOP_TIMEOUT,
                what="dead-letter publisher stop",
                log=log,
                group=group,
            )

    async def wait(self) -> None:
        """Wait until the consumer stops; raise `ConsumerError` if a fatal error stopped it."""
        await self._done.wait()
        if self._failure is not None:
            raise ConsumerError(
                f"consumer group {self._group!r} stopped on a fatal error: "
                f"{type(self._failure).__name__}: {self._failure}"
            ) from self._failure

    async def run(self) -> None:
        """Start, then consume until `stop` is called (from another task or a signal handler)."""
        await self.start()
        await self.wait()

    async def __aenter__(self) -> Consumer[T]:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ fetching

    async def _poll_loop(self) -> None:
        from aiokafka.errors import KafkaError

        consumer = self._consumer
        assert consumer is not None
        cfg = self._settings.consumer
        wait_ms = max(cfg.fetch_max_wait_ms, 100)
        limit = cfg.max_buffered_records
        # Stalled (every queue full) longer than this: pause and poll to stay in the group.
        stall_limit = cfg.max_poll_interval_ms / 1000.0 / 3
        failures = 0
        last_call = time.monotonic()
        while not self._stopping:
            states = self._states
            ready = self._partitions_with_room(consumer, limit)
            if (
                states
                and not ready
                and not await self._hold_back(consumer, limit, last_call + stall_limit)
            ):
                continue
            try:
                last_call = time.monotonic()
                if ready and len(ready) < len(states):
                    # short: a held-back partition may get room any moment
                    batch = await consumer.getmany(*ready, timeout_ms=_HELD_BACK_POLL_MS)
                else:
                    batch = await consumer.getmany(timeout_ms=wait_ms)
            except asyncio.CancelledError:
                raise
            except KafkaError as exc:
                failures += 1
                if not is_retriable(exc) and failures > 3:
                    await self._fail(exc)
                    return
                _outage.warning(
                    "poll failed; retrying",
                    repeat_key=(self._group, type(exc).__name__),
                    group=self._group,
                    error=f"{type(exc).__name__}: {exc}",
                    failures=failures,
                )
                await asyncio.sleep(min(5.0, 0.2 * failures))
                continue
            failures = 0
            now = time.monotonic()
            self._last_poll = now
            if batch:
                self._last_fetch = now
                self._dispatch(batch)
            if self._metrics is not None and now - self._last_lag >= _LAG_PERIOD:
                self._last_lag = now
                self._report_lag()

    def _partitions_with_room(self, consumer: AIOKafkaConsumer, limit: int) -> list[Any]:
        """Resume held-back partitions that drained; return those whose queue has room."""
        resume_below = max(1, limit // 2)
        ready = []
        for tp, st in self._states.items():
            if st.paused and len(st.queue) < resume_below and not st.revoked:
                consumer.resume(tp)
                st.paused = False
            if len(st.queue) < limit and not st.paused:
                ready.append(tp)
        return ready

    async def _hold_back(self, consumer: AIOKafkaConsumer, limit: int, stall_until: float) -> bool:
        """Every queue is full: wait for room. Return True when polling must go on anyway.

        Backpressure without pause(): aiokafka drops the prefetched records of a paused
        partition, so normally only the partitions with room are polled. After a long stall
        the full partitions are paused and the loop polls, to keep the membership (#848).
        """
        self._space.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await self._space.wait()
        if self._last_poll:
            self._last_poll = time.monotonic()  # alive, only held back (liveness signal)
        if time.monotonic() < stall_until:
            return False
        for tp, st in self._states.items():
            if not st.paused and len(st.queue) >= limit:
                consumer.pause(tp)
                st.paused = True
        return True

    def _dispatch(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """Queue fetched records to their partition's worker (no await: revocation-safe)."""
        for tp, fetched in batch.items():
            state = self._states.get(tp)
            if state is None or state.revoked:
                continue  # revoked meanwhile: the next owner fetches them again
            if fetched[0].offset <= state.last_enqueued:
                # aiokafka reset the position (offset out of range: truncated or re-created
                # topic). Handle them again rather than drop anything: at least once.
                log.warning(
                    "partition position went backwards; records are handled again",
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=fetched[0].offset,
                    last_queued=state.last_enqueued,
                )
            if state.fetched_from is None:
                state.fetched_from = fetched[0].offset
            state.queue.extend(fetched)
            state.last_enqueued = fetched[-1].offset
            state.wakeup.set()

    async def _fail(self, exc: BaseException) -> None:
        log.error(
            "consumer stopped on a fatal error",
            group=self._group,
            error=f"{type(exc).__name__}: {exc}",
        )
        self._failure = exc
        self._stop_task = asyncio.ensure_future(self.stop())

    # ------------------------------------------------------------------ rebalancing

    def _assigned(self, assigned: Iterable[TopicPartition]) -> None:
        for tp in assigned:
            if tp in self._states:
                continue
            state = Partition(tp)
            self._states[tp] = state
            state.worker = asyncio.ensure_future(self._work(state))
        log.info(
            "partitions assigned",
            group=self._group,
            partitions=sorted(f"{tp.topic}[{tp.partition}]" for tp in self._states),
        )

    async def _revoked(self, revoked: Iterable[TopicPartition]) -> None:
        states = [self._states[tp] for tp in revoked if tp in self._states]
        if not states:
            return
        for state in states:
            state.revoked = True
            state.queue.clear()
            state.wakeup.set()
        workers = [s.worker for s in states if s.worker is not None]
        if workers:
            bound = (
                min(
                    self._settings.consumer.stop_timeout_ms,
                    self._settings.consumer.max_poll_interval_ms // 2,
                )
                / 1000.0
            )
            _, late = await asyncio.wait(workers, timeout=bound)
            if late:
                await end_tasks(list(late), log=log)
        try:
            await self._commit([s.tp for s in states])
        except Exception as exc:  # noqa: BLE001 - the next owner redoes uncommitted records
            log.warning(
                "commit before revocation failed; the next owner may redo records",
                group=self._group,
                error=f"{type(exc).__name__}: {exc}",
            )
        for state in states:
            self._states.pop(state.tp, None)
        log.info(
            "partitions revoked",
            group=self._group,
            partitions=sorted(f"{s.tp.topic}[{s.tp.partition}]" for s in states),
        )

    # ------------------------------------------------------------------ handling

    async def _work(self, state: Partition) -> None:
        """Handle one partition's records in order, for as long as it is assigned."""
        queue = state.queue
        semaphore = self._semaphore
        resume_below = max(1, self._settings.consumer.max_buffered_records // 2)
        task = asyncio.current_task()
        assert task is not None
        handle = self._handling.handle
        while True:
            if self._leaving(state):
                return
            if not queue:
                state.wakeup.clear()
                await state.wakeup.wait()
                continue
            progress = self._progress
            try:
                async with semaphore:
                    if not await handle(state, _CHUNK):
                        return
                    progress.set()
            except Abandoned:
                return
            except asyncio.CancelledError:
                if state.timed_out and task.cancelling() > 0:
                    # the timeout landed just after the handler returned: not a failure
                    task.uncancel()
                    state.timed_out = False
                    continue
                raise
            if len(queue) < resume_below:
                if state.paused and self._consumer is not None:
                    if not state.revoked:
                        self._consumer.resume(state.tp)
                    state.paused = False
                self._space.set()

    def _leaving(self, state: Partition) -> bool:
        """Tell whether the partition's worker must stop (revoked, or the consumer stops)."""
        return state.revoked or self._stopping

    # ------------------------------------------------------------------ committing

    async def _commit_loop(self) -> None:
        interval = self._settings.consumer.commit_interval_ms / 1000.0
        # The loop ends on the stopping flag as well as on cancellation: on Python 3.11,
        # asyncio.wait_for() swallows a cancel that arrives as its awaitable completes, and a
        # committer that missed stop()'s cancel would make stop() wait for ever.
        while not self._stopping:
            # Woken when a worker finishes a run of records, or by the clock: a handler that
            # blocks for long must not hold back the commit of the records before it.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_COMMIT_CHECK):
                    await self._progress.wait()
            self._progress.clear()
            try:
                await self._commit()
            except Exception as exc:  # noqa: BLE001 - retried with the next progress
                _outage.warning(
                    "offset commit failed; will retry",
                    repeat_key=(self._group, type(exc).__name__),
                    group=self._group,
                    error=f"{type(exc).__name__}: {exc}",
                )
                self._progress.set()
                await asyncio.sleep(max(interval, 0.5))
                continue
            if interval:
                await asyncio.sleep(interval)

    async def _commit(self, only: Sequence[TopicPartition] | None = None) -> None:
        """Commit the handled offsets that advanced (serialised: commits never go backwards)."""
        consumer = self._consumer
        if consumer is None:
            return
        async with self._commit_lock:
            states = (
                [self._states[tp] for tp in only if tp in self._states]
                if only is not None
                else list(self._states.values())
            )
            offsets = {
                s.tp: s.next_offset
                for s in states
                if s.next_offset is not None
                and (s.committed is None or s.next_offset > s.committed)
            }
            if not offsets:
                return
            await consumer.commit(offsets)
            for tp, offset in offsets.items():
                state = self._states.get(tp)
                if state is not None:
                    state.committed = offset

    # ------------------------------------------------------------------ supervision

    async def _supervise(self) -> None:
        """Cancel handlers that run past their time limit."""
        limit = self._handling.handler_timeout
        if limit is None:
            return
        while not self._stopping:
            await asyncio.sleep(min(_SUPERVISOR_PERIOD, limit / 4))
            now = time.monotonic()
            for state in list(self._states.values()):
                if (
                    state.in_handler
                    and not state.timed_out
                    and now - state.started > limit
                    and state.worker is not None
                ):
                    state.timed_out = True
                    state.worker.cancel()

    def _report_lag(self) -> None:
        consumer = self._consumer
        metrics = self._metrics
        if consumer is None or metrics is None:
            return
        for tp, state in self._states.items():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = state.next_offset
            if position is None:  # nothing handled yet: from the first record fetched
                position = state.fetched_from
                if position is None:
                    continue
            metrics.lag(tp.topic, tp.partition, self._group, max(0, highwater - position))


async def _bounded_consumer_stop(consumer: AIOKafkaConsumer, timeout: float, group: str) -> None:
    """Stop an aiokafka consumer (leaves the group); close it by hand if that fails or hangs.

    aiokafka's ``stop()`` raises ``CancelledError`` after a broker loss (``Fetcher.close()``
    awaits a task it just cancelled, upstream #1101 and #659), before closing its client.
    """
    if await run_step(
        consumer.stop(), timeout=timeout, what="aiokafka consumer stop", log=log, group=group
    ):
        return
    from news_kafka._aiokafka import SWITCHES, force_close_consumer

    if not SWITCHES.force_close:
        log.warning(
            "aiokafka consumer left to the garbage collector (fast path 'force_close' is off)",
            gave_up="closing the consumer's client",
            group=group,
        )
        return
    await run_step(
        force_close_consumer(consumer),
        timeout=_FORCE_CLOSE_TIMEOUT,
        what="closing the consumer's client by hand",
        log=log,
        group=group,
    )


_LISTENER_CLASS: list[type] = []


def _make_listener(consumer: Consumer[Any]) -> Any:
    """Return a rebalance listener bridging aiokafka's callbacks to ``consumer``.

    The class derives from aiokafka's ``ConsumerRebalanceListener``; it is made on first use
    so that ``import news_kafka`` does not import aiokafka.
    """
    if not _LISTENER_CLASS:
        from aiokafka import ConsumerRebalanceListener

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            """Commits handled offsets before partitions are revoked."""

            def __init__(self, owner: Consumer[Any]) -> None:
                self.owner = owner

            async def on_partitions_revoked(self, revoked: Any) -> None:
                await self.owner._revoked(revoked)

            async def on_partitions_assigned(self, assigned: Any) -> None:
                self.owner._assigned(assigned)

        _LISTENER_CLASS.append(Listener)
    return _LISTENER_CLASS[0](consumer)
