"""Consumer against a real broker: typed handling, at-least-once, rebalance, DLQ, shutdown."""

from __future__ import annotations

import asyncio
import itertools

import msgspec

import news_kafka
import news_log
from news_kafka import Consumer, KafkaAdmin, Message, PoisonRecordError, Publisher
from news_log.testing import capture_logs
from news_testing import KafkaCapture, publish_raw

_groups = itertools.count()


class Article(msgspec.Struct, frozen=True):
    id: int
    title: str


def group(topic: str) -> str:
    """Return a fresh consumer group name for a topic."""
    return f"{topic}-g{next(_groups)}"


def with_consumer(settings, **changes):
    """Return settings with consumer fields replaced."""
    return msgspec.structs.replace(
        settings, consumer=msgspec.structs.replace(settings.consumer, **changes)
    )


async def committed(settings, group_id, topic):
    """Return the committed offsets of a group."""
    async with KafkaAdmin(settings) as admin:
        return await admin.committed_offsets(group_id, [topic])


class TestHandling:
    async def test_typed_structs_round_trip(self, kafka_settings, kafka_topic, eventually):
        """Structs published are handed to the handler decoded, with record metadata."""
        topic = kafka_topic(partitions=2)
        seen: list[Message[Article]] = []

        async def handle(message: Message[Article]) -> None:
            seen.append(message)

        articles = [Article(i, f"title {i}") for i in range(20)]
        async with Publisher(kafka_settings) as publisher:
            metas = [await publisher.publish(topic, a, key=str(a.id)) for a in articles]
        async with Consumer(
            kafka_settings,
            topics=topic,
            group_id=group(topic),
            handler=handle,
            value_type=Article,
        ):
            await eventually(lambda: len(seen) >= 20, what="20 records handled")
        assert sorted(m.value.id for m in seen) == list(range(20))
        by_id = {m.value.id: m for m in seen}
        for article, meta in zip(articles, metas, strict=True):
            message = by_id[article.id]
            assert (message.topic, message.partition, message.offset) == (
                topic,
                meta.partition,
                meta.offset,
            )
            assert message.key == str(article.id).encode()
            assert message.value == article

    async def test_records_of_a_partition_are_handled_in_order(
        self, kafka_settings, kafka_topic, eventually
    ):
        """Within a partition, the handler sees offsets strictly increasing."""
        topic = kafka_topic(partitions=3)
        seen: dict[int, list[int]] = {}

        async def handle(message: Message[bytes]) -> None:
            await asyncio.sleep(0)
            seen.setdefault(message.partition, []).append(message.offset)

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish_many(
                topic, [news_kafka.ProducerRecord(value=b"x", key=b"%d" % i) for i in range(300)]
            )
        async with Consumer(kafka_settings, topics=topic, group_id=group(topic), handler=handle):
            await eventually(lambda: sum(map(len, seen.values())) >= 300, what="300 handled")
        for offsets in seen.values():
            assert offsets == sorted(offsets)
            assert offsets == list(range(offsets[0], offsets[0] + len(offsets)))

    async def test_request_id_reaches_the_handler_log_line(
        self, kafka_settings, kafka_topic, eventually
    ):
        """The publisher's bound request id and traceparent appear in the handler's log lines."""
        topic = kafka_topic()
        traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        handler_log = news_log.get_logger("newsroom.indexer")
        done = asyncio.Event()

        async def handle(message: Message[Article]) -> None:
            handler_log.info("indexed", article_id=message.value.id)
            if message.value.id == 9:
                assert message.request_id == "req-4711"
            done.set()

        async with Publisher(kafka_settings) as publisher:
            with news_log.bind(request_id="req-4711", traceparent=traceparent):
                await publisher.publish(topic, Article(9, "nine"))
            await publisher.publish(topic, Article(10, "ten"))
        with capture_logs() as lines:
            async with Consumer(
                kafka_settings,
                topics=topic,
                group_id=group(topic),
                handler=handle,
                value_type=Article,
            ):
                await eventually(
                    lambda: len([x for x in lines if x["msg"] == "indexed"]) >= 2,
                    what="two handler lines",
                )
        indexed = [line for line in lines if line["msg"] == "indexed"]
        # at least once: a rebalance under load may hand a record over twice
        nine = [line for line in indexed if line["article_id"] == 9]
        ten = [line for line in indexed if line["article_id"] == 10]
        assert nine
        assert ten
        assert all(line["request_id"] == "req-4711" for line in nine)
        assert all(line["traceparent"] == traceparent for line in nine)
        assert all("request_id" not in line for line in ten)

    async def test_msgpack_records_are_decoded_by_content_type(
        self, kafka_settings, kafka_topic, eventually
    ):
        """A consumer decodes msgpack records (content-type header) and JSON ones alike."""
        topic = kafka_topic()
        seen: list[Article] = []

        async def handle(message: Message[Article]) -> None:
            seen.append(message.value)

        msgpack_settings = msgspec.structs.replace(
            kafka_settings,
            producer=msgspec.structs.replace(kafka_settings.producer, serializer="msgpack"),
        )
        async with Publisher(msgpack_settings) as packed, Publisher(kafka_settings) as plain:
            await packed.publish(topic, Article(1, "packed"))
            await plain.publish(topic, Article(2, "json"))
        async with Consumer(
            kafka_settings, topics=topic, group_id=group(topic), handler=handle, value_type=Article
        ):
            await eventually(lambda: len(seen) >= 2, what="2 records")
        assert seen == [Article(1, "packed"), Article(2, "json")]

    async def test_health_signals_and_metrics(
        self, kafka_settings, kafka_topic, eventually, metrics
    ):
        """running, assignment, poll/fetch times and metrics reflect what the consumer does."""
        topic = kafka_topic(partitions=2)
        handled = []

        async def handle(message: Message[bytes]) -> None:
            handled.append(message.offset)

        consumer = Consumer(
            kafka_settings, topics=[topic], group_id=group(topic), handler=handle, metrics=metrics
        )
        assert not consumer.running
        assert consumer.last_poll_monotonic == 0.0
        async with consumer:
            assert consumer.running
            await eventually(lambda: len(consumer.assignment) == 2, what="assignment")
            assert consumer.assignment == {(topic, 0), (topic, 1)}
            await eventually(lambda: consumer.last_poll_monotonic > 0, what="a poll")
            assert consumer.last_fetch_monotonic == 0.0
            async with Publisher(kafka_settings) as publisher:
                await publisher.publish(topic, b"a", partition=0)
            await eventually(lambda: handled, what="one record")
            assert consumer.last_fetch_monotonic >= consumer.last_poll_monotonic - 5
            assert consumer.last_fetch_monotonic > 0
            await eventually(
                lambda: ("lag", topic, 0, consumer.group_id, 0) in metrics.calls,
                what="a lag report of 0 for partition 0",
            )
        assert not consumer.running
        assert consumer.assignment == frozenset()
        assert metrics.names("consumed") == [("consumed", topic, consumer.group_id)]
        assert len(metrics.names("handler_duration")) == 1


