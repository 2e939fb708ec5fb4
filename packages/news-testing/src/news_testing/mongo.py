"""MongoDB test servers: private SecantusDB processes on free loopback ports, or a real MongoDB.

- `MongoServer` runs SecantusDB's Python MongoDB server (``secantusd-py``, from the PyPI package
  ``secantusdb``: GPL-2.0, so a test-only tool, run as a separate process and never imported)
  on a free port with its data in a temporary folder; or stands for an external MongoDB
  (``NEWS_TEST_MONGO_URI``). A private one can be stopped, killed, paused and restarted (same
  port, same data: as a ``mongod`` restart) for fault tests.
- `MongoTestDatabase` is one test's database on such a server: a fresh name, dropped after.
- `mongo_test_settings` gives ``news_mongo.MongoSettings`` with short timeouts (needs
  ``pip install 'news-testing[mongo]'``).

SecantusDB speaks the MongoDB wire protocol over WiredTiger and always presents itself as a
single-node replica set (so transactions work). What it lacks next to ``mongod`` is in
docs/news-testing.md; set ``NEWS_TEST_MONGO_URI`` to run the same tests against a real MongoDB
(a replica set: transactions need one).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from news_testing._errors import ExternalClusterError, NewsTestingError
from news_testing._net import free_port

if TYPE_CHECKING:
    import os
    from types import TracebackType

__all__ = [
    "MONGO_URI_ENV",
    "MongoServer",
    "MongoStartError",
    "MongoTestDatabase",
    "mongo_test_settings",
]

MONGO_URI_ENV: Final = "NEWS_TEST_MONGO_URI"
"""Set it (``mongodb://host:27017/?replicaSet=rs0``) to test against that MongoDB instead.

The tests create databases named ``news_test_<random>`` there and drop them afterwards.
"""

_BINARY: Final = "secantusd-py"
_INSTALL: Final = (
    "pip install 'secantusdb==0.7.0b3' (GPL-2.0, test-only; the hatch test env has it), "
    f"or set {MONGO_URI_ENV} to a MongoDB replica set"
)


class MongoStartError(NewsTestingError, RuntimeError):
    """A private SecantusDB server did not start; the message has its log's tail."""


def _find_binary(name: str) -> str | None:
    beside = Path(sys.executable).parent / name  # the test venv's own
    if beside.is_file():
        return str(beside)
    return shutil.which(name)


def _ping(uri: str, timeout: float) -> bool:
    """True when a MongoDB server at ``uri`` answers ``ping`` within ``timeout`` seconds."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    ms = max(int(timeout * 1000), 50)
    client: MongoClient[Any] = MongoClient(
        uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
    )
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


class MongoServer:
    """A MongoDB server for tests: a private SecantusDB process, or an external MongoDB.

    ``MongoServer()`` starts nothing until `start`. Its data lives in a temporary folder that
    survives `restart` (as a real server's disk does) and is removed by `close`.

    Attributes:
        host: ``127.0.0.1`` (or the external server's first host).
        port: The listening port.
        log_path: The server's log file (None for an external server).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        binary: str = _BINARY,
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self._binary = binary
        self._startup_timeout = startup_timeout
        self._external: str | None = None
        self._dir = tempfile.mkdtemp(prefix="news-testing-mongo-")
        self.log_path: Path | None = Path(log_path) if log_path else Path(self._dir) / "mongo.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @classmethod
    def external(cls, uri: str) -> MongoServer:
        """Stand for a running MongoDB (``mongodb://...``); it cannot be stopped or restarted."""
        if not uri.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError(f"{MONGO_URI_ENV}={uri!r} is not a mongodb:// connection string")
        server = cls.__new__(cls)
        rest = uri.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        first = rest.rpartition("@")[2].split(",")[0]
        host, _, port = first.partition(":")
        server.host = host or "127.0.0.1"
        server.port = int(port) if port.isdigit() else 27017
        server._binary = ""
        server._startup_timeout = 0.0
        server._external = uri
        server._dir = ""
        server.log_path = None
        server._process = None
        server._log = None
        return server

    @property
    def uri(self) -> str:
        """The connection string of the server (``directConnection`` for a private one)."""
        return self._external or f"mongodb://{self.host}:{self.port}/?directConnection=true"

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

    def ping(self, timeout: float = 2.0) -> bool:
        """True when the server answers ``ping`` within ``timeout`` seconds."""
        return _ping(self.uri, timeout)

    def start(self) -> MongoServer:
        """Start the server and wait until it answers ``ping``.

        Raises:
            FileNotFoundError: SecantusDB is not installed (the message has the install line).
            MongoStartError: It exited, or did not answer within ``startup_timeout``.
        """
        self._refuse_external("start")
        if self.running:
            return self
        binary = _find_binary(self._binary)
        if binary is None:
            raise FileNotFoundError(f"{self._binary} (SecantusDB) is not installed: {_INSTALL}")
        config = Path(self._dir) / "secantusd.toml"
        config.write_text("")  # an explicit empty config: no ./secantusd.toml discovery
        assert self.log_path is not None
        self._log = self.log_path.open("ab")
        command = [
            binary,
            "--config", str(config),
            "--host", self.host,
            "--port", str(self.port),
            "--storage-path", str(Path(self._dir) / "data"),
            "--log-level", "WARNING",
            "--cache-size", "128M",
            "--enable-test-commands",  # configureFailPoint, for fault tests (loopback only)
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 - the binary found above
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
        )
        deadline = time.monotonic() + self._startup_timeout
        while not self._accepts():
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise MongoStartError(
                    f"secantusd-py exited at start (port {self.port}, exit {code}):\n"
                    f"{self.log_tail(30)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise MongoStartError(
                    f"secantusd-py on port {self.port} did not accept connections within "
                    f"{self._startup_timeout:g}s:\n{self.log_tail(30)}"
                )
            time.sleep(0.05)
        if not self.ping(timeout=max(deadline - time.monotonic(), 1.0)):
            self.stop()
            raise MongoStartError(f"secantusd-py on port {self.port} does not answer ping")
        return self

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and wait until it exited."""
        self._refuse_external("stop")
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused server cannot handle SIGTERM
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self._close_log()

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash would."""
        self._refuse_external("kill")
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)
        self._close_log()

    def restart(self) -> MongoServer:
        """Stop and start again on the same port, with the same data."""
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

    def database(self, name: str | None = None) -> MongoTestDatabase:
        """A database of this server for one test (a fresh ``news_test_...`` name by default)."""
        return MongoTestDatabase(self, name or f"news_test_{uuid.uuid4().hex[:12]}")

    def settings(self, **overrides: Any) -> Any:
        """``news_mongo.MongoSettings`` for this server with short timeouts (see below)."""
        return mongo_test_settings(overrides.pop("uri", self.uri), **overrides)

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

    def _close_log(self) -> None:
        log, self._log = self._log, None
        if log is not None:
            log.close()

    def _refuse_external(self, what: str) -> None:
        if self._external is not None:
            raise ExternalClusterError(
                f"cannot {what} the external MongoDB ({MONGO_URI_ENV} is set); "
                "use the mongo_private_server fixture for fault tests"
            )

    def __enter__(self) -> MongoServer:
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
        where = f"{self.host}:{self.port}"
        return f"MongoServer({where!r}, {kind})"


class MongoTestDatabase:
    """One test's database on a `MongoServer`: ``settings()`` point at it; `drop` removes it.

    Attributes:
        server: The server.
        name: The database's name.
    """

    def __init__(self, server: MongoServer, name: str) -> None:
        self.server = server
        self.name = name

    @property
    def uri(self) -> str:
        """The server's connection string (the database is ``name``, set in the settings)."""
        return self.server.uri

    def settings(self, **overrides: Any) -> Any:
        """``news_mongo.MongoSettings`` for this database with test timeouts (see below)."""
        overrides.setdefault("database", self.name)
        return self.server.settings(**overrides)

    def drop(self) -> None:
        """Drop the database (a synchronous client; nothing is left behind on the server)."""
        from pymongo import MongoClient

        client: MongoClient[Any] = MongoClient(self.uri, serverSelectionTimeoutMS=5000)
        try:
            client.drop_database(self.name)
        finally:
            client.close()

    def __repr__(self) -> str:
        return f"MongoTestDatabase({self.name!r} on {self.server!r})"


def mongo_test_settings(uri: str, **overrides: Any) -> Any:
    """``news_mongo.MongoSettings`` for ``uri`` tuned for tests.

    Server selection, connect and pool waits of 2 s, a socket timeout of 5 s (a fault test
    fails fast), metrics off. ``overrides`` replace fields. Needs
    ``pip install 'news-testing[mongo]'``.
    """
    try:
        import news_mongo
        from news_config import Secret
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "mongo_test_settings needs: pip install 'news-testing[mongo]'", name="news_mongo"
        ) from exc
    fields: dict[str, Any] = {
        "uri": Secret(uri),
        "max_pool_size": 16,
        "pool_timeout": 2.0,
        "server_selection_timeout": 2.0,
        "connect_timeout": 2.0,
        "socket_timeout": 5.0,
        "metrics": "off",
    }
    fields.update(overrides)
    if isinstance(fields["uri"], str):
        fields["uri"] = Secret(fields["uri"])
    return news_mongo.MongoSettings(**fields)


for _public in (MongoServer, MongoStartError, MongoTestDatabase, mongo_test_settings):
    _public.__module__ = "news_testing"  # their public home (also importable from here)
del _public
