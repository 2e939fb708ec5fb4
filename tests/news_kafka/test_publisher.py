"""Publisher against a real broker: encoding, headers, metadata, batching, errors."""

from __future__ import annotations

import asyncio
import itertools
import time

import msgspec
import pytest

import news_kafka
import news_log
from news_kafka import ProducerRecord, Publisher
from news_testing import KafkaCapture


class Article(msgspec.Struct, frozen=True):
    id: int
    title: str
    tags: list[str] = []


def with_producer(settings, **changes):
    """Return settings with producer fields replaced."""
    return msgspec.structs.replace(
        settings, producer=msgspec.structs.replace(settings.producer, **changes)
    )


class TestPublish:
    async def test_struct_is_json_and_metadata_points_at_it(self, kafka_settings, kafka_topic):
        """A Struct is published as msgspec JSON and the metadata names its partition/offset."""
        topic = kafka_topic(partitions=2)
        async with (
            Publisher(kafka_settings) as publisher,
            KafkaCapture(kafka_settings.bootstrap_servers[0], topic, value_type=Article) as capture,
        ):
            first = await publisher.publish(topic, Article(1, "one", ["a"]), key="k1")
            second = await publisher.publish(topic, Article(2, "two"), key="k1")
            [r1, r2] = await capture.wait_for(2)
        assert (first.topic, second.partition) == (topic, first.partition)
        assert second.offset == first.offset + 1
        assert (r1.partition, r1.offset) == (first.partition, first.offset)
        assert r1.value == Article(1, "one", ["a"])
        assert r1.raw_value == b'{"id":1,"title":"one","tags":["a"]}'
        assert r1.key == b"k1"
        assert r2.value == Article(2, "two")

    async def test_bytes_pass_through_and_dicts_are_encoded(self, kafka_settings, kafka_topic):
        """Bytes are sent untouched (no content-type header); dicts become JSON."""
        topic = kafka_topic()
        async with (
            Publisher(kafka_settings) as publisher,
            KafkaCapture(kafka_settings.bootstrap_servers[0], topic) as capture,
        ):
            await publisher.publish(topic, b"\x00raw\xff")
            await publisher.publish(topic, {"a": [1, 2]}, key=b"\x01")
            raw, encoded = await capture.wait_for(2)
        assert raw.raw_value == b"\x00raw\xff"
        assert raw.raw_headers == ()
        assert encoded.raw_value == b'{"a":[1,2]}'
        assert encoded.key == b"\x01"

    async def test_msgpack_serializer_is_announced(self, kafka_settings, kafka_topic):
        """With serializer=msgpack the value is msgpack and content-type says so."""
        topic = kafka_topic()
        settings = with_producer(kafka_settings, serializer="msgpack")
        async with (
            Publisher(settings) as publisher,
            KafkaCapture(settings.bootstrap_servers[0], topic) as capture,
        ):
            await publisher.publish(topic, Article(3, "packed"))
            [record] = await capture.wait_for(1)
        assert record.headers["content-type"] == "application/msgpack"
        assert msgspec.msgpack.decode(record.raw_value, type=Article) == Article(3, "packed")

    async def test_request_id_and_trace_context_become_headers(self, kafka_settings, kafka_topic):
        """Bound request_id/traceparent/tracestate go into headers next to the caller's."""
        topic = kafka_topic()
        traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        async with (
            Publisher(kafka_settings) as publisher,
            KafkaCapture(kafka_settings.bootstrap_servers[0], topic) as capture,
        ):
            with news_log.bind(request_id="req-77", traceparent=traceparent, tracestate="a=b"):
                await publisher.publish(topic, b"v", headers={"source": "editorial"})
                await publisher.publish(topic, b"w", headers=[("x-request-id", "explicit")])
            await publisher.publish(topic, b"no-context")
            bound, explicit, bare = await capture.wait_for(3)
        assert bound.headers == {
            "source": "editorial",
            "x-request-id": "req-77",
            "traceparent": traceparent,
            "tracestate": "a=b",
        }
        assert explicit.headers["x-request-id"] == "explicit"
        assert [n for n, _ in explicit.raw_headers].count("x-request-id") == 1
        assert bare.raw_headers == ()

    async def test_tombstone_needs_a_key(self, kafka_settings, kafka_topic):
        """None is a tombstone: sent with a key, refused without one."""
        topic = kafka_topic()
        async with (
            Publisher(kafka_settings) as publisher,
            KafkaCapture(kafka_settings.bootstrap_servers[0], topic) as capture,
        ):
            with pytest.raises(news_kafka.SerializationError, match="tombstone"):
                await publisher.publish(topic, None)
            await publisher.publish(topic, None, key="article-7")
            [record] = await capture.wait_for(1)
        assert record.raw_value is None
        assert record.key == b"article-7"

    async def test_unencodable_value_is_a_serialization_error(self, kafka_settings, kafka_topic):
        """A value msgspec cannot encode fails before anything is sent, naming its type."""
        topic = kafka_topic()
        async with Publisher(kafka_settings) as publisher:
            with pytest.raises(news_kafka.SerializationError, match="cannot encode a object"):
                await publisher.publish(topic, object())
            with pytest.raises(news_kafka.SerializationError, match="must be str or bytes"):
                await publisher.publish(topic, b"v", key=7)  # type: ignore[arg-type]

    async def test_non_retriable_error_is_a_publish_error_at_once(
        self, kafka_settings, kafka_topic
    ):
        """A record over max_request_size fails on the first attempt, naming topic and key."""
        topic = kafka_topic()
        settings = with_producer(kafka_settings, max_request_size=2048, batch_size=1024)
        async with Publisher(settings) as publisher:
            with pytest.raises(news_kafka.PublishError) as info:
                await publisher.publish(topic, b"x" * 4096, key="big")
        error = info.value
        assert (error.topic, error.key, error.attempts) == (topic, b"big", 1)
        assert "MessageSizeTooLargeError" in str(error)
        assert type(error.__cause__).__name__ == "MessageSizeTooLargeError"

    async def test_publish_after_stop_is_refused(self, kafka_settings, kafka_topic):
        """A stopped publisher raises PublisherClosedError instead of queueing."""
        topic = kafka_topic()
        publisher = Publisher(kafka_settings)
        with pytest.raises(news_kafka.PublisherClosedError):
            await publisher.publish(topic, b"early")
        async with publisher:
            assert publisher.running
        assert not publisher.running
        with pytest.raises(news_kafka.PublisherClosedError, match="not running"):
            await publisher.publish(topic, b"late")

    async def test_awaited_publish_does_not_pay_the_linger(self, kafka_settings, kafka_topic):
        """With linger_ms=1000, one awaited publish after another still returns promptly."""
        topic = kafka_topic()
        settings = with_producer(kafka_settings, linger_ms=1000)
        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"warm-up")
            started = time.monotonic()
            for i in range(3):
                await publisher.publish(topic, b"%d" % i)
            elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"3 awaited publishes took {elapsed:.2f}s: linger was paid"