class TestAtLeastOnce:
    async def test_failed_handler_is_retried_then_succeeds(
        self, kafka_settings, kafka_topic, eventually, metrics
    ):
        """A handler failing once on record 5 is retried; everything is handled and committed."""
        topic = kafka_topic()
        attempts: dict[int, int] = {}
        handled: list[int] = []

        async def handle(message: Message[Article]) -> None:
            n = attempts[message.value.id] = attempts.get(message.value.id, 0) + 1
            if message.value.id == 5 and n == 1:
                raise RuntimeError("database hiccup")
            handled.append(message.value.id)

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish_many(topic, [Article(i, "") for i in range(10)])
        group_id = group(topic)
        async with Consumer(
            kafka_settings,
            topics=topic,
            group_id=group_id,
            handler=handle,
            value_type=Article,
            metrics=metrics,
        ):
            await eventually(lambda: len(handled) >= 10, what="10 handled")
        assert handled == list(range(10))
        assert attempts[5] == 2
        assert await committed(kafka_settings, group_id, topic) == {(topic, 0): 10}
        assert metrics.names("handler_failed") == [
            ("handler_failed", topic, group_id, "RuntimeError")
        ]
        assert metrics.names("dead_lettered") == []

    async def test_restart_mid_stream_loses_nothing_and_commits_only_handled(
        self, kafka_settings, kafka_topic, eventually
    ):
        """Stopped while record 5 hangs: 0-4 committed, 5 not; a restart handles 5..19."""
        topic = kafka_topic()
        settings = with_consumer(kafka_settings, stop_timeout_ms=300)
        group_id = group(topic)
        first_run: list[int] = []
        second_run: list[int] = []
        blocked = asyncio.Event()

        async def stuck_on_five(message: Message[Article]) -> None:
            if message.value.id == 5:
                blocked.set()
                await asyncio.Event().wait()  # never returns: cancelled by stop()
            first_run.append(message.value.id)

        async def handle(message: Message[Article]) -> None:
            second_run.append(message.value.id)

        async with Publisher(settings) as publisher:
            await publisher.publish_many(topic, [Article(i, "") for i in range(20)])
        consumer = Consumer(
            settings, topics=topic, group_id=group_id, handler=stuck_on_five, value_type=Article
        )
        await consumer.start()
        await asyncio.wait_for(blocked.wait(), 20)
        await eventually(
            lambda: consumer.committed_offsets().get((topic, 0)) == 5, what="commit of 0-4"
        )
        assert await committed(settings, group_id, topic) == {(topic, 0): 5}
        await consumer.stop()
        assert first_run == [0, 1, 2, 3, 4]
        assert await committed(settings, group_id, topic) == {(topic, 0): 5}

        async with Consumer(
            settings, topics=topic, group_id=group_id, handler=handle, value_type=Article
        ):
            await eventually(lambda: len(second_run) >= 15, what="records 5-19")
        assert second_run == list(range(5, 20))
        assert await committed(settings, group_id, topic) == {(topic, 0): 20}

    async def test_graceful_stop_commits_what_was_handled(
        self, kafka_settings, kafka_topic, eventually
    ):
        """With a long commit interval, stop() still commits every handled record."""
        topic = kafka_topic(partitions=2)
        settings = with_consumer(kafka_settings, commit_interval_ms=60_000)
        group_id = group(topic)
        handled: list[int] = []

        async def handle(message: Message[bytes]) -> None:
            handled.append(message.offset)

        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"first", partition=0)
        consumer = Consumer(settings, topics=topic, group_id=group_id, handler=handle)
        async with consumer:
            await eventually(lambda: len(handled) == 1, what="first record")
            async with Publisher(settings) as publisher:
                await publisher.publish_many(
                    topic,
                    [news_kafka.ProducerRecord(value=b"x", partition=0)] * 4
                    + [news_kafka.ProducerRecord(value=b"y", partition=1)] * 3,
                )
            await eventually(lambda: len(handled) == 8, what="8 records")
            # the 60 s interval holds back everything after the first commit
            assert consumer.committed_offsets().get((topic, 0)) in (None, 1)
        assert await committed(settings, group_id, topic) == {(topic, 0): 5, (topic, 1): 3}

    async def test_two_members_split_partitions_and_rebalances_lose_nothing(
        self, kafka_settings, kafka_topic, eventually
    ):
        """A second member takes half the partitions, leaves again; every record is handled."""
        topic = kafka_topic(partitions=4)
        group_id = group(topic)
        seen_a: set[int] = set()
        seen_b: set[int] = set()

        def handler(into):
            async def handle(message: Message[Article]) -> None:
                await asyncio.sleep(0.001)
                into.add(message.value.id)

            return handle

        def all_seen():
            return seen_a | seen_b

        a = Consumer(
            kafka_settings,
            topics=topic,
            group_id=group_id,
            handler=handler(seen_a),
            value_type=Article,
        )
        b = Consumer(
            kafka_settings,
            topics=topic,
            group_id=group_id,
            handler=handler(seen_b),
            value_type=Article,
        )
        async with Publisher(kafka_settings) as publisher:
            await a.start()
            await eventually(lambda: len(a.assignment) == 4, what="a owns all")
            await publisher.publish_many(
                topic,
                [news_kafka.ProducerRecord(value=Article(i, ""), key=str(i)) for i in range(200)],
            )
            await b.start()
            await eventually(
                lambda: len(a.assignment) == 2 and len(b.assignment) == 2, what="split 2/2"
            )
            assert not a.assignment & b.assignment
            await publisher.publish_many(
                topic,
                [
                    news_kafka.ProducerRecord(value=Article(i, ""), key=str(i))
                    for i in range(200, 400)
                ],
            )
            await eventually(lambda: len(all_seen()) >= 400, what="400 handled")
            assert seen_b, "the second member handled nothing"
            await b.stop()
            await eventually(lambda: len(a.assignment) == 4, what="a owns all again")
            await publisher.publish_many(
                topic,
                [
                    news_kafka.ProducerRecord(value=Article(i, ""), key=str(i))
                    for i in range(400, 500)
                ],
            )
            await eventually(lambda: len(all_seen()) >= 500, what="500 handled")
            await a.stop()
        assert all_seen() == set(range(500))
        offsets = await committed(kafka_settings, group_id, topic)
        async with KafkaAdmin(kafka_settings) as admin:
            lag = await admin.consumer_lag(group_id, [topic])
        assert sum(o or 0 for o in offsets.values()) == 500
        assert all(p.lag == 0 for p in lag)


