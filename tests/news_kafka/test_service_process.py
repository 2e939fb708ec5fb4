"""A consumer service in a real process: request id in its JSON log lines, SIGTERM stop."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import textwrap

import news_log
from news_kafka import KafkaAdmin, Publisher

SERVICE = """
import asyncio, signal, sys

import news_kafka, news_log
from news_testing import kafka_test_settings

news_log.setup(news_log.LogSettings(format="json", capture_stdlib=False))
log = news_log.get_logger("indexer")


async def handle(message: news_kafka.Message[dict]) -> None:
    log.info("indexed", article_id=message.value["id"])


async def main() -> None:
    settings = kafka_test_settings(sys.argv[1])
    consumer = news_kafka.Consumer(
        settings, topics=sys.argv[2], group_id=sys.argv[3], handler=handle, value_type=dict
    )
    await consumer.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(consumer.stop()))
    log.info("ready")
    await consumer.wait()


asyncio.run(main())
news_log.shutdown()
"""


class TestConsumerProcess:
    async def test_request_id_reaches_the_service_log_and_sigterm_commits(
        self, kafka_settings, kafka_topic, tmp_path
    ):
        """A real service process logs the publisher's request id and commits on SIGTERM."""
        topic = kafka_topic()
        group = f"{topic}-svc"
        script = tmp_path / "service.py"
        script.write_text(textwrap.dedent(SERVICE))
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            kafka_settings.bootstrap_servers[0],
            topic,
            group,
            stderr=asyncio.subprocess.PIPE,
        )
        lines: list[dict] = []

        async def line_with(msg: str) -> dict:
            while True:
                raw = await asyncio.wait_for(proc.stderr.readline(), 30)
                assert raw, f"service exited early; lines: {lines}"
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                lines.append(line)
                if line.get("msg") == msg:
                    return line

        try:
            await line_with("ready")
            async with Publisher(kafka_settings) as publisher:
                with news_log.bind(request_id="req-proc-1"):
                    await publisher.publish(topic, {"id": 42})
            indexed = await line_with("indexed")
            proc.send_signal(signal.SIGTERM)
            stopped = await line_with("consumer stopped")
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert indexed["request_id"] == "req-proc-1"
        assert indexed["article_id"] == 42
        assert stopped["group"] == group
        async with KafkaAdmin(kafka_settings) as admin:
            assert await admin.committed_offsets(group, [topic]) == {(topic, 0): 1}