class TestSendAndClose:
    async def test_send_queues_and_close_flushes_everything(self, kafka_settings, kafka_topic):
        """send() returns once queued; stop() delivers every accepted record."""
        topic = kafka_topic(partitions=3)
        settings = with_producer(kafka_settings, linger_ms=50)
        publisher = Publisher(settings)
        await publisher.start()
        for i in range(500):
            assert await publisher.send(topic, b"%d" % i, key=b"%d" % (i % 7)) is None
        await publisher.stop()
        async with KafkaCapture(settings.bootstrap_servers[0], topic) as capture:
            records = await capture.wait_for(500)
        assert sorted(int(r.raw_value) for r in records) == list(range(500))

    async def test_keyless_send_fills_one_partition_at_a_time(self, kafka_settings, kafka_topic):
        """Keyless send() records go to one partition per batch's worth of bytes, then the next."""
        topic = kafka_topic(partitions=3)
        settings = with_producer(kafka_settings, batch_size=2048)
        async with Publisher(settings) as publisher:
            for i in range(300):
                await publisher.send(topic, b"%05d" % i + b"." * 95)  # 100 bytes each
            await publisher.flush(timeout=10)
        async with KafkaCapture(settings.bootstrap_servers[0], topic) as capture:
            records = await capture.wait_for(300)
        order = sorted(records, key=lambda r: int(r.raw_value[:5]))
        partitions = [r.partition for r in order]
        runs = 1 + sum(a != b for a, b in itertools.pairwise(partitions))
        assert set(partitions) == {0, 1, 2}  # every partition gets its share
        assert runs <= 300 * 100 // 2048 + 4  # a run per 2 KiB, not a partition per record

    async def test_keyless_send_runs_fill_one_batch_each(self, kafka_settings, kafka_topic):
        """A sticky run of keyless send() records is one batch's worth of records, not more."""
        topic = kafka_topic(partitions=3)
        settings = with_producer(kafka_settings, batch_size=2048)
        async with Publisher(settings) as publisher:
            await publisher.publish(topic, b"warm-up")  # the topic's partitions are known
            for i in range(400):
                await publisher.send(topic, b"%05d" % i + b"." * 95)  # 100 bytes each
            await publisher.flush(timeout=10)
        async with KafkaCapture(settings.bootstrap_servers[0], topic) as capture:
            records = await capture.wait_for(401)
        numbered = sorted(
            (r for r in records if r.raw_value != b"warm-up"), key=lambda r: int(r.raw_value[:5])
        )
        runs = [len(list(run)) for _, run in itertools.groupby(r.partition for r in numbered)]
        # In a v2 batch (61-byte header) a 100-byte value takes 109 bytes (length 2,
        # attributes 1, timestamp and offset deltas 1 each, null key 1, value length 2,
        # header count 1): 18 fit in 2 KiB. More in a run spill into a second batch.
        fits = (2048 - 61) // 109
        assert max(runs) <= fits
        assert min(runs[:-1]) >= fits - 2  # and the batches are nearly full

    async def test_flush_waits_for_queued_records(self, kafka_settings, kafka_topic, metrics):
        """flush() returns when everything sent so far is acknowledged (and counted)."""
        topic = kafka_topic()
        settings = with_producer(kafka_settings, linger_ms=200)
        async with Publisher(settings, metrics=metrics) as publisher:
            for i in range(50):
                await publisher.send(topic, b"%d" % i)
            await publisher.flush(timeout=10)
            assert sum(call[2] for call in metrics.names("published")) == 50
            async with KafkaCapture(settings.bootstrap_servers[0], topic) as capture:
                await capture.wait_for(50)

    async def test_send_raises_non_retriable_errors_at_once(self, kafka_settings, kafka_topic):
        """A record too large fails in send() itself; the publisher keeps working."""
        topic = kafka_topic()
        settings = with_producer(kafka_settings, max_request_size=2048, batch_size=1024)
        async with Publisher(settings) as publisher:
            with pytest.raises(news_kafka.PublishError, match="MessageSizeTooLargeError"):
                await publisher.send(topic, b"x" * 4096)
            await publisher.send(topic, b"small")
            await publisher.flush(timeout=10)

    async def test_metrics_count_published_records(self, kafka_settings, kafka_topic, metrics):
        """The metrics hook hears of every delivered record."""
        topic = kafka_topic()
        async with Publisher(kafka_settings, metrics=metrics) as publisher:
            await publisher.publish(topic, b"a")
            await publisher.publish_many(topic, [b"b", b"c"])
        assert sum(call[2] for call in metrics.names("published")) == 3


