"""A publisher facing a dead broker: deadlines, failing fast, recovering (private brokers)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from typing import Any

import msgspec
import pytest

import news_kafka
import news_log
from news_kafka import BrokerUnavailableError, Publisher, PublishError, TopicSpec, ensure_topics
from news_log.testing import capture_logs
from news_testing import kafka_test_settings


def outage_settings(
    bootstrap: str, *, fail_fast_after: float | None, probe_interval: float = 0.2
) -> news_kafka.KafkaSettings:
    """Test settings whose retry policy alone would wait for ever (1000 attempts, 10 s each)."""
    base = kafka_test_settings(bootstrap)
    return msgspec.structs.replace(
        base,
        producer=msgspec.structs.replace(
            base.producer,
            request_timeout_ms=10_000,
            fail_fast_after=fail_fast_after,
            probe_interval=probe_interval,
            retry=news_kafka.RetryPolicy(attempts=1000, backoff_base_ms=50, backoff_max_ms=200),
        ),
    )


class TestDeadline:
    async def test_publish_timeout_bounds_every_attempt(self, kafka_private_broker):
        """publish(timeout=) gives up when its timeout is reached, attempts left or not."""
        settings = outage_settings(kafka_private_broker.bootstrap, fail_fast_after=None)
        topic = "deadline"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"ok")
            kafka_private_broker.kill()
            with pytest.raises(PublishError) as info:
                # the hang guard is far above the timeout: only a deadline that works passes
                await asyncio.wait_for(publisher.publish(topic, b"late", key="k", timeout=1), 60)
        error = info.value
        assert "timeout reached" in str(error)
        assert not isinstance(error, BrokerUnavailableError)
        assert (error.topic, error.key) == (topic, b"k")
        assert 1 <= error.attempts < 1000

    async def test_send_and_publish_many_timeouts_bound_their_attempts(self, kafka_private_broker):
        """send(timeout=) fails in flush(), publish_many(timeout=) raises, once the time is up."""
        settings = outage_settings(kafka_private_broker.bootstrap, fail_fast_after=None)
        topic = "deadline-many"
        await ensure_topics(settings, [TopicSpec(topic, 2)])
        async with Publisher(settings) as publisher:
            await publisher.publish_many(topic, [b"ok-1", b"ok-2"])
            kafka_private_broker.kill()
            with pytest.raises(PublishError) as many:
                await asyncio.wait_for(publisher.publish_many(topic, [b"a", b"b"], timeout=1), 60)
            await publisher.send(topic, b"queued", key="q", timeout=1)
            with pytest.raises(PublishError) as flushed:
                await asyncio.wait_for(publisher.flush(), 60)
        assert "timeout reached" in str(many.value)
        assert many.value.topic == topic
        assert "timeout reached" in str(flushed.value.__cause__)
        assert flushed.value.key == b"q"

    async def test_timeout_must_be_positive(self):
        """A timeout of zero or less is a configuration error, not a silent instant failure."""
        with pytest.raises(news_kafka.KafkaConfigError, match="timeout must be > 0"):
            await Publisher().publish("articles", b"x", timeout=0)


class TestFailFast:
    async def test_waiting_publishes_fail_new_ones_refused_then_it_recovers(
        self, kafka_private_broker, eventually
    ):
        """100 waiting publishes fail together, new ones at once, and publishing resumes."""
        settings = outage_settings(kafka_private_broker.bootstrap, fail_fast_after=1.0)
        topic = "fail-fast"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"ok")
            kafka_private_broker.kill()
            waiting = [
                asyncio.ensure_future(publisher.publish(topic, b"w", key=str(i), timeout=300))
                for i in range(100)
            ]
            # A hang guard far below their own 300 s budget: only failing fast passes.
            results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 120)
            assert [type(result) for result in results] == [BrokerUnavailableError] * 100
            assert publisher.failing_fast
            with pytest.raises(BrokerUnavailableError) as refused:
                await publisher.publish(topic, b"new", key="n", timeout=300)
            assert refused.value.attempts == 0  # refused without trying
            assert "unreachable" in str(refused.value)
            assert "resumes by itself" in str(refused.value)
            with pytest.raises(BrokerUnavailableError):
                await publisher.send(topic, b"new")
            with pytest.raises(BrokerUnavailableError):
                await publisher.publish_many(topic, [b"new"])

            await asyncio.to_thread(kafka_private_broker.start)  # back, and empty
            await ensure_topics(settings, [TopicSpec(topic, 1)])
            await eventually(lambda: not publisher.failing_fast, timeout=60, what="recovery")
            meta = await asyncio.wait_for(_publish_when_back(publisher, topic), 60)
        assert (meta.topic, meta.partition) == (topic, 0)

    async def test_callers_with_short_budgets_one_after_another_still_make_it_fail_fast(
        self, kafka_private_broker
    ):
        """Publishes that give up before fail_fast_after, one at a time, lead to failing fast.

        An HTTP handler's budget (the newsroom: 5 s) is often no longer than fail_fast_after:
        each call times out before the probes have failed long enough. Probing goes on between
        the calls, so the next calls are refused at once instead of each waiting its budget.
        """
        settings = outage_settings(kafka_private_broker.bootstrap, fail_fast_after=1.0)
        topic = "fail-fast-short-budgets"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"ok")
            kafka_private_broker.kill()
            errors: list[PublishError] = []
            for n in range(40):  # each waits at most 0.5 s: a 20 s guard in all
                try:
                    await publisher.publish(topic, b"x", key=str(n), timeout=0.5)
                except PublishError as exc:
                    errors.append(exc)
                    if isinstance(exc, BrokerUnavailableError):
                        break
            assert isinstance(errors[-1], BrokerUnavailableError), errors[-1]
            assert "timeout reached" in str(errors[0])
            assert publisher.failing_fast
            await asyncio.to_thread(kafka_private_broker.start)
            await ensure_topics(settings, [TopicSpec(topic, 1)])
            meta = await asyncio.wait_for(_publish_when_back(publisher, topic), 60)
        assert meta.topic == topic

    async def test_queued_records_fail_when_it_starts_failing_fast(self, kafka_private_broker):
        """Records queued by send() are given up (reported by flush) when failing fast begins."""
        settings = outage_settings(kafka_private_broker.bootstrap, fail_fast_after=0.5)
        topic = "fail-fast-queued"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"ok")
            kafka_private_broker.kill()
            for i in range(10):
                await publisher.send(topic, b"q", key=f"q{i}")
            with pytest.raises(PublishError, match="10 queued record") as info:
                await asyncio.wait_for(publisher.flush(), 120)
        assert isinstance(info.value.__cause__, BrokerUnavailableError)


async def _publish_when_back(publisher: Publisher, topic: str) -> news_kafka.RecordMetadata:
    """Publish until the broker takes the record.

    Refused while failing fast; and Tansu, back empty, may refuse the first batches
    (``UnknownError``: its storage still holds a batch at offset 0 of the old topic).
    """
    while True:
        try:
            return await publisher.publish(topic, b"after", timeout=5)
        except PublishError:
            await asyncio.sleep(0.1)


async def _outage_lines(
    publisher: Publisher, topic: str, seconds: float, repeat_interval: float
) -> tuple[list[dict[str, Any]], float, int]:
    """Publish through a dead broker for ``seconds``; the lines logged, the time, the publishes."""
    news_log.setup(news_log.LogSettings(format="json", repeat_interval=repeat_interval))
    publishes = 0
    with capture_logs("info") as lines:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            publishes += 1
            with contextlib.suppress(PublishError):
                await publisher.publish(topic, b"x", timeout=0.5)
            await asyncio.sleep(0.01)
        elapsed = time.monotonic() - started
    return list(lines), elapsed, publishes


class TestOutageLogs:
    async def test_repeated_errors_are_logged_at_a_bounded_rate(
        self, kafka_private_broker, eventually
    ):
        """A dead broker: aiokafka's and the refusals' repeats once per interval, with counts."""
        settings = outage_settings(kafka_private_broker.bootstrap, fail_fast_after=0.5)
        topic = "outage-logs"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        handled: list[bytes] = []

        async def handle(message: news_kafka.Message[bytes]) -> None:
            handled.append(message.value)

        consumer = news_kafka.Consumer(settings, topics=topic, group_id="outage-g", handler=handle)
        try:
            async with consumer, Publisher(settings) as publisher:
                await publisher.publish(topic, b"ok")
                await eventually(lambda: handled == [b"ok"], what="the consumer's first record")
                kafka_private_broker.kill()
                # The same outage, side by side: first with no limit, then limited every 2 s.
                flood, _, _ = await _outage_lines(publisher, topic, 3.0, repeat_interval=0)
                lines, elapsed, publishes = await _outage_lines(
                    publisher, topic, 6.0, repeat_interval=2.0
                )
        finally:
            news_log.setup(news_log.LogSettings(format="json"))

        def kinds(found: list[dict[str, Any]], prefix: str) -> Counter[tuple[str, str, str]]:
            return Counter(
                (x["logger"], x["level"], x["msg"]) for x in found if x["logger"].startswith(prefix)
            )

        unlimited = kinds(flood, "aiokafka")
        limited = kinds(lines, "aiokafka")
        print(  # the figures for docs and changelogs (pytest -s)
            f"\naiokafka lines: unlimited {sum(unlimited.values())} in 3 s "
            f"({len(unlimited)} kinds), limited {sum(limited.values())} in {elapsed:.1f} s "
            f"({len(limited)} kinds); {publishes} publishes"
        )
        bound = math.ceil(elapsed / 2.0) + 1  # the first line, then one per interval
        assert max(unlimited.values()) > bound, unlimited  # a flood the limit has to hold back
        assert limited, "aiokafka logged nothing during the outage"
        assert max(limited.values()) <= bound, limited
        counts = [x["suppressed"] for x in lines if x["logger"].startswith("aiokafka")]
        assert max(counts) > 0, counts  # a line after the first says how many were left out
        refusals = [x for x in lines if x["msg"] == "publish failed"]
        assert publishes > bound
        assert 1 <= len(refusals) <= bound, [x["suppressed"] for x in refusals]
        assert refusals[0]["topic"] == topic
        assert refusals[0]["error_type"] == "BrokerUnavailableError"


class TestHealthChecks:
    async def test_publisher_check_follows_the_broker(self, kafka_private_broker):
        """The publisher's readiness check passes with the broker and fails without it."""
        settings = outage_settings(kafka_private_broker.bootstrap, fail_fast_after=None)
        publisher = Publisher(settings)
        assert publisher.health_name == "kafka-publisher"
        with pytest.raises(news_kafka.PublisherClosedError):
            await publisher.health_check()
        async with publisher:
            assert await publisher.health_check() == "1 broker(s)"
            kafka_private_broker.kill()
            with pytest.raises(BrokerUnavailableError, match="no Kafka broker"):
                await asyncio.wait_for(publisher.health_check(), 30)

    async def test_consumer_check_passes_while_it_runs(self, kafka_settings, kafka_topic):
        """The consumer's readiness check passes while it runs and fails once it stopped."""
        topic = kafka_topic()

        async def handle(message: news_kafka.Message[bytes]) -> None:
            return None

        consumer = news_kafka.Consumer(
            kafka_settings, topics=topic, group_id=f"{topic}-g", handler=handle
        )
        assert consumer.health_name == f"kafka-consumer:{topic}-g"
        async with consumer:
            assert (await consumer.health_check()).endswith("partition(s)")
        with pytest.raises(news_kafka.ConsumerError, match="not running"):
            await consumer.health_check()
