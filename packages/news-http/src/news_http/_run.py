"""`run`: serve an app until SIGTERM/SIGINT, drain, run shutdown hooks, flush logs, exit.

What Robyn 0.88 (actix underneath) does on its own, and what this module does instead:

- Single process: SIGTERM makes actix stop accepting and finish its connections, and then the
  process hangs forever in the Python event loop (upstream #1324). SIGINT makes actix drop
  in-flight requests (its "forced shutdown"). And actix's graceful path itself drops a request
  that started just before the signal now and then (measured: 2 in 15 on a loaded machine, with
  bare Robyn too). So news-http keeps actix out of it: Python handlers for both signals are
  installed before the server starts, and once actix has registered its own (it chains to
  Python's), a watcher thread puts Python's back in front. On the signal, news-http stops new
  connections itself (``shutdown(SHUT_RD)`` on the listening socket: new connections are
  refused at once), lets the requests in flight finish (actix keeps serving them normally),
  then runs the hooks and exits. Where that watcher cannot work (no libc ``sigaction``), actix
  keeps the signals and its own graceful path runs next to news-http's.
- Several processes: Robyn's parent SIGKILLs its workers, so no worker drains or runs shutdown
  code. Here the parent forks the workers itself, forwards SIGTERM to each, waits for them (each
  drains and runs its hooks) and kills only those still alive after the grace period plus the
  hook budget.
- Robyn keeps one startup and one shutdown handler, and a failing startup handler panics the
  server thread and leaves the process hanging. Here the ordered hook lists run on the worker's
  event loop (the one that runs async handlers); a failure logs the hook and exits with code 3.

Exit codes: 0 clean shutdown; 1 the grace period ran out with requests in flight, a shutdown
hook failed, or (multi-process) a worker died; 3 a startup hook failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import inspect
import ipaddress
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any, NoReturn

import news_log
from news_http._errors import HTTPConfigError, PortInUseError, ServerStartError
from news_http._stack.access_log import IN_FLIGHT

if TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType

    from robyn.robyn import SocketHeld

    from news_http._app import NewsApp
    from news_http._settings import HTTPSettings

__all__ = ["EXIT_STARTUP_FAILED", "EXIT_UNCLEAN", "SETTLE_S", "check_port", "run"]

EXIT_UNCLEAN = 1
EXIT_STARTUP_FAILED = 3

_log = news_log.get_logger("news_http.server")
# The drain is done when no request has been inside the stack for SETTLE_S. The margin covers
# the time between a handler returning to Robyn and actix writing the response (a pyo3
# callback and a thread wake-up; measured above 100 ms on a loaded 2-core machine), which
# Python cannot observe.
SETTLE_S = 0.25
_POLL_S = 0.01


def check_port(host: str, port: int) -> None:
    """Fail clearly if ``host:port`` cannot be bound (Robyn would wait for keyboard input).

    Robyn's socket sets SO_REUSEPORT, so a second server on a busy port would bind silently and
    share the traffic; the probe here does not set it, so any listener makes it fail.

    Raises:
        HTTPConfigError: ``host`` is not an IP address.
        PortInUseError: Another process listens on the address.
        ServerStartError: The address cannot be bound for another reason.
    """
    try:
        ip = ipaddress.ip_address(host)
    except ValueError as exc:
        raise HTTPConfigError(
            f"host {host!r} must be an IP address (0.0.0.0, 127.0.0.1, ::), not a name"
        ) from exc
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise PortInUseError(
                    exc.errno,
                    f"port {port} on {host} is already in use by another process; stop it or "
                    "choose another port (HTTPSettings.port)",
                ) from exc
            raise ServerStartError(f"cannot bind {host}:{port}: {exc}") from exc


def run(app: NewsApp, settings: HTTPSettings | None = None) -> NoReturn:
    """Serve ``app`` until SIGTERM or SIGINT, then shut down gracefully and exit the process.

    ``settings`` (default: the app's) apply to everything: address, processes, the middleware
    chain (CORS, limits, compression...) and the security headers.

    On the signal: the server stops accepting connections; requests in flight get up to
    ``shutdown_grace`` seconds to finish; shutdown hooks run in reverse registration order;
    news-log is flushed; the process exits 0 (1 if the grace period ran out or a hook failed).
    With ``processes > 1`` the calling process supervises forked workers that each do all of
    that; it exits once they have.

    Startup hooks run in each worker before it serves; a failing one exits with code 3.

    Args:
        app: The app from `news_http.create_app`.
        settings: Replace ``app.settings`` (e.g. loaded from the environment at start).

    Raises:
        PortInUseError: The port is taken (raised before anything is started).
        HTTPConfigError: The host is not an IP address, or a route cannot be composed.
    """
    try:
        if settings is not None:
            app.use_settings(settings)
        settings = app.settings
        app.finalize()
        check_port(settings.host, settings.port)
    except Exception as exc:
        _log.critical("cannot start the server", error=str(exc), exc_info=exc)
        news_log.flush()
        raise
    from robyn.robyn import SocketHeld

    try:
        held = SocketHeld(settings.host, settings.port)
    except Exception as exc:
        _log.critical("cannot open the server socket", error=str(exc))
        news_log.flush()
        raise ServerStartError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from exc
    if settings.processes == 1:
        _Worker(app, settings, held, index=0).serve()
    _Supervisor(app, settings, held).serve()


# -- one serving process ------------------------------------------------------------------------


class _SignalGuard:
    """Keep SIGTERM and SIGINT away from actix (see the module docstring).

    actix registers process-wide handlers for SIGINT/SIGTERM/SIGQUIT when its server starts,
    after Python's, to which they chain. This records Python's sigactions before the server
    starts and puts them back as soon as actix has replaced them (SIGQUIT stays actix's:
    an immediate stop).
    """

    _SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._sigaction: Any = None
        self._saved: dict[int, Any] = {}
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(None, use_errno=True)
            sigaction = libc.sigaction
            for signum in self._SIGNALS:
                buffer = ctypes.create_string_buffer(512)
                if sigaction(signum, None, buffer) != 0:
                    return
                self._saved[signum] = buffer
            self._sigaction = sigaction

    def watch(self, timeout: float = 30.0) -> None:
        """Start a daemon thread that restores Python's handlers once actix took them."""
        if self._sigaction is None:
            return
        threading.Thread(
            target=self._run, args=(timeout,), name="news-http-signals", daemon=True
        ).start()

    def _run(self, timeout: float) -> None:
        current = ctypes.create_string_buffer(512)
        size = ctypes.sizeof(ctypes.c_void_p)
        pending = dict(self._saved)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for signum, saved in list(pending.items()):
                if self._sigaction(signum, None, current) == 0 and (
                    current.raw[:size] != saved.raw[:size]
                ):
                    self._sigaction(signum, saved, None)
                    del pending[signum]
            time.sleep(0.005)
        if pending:
            _log.warning(
                "actix kept its signal handlers; its own graceful shutdown runs too",
                signals=[signal.Signals(s).name for s in pending],
            )


def _stop_accepting(port: int) -> int:
    """Shut down (for reading) every listening socket of this process on ``port``.

    New connections are then refused by the kernel and actix's accept loop stops getting any
    (its accept fails with EINVAL; the error lines it would log are silenced). The socket is
    shared with the other workers, which are stopping too. Returns how many were shut.
    """
    fd_dir = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    shut = 0
    try:
        fds = [int(name) for name in os.listdir(fd_dir)]
    except OSError:
        return 0
    logging.getLogger("actix_server.accept").setLevel(logging.CRITICAL)
    for fd in fds:
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        try:
            if (
                sock.family in (socket.AF_INET, socket.AF_INET6)
                and sock.type == socket.SOCK_STREAM
                and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
                and sock.getsockname()[1] == port
            ):
                sock.shutdown(socket.SHUT_RD)
                shut += 1
        except OSError:
            pass
        finally:
            sock.detach()
    return shut


class _Worker:
    """One process serving the app with Robyn's server (in-process, or a forked child)."""

    def __init__(
        self, app: NewsApp, settings: HTTPSettings, held: SocketHeld, *, index: int
    ) -> None:
        self.app = app
        self.settings = settings
        self.held = held
        self.index = index
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping = False
        self.started = False
        self.signal_name = ""
        self.sockets_shut = 0
        self.listeners_closed = False
        self.exit_code = 0
        self.guard: _SignalGuard | None = None

    # -- signals ------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        name = signal.Signals(signum).name
        if self.stopping:
            if signum == signal.SIGINT:
                _log.warning("second SIGINT: exiting without waiting", pid=os.getpid())
                self._exit(EXIT_UNCLEAN)
            return
        self.stopping = True
        self.signal_name = name
        health = self.app.health
        if health is not None:
            health.mark_shutting_down()  # readiness fails from this instant
        if self.settings.shutdown_delay <= 0:
            self._close_listeners()
        loop = self.loop
        if loop is not None and self.started:
            loop.call_soon_threadsafe(self._begin_drain)

    def _close_listeners(self) -> None:
        if not self.listeners_closed:
            self.listeners_closed = True
            self.sockets_shut = _stop_accepting(self.settings.port)

    def _begin_drain(self) -> None:
        assert self.loop is not None
        self.loop.create_task(self._shutdown())

    async def _shutdown(self) -> None:
        delay = self.settings.shutdown_delay
        if delay > 0 and not self.listeners_closed:
            _log.info(
                "shutting down: readiness fails; still serving during shutdown_delay",
                signal=self.signal_name,
                delay_s=delay,
                pid=os.getpid(),
            )
            await asyncio.sleep(delay)
            self._close_listeners()
        await self._drain()

    # -- lifecycle ------------------------------------------------------------------------------

    async def _run_hook(self, hook: Any) -> None:
        result = hook()
        if inspect.isawaitable(result):
            await asyncio.wait_for(result, self.settings.hook_timeout)

    async def _startup(self) -> None:
        """Robyn's startup handler: runs on the serving event loop, before actix listens."""
        self.loop = asyncio.get_running_loop()
        health = self.app.health
        if health is not None:
            await health.start()  # the event-loop lag monitor runs on the serving loop
        for hook in self.app.startup_hooks:
            name = getattr(hook, "__qualname__", repr(hook))
            try:
                await self._run_hook(hook)
            except BaseException as exc:  # noqa: BLE001 - a failing hook stops the worker
                reason = (
                    f"took longer than {self.settings.hook_timeout:g} s"
                    if isinstance(exc, TimeoutError)
                    else f"{type(exc).__name__}: {exc}"
                )
                _log.critical(
                    "startup hook failed; not serving",
                    hook=name,
                    reason=reason,
                    pid=os.getpid(),
                    exc_info=exc,
                )
                self._exit(EXIT_STARTUP_FAILED)
        self.started = True
        if health is not None:
            health.mark_started()  # readiness may pass from now on
        if self.guard is not None:
            self.guard.watch()
        _log.info(
            "serving",
            service=self.app.name,
            host=self.settings.host,
            port=self.settings.port,
            pid=os.getpid(),
            worker=self.index,
            threads=self.settings.workers,
        )
        if self.stopping:  # a signal arrived during startup
            self.loop.call_soon(self._begin_drain)

    async def _drain(self) -> None:
        grace = self.settings.shutdown_grace
        began = time.monotonic()
        _log.info(
            "shutting down: draining in-flight requests",
            signal=self.signal_name,
            in_flight=len(IN_FLIGHT),
            grace_s=grace,
            listeners_closed=self.sockets_shut,
            pid=os.getpid(),
        )
        last_busy = began
        while True:
            now = time.monotonic()
            if IN_FLIGHT:
                last_busy = now
                if now - began >= grace:
                    _log.warning(
                        "grace period over; shutting down with requests in flight",
                        in_flight=len(IN_FLIGHT),
                        grace_s=grace,
                    )
                    self.exit_code = EXIT_UNCLEAN
                    break
            elif now - last_busy >= SETTLE_S:
                break
            await asyncio.sleep(_POLL_S)
        for hook in self.app.shutdown_hooks:
            name = getattr(hook, "__qualname__", repr(hook))
            try:
                await self._run_hook(hook)
            except Exception as exc:  # noqa: BLE001 - the other hooks still run
                _log.error("shutdown hook failed", hook=name, exc_info=exc)
                self.exit_code = EXIT_UNCLEAN
        _log.info(
            "stopped",
            pid=os.getpid(),
            exit_code=self.exit_code,
            shutdown_s=round(time.monotonic() - began, 3),
        )
        self._exit(self.exit_code)

    def _exit(self, code: int) -> NoReturn:
        # Robyn's server threads are Rust threads that hold no Python state we need; a normal
        # interpreter exit could race them, so flush what matters and leave at once.
        _flush_metrics()
        news_log.shutdown(timeout=5.0)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)

    def serve(self) -> NoReturn:
        """Start Robyn's server on this process and never return (exit via `_exit`)."""
        from robyn.processpool import initialize_event_loop
        from robyn.robyn import FunctionInfo, Server

        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.guard = _SignalGuard()  # records Python's handlers before actix registers its own
        app = self.app
        initialize_event_loop()  # type: ignore[no-untyped-call]  # uvloop, as Robyn does
        server = Server()
        for directory in app.directories:
            server.add_directory(*directory.as_list())  # type: ignore[no-untyped-call]
        server.apply_request_headers(app.request_headers)
        server.apply_response_headers(app.response_headers)
        server.set_response_headers_exclude_paths(app.excluded_response_headers_paths)
        for route in app.router.get_routes():
            server.add_route(route.route_type, route.route, route.function, route.is_const)
        for endpoint, handlers in app.web_socket_router.get_routes().items():
            # robyn.pyi lists more parameters than the 0.88 binary takes (as processpool.py).
            server.add_web_socket_route(  # type: ignore[call-arg]
                endpoint, handlers["connect"], handlers["close"], handlers["message"]
            )
        server.add_startup_handler(FunctionInfo(self._startup, True, 0, {}, {}))
        try:
            server.start(self.held, self.settings.workers)  # type: ignore[call-arg]
        except BaseException as exc:  # noqa: BLE001 - whatever stopped the loop, exit cleanly
            _log.critical("the server stopped unexpectedly", exc_info=exc)
            self._exit(EXIT_UNCLEAN)
        # run_forever returned without our drain: the loop was stopped by someone else.
        _log.error("the server's event loop stopped unexpectedly")
        self._exit(EXIT_UNCLEAN)


