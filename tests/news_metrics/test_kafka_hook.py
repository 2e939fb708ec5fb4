"""KafkaMetrics: the news-kafka hook records publish, consume, handler, DLQ and lag families."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import news_metrics


@runtime_checkable
class KafkaMetricsHook(Protocol):
    """news-kafka's hook protocol, as agreed in the team brief."""

    def published(self, topic: str, n: int) -> None:
        """Hook method."""

    def publish_failed(self, topic: str, error_type: str) -> None:
        """Hook method."""

    def consumed(self, topic: str, group: str) -> None:
        """Hook method."""

    def handler_failed(self, topic: str, group: str, error_type: str) -> None:
        """Hook method."""

    def dead_lettered(self, topic: str, group: str) -> None:
        """Hook method."""

    def handler_duration(self, topic: str, group: str, seconds: float) -> None:
        """Hook method."""

    def lag(self, topic: str, partition: int, group: str, lag: int) -> None:
        """Hook method."""


class TestKafkaMetrics:
    def test_a_metric_name_clash_is_logged_once_and_messages_go_on(self, registry, logged):
        """A registry that already has a Kafka family name: logged once per label set, no raise."""
        from prometheus_client import Counter

        Counter("kafka_messages_consumed_total", "someone else's", registry=registry)
        hook = news_metrics.KafkaMetrics(registry=registry)
        for _ in range(3):
            hook.consumed("articles", "indexer")
            hook.handler_duration("articles", "indexer", 0.1)
            hook.published("articles", 1)
        errors = logged.messages()
        assert errors == [
            "news_metrics: cannot record Kafka consumer metrics for 'articles'",
            "news_metrics: cannot count Kafka messages published to 'articles'",
        ]

    def test_satisfies_the_news_kafka_hook_protocol(self, registry):
        """A KafkaMetrics instance is structurally a news-kafka KafkaMetricsHook."""
        hook: KafkaMetricsHook = news_metrics.KafkaMetrics(registry=registry)
        assert isinstance(hook, KafkaMetricsHook)

    def test_publishing_counts_messages_and_errors(self, registry, recorder_path):
        """Publishing adds n per topic; publish_failed counts by topic and error type."""
        hook = news_metrics.KafkaMetrics(registry=registry)
        hook.published("articles", 3)
        hook.published("articles", 2)
        hook.published("articles", 0)
        hook.published("comments", 1)
        hook.publish_failed("articles", "KafkaTimeoutError")
        hook.publish_failed("articles", "KafkaTimeoutError")
        get = registry.get_sample_value
        assert get("kafka_messages_published_total", {"topic": "articles"}) == 5
        assert get("kafka_messages_published_total", {"topic": "comments"}) == 1
        labels = {"topic": "articles", "error_type": "KafkaTimeoutError"}
        assert get("kafka_publish_errors_total", labels) == 2

    def test_a_negative_count_is_ignored_not_subtracted(self, registry, recorder_path):
        """A count n <= 0 (a caller's bug) never decreases the counter."""
        hook = news_metrics.KafkaMetrics(registry=registry)
        hook.published("articles", 4)
        hook.published("articles", -3)
        assert (
            registry.get_sample_value("kafka_messages_published_total", {"topic": "articles"}) == 4
        )

    def test_consuming_counts_messages_errors_and_dead_letters(self, registry, recorder_path):
        """consumed, handler_failed and dead_lettered count per topic and group."""
        hook = news_metrics.KafkaMetrics(registry=registry)
        for _ in range(5):
            hook.consumed("articles", "indexer")
        hook.consumed("articles", "mailer")
        hook.handler_failed("articles", "indexer", "ValueError")
        hook.handler_failed("articles", "indexer", "ValueError")
        hook.handler_failed("articles", "indexer", "TimeoutError")
        hook.dead_lettered("articles", "indexer")
        get = registry.get_sample_value
        ix = {"topic": "articles", "group": "indexer"}
        assert get("kafka_messages_consumed_total", ix) == 5
        assert get("kafka_messages_consumed_total", {"topic": "articles", "group": "mailer"}) == 1
        assert get("kafka_handler_errors_total", {**ix, "error_type": "ValueError"}) == 2
        assert get("kafka_handler_errors_total", {**ix, "error_type": "TimeoutError"}) == 1
        assert get("kafka_messages_dead_lettered_total", ix) == 1

    def test_handler_duration_is_a_histogram(self, registry, recorder_path):
        """handler_duration observes seconds per message into kafka_handler_duration_seconds."""
        hook = news_metrics.KafkaMetrics(registry=registry)
        for s in (0.002, 0.02, 45.0):
            hook.handler_duration("articles", "indexer", s)
        ix = {"topic": "articles", "group": "indexer"}
        get = registry.get_sample_value
        assert get("kafka_handler_duration_seconds_count", ix) == 3
        assert get("kafka_handler_duration_seconds_bucket", {**ix, "le": "0.005"}) == 1
        assert get("kafka_handler_duration_seconds_bucket", {**ix, "le": "0.025"}) == 2
        assert get("kafka_handler_duration_seconds_bucket", {**ix, "le": "30.0"}) == 2
        assert get("kafka_handler_duration_seconds_bucket", {**ix, "le": "60.0"}) == 3

    def test_lag_is_set_per_partition(self, registry, recorder_path):
        """The lag hook sets kafka_consumer_lag{topic,partition,group} to the latest value."""
        hook = news_metrics.KafkaMetrics(registry=registry)
        hook.lag("articles", 0, "indexer", 120)
        hook.lag("articles", 1, "indexer", 7)
        hook.lag("articles", 0, "indexer", 90)
        get = registry.get_sample_value
        p0 = {"topic": "articles", "partition": "0", "group": "indexer"}
        assert get("kafka_consumer_lag", p0) == 90
        assert get("kafka_consumer_lag", {**p0, "partition": "1"}) == 7

    def test_error_types_past_the_cap_become_other(self, registry, settings, logged):
        """More distinct error types than max_label_values are counted as error_type="other"."""
        news_metrics.setup(news_metrics.MetricsSettings(max_label_values=2))
        hook = news_metrics.KafkaMetrics(registry=registry)
        for i in range(5):
            hook.handler_failed("articles", "indexer", f"Error{i}")
        hook.handler_failed("articles", "indexer", "Error0")
        get = registry.get_sample_value
        ix = {"topic": "articles", "group": "indexer"}
        assert get("kafka_handler_errors_total", {**ix, "error_type": "Error0"}) == 2
        assert get("kafka_handler_errors_total", {**ix, "error_type": "other"}) == 3
        warnings = [m for m in logged.messages() if "'error_type'" in m]
        assert len(warnings) == 1
