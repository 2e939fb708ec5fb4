"""news_kafka.health: broker readiness and consumer liveness checks on news-health."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import textwrap

import pytest
from aiokafka import AIOKafkaConsumer

import news_health
from news_kafka import Consumer, KafkaConfigError, Message, Publisher
from news_kafka.health import BrokerCheck, broker_check, consumer_check, register_health
from news_testing import kafka_test_settings

_groups = itertools.count()


def group(topic: str) -> str:
    """Return a fresh consumer group name for a topic."""
    return f"{topic}-h{next(_groups)}"


async def ignore(message: Message[bytes]) -> None:
    """A handler that does nothing."""


def registry() -> news_health.HealthRegistry:
    """A registry without the event-loop check (the tests look at Kafka's checks only)."""
    made = news_health.HealthRegistry(
        news_health.HealthSettings(loop_lag_threshold=None, default_cache_ttl=0.0)
    )
    made.mark_started()
    return made


class TestBrokerCheck:
    async def test_passes_against_a_running_broker_and_reuses_its_client(self, kafka_settings):
        """A metadata request answers: pass, with the broker count; later calls pass too."""
        check = broker_check(kafka_settings, timeout=5.0)
        try:
            results = [await check() for _ in range(3)]
        finally:
            await check.aclose()
        assert [r.status for r in results] == [news_health.Status.PASS] * 3
        assert results[0].output == "1 broker(s)"
        assert results[0].observed_unit == "ms"

    async def test_fails_within_its_timeout_when_the_broker_stops_then_recovers(
        self, kafka_private_broker
    ):
        """Broker stopped: the check fails (bounded by its timeout); back up: it passes again."""
        settings = kafka_test_settings(kafka_private_broker.bootstrap)
        check = broker_check(settings, timeout=1.0)
        try:
            assert (await check()).status == news_health.Status.PASS
            await asyncio.to_thread(kafka_private_broker.stop)
            async with asyncio.timeout(10):  # bounds a hang; the check's own limit is 1 s
                down = await check()
            assert down.status == news_health.Status.FAIL
            assert kafka_private_broker.bootstrap in (down.output or "")
            await asyncio.to_thread(kafka_private_broker.start)
            async with asyncio.timeout(30):
                while (await check()).status != news_health.Status.PASS:
                    await asyncio.sleep(0.1)
        finally:
            await check.aclose()

    async def test_fails_when_nothing_listens(self):
        """A bootstrap address nobody listens on fails the check, not raises."""
        from news_testing.kafka import free_port

        check = broker_check(kafka_test_settings(f"127.0.0.1:{free_port()}"), timeout=1.0)
        async with asyncio.timeout(10):
            result = await check()
        await check.aclose()
        assert result.status == news_health.Status.FAIL

    def test_timeout_must_be_positive(self, kafka_settings):
        """A zero timeout is a configuration error."""
        with pytest.raises(KafkaConfigError, match="timeout"):
            broker_check(kafka_settings, timeout=0)


class TestConsumerCheck:
    async def test_running_consumer_passes_and_stopped_one_passes_as_stopped(
        self, kafka_settings, kafka_topic, eventually
    ):
        """A polling consumer is live; after stop() it reports 'stopped' and still passes."""
        topic = kafka_topic()
        consumer = Consumer(kafka_settings, topics=topic, group_id=group(topic), handler=ignore)
        check = consumer_check(consumer, max_silence=5.0)
        assert (await check()).output == "not started yet"
        async with consumer:
            await eventually(lambda: consumer.last_poll_monotonic > 0, what="a poll")
            live = await check()
            assert live.status == news_health.Status.PASS
        stopped = await check()
        assert (stopped.status, stopped.output) == (news_health.Status.PASS, "stopped")

    async def test_consumer_that_stops_polling_fails_liveness(
        self, kafka_settings, kafka_topic, eventually, monkeypatch
    ):
        """A hanging aiokafka fetch (member still in the group) fails the check."""
        topic = kafka_topic()
        consumer = Consumer(kafka_settings, topics=topic, group_id=group(topic), handler=ignore)
        check = consumer_check(consumer, max_silence=1.0)
        async with consumer:
            await eventually(lambda: consumer.assignment, what="assignment")
            assert (await check()).status == news_health.Status.PASS

            async def hang(self, *partitions, timeout_ms=0, max_records=None):
                await asyncio.Event().wait()

            monkeypatch.setattr(AIOKafkaConsumer, "getmany", hang)

            async def failing() -> bool:
                return (await check()).status == news_health.Status.FAIL

            await eventually(failing, what="liveness failure")
            result = await check()
            assert consumer.running
            assert "has not polled" in (result.output or "")

    async def test_consumer_never_started_fails_after_the_startup_grace(
        self, kafka_settings, eventually
    ):
        """Before its first poll a consumer passes; past the startup grace it fails."""
        consumer = Consumer(kafka_settings, topics="nowhere", group_id="g", handler=ignore)
        check = consumer_check(consumer, startup_grace=0.3)
        assert (await check()).status == news_health.Status.PASS

        async def failing() -> bool:
            return (await check()).status == news_health.Status.FAIL

        await eventually(failing, what="failure after the grace")
        assert "not started" in ((await check()).output or "")

    async def test_quiet_partitions_fail_only_with_max_fetch_silence(
        self, kafka_settings, kafka_topic, eventually
    ):
        """With max_fetch_silence, an assigned consumer that fetches nothing fails."""
        topic = kafka_topic()
        consumer = Consumer(kafka_settings, topics=topic, group_id=group(topic), handler=ignore)
        quiet = consumer_check(consumer, max_fetch_silence=0.5)
        relaxed = consumer_check(consumer)
        async with consumer:
            await eventually(lambda: consumer.assignment, what="assignment")

            async def failing() -> bool:
                return (await quiet()).status == news_health.Status.FAIL

            await eventually(failing, what="quiet failure")
            assert (await relaxed()).status == news_health.Status.PASS
            async with Publisher(kafka_settings) as publisher:
                await publisher.publish(topic, b"x")
            await eventually(lambda: consumer.last_fetch_monotonic > 0, what="a fetch")
            assert (await quiet()).status == news_health.Status.PASS


class TestRegisterHealth:
    async def test_adds_readiness_and_liveness_checks(self, kafka_private_broker):
        """Readiness gets 'kafka', liveness one check per consumer; a broker outage fails it."""
        settings = kafka_test_settings(kafka_private_broker.bootstrap)
        reg = registry()
        consumer = Consumer(settings, topics="articles", group_id="indexer", handler=ignore)
        broker = register_health(reg, settings=settings, consumers=[consumer], timeout=1.0)
        try:
            assert isinstance(broker, BrokerCheck)
            assert reg.names("readiness") == ["kafka"]
            assert "kafka-consumer:indexer" in reg.names("liveness")
            ready = await reg.check_readiness()
            assert ready.ok, ready.to_dict()
            live = await reg.check_liveness()
            assert live.ok, live.to_dict()
            await asyncio.to_thread(kafka_private_broker.stop)
            async with asyncio.timeout(10):
                down = await reg.check_readiness()
            assert down.failing == ["kafka"]
            assert down.http_status == 503
        finally:
            await broker.aclose()

    async def test_non_critical_broker_only_warns(self, kafka_private_broker):
        """critical=False: a broker outage makes readiness warn (HTTP 200), not fail."""
        settings = kafka_test_settings(kafka_private_broker.bootstrap)
        reg = registry()
        broker = register_health(reg, settings=settings, critical=False, timeout=1.0)
        try:
            await asyncio.to_thread(kafka_private_broker.stop)
            report = await reg.check_readiness()
            assert report.status == news_health.Status.WARN
            assert report.http_status == 200
        finally:
            await broker.aclose()


class TestOptionalDependency:
    def test_import_without_news_health_names_the_extra(self):
        """Without news-health, importing news_kafka.health says which extra to install."""
        code = textwrap.dedent(
            """
            import sys
            sys.modules["news_health"] = None  # as if not installed
            import news_kafka  # fine without it
            try:
                import news_kafka.health
            except ModuleNotFoundError as exc:
                print(exc.name, exc)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == (
            'news_health news_kafka.health needs news-health: pip install "news-kafka[health]"'
        )
