"""news-testing's Kafka part: the broker fixture, topics, capture, raw publishing, restarts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import msgspec
import pytest

import news_testing
from news_testing import KafkaBroker, KafkaCapture, publish_raw
from news_testing.kafka import kafka_metadata_ready


class Article(msgspec.Struct, frozen=True):
    id: int
    title: str


class TestBroker:
    def test_session_broker_answers_kafka_metadata(self, kafka_broker):
        """The session broker answers a real Metadata request on its loopback port."""
        assert kafka_broker.bootstrap.startswith("127.0.0.1:")
        assert kafka_broker.running
        assert kafka_metadata_ready(kafka_broker.host, kafka_broker.port)
        assert "tansu broker" in kafka_broker.log_tail()

    def test_nothing_listening_is_not_ready(self):
        """The readiness probe says no for a port without a broker."""
        assert not kafka_metadata_ready("127.0.0.1", news_testing.kafka.free_port(), 0.5)

    async def test_private_broker_restarts_empty(self, kafka_private_broker):
        """stop() ends the process; start() brings it back on the same port, without topics."""
        from news_kafka import KafkaAdmin, TopicSpec

        settings = news_testing.kafka_test_settings(kafka_private_broker.bootstrap)
        port = kafka_private_broker.port
        async with KafkaAdmin(settings) as admin:
            await admin.ensure_topics([TopicSpec("before-restart")])
        kafka_private_broker.stop()
        assert not kafka_private_broker.running
        assert not kafka_metadata_ready("127.0.0.1", port, 0.5)
        kafka_private_broker.start()
        assert kafka_private_broker.port == port
        async with KafkaAdmin(settings) as admin:
            assert "before-restart" not in await admin.list_topics()
        assert kafka_private_broker.log_tail().count("--- starting tansu") == 2

    def test_external_cluster_cannot_be_stopped(self, kafka_broker):
        """A broker named by NEWS_TEST_KAFKA_BOOTSTRAP is used, never stopped."""
        external = KafkaBroker.external(kafka_broker.bootstrap)
        assert external.is_external
        assert external.bootstrap == kafka_broker.bootstrap
        with pytest.raises(RuntimeError, match="cannot stop the external cluster"):
            external.stop()
        assert external.log_tail() == ""


class TestTopicsAndCapture:
    async def test_topic_factory_makes_unique_partitioned_topics(self, kafka_topic, kafka_settings):
        """Each call gives a new topic with the requested partitions."""
        from news_kafka import KafkaAdmin

        first, second = kafka_topic(partitions=3), kafka_topic()
        assert first != second
        async with KafkaAdmin(kafka_settings) as admin:
            infos = {t.name: t for t in await admin.describe_topics([first, second])}
        assert len(infos[first].partitions) == 3
        assert len(infos[second].partitions) == 1

    async def test_capture_waits_for_count_and_predicate(self, kafka_topic, kafka_bootstrap):
        """KafkaCapture decodes with a type, waits for N or a predicate, times out clearly."""
        topic = kafka_topic(partitions=2)
        async with KafkaCapture(kafka_bootstrap, topic, value_type=Article) as capture:
            for i in range(3):
                await publish_raw(
                    kafka_bootstrap,
                    topic,
                    msgspec.json.encode(Article(i, f"t{i}")),
                    key=str(i),
                    headers={"h": "v"},
                    partition=i % 2,
                )
            await publish_raw(kafka_bootstrap, topic, b"not json", partition=0)
            records = await capture.wait_for(4)
            [two] = await capture.wait_for(predicate=lambda r: r.key == b"2")
            with pytest.raises(TimeoutError, match="0 of 1 expected record"):
                await capture.wait_for(predicate=lambda r: r.key == b"nope", timeout=0.3)
        assert two.value == Article(2, "t2")
        assert two.headers == {"h": "v"}
        assert sorted(r.value.id for r in records if r.decode_error is None) == [0, 1, 2]
        [bad] = [r for r in records if r.decode_error is not None]
        assert bad.value == b"not json"
        assert len(capture.values) == 4

    async def test_publish_raw_returns_where_it_wrote(self, kafka_topic, kafka_bootstrap):
        """publish_raw writes bytes as given and returns (partition, offset)."""
        topic = kafka_topic(partitions=2)
        assert await publish_raw(kafka_bootstrap, topic, b"a", partition=1) == (1, 0)
        assert await publish_raw(kafka_bootstrap, topic, None, key=b"k", partition=1) == (1, 1)


INNER_TESTS = """
import asyncio

from news_kafka import KafkaAdmin
from news_testing import kafka_test_settings
from news_testing._kafka_fixtures import run_sync

made = []


def test_a_makes_a_topic(kafka_topic):
    made.append(kafka_topic(partitions=2))


def test_b_topic_of_a_is_gone(kafka_bootstrap):
    async def names():
        async with KafkaAdmin(kafka_test_settings(kafka_bootstrap)) as admin:
            return await admin.list_topics()

    assert made and made[0] not in run_sync(names())


def test_c_fails_and_shows_the_broker_log(kafka_bootstrap):
    assert kafka_bootstrap == "deliberately wrong"
"""


class TestPluginInAnotherSession:
    def test_topics_are_deleted_and_failures_show_the_broker_log(self, tmp_path):
        """In a fresh pytest session: topics vanish after their test, failures get the log."""
        (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS))
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        env = {k: v for k, v in os.environ.items() if k != news_testing.BOOTSTRAP_ENV}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:logging",
                str(tmp_path / "test_inner.py"),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1, out
        assert "1 failed, 2 passed" in out, out
        assert "kafka broker log 127.0.0.1:" in out, out
        assert "tansu broker" in out, out

    def test_bootstrap_env_var_selects_an_external_cluster(self, tmp_path, kafka_broker):
        """With NEWS_TEST_KAFKA_BOOTSTRAP set, the fixtures use that cluster, start nothing."""
        (tmp_path / "test_inner.py").write_text(
            textwrap.dedent(
                """
                import os


                def test_uses_the_given_cluster(kafka_broker, kafka_topic):
                    assert kafka_broker.is_external
                    assert kafka_broker.bootstrap == os.environ["NEWS_TEST_KAFKA_BOOTSTRAP"]
                    assert kafka_topic(partitions=2)
                """
            )
        )
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        env = {**os.environ, news_testing.BOOTSTRAP_ENV: kafka_broker.bootstrap}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:logging",
                str(tmp_path / "test_inner.py"),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert "1 passed" in out, out
        assert "starting tansu" not in out
