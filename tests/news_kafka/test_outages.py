"""A publisher facing a dead broker: deadlines, failing fast, recovering (private brokers)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

import news_kafka
from news_kafka import BrokerUnavailableError, Publisher, PublishError, TopicSpec, ensure_topics
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
            meta = await publisher.publish(topic, b"after", timeout=60)
        assert (meta.topic, meta.partition) == (topic, 0)

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