class TestDeadLetters:
    async def test_poison_record_goes_to_the_dlq_and_the_partition_flows(
        self, kafka_settings, kafka_topic, eventually, metrics
    ):
        """An undecodable record is dead-lettered at once with its headers; later ones flow."""
        topic = kafka_topic()
        bootstrap = kafka_settings.bootstrap_servers[0]
        group_id = group(topic)
        seen: list[int] = []

        async def handle(message: Message[Article]) -> None:
            seen.append(message.value.id)

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish(topic, Article(1, "before"))
            await publish_raw(
                bootstrap, topic, b"{not json", key=b"bad", headers={"x-request-id": "r-poison"}
            )
            await publisher.publish(topic, Article(2, "after"))
        with capture_logs() as lines:
            async with Consumer(
                kafka_settings,
                topics=topic,
                group_id=group_id,
                handler=handle,
                value_type=Article,
                metrics=metrics,
            ):
                await eventually(lambda: len(seen) >= 2, what="records around the poison")
                async with KafkaCapture(bootstrap, f"{topic}.dlq") as dlq:
                    [dead] = await dlq.wait_for(1)
        assert seen == [1, 2]
        [logged] = [x for x in lines if x["msg"] == "record dead-lettered"]
        assert logged["request_id"] == "r-poison"
        assert logged["error_type"] == "msgspec.DecodeError"
        assert dead.raw_value == b"{not json"
        assert dead.key == b"bad"
        assert dead.headers["x-request-id"] == "r-poison"
        assert dead.headers[news_kafka.DLQ_ORIGINAL_TOPIC] == topic
        assert dead.headers[news_kafka.DLQ_ORIGINAL_PARTITION] == "0"
        assert dead.headers[news_kafka.DLQ_ORIGINAL_OFFSET] == "1"
        assert dead.headers[news_kafka.DLQ_ERROR_TYPE] == "msgspec.DecodeError"
        assert "JSON" in dead.headers[news_kafka.DLQ_ERROR_MESSAGE]
        assert dead.headers[news_kafka.DLQ_GROUP] == group_id
        assert dead.headers[news_kafka.DLQ_ATTEMPTS] == "0"
        assert await committed(kafka_settings, group_id, topic) == {(topic, 0): 3}
        assert metrics.names("dead_lettered") == [("dead_lettered", topic, group_id)]

    async def test_handler_that_keeps_failing_is_dead_lettered_after_retries(
        self, kafka_settings, kafka_topic, eventually
    ):
        """A record failing every attempt goes to the DLQ after the policy; others continue."""
        topic = kafka_topic()
        bootstrap = kafka_settings.bootstrap_servers[0]
        attempts: dict[int, int] = {}
        handled: list[int] = []

        async def handle(message: Message[Article]) -> None:
            attempts[message.value.id] = attempts.get(message.value.id, 0) + 1
            if message.value.id == 13:
                raise LookupError("section 13 does not exist")
            handled.append(message.value.id)

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish_many(topic, [Article(i, "") for i in (12, 13, 14)])
        with capture_logs() as lines:
            async with Consumer(
                kafka_settings,
                topics=topic,
                group_id=group(topic),
                handler=handle,
                value_type=Article,
            ):
                await eventually(lambda: handled == [12, 14], what="12 and 14 handled")
                async with KafkaCapture(bootstrap, f"{topic}.dlq", value_type=Article) as dlq:
                    [dead] = await dlq.wait_for(1)
        assert attempts[13] == kafka_settings.consumer.retry.attempts == 3
        assert dead.value == Article(13, "")
        assert dead.headers[news_kafka.DLQ_ERROR_TYPE] == "LookupError"
        assert dead.headers[news_kafka.DLQ_ERROR_MESSAGE] == "section 13 does not exist"
        assert dead.headers[news_kafka.DLQ_ATTEMPTS] == "3"
        retries = [x for x in lines if x["msg"] == "handler failed; retrying"]
        assert [x["attempt"] for x in retries] == [1, 2]
        assert [x["msg"] for x in lines if x["msg"] == "record dead-lettered"]

    async def test_poison_record_error_skips_retries(self, kafka_settings, kafka_topic, eventually):
        """A handler raising PoisonRecordError dead-letters the record on the first attempt."""
        topic = kafka_topic()
        calls: list[int] = []

        async def handle(message: Message[bytes]) -> None:
            calls.append(message.offset)
            if message.value == b"reject":
                raise PoisonRecordError("rejected by business rule")

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish_many(topic, [b"reject", b"fine"])
        async with Consumer(kafka_settings, topics=topic, group_id=group(topic), handler=handle):
            await eventually(lambda: len(calls) >= 2, what="both records")
            async with KafkaCapture(kafka_settings.bootstrap_servers[0], f"{topic}.dlq") as dlq:
                [dead] = await dlq.wait_for(1)
        assert calls == [0, 1]
        assert dead.headers[news_kafka.DLQ_ERROR_TYPE] == "news_kafka.PoisonRecordError"
        assert dead.headers[news_kafka.DLQ_ATTEMPTS] == "1"

    async def test_hanging_handler_is_cancelled_and_retried(
        self, kafka_settings, kafka_topic, eventually
    ):
        """A handler past handler_timeout_ms is cancelled; the next attempt handles the record."""
        topic = kafka_topic()
        settings = with_consumer(kafka_settings, handler_timeout_ms=300)
        attempts: list[int] = []

        async def handle(message: Message[bytes]) -> None:
            attempts.append(message.offset)
            if len(attempts) == 1:
                await asyncio.sleep(3600)

        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"slow")
        with capture_logs() as lines:
            async with Consumer(settings, topics=topic, group_id=group(topic), handler=handle):
                await eventually(lambda: len(attempts) >= 2, what="second attempt")
        retry = next(x for x in lines if x["msg"] == "handler failed; retrying")
        assert "TimeoutError" in retry["error"]

    async def test_tombstones_reach_handlers_that_accept_none(
        self, kafka_settings, kafka_topic, eventually
    ):
        """A tombstone is handed over as None when the value type allows it."""
        topic = kafka_topic()
        seen: list[Article | None] = []

        async def handle(message: Message[Article | None]) -> None:
            seen.append(message.value)

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish(topic, Article(1, "x"), key="1")
            await publisher.publish(topic, None, key="1")
        async with Consumer(
            kafka_settings,
            topics=topic,
            group_id=group(topic),
            handler=handle,
            value_type=Article | None,  # type: ignore[arg-type]
        ):
            await eventually(lambda: len(seen) >= 2, what="both records")
        assert seen == [Article(1, "x"), None]


