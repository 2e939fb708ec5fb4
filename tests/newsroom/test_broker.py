"""The embedded broker: Tansu answers Kafka requests, stops on request, dies with its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from newsroom.broker import EmbeddedBroker, metadata_ready


def dead(pid: int) -> bool:
    """True when ``pid`` is gone or a zombie (exited, not yet reaped by its new parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


def wait_dead(pid: int, timeout: float = 20.0) -> bool:
    """Wait (bounded) until ``pid`` is dead; return whether it is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dead(pid):
            return True
        time.sleep(0.05)
    return dead(pid)


class TestEmbeddedBroker:
    def test_starts_answers_and_stops(self):
        """start() returns once Tansu answers a Metadata request; stop() ends the process."""
        with EmbeddedBroker() as broker:
            assert metadata_ready(broker.host, broker.port)
            pid = broker.pid
            assert pid is not None
            assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        assert broker.pid is None
        assert wait_dead(pid)
        assert not metadata_ready(broker.host, broker.port)

    def test_dies_when_its_parent_is_killed(self, tmp_path):
        """SIGKILL of the service (no cleanup runs) still ends the broker: PR_SET_PDEATHSIG."""
        script = textwrap.dedent(
            """
            import sys, time
            from newsroom.broker import EmbeddedBroker
            broker = EmbeddedBroker().start()
            print(broker.pid, broker.port, flush=True)
            time.sleep(600)
            """
        )
        service = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
        )
        try:
            assert service.stdout is not None
            pid, port = map(int, service.stdout.readline().split())
            assert metadata_ready("127.0.0.1", port)
            os.kill(service.pid, signal.SIGKILL)
            service.wait(timeout=10)
            assert wait_dead(pid)
        finally:
            service.kill()
            service.wait()
