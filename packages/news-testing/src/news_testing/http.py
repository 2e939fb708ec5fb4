"""Run a news-http app in a real server process for tests: free port, readiness, logs, signals.

``robyn.testing.TestClient`` calls handlers in-process: it runs no lifecycle hooks, no signal
handling, no Rust-side headers, and Robyn's async handlers there do not run on the server's
event loop. To test what a client and an operator see, start the app for real::

    from news_testing.http import serve_app


    def test_article_not_found():
        with serve_app("myservice.main:app") as server:
            response = server.client().get("/articles/999")
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            line = server.wait_for_log(logger="news_http.access", status=404)
            assert line["request_id"] == response.headers["x-request-id"]
        assert server.result is not None and server.result.exit_code == 0

Log fields are matched by keyword (``wait_for_log(msg="stored", count=3)`` matches a line whose
``count`` field is 3), or by a dict, positional, for any field name; the helper's own options
are ``within`` (seconds) and ``nth`` (which matching line).

The pytest plugin also offers the ``http_server`` fixture: a function with `serve_app`'s
arguments that stops every server it started when the test ends.

Needs ``pip install 'news-testing[http]'`` (news-http and httpx).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from news_testing._errors import AppStartError, WaitTimeoutError
from news_testing._net import free_port

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    import httpx

    from news_http import HTTPSettings

__all__ = [
    "AppStartError",
    "ServerProcess",
    "StopResult",
    "free_port",
    "serve_app",
    "start_app",
]

SETTINGS_ENV = "NEWS_TESTING_HTTP_SETTINGS"
OVERRIDES_ENV = "NEWS_TESTING_HTTP_OVERRIDES"
LOG_LEVEL_ENV = "NEWS_TESTING_HTTP_LOG_LEVEL"
RUNNER_LOGGER = "news_testing.http"


def _missing(exc: ModuleNotFoundError) -> ModuleNotFoundError:
    return ModuleNotFoundError(
        "HTTP test helpers need: pip install 'news-testing[http]'", name=exc.name
    )


class StopResult:
    """How a server process ended.

    Attributes:
        exit_code: The process' exit code (negative: killed by that signal number).
        duration_s: Seconds from sending the signal to the process being gone.
        signal: The signal that was sent.
    """

    __slots__ = ("duration_s", "exit_code", "signal")

    def __init__(self, exit_code: int, duration_s: float, sig: int) -> None:
        self.exit_code = exit_code
        self.duration_s = duration_s
        self.signal = sig

    def __repr__(self) -> str:
        return (
            f"StopResult(exit_code={self.exit_code}, duration_s={self.duration_s:.3f}, "
            f"signal={signal.Signals(self.signal).name})"
        )


_MISSING = object()


def _matches(line: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    return all(line.get(key, _MISSING) == value for key, value in fields.items())


def _criteria(
    match: Mapping[str, Any] | Callable[[dict[str, Any]], bool] | None, fields: dict[str, Any]
) -> tuple[dict[str, Any], Callable[[dict[str, Any]], bool] | None]:
    """Split ``match`` (a dict of fields, or a predicate) and the keyword fields into both."""
    if match is None:
        return fields, None
    if callable(match):
        return fields, match
    return {**match, **fields}, None


class ServerProcess:
    """A news-http app served by a child process on loopback.

    Attributes:
        port: The TCP port it listens on.
        url: ``http://127.0.0.1:<port>``.
        settings: The `news_http.HTTPSettings` given to `start_app` (None: the app's own,
            on 127.0.0.1 and ``port``).
        processes: How many worker processes serve (known once the runner started).
        process: The `subprocess.Popen` of the server (its supervisor with ``processes > 1``).
        result: How it stopped, once it has (`stop`), else None.
    """

    def __init__(
        self, process: subprocess.Popen[bytes], port: int, settings: HTTPSettings | None = None
    ) -> None:
        self.process = process
        self.settings = settings
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.processes: int | None = settings.processes if settings is not None else None
        self.result: StopResult | None = None
        self._lines: list[dict[str, Any]] = []
        self._raw: list[str] = []
        self._changed = threading.Condition()
        self._clients: list[Any] = []
        self._reader = threading.Thread(
            target=self._read, name=f"news-testing-server-{process.pid}", daemon=True
        )
        self._reader.start()

    # -- logs -----------------------------------------------------------------------------------

    def _read(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
            with self._changed:
                self._raw.append(text)
                if isinstance(parsed, dict):
                    self._lines.append(parsed)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def logs(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (stderr), parsed, oldest first (a copy)."""
        with self._changed:
            return list(self._lines)

    @property
    def output(self) -> list[str]:
        """Every stderr line so far as text, JSON or not (a copy)."""
        with self._changed:
            return list(self._raw)

    def find_logs(
        self,
        match: Mapping[str, Any] | Callable[[dict[str, Any]], bool] | None = None,
        /,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """The log lines whose fields equal ``match`` and ``fields``, oldest first.

        Args:
            match: A dict of fields (any name: ``{"count": 3}``), or a predicate taking the
                parsed line.
            **fields: More fields to equal (``find_logs(logger="news_http.access")``).
        """
        wanted, predicate = _criteria(match, fields)
        return [
            line
            for line in self.logs
            if _matches(line, wanted) and (predicate is None or predicate(line))
        ]

    def wait_for_log(
        self,
        match: Mapping[str, Any] | Callable[[dict[str, Any]], bool] | None = None,
        /,
        *,
        within: float = 10.0,
        nth: int = 1,
        **fields: Any,
    ) -> dict[str, Any]:
        """Wait until ``nth`` lines match; return the ``nth`` matching line.

        ``wait_for_log(msg="stored", count=3)`` waits for a line whose ``msg`` is "stored" and
        whose ``count`` field is 3: every keyword but ``within`` and ``nth`` is a log field, and
        a dict passed positionally matches fields of any name (``{"within": 1}``).

        Args:
            match: A dict of fields to equal, or a predicate taking the parsed line.
            within: Seconds to wait.
            nth: How many matching lines to wait for; the last of them is returned.
            **fields: Fields the line must have, with these values.

        Raises:
            WaitTimeoutError: Fewer than ``nth`` matching lines within ``within`` seconds (a
                `TimeoutError`; the message shows the last lines seen).
        """
        wanted, predicate = _criteria(match, fields)
        deadline = time.monotonic() + within
        with self._changed:
            while True:
                found = [
                    line
                    for line in self._lines
                    if _matches(line, wanted) and (predicate is None or predicate(line))
                ]
                if len(found) >= nth:
                    return found[nth - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(self._raw[-15:])
                    what = f"{wanted}" + (" and the predicate" if predicate is not None else "")
                    raise WaitTimeoutError(
                        f"{len(found)} of {nth} log line(s) matching {what} within {within} s; "
                        f"last lines:\n{tail}"
                    )
                self._changed.wait(min(left, 0.1))

    # -- clients --------------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> httpx.Client:
        """An `httpx.Client` with ``base_url`` set (closed when the server is stopped)."""
        try:
            import httpx
        except ModuleNotFoundError as exc:
            raise _missing(exc) from exc
        kwargs.setdefault("timeout", 30.0)
        client = httpx.Client(base_url=self.url, **kwargs)
        self._clients.append(client)
        return client

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An `httpx.AsyncClient` with ``base_url`` set (close it yourself: ``async with``)."""
        try:
            import httpx
        except ModuleNotFoundError as exc:
            raise _missing(exc) from exc
        kwargs.setdefault("timeout", 30.0)
        return httpx.AsyncClient(base_url=self.url, **kwargs)

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def exit_code(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return self.process.poll()

    def wait_ready(self, *, timeout: float = 30.0) -> None:
        """Wait until every worker logged "serving" (the socket accepts from then on).

        Raises:
            AppStartError: The process exited first, or ``timeout`` passed.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self.processes is None:
                    for line in self._lines:
                        if line.get("logger") == RUNNER_LOGGER and "processes" in line:
                            self.processes = int(line["processes"])
                wanted = self.processes if self.processes is not None else 1 << 30
                serving = [
                    line
                    for line in self._lines
                    if line.get("logger") == "news_http.server" and line.get("msg") == "serving"
                ]
                if len(serving) >= wanted:
                    return
                code = self.process.poll()
                if code is not None or time.monotonic() >= deadline:
                    self._changed.wait(0.2)  # let the reader catch the last lines
                    tail = "\n".join(self._raw[-20:])
                    reason = (
                        f"exited with code {code}"
                        if code is not None
                        else f"was not serving after {timeout} s"
                    )
                    raise AppStartError(f"the server process {reason}; last lines:\n{tail}")
                self._changed.wait(0.05)

    def stop(self, sig: int = signal.SIGTERM, *, timeout: float = 30.0) -> StopResult:
        """Send ``sig``, wait for the process to exit, and return how it ended.

        Raises:
            WaitTimeoutError: Still running after ``timeout`` seconds (a `TimeoutError`; it is
                then killed, with any workers it left behind).
        """
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()
        if self.result is not None:
            return self.result
        started = time.monotonic()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise WaitTimeoutError(
                f"the server did not exit within {timeout} s of {signal.Signals(sig).name}; "
                "it was killed"
            ) from None
        self.result = StopResult(code, time.monotonic() - started, sig)
        self._reader.join(5.0)  # the last lines, until every writer of the pipe is gone
        self._kill_group()
        self._close_pipe()
        return self.result

    def kill(self) -> None:
        """Kill the server and every process in its group at once (no graceful shutdown)."""
        self._kill_group()
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._close_pipe()

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def _close_pipe(self) -> None:
        """Close the stderr pipe once the reader read it to the end (every writer is gone)."""
        self._reader.join(5.0)
        stream = self.process.stderr
        if stream is not None and not self._reader.is_alive():
            stream.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.result is None:
            with contextlib.suppress(TimeoutError):
                self.stop()


def start_app(
    target: str,
    *,
    settings: HTTPSettings | None = None,
    env: Mapping[str, str | None] | None = None,
    pythonpath: Iterable[str | os.PathLike[str]] = (),
    cwd: str | os.PathLike[str] | None = None,
    log_level: str = "info",
    ready_timeout: float = 30.0,
    wait: bool = True,
) -> ServerProcess:
    """Start ``target`` in a new server process and (by default) wait until it serves.

    Args:
        target: ``"module:attr"``: a `news_http.NewsApp`, or a function without arguments that
            returns one.
        settings: Served with these (a free port replaces the default 8080); default: the
            app's own settings, on 127.0.0.1 and a free port.
        env: Variables for the process, merged over this process' environment: the server
            inherits ``os.environ``, ``env`` adds to it and wins on a clash, and a ``None``
            value removes an inherited variable (``{"NEWS_TEST_KAFKA_BOOTSTRAP": None}``).
            Build ``env`` from `kafka_env` to give a served app the test Kafka settings.
        pythonpath: Folders put in front of ``PYTHONPATH`` (where ``module`` lives).
        cwd: Working directory of the process.
        log_level: news-log level in the process (JSON lines on stderr, parsed into ``logs``).
        ready_timeout: Seconds to wait for every worker's "serving" line.
        wait: False returns at once (for tests of start-up failures; see `ServerProcess.process`).

    Raises:
        AppStartError: The process exited or did not serve in time (with its last lines).
    """
    try:
        import msgspec

        import news_http
    except ModuleNotFoundError as exc:
        raise _missing(exc) from exc
    child_env = dict(os.environ)
    if settings is None:
        port = free_port()
        child_env[OVERRIDES_ENV] = json.dumps({"host": "127.0.0.1", "port": port})
    else:
        if settings.port == news_http.HTTPSettings().port:
            settings = msgspec.structs.replace(settings, port=free_port(settings.host))
        port = settings.port
        child_env[SETTINGS_ENV] = msgspec.json.encode(settings).decode()
    for name, value in (env or {}).items():
        if value is None:
            child_env.pop(name, None)
        else:
            child_env[name] = value
    paths = [os.fspath(p) for p in pythonpath]
    if child_env.get("PYTHONPATH"):
        paths.append(child_env["PYTHONPATH"])
    if paths:
        child_env["PYTHONPATH"] = os.pathsep.join(paths)
    child_env[LOG_LEVEL_ENV] = log_level
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "news_testing._http_runner", target],
        env=child_env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: cleanup can reach every worker
    )
    server = ServerProcess(process, port, settings)
    if wait:
        try:
            server.wait_ready(timeout=ready_timeout)
        except AppStartError:
            server.kill()
            raise
    return server


