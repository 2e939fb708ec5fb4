"""Admin against a real broker: topics (ensure, list, describe, delete) and group lag."""

from __future__ import annotations

import uuid

import pytest

import news_kafka
from news_kafka import KafkaAdmin, Publisher, TopicSpec, ensure_topics


class TestTopics:
    async def test_ensure_topics_is_idempotent(self, kafka_settings):
        """The first call creates, the second finds the topics and changes nothing."""
        names = [f"admin-{uuid.uuid4().hex[:8]}-{i}" for i in range(2)]
        specs = [TopicSpec(names[0], 3), TopicSpec(names[1], 1, 1, {"retention.ms": "60000"})]
        try:
            assert sorted(await ensure_topics(kafka_settings, specs)) == sorted(names)
            assert await ensure_topics(kafka_settings, specs) == []
            async with KafkaAdmin(kafka_settings) as admin:
                assert set(names) <= set(await admin.list_topics())
                infos = {t.name: t for t in await admin.describe_topics(names)}
                assert [p.partition for p in infos[names[0]].partitions] == [0, 1, 2]
                assert all(p.leader >= 0 for p in infos[names[0]].partitions)
                assert len(infos[names[1]].partitions) == 1
        finally:
            async with KafkaAdmin(kafka_settings) as admin:
                await admin.delete_topics(names)

    async def test_delete_topics(self, kafka_settings):
        """Deleted topics disappear; deleting a missing one is fine unless asked otherwise."""
        name = f"admin-del-{uuid.uuid4().hex[:8]}"
        async with KafkaAdmin(kafka_settings) as admin:
            await admin.ensure_topics([TopicSpec(name)])
            await admin.delete_topics([name])
            assert name not in await admin.list_topics()
            await admin.delete_topics([name])
            with pytest.raises(news_kafka.AdminError, match=name):
                await admin.delete_topics([name], missing_ok=False)
            with pytest.raises(news_kafka.AdminError, match="does it exist"):
                await admin.describe_topics([name])

    async def test_admin_needs_start(self, kafka_settings):
        """Using an admin that was not started is a clear error."""
        with pytest.raises(news_kafka.AdminError, match="not started"):
            await KafkaAdmin(kafka_settings).list_topics()


class TestLag:
    async def test_lag_falls_to_zero_once_the_group_committed(
        self, kafka_settings, kafka_topic, eventually
    ):
        """Lag is end offset minus committed offset, per partition."""
        topic = kafka_topic(partitions=2)
        group = f"lag-{topic}"
        handled: list[int] = []

        async def handle(message: news_kafka.Message[bytes]) -> None:
            handled.append(message.offset)

        async with Publisher(kafka_settings) as publisher:
            for i in range(6):
                await publisher.publish(topic, b"%d" % i, partition=i % 2)
        async with KafkaAdmin(kafka_settings) as admin:
            before = await admin.consumer_lag(group, [topic])
            # Tansu may under-report an end offset by up to one producer batch (one record here)
            assert [(p.partition, p.committed) for p in before] == [(0, None), (1, None)]
            assert all(2 <= p.lag <= 3 for p in before)
            async with news_kafka.Consumer(
                kafka_settings, topics=topic, group_id=group, handler=handle
            ):
                await eventually(lambda: len(handled) == 6, what="6 records")
            after = await admin.consumer_lag(group, [topic])
        assert [(p.partition, p.committed, p.lag) for p in after] == [(0, 3, 0), (1, 3, 0)]
