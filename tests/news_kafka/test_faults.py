"""Publisher and consumer when the broker goes away (a private broker per test)."""

from __future__ import annotations

import asyncio
import time

import msgspec
import pytest

import news_kafka
from news_kafka import Publisher, TopicSpec, ensure_topics
from news_log.testing import capture_logs
from news_testing import KafkaCapture, kafka_test_settings


def fault_settings(
    bootstrap: str, *, attempts: int, request_timeout_ms: int = 1000, backoff_ms: float = 100
):
    """Return test settings with a given publish retry policy."""
    base = kafka_test_settings(bootstrap)
    return msgspec.structs.replace(
        base,
        producer=msgspec.structs.replace(
            base.producer,
            request_timeout_ms=request_timeout_ms,
            retry=news_kafka.RetryPolicy(
                attempts=attempts,
                backoff_base_ms=backoff_ms,
                backoff_max_ms=max(400, backoff_ms),
                jitter=0.2 if backoff_ms < 1000 else 0.0,
            ),
        ),
    )


class TestBrokerRestart:
    async def test_publish_retries_through_a_restart_then_succeeds(self, kafka_private_broker):
        """A publish during a broker outage is retried and lands once the broker is back."""
        # A fixed 3 s backoff: the broker is restarted and the topic re-created (Tansu comes
        # back empty) while the publisher waits for its second attempt. Tansu acknowledges
        # produce requests for topics it does not have (the records vanish), so the topic
        # must exist again before the retry.
        settings = fault_settings(
            kafka_private_broker.bootstrap, attempts=4, request_timeout_ms=500, backoff_ms=3000
        )
        topic = "restart-articles"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        async with Publisher(settings) as publisher:
            before = await publisher.publish(topic, b"before")
            kafka_private_broker.stop()
            with capture_logs() as lines:
                pending = asyncio.ensure_future(publisher.publish(topic, b"during", key="k"))
                deadline = time.monotonic() + 30
                while not any(x["msg"] == "publish retry" for x in lines):
                    assert time.monotonic() < deadline, "no retry while the broker was down"
                    await asyncio.sleep(0.01)
                await asyncio.to_thread(kafka_private_broker.start)
                await ensure_topics(settings, [TopicSpec(topic, 1)])
                assert not pending.done(), "delivered before the topic was re-created"
                meta = await asyncio.wait_for(pending, 60)
            retries = [x for x in lines if x["msg"] == "publish retry"]
        assert before.offset == 0
        assert (meta.topic, meta.partition, meta.offset) == (topic, 0, 0)
        assert retries[0]["topic"] == topic
        assert retries[0]["key"] == "k"
        assert retries[0]["attempt"] == 1
        async with KafkaCapture(kafka_private_broker.bootstrap, topic) as capture:
            [record] = await capture.wait_for(1)
        assert (record.raw_value, record.key) == (b"during", b"k")

    async def test_exhausted_policy_raises_publish_error(self, kafka_private_broker):
        """With the broker gone, publish gives up after the policy's attempts, naming them."""
        settings = fault_settings(
            kafka_private_broker.bootstrap, attempts=2, request_timeout_ms=500
        )
        topic = "doomed"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        publisher = Publisher(settings)
        await publisher.start()
        await publisher.publish(topic, b"ok")
        kafka_private_broker.stop()
        started = time.monotonic()
        with pytest.raises(news_kafka.PublishError) as info:
            await publisher.publish(topic, b"lost", key="article-1")
        elapsed = time.monotonic() - started
        await publisher.stop(timeout=2)
        error = info.value
        assert (error.topic, error.key, error.attempts) == (topic, b"article-1", 2)
        assert "retries exhausted" in str(error)
        assert error.__cause__ is not None
        assert elapsed < 20

    async def test_close_is_bounded_when_the_broker_is_gone(self, kafka_private_broker):
        """stop(timeout) returns in time and reports the records it could not deliver."""
        settings = fault_settings(kafka_private_broker.bootstrap, attempts=50)
        topic = "unflushed"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        publisher = Publisher(settings)
        await publisher.start()
        await publisher.publish(topic, b"ok")
        kafka_private_broker.stop()
        with capture_logs() as lines:
            await publisher.send(topic, b"stuck", key="s")
            started = time.monotonic()
            await publisher.stop(timeout=1.0)
            elapsed = time.monotonic() - started
        assert elapsed < 8
        failed = [x for x in lines if x["msg"] == "publish failed"]
        assert [(x["topic"], x["key"]) for x in failed] == [(topic, "s")]
        assert any(x["msg"] == "publisher close timed out; undelivered records fail" for x in lines)

    async def test_flush_raises_when_a_queued_record_fails(self, kafka_private_broker, metrics):
        """A sent record that exhausts its retries makes flush() raise PublishError."""
        settings = fault_settings(
            kafka_private_broker.bootstrap, attempts=2, request_timeout_ms=500
        )
        topic = "flush-fails"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        async with Publisher(settings, metrics=metrics) as publisher:
            await publisher.publish(topic, b"ok")
            kafka_private_broker.stop()
            await publisher.send(topic, b"lost", key="gone")
            with pytest.raises(news_kafka.PublishError, match="1 queued record") as info:
                await publisher.flush(timeout=30)
            assert (info.value.topic, info.value.key, info.value.attempts) == (topic, b"gone", 2)
            await publisher.flush(timeout=1)  # reported once
        assert [c[1] for c in metrics.names("publish_failed")] == [topic]

    async def test_consumer_resumes_after_a_restart(self, kafka_private_broker, eventually):
        """A consumer keeps its health signals and handles records again after a restart."""
        settings = fault_settings(kafka_private_broker.bootstrap, attempts=30)
        topic = "resume"
        await ensure_topics(settings, [TopicSpec(topic, 1)])
        seen: list[bytes] = []

        async def handle(message: news_kafka.Message[bytes]) -> None:
            seen.append(message.value)

        consumer = news_kafka.Consumer(settings, topics=topic, group_id="resume-g", handler=handle)
        async with consumer, Publisher(settings) as publisher:
            await publisher.publish(topic, b"one")
            await eventually(lambda: seen == [b"one"], what="first record")
            fetched = consumer.last_fetch_monotonic
            kafka_private_broker.stop()
            await asyncio.sleep(0.5)
            assert consumer.running
            await asyncio.to_thread(kafka_private_broker.start)
            await ensure_topics(settings, [TopicSpec(topic, 1)])
            # The broker came back empty: offsets start at 0 again, while the consumer's
            # position is 1. Whether it keeps it or resets to the start depends on when it
            # fetches again; with "two" at offset 1 it is handled either way.
            await publisher.publish(topic, b"pad")
            await publisher.publish(topic, b"two")
            await eventually(lambda: b"two" in seen, timeout=60, what="record after restart")
            assert consumer.last_fetch_monotonic > fetched