def _flush_metrics() -> None:
    """Write news-metrics' buffered multi-process values (os._exit skips its atexit hook)."""
    module = sys.modules.get("news_metrics.multiprocess")
    if module is not None:
        with contextlib.suppress(Exception):
            module.flush()


# -- several processes --------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Linux: get SIGTERM if the supervisor dies, instead of serving on as an orphan."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _Supervisor:
    """The parent of ``processes`` forked workers: forwards signals, reaps, reports."""

    def __init__(self, app: NewsApp, settings: HTTPSettings, held: SocketHeld) -> None:
        self.app = app
        self.settings = settings
        self.held: SocketHeld | None = held
        self.children: dict[int, int] = {}
        self.stopping = False
        self.exit_code = 0
        self._killer: threading.Timer | None = None

    def _fork(self, index: int) -> None:
        assert self.held is not None
        child_socket = self.held.try_clone()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                _die_with_parent()
                _Worker(self.app, self.settings, child_socket, index=index).serve()
            finally:
                os._exit(EXIT_UNCLEAN)
        self.children[pid] = index

    def _stop_children(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        _log.info("stopping workers", reason=reason, workers=len(self.children))
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        budget = (
            self.settings.shutdown_delay
            + self.settings.shutdown_grace
            + self.settings.hook_timeout * (len(self.app.shutdown_hooks) + 1)
        )
        self._killer = threading.Timer(budget + 5.0, self._kill_remaining)
        self._killer.daemon = True
        self._killer.start()

    def _kill_remaining(self) -> None:
        for pid in list(self.children):
            _log.error("worker did not stop in time; killing it", pid=pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self._stop_children(signal.Signals(signum).name)

    # -- multi-process metrics -------------------------------------------------------------------

    def _prepare_metrics(self) -> tuple[Path, bool] | None:
        """Turn on prometheus-client's multi-process mode before forking (metrics on only).

        The folder is ``$PROMETHEUS_MULTIPROC_DIR`` when set (emptied of ``*.db`` files),
        else a new private folder named after the service; every worker records there and
        any worker's ``/metrics`` adds them all up. Returns the folder and whether it was made
        here (then it is removed at the end).

        Raises:
            news_metrics.MultiprocessError: Metrics were already recorded in this process.
        """
        if not self.app.serves_metrics:
            return None
        from news_metrics import multiprocess

        chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        made = chosen is None
        if made:
            safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in self.app.name)
            chosen = tempfile.mkdtemp(prefix=f"news-metrics-{safe}-")
        path = multiprocess.prepare(chosen)
        _log.info("multi-process metrics", directory=str(path), pid=os.getpid())
        return path, made

    @staticmethod
    def _metrics_child_exited(pid: int) -> None:
        from news_metrics import multiprocess

        with contextlib.suppress(Exception):
            multiprocess.child_exited(pid)

    @staticmethod
    def _cleanup_metrics(prepared: tuple[Path, bool]) -> None:
        from news_metrics import multiprocess

        path, made = prepared
        with contextlib.suppress(Exception):
            multiprocess.cleanup()
        if made:
            shutil.rmtree(path, ignore_errors=True)

    def serve(self) -> NoReturn:
        """Fork the workers, supervise them, exit when they are all gone."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        metrics_dir = self._prepare_metrics()
        news_log.flush()  # nothing queued may be written twice after fork
        for index in range(self.settings.processes):
            self._fork(index)
        self.held = None  # the workers hold the socket: the port is freed when they are gone
        _log.info(
            "supervising workers",
            service=self.app.name,
            pids=sorted(self.children),
            host=self.settings.host,
            port=self.settings.port,
        )
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid not in self.children:
                continue
            index = self.children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if metrics_dir is not None:
                self._metrics_child_exited(pid)
            if code != 0:
                self.exit_code = code if code > 0 else EXIT_UNCLEAN
            if not self.stopping:
                _log.error("worker exited unexpectedly", pid=pid, worker=index, exit_code=code)
                self._stop_children(f"worker {index} exited with {code}")
            else:
                _log.info("worker exited", pid=pid, worker=index, exit_code=code)
        if self._killer is not None:
            self._killer.cancel()
        if metrics_dir is not None:
            self._cleanup_metrics(metrics_dir)
        _log.info("stopped", exit_code=self.exit_code, pid=os.getpid())
        news_log.shutdown(timeout=5.0)
        os._exit(self.exit_code)
