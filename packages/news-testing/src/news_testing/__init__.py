"""pytest plugin for news platform services: real Kafka broker, HTTP servers, record capture.

Installed, it registers its fixtures with pytest by itself (entry point ``pytest11``).

Kafka (``pip install 'news-testing[kafka]'``)::

    async def test_publishes_article(kafka_settings, kafka_topic, kafka_bootstrap):
        topic = kafka_topic(partitions=3)  # a fresh topic, deleted afterwards
        async with news_testing.KafkaCapture(kafka_bootstrap, topic, value_type=Article) as cap:
            await publish_article(kafka_settings, topic, Article(id=7))
            [record] = await cap.wait_for(1, timeout=10)
        assert record.value.id == 7

Fixtures: ``kafka_broker`` (session), ``kafka_private_broker`` (fault tests: stop/restart),
``kafka_bootstrap``, ``kafka_settings``, ``kafka_topic``, ``kafka_mock_cluster``.
"""

from __future__ import annotations

from news_testing.__about__ import __version__

# --- Kafka ---------------------------------------------------------------------------------
from news_testing.kafka import (
    BOOTSTRAP_ENV,
    CapturedRecord,
    KafkaBroker,
    KafkaCapture,
    KafkaMockCluster,
    kafka_test_settings,
    publish_raw,
)

# --- end Kafka -----------------------------------------------------------------------------

__all__ = [
    # Kafka
    "BOOTSTRAP_ENV",
    "CapturedRecord",
    "KafkaBroker",
    "KafkaCapture",
    "KafkaMockCluster",
    # common
    "__version__",
    # Kafka
    "kafka_test_settings",
    "publish_raw",
]
