"""The idempotent producer: on librdkafka's mock cluster, and refused by Tansu."""

from __future__ import annotations

import msgspec
import pytest

from news_kafka import ProducerRecord, Publisher, PublishError
from news_testing import KafkaCapture, kafka_test_settings


class TestIdempotentProducer:
    async def test_idempotent_publish_and_publish_many(self, kafka_mock_cluster):
        """With idempotence on (acks=all), publish and publish_many deliver every record."""
        base = kafka_test_settings(kafka_mock_cluster.bootstrap)
        settings = msgspec.structs.replace(
            base, producer=msgspec.structs.replace(base.producer, idempotence=True, acks="all")
        )
        topic = "idempotent-articles"
        async with Publisher(settings) as publisher:
            singles = [await publisher.publish(topic, b"s%d" % i, key=b"k") for i in range(5)]
            many = await publisher.publish_many(
                topic, [ProducerRecord(value=b"m%d" % i, key=b"k") for i in range(50)]
            )
        assert [m.offset for m in singles] == list(range(5))
        assert [m.offset for m in many] == list(range(5, 55))
        async with KafkaCapture(kafka_mock_cluster.bootstrap, topic) as capture:
            records = await capture.wait_for(55)
        assert [r.raw_value for r in records if r.partition == singles[0].partition][:6] == [
            b"s0",
            b"s1",
            b"s2",
            b"s3",
            b"s4",
            b"m0",
        ]


class TestIdempotenceRefused:
    async def test_tansu_refusing_it_names_the_setting(self, kafka_bootstrap):
        """A broker that answers but refuses InitProducerId gets advice on idempotence."""
        base = kafka_test_settings(kafka_bootstrap)
        settings = msgspec.structs.replace(
            base, producer=msgspec.structs.replace(base.producer, idempotence=True, acks="all")
        )
        with pytest.raises(PublishError) as info:
            await Publisher(settings).start()
        message = str(info.value)
        assert "refused the idempotent producer" in message
        assert "producer.idempotence=false" in message
        assert "check bootstrap_servers" not in message