class TestSubscriptionAndLifecycle:
    async def test_pattern_subscription(self, kafka_settings, kafka_topic, eventually):
        """A consumer subscribed by pattern handles records of matching topics."""
        topic = kafka_topic(prefix="patterned")
        seen: list[bytes] = []

        async def handle(message: Message[bytes]) -> None:
            seen.append(message.value)

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish(topic, b"hello")
        async with Consumer(
            kafka_settings, pattern=f"^{topic}$", group_id=group(topic), handler=handle
        ):
            await eventually(lambda: len(seen) >= 1, what="pattern record")
        assert seen == [b"hello"]

    async def test_concurrent_stops_are_one_stop(self, kafka_settings, kafka_topic, eventually):
        """Two stop() calls at once both return after one clean shutdown."""
        topic = kafka_topic()

        async def handle(message: Message[bytes]) -> None:
            return None

        consumer = Consumer(kafka_settings, topics=topic, group_id=group(topic), handler=handle)
        await consumer.start()
        await eventually(lambda: consumer.assignment, what="assignment")
        await asyncio.gather(consumer.stop(), consumer.stop())
        assert not consumer.running
        await consumer.wait()

    async def test_stop_as_a_handler_finishes_does_not_hang(
        self, kafka_settings, kafka_topic, eventually
    ):
        """stop() returns when the last handler completes just as stop() ends the committer.

        The handler finishes after stop() began: its worker signals progress right before
        stop() cancels the committer (on Python 3.11 asyncio.wait_for swallowed that cancel
        and stop() waited for ever). The bound only turns a hang into a failure.
        """
        topic = kafka_topic()
        settings = with_consumer(kafka_settings, commit_interval_ms=0)
        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"x")
        for round_ in range(5):
            started = asyncio.Event()
            release = asyncio.Event()
            handled: list[int] = []

            async def handle(
                message: Message[bytes], started=started, release=release, handled=handled
            ) -> None:
                started.set()
                await release.wait()
                handled.append(message.offset)

            consumer = Consumer(settings, topics=topic, group_id=group(topic), handler=handle)
            await consumer.start()
            await asyncio.wait_for(started.wait(), 30)
            stopping = asyncio.ensure_future(consumer.stop())
            await eventually(lambda c=consumer: not c.running, what="stop begun")
            release.set()
            async with asyncio.timeout(20):
                await stopping
            assert handled == [0], f"round {round_}"
            offsets = await committed(settings, consumer.group_id, topic)
            assert offsets == {(topic, 0): 1}, f"round {round_}"

    async def test_stop_returns_when_a_handler_ignores_cancellation(
        self, kafka_settings, kafka_topic, eventually
    ):
        """A handler swallowing every cancellation is left running; stop() returns anyway."""
        topic = kafka_topic()
        settings = with_consumer(kafka_settings, stop_timeout_ms=200)
        started = asyncio.Event()
        released = False

        async def stubborn(message: Message[bytes]) -> None:
            started.set()
            while not released:
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    continue

        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"x")
        consumer = Consumer(settings, topics=topic, group_id=group(topic), handler=stubborn)
        await consumer.start()
        await asyncio.wait_for(started.wait(), 30)
        try:
            with capture_logs() as lines:
                async with asyncio.timeout(60):  # bounds a hang: stop() gives up after 10 s
                    await consumer.stop()
        finally:
            released = True
        assert not consumer.running
        assert any(x["msg"] == "consumer tasks ignored cancellation; left running" for x in lines)

    async def test_slow_handlers_keep_the_group_membership(
        self, kafka_settings, kafka_topic, eventually
    ):
        """Handlers slower than max_poll_interval in total do not get the member evicted."""
        topic = kafka_topic()
        settings = with_consumer(
            kafka_settings,
            max_poll_interval_ms=1500,
            handler_timeout_ms=1400,
            max_buffered_records=3,  # a full queue takes ~1.8 s: longer than max_poll_interval
            max_poll_records=3,
        )
        handled: list[int] = []

        async def slow(message: Message[bytes]) -> None:
            await asyncio.sleep(0.6)
            handled.append(message.offset)

        async with Publisher(settings) as publisher:
            await publisher.publish_many(topic, [b"a", b"b", b"c", b"d", b"e", b"f"])
        with capture_logs() as lines:
            async with Consumer(settings, topics=topic, group_id=group(topic), handler=slow):
                await eventually(lambda: len(handled) >= 6, timeout=30, what="6 slow records")
        assert handled == [0, 1, 2, 3, 4, 5]
        revoked = [x for x in lines if x["msg"] == "partitions revoked"]
        assert len(revoked) <= 1  # only the final leave at stop, no eviction meanwhile
