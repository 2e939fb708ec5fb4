"""news_kafka._aiokafka: the fast paths give what the public API gives (and can be turned off)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys

    import aiokafka
    import msgspec

    if os.environ.get("FAKE_AIOKAFKA_VERSION"):  # what a newer, untested aiokafka would say
        aiokafka.__version__ = os.environ["FAKE_AIOKAFKA_VERSION"]

    import news_kafka, news_log
    from news_testing import KafkaCapture, kafka_test_settings

    news_log.setup(news_log.LogSettings(format="json", level="info"))


    async def main() -> None:
        bootstrap, topic = sys.argv[1], sys.argv[2]
        base = kafka_test_settings(bootstrap)
        settings = msgspec.structs.replace(
            base, producer=msgspec.structs.replace(base.producer, linger_ms=50)
        )
        await news_kafka.ensure_topics(settings, [news_kafka.TopicSpec(topic, 3)])
        records = []
        for i in range(3000):  # keyed and keyless, sizes that fill several batches
            value = b"v%d-" % i + b"x" * (i % 700)
            key = None if i % 3 else b"k%d" % (i % 17)
            records.append(news_kafka.ProducerRecord(value=value, key=key))
        async with news_kafka.Publisher(settings) as publisher:
            many = await publisher.publish_many(topic, records)
            single = await publisher.publish(topic, b"single", key="s")  # lingers, expedited
        returned = [[m.partition, m.offset, r.value.decode()] for m, r in zip(many, records)]
        returned.append([single.partition, single.offset, "single"])
        async with KafkaCapture(bootstrap, topic) as capture:
            seen = await capture.wait_for(len(returned), timeout=60)
        read = [[c.partition, c.offset, c.raw_value.decode()] for c in seen]
        print(json.dumps({"returned": sorted(returned), "read": sorted(read)}))


    asyncio.run(main())
    news_log.shutdown()
    """
)


def run(bootstrap: str, topic: str, tmp_path, **env: str) -> tuple[dict, list[dict]]:
    """Run the script in a fresh interpreter; return its result and its log lines."""
    script = tmp_path / "fast_paths.py"
    script.write_text(SCRIPT)
    environ = {k: v for k, v in os.environ.items() if k != "NEWS_KAFKA_NO_FAST_PATHS"}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, str(script), bootstrap, topic],
        capture_output=True,
        text=True,
        env=environ,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    logs = []
    for raw in done.stderr.splitlines():
        try:
            logs.append(json.loads(raw))
        except ValueError:
            continue
    return json.loads(done.stdout), logs


class TestFastPaths:
    @pytest.mark.parametrize("switch", ["", "1", "batch_builder,expedite"])
    def test_returned_offsets_are_the_offsets_a_consumer_reads(
        self, kafka_bootstrap, kafka_topic, tmp_path, switch
    ):
        """publish_many and publish return where records are, fast paths on or off."""
        topic = kafka_topic(partitions=3)
        result, logs = run(kafka_bootstrap, topic, tmp_path, NEWS_KAFKA_NO_FAST_PATHS=switch)
        assert len(result["returned"]) == 3001
        assert result["returned"] == result["read"]
        said = "aiokafka fast paths off; using its public API"
        off = [line for line in logs if line["msg"] == said]
        if switch:
            [line] = off  # one line says which and why
            assert "batch_builder" in line["off"]
            assert "expedite" in line["off"]
            assert line["reason"] == f"NEWS_KAFKA_NO_FAST_PATHS={switch}"
        else:
            assert off == []

    def test_an_unknown_name_is_reported_and_ignored(self, kafka_bootstrap, kafka_topic, tmp_path):
        """A misspelt fast path name is said in the log; the others stay on."""
        topic = kafka_topic(partitions=3)
        result, logs = run(kafka_bootstrap, topic, tmp_path, NEWS_KAFKA_NO_FAST_PATHS="expedit")
        assert result["returned"] == result["read"]
        [warning] = [line for line in logs if line["msg"].startswith("NEWS_KAFKA_NO_FAST_PATHS")]
        assert warning["unknown"] == ["expedit"]

    def test_an_untested_aiokafka_gets_the_public_api(self, kafka_bootstrap, kafka_topic, tmp_path):
        """Outside the tested range every fast path is off, and the log says why."""
        topic = kafka_topic(partitions=3)
        result, logs = run(kafka_bootstrap, topic, tmp_path, FAKE_AIOKAFKA_VERSION="0.15.0")
        assert result["returned"] == result["read"]
        [line] = [x for x in logs if x["msg"] == "aiokafka fast paths off; using its public API"]
        assert line["off"] == ["expedite", "batch_builder", "force_close"]
        assert line["reason"] == "aiokafka 0.15.0 is outside the tested range >=0.14,<0.15"