class TestBrokerKilled:
    async def test_stop_ends_after_the_broker_was_killed(self, kafka_private_broker, eventually):
        """After a SIGKILLed broker, both stop()s return, log what they gave up, fail waiters."""
        settings = fault_settings(kafka_private_broker.bootstrap, attempts=50)
        topic = "killed"
        await ensure_topics(settings, [TopicSpec(topic, 3)])
        seen: list[int] = []

        async def handle(message: news_kafka.Message[bytes]) -> None:
            seen.append(message.offset)

        consumer = news_kafka.Consumer(settings, topics=topic, group_id="killed-g", handler=handle)
        publisher = Publisher(settings)
        await publisher.start()
        await consumer.start()
        for _ in range(3):
            await publisher.publish(topic, b"before", key="k")
        await eventually(lambda: len(seen) == 3, what="records handled")
        kafka_private_broker.kill()
        await asyncio.sleep(3)  # aiokafka notices: fetches and heartbeats fail
        with capture_logs() as lines:
            await publisher.send(topic, b"queued", key="q")
            waiting = asyncio.ensure_future(publisher.publish(topic, b"waiting", key="w"))
            await asyncio.sleep(0.2)
            # A hang guard only: a stop that never returns fails here rather than hanging.
            first, second = await asyncio.wait_for(
                asyncio.gather(consumer.stop(timeout=2), consumer.stop(timeout=2)), 120
            )
            await asyncio.wait_for(publisher.stop(timeout=1), 120)
            with pytest.raises(news_kafka.PublishError):
                await asyncio.wait_for(waiting, 5)
        assert (first, second) == (None, None)
        assert not consumer.running
        assert not publisher.running
        messages = [line["msg"] for line in lines]
        assert "consumer stopped" in messages
        failed = [x for x in lines if x["msg"] == "publish failed"]
        assert sorted(x["key"] for x in failed) == ["q", "w"]
        given_up = [x for x in lines if x.get("gave_up")]
        assert given_up, messages  # what stop() gave up on is said in the log
