"""KafkaSettings.metrics: news-metrics' KafkaMetrics by default, read from its registry."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import textwrap

import msgspec
import pytest

from news_kafka import (
    Consumer,
    KafkaSettings,
    Message,
    NoopMetrics,
    PoisonRecordError,
    ProducerRecord,
    Publisher,
)
from news_metrics.testing import sample_value

_groups = itertools.count()


def group(topic: str) -> str:
    """Return a fresh consumer group name for a topic."""
    return f"{topic}-m{next(_groups)}"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (this environment) and return the finished process."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


class TestDefaultHook:
    async def test_publisher_counts_into_news_metrics_without_a_hook(
        self, kafka_settings, kafka_topic
    ):
        """With no metrics= and metrics="auto", published records show in news-metrics."""
        topic = kafka_topic()
        async with Publisher(kafka_settings) as publisher:
            await publisher.publish(topic, b"one")
            await publisher.publish_many(topic, [b"two", b"three"])
            await publisher.send(topic, b"four")
            await publisher.flush()
        assert sample_value("kafka_messages_published_total", {"topic": topic}) == 4

    async def test_consumer_counts_consumed_failed_dead_lettered_and_durations(
        self, kafka_settings, kafka_topic, eventually
    ):
        """Handled, failed and dead-lettered records and handler durations reach news-metrics."""
        topic = kafka_topic()
        seen: list[bytes] = []

        async def handle(message: Message[bytes]) -> None:
            seen.append(message.value)
            if message.value == b"bad":
                raise PoisonRecordError("not an article")

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish_many(topic, [b"a", b"bad", b"b"])
        gid = group(topic)
        labels = {"topic": topic, "group": gid}
        async with Consumer(kafka_settings, topics=topic, group_id=gid, handler=handle):
            await eventually(lambda: len(seen) >= 3, what="3 records")
            await eventually(
                lambda: sample_value("kafka_messages_dead_lettered_total", labels) == 1,
                what="the dead letter counted",
            )
        assert sample_value("kafka_messages_consumed_total", labels) == 2
        assert sample_value("kafka_handler_duration_seconds_count", labels) == 2
        errors = {**labels, "error_type": "PoisonRecordError"}
        assert sample_value("kafka_handler_errors_total", errors) == 1
        # the consumer's own dead-letter publisher counts with the same hook
        assert sample_value("kafka_messages_published_total", {"topic": f"{topic}.dlq"}) == 1

    async def test_consumer_reports_lag_per_partition(
        self, kafka_settings, kafka_topic, eventually
    ):
        """kafka_consumer_lag{topic,partition,group} shows records not yet handled, then 0."""
        topic = kafka_topic(partitions=2)
        release = asyncio.Event()

        async def handle(message: Message[bytes]) -> None:
            if message.partition == 0:
                await release.wait()

        async with Publisher(kafka_settings) as publisher:
            await publisher.publish_many(
                topic,
                [ProducerRecord(value=b"x", partition=0)] * 5
                + [ProducerRecord(value=b"y", partition=1)] * 3,
            )
        gid = group(topic)

        def lag(partition: int) -> float | None:
            return sample_value(
                "kafka_consumer_lag", {"topic": topic, "partition": str(partition), "group": gid}
            )

        async with Consumer(kafka_settings, topics=topic, group_id=gid, handler=handle):
            await eventually(lambda: lag(0) == 5, what="lag 5 on the blocked partition")
            await eventually(lambda: lag(1) == 0, what="lag 0 on the flowing partition")
            release.set()
            await eventually(lambda: lag(0) == 0, what="lag 0 once released")

    async def test_off_records_nothing(self, kafka_settings, kafka_topic):
        """metrics="off" (or metrics=NoopMetrics()) leaves news-metrics untouched."""
        topic = kafka_topic()
        off = msgspec.structs.replace(kafka_settings, metrics="off")
        async with Publisher(off) as publisher:
            await publisher.publish(topic, b"one")
        async with Publisher(kafka_settings, metrics=NoopMetrics()) as publisher:
            await publisher.publish(topic, b"two")
        assert sample_value("kafka_messages_published_total", {"topic": topic}) is None


class TestWithoutNewsMetrics:
    def test_on_without_news_metrics_names_the_extra(self):
        """metrics="on" with news-metrics missing raises KafkaConfigError naming the extra."""
        done = run_python(
            """
            import sys
            sys.modules["news_metrics"] = None  # as if not installed
            import news_kafka
            settings = news_kafka.KafkaSettings(metrics="on")
            try:
                news_kafka.Publisher(settings)
            except news_kafka.KafkaConfigError as exc:
                print(exc)
                raise SystemExit(3)
            """
        )
        assert done.returncode == 3, done.stderr
        assert 'pip install "news-kafka[metrics]"' in done.stdout

    def test_auto_without_news_metrics_runs_without_metrics(self):
        """metrics="auto" with news-metrics missing builds publishers and consumers as usual."""
        done = run_python(
            """
            import sys
            sys.modules["news_metrics"] = None  # as if not installed
            import news_kafka

            async def handle(message):
                pass

            news_kafka.Publisher(news_kafka.KafkaSettings())
            settings = news_kafka.KafkaSettings()
            news_kafka.Consumer(settings, topics="t", group_id="g", handler=handle)
            print("built")
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "built"

    def test_import_news_kafka_does_not_import_news_metrics(self):
        """news-metrics is imported when a Publisher/Consumer is built, not by the import."""
        done = run_python(
            """
            import sys
            import news_kafka
            print("news_metrics" in sys.modules, "prometheus_client" in sys.modules)
            news_kafka.Publisher(news_kafka.KafkaSettings())
            print("news_metrics" in sys.modules)
            """
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["False", "False", "True"]


class TestSettings:
    def test_metrics_accepts_auto_on_off_only(self):
        """The metrics setting is one of auto, on, off (auto by default)."""
        assert KafkaSettings().metrics == "auto"
        assert msgspec.convert({"metrics": "on"}, KafkaSettings).metrics == "on"
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({"metrics": "yes"}, KafkaSettings)
