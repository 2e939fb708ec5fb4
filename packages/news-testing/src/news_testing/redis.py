"""Redis test servers: private ``redis-server`` processes on free loopback ports.

- `RedisServer` runs ``redis-server`` (Debian package ``redis-server``) on a free port with
  nothing on disk, or stands for an external server (``NEWS_TEST_REDIS_URL``). It can be
  stopped, restarted (same port, empty) and flushed, for fault tests.
- `redis_test_settings` gives ``news_redis.RedisSettings`` for a server with short timeouts
  (needs ``pip install 'news-testing[redis]'``).

The pytest fixtures built on them (``redis``, ``redis_server``, ``redis_private_server``,
``redis_settings``) are registered by the news-testing plugin. Nothing here imports redis-py:
readiness is a raw ``PING`` over a socket.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import os
    from types import TracebackType

from news_testing._errors import ExternalClusterError, NewsTestingError
from news_testing._net import free_port

__all__ = ["REDIS_URL_ENV", "RedisServer", "RedisStartError", "redis_test_settings"]

REDIS_URL_ENV: Final = "NEWS_TEST_REDIS_URL"
"""Set it (``redis://host:port/db``, a database of its own, not 0) to test against that server."""


class RedisStartError(NewsTestingError, RuntimeError):
    """A private ``redis-server`` did not start; the message has its log's tail."""


def _command(host: str, port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one inline command over a new connection; return the first reply line."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall((" ".join(args) + "\r\n").encode())
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.strip()


class RedisServer:
    """A Redis server for tests: a private ``redis-server`` process, or an external server.

    ``RedisServer()`` starts nothing until `start`. The process keeps nothing on disk (no RDB,
    no AOF): after `restart` (same port) it is empty.

    Attributes:
        host: ``127.0.0.1`` (or the external server's host).
        port: The listening port.
        db: The database tests use (0 for a private server).
        log_path: The server's log file (None for an external server).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        binary: str = "redis-server",
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.db = 0
        self._binary = binary
        self._startup_timeout = startup_timeout
        self._external: str | None = None
        self._dir = tempfile.mkdtemp(prefix="news-testing-redis-")
        self.log_path: Path | None = Path(log_path) if log_path else Path(self._dir) / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def external(cls, url: str) -> RedisServer:
        """Stand for a running server (``redis://host:port/db``); it cannot be restarted.

        Raises:
            ValueError: The URL names database 0 (the tests flush their database: give them
                one of their own, e.g. ``redis://127.0.0.1:6379/15``).
        """
        parts = urlsplit(url)
        db = int(parts.path.strip("/") or 0)
        if db == 0:
            raise ValueError(
                f"{REDIS_URL_ENV}={url!r} names database 0; the tests flush their database "
                "before each test: point them at a database of their own (e.g. /15)"
            )
        server = cls.__new__(cls)
        server.host = parts.hostname or "127.0.0.1"
        server.port = parts.port or 6379
        server.db = db
        server._binary = ""
        server._startup_timeout = 0.0
        server._external = url
        server._dir = ""
        server.log_path = None
        server._process = None
        return server

    @property
    def url(self) -> str:
        """``redis://host:port/db`` of the server."""
        return self._external or f"redis://{self.host}:{self.port}/{self.db}"

    @property
    def is_external(self) -> bool:
        """True when this stands for a server news-testing did not start."""
        return self._external is not None

    @property
    def running(self) -> bool:
        """True while the process runs (always True for an external server)."""
        if self._external is not None:
            return True
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server's process id (None when stopped or external)."""
        return self._process.pid if self.running and self._process is not None else None

    def ping(self, timeout: float = 1.0) -> bool:
        """True when the server answers PING."""
        try:
            return _command(self.host, self.port, "PING", timeout=timeout) == b"+PONG"
        except OSError:
            return False

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING.

        Raises:
            FileNotFoundError: ``redis-server`` is not installed (``apt-get install
                redis-server``).
            RedisStartError: It exited, or did not answer within ``startup_timeout`` (the
                message has its log's tail).
        """
        self._refuse_external("start")
        if self.running:
            return self
        binary = shutil.which(self._binary)
        if binary is None:
            raise FileNotFoundError(
                f"{self._binary} is not installed: apt-get install redis-server "
                "(python3 tools/dev.py test installs the suite's system packages)"
            )
        assert self.log_path is not None
        command = [
            binary,
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir,
            "--logfile", str(self.log_path),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--enable-debug-command", "local",
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - the binary found above
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self._startup_timeout
        while not self.ping(timeout=0.5):
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                self._process = None
                raise RedisStartError(
                    f"redis-server exited at start (port {self.port}): {stderr.strip()} "
                    f"{self.log_tail(20)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RedisStartError(
                    f"redis-server on port {self.port} did not answer PING within "
                    f"{self._startup_timeout:g}s:\n{self.log_tail(20)}"
                )
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and wait until it exited."""
        self._refuse_external("stop")
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process.stderr is not None:
            process.stderr.close()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        self._refuse_external("kill")
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)
        if process is not None and process.stderr is not None:
            process.stderr.close()

    def restart(self) -> RedisServer:
        """Stop and start again on the same port; the server comes back empty."""
        self.stop()
        return self.start()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing is answered."""
        self._refuse_external("pause")
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Undo `pause` (SIGCONT)."""
        self._refuse_external("resume")
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def flush(self) -> None:
        """Empty the server: FLUSHALL on a private one, FLUSHDB of its database on an external."""
        if self._external is not None:
            with socket.create_connection((self.host, self.port), timeout=5) as sock:
                sock.sendall(f"SELECT {self.db}\r\nFLUSHDB\r\n".encode())
                reply = b""
                while reply.count(b"\r\n") < 2:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            return
        _command(self.host, self.port, "FLUSHALL", timeout=5)

    def command(self, *args: str, timeout: float = 10.0) -> bytes:
        """Send one inline command (no spaces inside arguments); return its first reply line."""
        return _command(self.host, self.port, *args, timeout=timeout)

    def settings(self, **overrides: Any) -> Any:
        """``news_redis.RedisSettings`` for this server with short timeouts (see below)."""
        return redis_test_settings(overrides.pop("url", self.url), **overrides)

    def log_tail(self, lines: int = 100) -> str:
        """The last ``lines`` lines of the server's log ('' when there is none)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        """Stop the server and remove its folder."""
        if self._external is None:
            self.stop()
            with contextlib.suppress(OSError):
                shutil.rmtree(self._dir)

    def _refuse_external(self, what: str) -> None:
        if self._external is not None:
            raise ExternalClusterError(
                f"cannot {what} the external Redis {self._external} ({REDIS_URL_ENV} is set); "
                "use the redis_private_server fixture for fault tests"
            )

    def __enter__(self) -> RedisServer:
        return self.start() if self._external is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "external" if self._external else ("running" if self.running else "stopped")
        return f"RedisServer({self.url!r}, {kind})"


def redis_test_settings(url: str, **overrides: Any) -> Any:
    """``news_redis.RedisSettings`` for ``url`` tuned for tests.

    Timeouts of half a second (a fault test fails fast), a pool of 16, and a health check of
    every idle connection before use. ``overrides`` replace fields. Needs
    ``pip install 'news-testing[redis]'``.
    """
    try:
        import news_redis
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "redis_test_settings needs: pip install 'news-testing[redis]'", name="news_redis"
        ) from exc
    fields: dict[str, Any] = {
        "url": url,
        "pool_size": 16,
        "pool_timeout": 2.0,
        "connect_timeout": 0.5,
        "socket_timeout": 0.5,
        "health_check_interval": 0.0,
        "metrics": "off",
    }
    fields.update(overrides)
    return news_redis.RedisSettings(**fields)


for _public in (RedisServer, RedisStartError, redis_test_settings):
    _public.__module__ = "news_testing"  # their public home (also importable from here)
del _public