class TestPublishMany:
    async def test_keys_land_where_publish_puts_them(self, kafka_settings, kafka_topic):
        """publish_many partitions keyed records exactly like publish (murmur2)."""
        topic = kafka_topic(partitions=4)
        keys = [f"article-{i}" for i in range(40)]
        async with Publisher(kafka_settings) as publisher:
            many = await publisher.publish_many(
                topic, [ProducerRecord(value=Article(i, k), key=k) for i, k in enumerate(keys)]
            )
            single = [await publisher.publish(topic, b"probe", key=k) for k in keys]
        assert [m.partition for m in many] == [s.partition for s in single]
        assert len({m.partition for m in many}) > 1

    async def test_metadata_matches_what_was_stored(self, kafka_settings, kafka_topic):
        """Each returned metadata points at the record it describes; keyless ones spread."""
        topic = kafka_topic(partitions=3)
        settings = with_producer(kafka_settings, max_request_size=8192, batch_size=4096)
        values = [Article(i, "t" * 50) for i in range(600)]
        async with (
            Publisher(settings) as publisher,
            KafkaCapture(settings.bootstrap_servers[0], topic, value_type=Article) as capture,
        ):
            metas = await publisher.publish_many(topic, values, headers={"batch": "b1"})
            records = await capture.wait_for(600)
        stored = {(r.partition, r.offset): r for r in records}
        for value, meta in zip(values, metas, strict=True):
            record = stored[(meta.partition, meta.offset)]
            assert record.value == value
            assert record.headers["batch"] == "b1"
        assert len({m.partition for m in metas}) == 3

    async def test_request_id_rides_along_in_batches(self, kafka_settings, kafka_topic):
        """publish_many copies the bound request id into every record."""
        topic = kafka_topic()
        async with (
            Publisher(kafka_settings) as publisher,
            KafkaCapture(kafka_settings.bootstrap_servers[0], topic) as capture,
        ):
            with news_log.bind(request_id="bulk-1"):
                await publisher.publish_many(
                    topic, [b"a", ProducerRecord(value={"b": 1}, headers={"h": "v"})]
                )
            records = await capture.wait_for(2)
        assert [r.headers["x-request-id"] for r in records] == ["bulk-1", "bulk-1"]
        assert records[1].headers["h"] == "v"

    async def test_nothing_is_sent_when_one_value_cannot_be_encoded(
        self, kafka_settings, kafka_topic
    ):
        """An unencodable record fails the whole call before any batch is sent."""
        topic = kafka_topic()
        async with Publisher(kafka_settings) as publisher:
            with pytest.raises(news_kafka.SerializationError):
                await publisher.publish_many(topic, [b"ok", object()])
            assert await publisher.publish_many(topic, []) == []
            meta = await publisher.publish(topic, b"after")
        assert meta.offset == 0

    async def test_concurrent_publishes_share_batches(self, kafka_settings, kafka_topic):
        """Hundreds of concurrent awaited publishes all get distinct offsets."""
        topic = kafka_topic(partitions=2)
        async with Publisher(kafka_settings) as publisher:
            metas = await asyncio.gather(
                *(publisher.publish(topic, b"%d" % i, key=b"%d" % i) for i in range(300))
            )
        assert len({(m.partition, m.offset) for m in metas}) == 300