@contextlib.contextmanager
def serve_app(
    target: str,
    *,
    settings: HTTPSettings | None = None,
    env: Mapping[str, str | None] | None = None,
    pythonpath: Iterable[str | os.PathLike[str]] = (),
    cwd: str | os.PathLike[str] | None = None,
    log_level: str = "info",
    ready_timeout: float = 30.0,
    stop_signal: int = signal.SIGTERM,
    stop_timeout: float = 30.0,
) -> Iterator[ServerProcess]:
    """Serve ``target`` in a real process for the ``with`` block; stop it with ``stop_signal``.

    Arguments as `start_app` (``env`` is merged over ``os.environ``; ``None`` removes a
    variable). On exit the process gets ``stop_signal`` (unless the block stopped it already)
    and ``server.result`` tells its exit code and shutdown duration.
    """
    server = start_app(
        target,
        settings=settings,
        env=env,
        pythonpath=pythonpath,
        cwd=cwd,
        log_level=log_level,
        ready_timeout=ready_timeout,
    )
    try:
        yield server
    finally:
        if server.result is None:
            try:
                server.stop(stop_signal, timeout=stop_timeout)
            finally:
                server._kill_group()


for _public in (ServerProcess, StopResult, serve_app, start_app):
    _public.__module__ = "news_testing"  # their public home (also importable from here)
del _public
