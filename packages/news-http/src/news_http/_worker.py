"""One serving process: Robyn's server, its signals, its startup and its bounded shutdown.

What Robyn 0.88 (actix underneath) does on its own, and what this module does instead:

- Single process: SIGTERM makes actix stop accepting and finish its connections, and then the
  process hangs forever in the Python event loop (upstream #1324). SIGINT makes actix drop
  in-flight requests (its "forced shutdown"). And actix's graceful path itself drops a request
  that started just before the signal now and then (measured: 2 in 15 on a loaded machine, with
  bare Robyn too). So news-http keeps actix out of it: Python handlers for both signals are
  installed before the server starts, and the signal guard (`news_http._robyn.SignalGuard`)
  puts them back in front once actix registered its own.
- On the signal, news-http drains itself: readiness fails at once; after ``shutdown_delay`` it
  stops accepting (`news_http._sockets.stop_accepting`) and closes every keep-alive connection
  as soon as its current response is written (`news_http._sockets.close_connections`: actix
  ignores a ``Connection: close`` header set by a handler); the requests in flight get
  ``shutdown_grace`` seconds. Before the shutdown hooks run, every connection still open is
  closed for good and the stack answers 503 to anything that still reaches it, so no request
  is answered with a success once the hooks (consumer stop, publisher flush) started.
- The shutdown is bounded whatever a hook does (`news_http._shutdown`): each hook within
  ``hook_timeout`` (a sync one on its own thread), every hook runs even if one before it failed
  or raised ``CancelledError``, and a watchdog thread started with the signal ends the process
  at the deadline even if the event loop is blocked.
- Robyn keeps one startup and one shutdown handler, and a failing startup handler panics the
  server thread and leaves the process hanging. Here the ordered hook lists run on the worker's
  event loop (the one that runs async handlers); a failure logs the hook and exits with code 3.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import TYPE_CHECKING, Any, NoReturn

import news_log
from news_http import _robyn
from news_http._shutdown import (
    EXIT_STARTUP_FAILED,
    EXIT_UNCLEAN,
    Watchdog,
    budget,
    exit_process,
    hook_name,
    hook_timeout,
    hooks_budget,
    run_hook,
)
from news_http._sockets import close_connections, stop_accepting
from news_http._stack.access_log import DRAINING, IN_FLIGHT, REFUSING

if TYPE_CHECKING:
    from types import FrameType

    from robyn.robyn import SocketHeld

    from news_http._app import NewsApp
    from news_http._settings import HTTPSettings

__all__ = ["SETTLE_S", "Worker"]

_log = news_log.get_logger("news_http.server")
# The drain is done when no request has been inside the stack for SETTLE_S. The margin covers
# the time between a handler returning to Robyn and actix writing the response (a pyo3
# callback and a thread wake-up; measured above 100 ms on a loaded 2-core machine), which
# Python cannot observe.
SETTLE_S = 0.25
_POLL_S = 0.01
# Idle connections are looked for every _POLL_S, or less often when a sweep takes long (many
# connections): at most one tenth of the drain's time goes into sweeping.
_SWEEP_SHARE = 10.0


class Worker:
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
        self.guard: _robyn.SignalGuard | None = None
        self.watchdog = Watchdog()
        self._shutdown_task: asyncio.Task[None] | None = None

    # -- signals ------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        del frame
        name = signal.Signals(signum).name
        if self.stopping:
            if signum == signal.SIGINT:
                _log.warning("second SIGINT: exiting without waiting", pid=os.getpid())
                exit_process(EXIT_UNCLEAN)
            return
        self.stopping = True
        self.signal_name = name
        settings = self.settings
        self.watchdog.start(
            budget(
                delay=settings.shutdown_delay,
                grace=settings.shutdown_grace,
                settle=SETTLE_S,
                hooks=hooks_budget(self.app.shutdown_hooks, settings.hook_timeout),
            )
        )
        health = self.app.health
        if health is not None:
            health.mark_shutting_down()  # readiness fails from this instant
        if settings.shutdown_delay <= 0:
            self._close_listeners()
        loop = self.loop
        if loop is not None and self.started:
            loop.call_soon_threadsafe(self._begin_drain)

    def _close_listeners(self) -> None:
        if not self.listeners_closed:
            self.listeners_closed = True
            self.sockets_shut = stop_accepting(self.settings.port)

    def _begin_drain(self) -> None:
        assert self.loop is not None
        if self._shutdown_task is None:
            self._shutdown_task = self.loop.create_task(self._shutdown())

    # -- startup --------------------------------------------------------------------------------

    async def _startup(self) -> None:
        """Robyn's startup handler: runs on the serving event loop, before actix listens."""
        self.loop = asyncio.get_running_loop()
        health = self.app.health
        if health is not None:
            await health.start()  # the event-loop lag monitor runs on the serving loop
        for hook in self.app.startup_hooks:
            outcome = await run_hook(
                hook, self.settings.hook_timeout, sync_in_thread=False, running=set()
            )
            if not outcome.ok:
                _log.critical(
                    "startup hook failed; not serving",
                    hook=hook_name(hook),
                    reason=outcome.reason,
                    pid=os.getpid(),
                    exc_info=outcome.error,
                )
                exit_process(EXIT_STARTUP_FAILED)
        self.started = True
        if health is not None:
            health.mark_started()  # readiness may pass from now on
        if self.guard is not None:
            self.guard.watch()
        _robyn.report_fast_paths()
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

    # -- shutdown -------------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        """Delay, drain, close what is left, run the hooks, exit: always ends in `exit_process`."""
        began = time.monotonic()
        reset = 0
        try:
            delay = self.settings.shutdown_delay
            if delay > 0 and not self.listeners_closed:
                self.watchdog.phase = "shutdown_delay"
                _log.info(
                    "shutting down: readiness fails; still serving during shutdown_delay",
                    signal=self.signal_name,
                    delay_s=delay,
                    pid=os.getpid(),
                )
                await asyncio.sleep(delay)
                self._close_listeners()
            await self._drain()
            reset = self._close_for_hooks()
            await self._run_shutdown_hooks()
        except BaseException as exc:  # noqa: BLE001 - whatever happened, the process exits
            _log.critical(
                "shutdown interrupted; exiting",
                phase=self.watchdog.phase,
                error=f"{type(exc).__name__}: {exc}",
                exc_info=exc,
            )
            self.exit_code = EXIT_UNCLEAN
        _log.info(
            "stopped",
            pid=os.getpid(),
            exit_code=self.exit_code,
            requests_reset=reset,
            shutdown_s=round(time.monotonic() - began, 3),
        )
        self.watchdog.cancel()
        exit_process(self.exit_code)

    async def _drain(self) -> None:
        """Close keep-alive connections and wait for the requests in flight (``shutdown_grace``)."""
        self.watchdog.phase = "draining in-flight requests"
        port = self.settings.port
        grace = self.settings.shutdown_grace
        began = time.monotonic()
        DRAINING.append(None)  # a request whose body was cut short gets 503
        connections = close_connections(port)
        _log.info(
            "shutting down: draining in-flight requests",
            signal=self.signal_name,
            in_flight=len(IN_FLIGHT),
            grace_s=grace,
            listeners_closed=self.sockets_shut,
            idle_connections_closed=connections,
            shutdown_hooks=len(self.app.shutdown_hooks),
            hook_timeout_s=self.settings.hook_timeout,
            hooks_budget_s=round(
                hooks_budget(self.app.shutdown_hooks, self.settings.hook_timeout), 3
            ),
            pid=os.getpid(),
        )
        last_busy = next_sweep = began
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
                    return
            elif now - last_busy >= SETTLE_S:
                return
            if now >= next_sweep:  # each connection as soon as its response is out
                close_connections(port)
                took = time.monotonic() - now
                next_sweep = now + max(_POLL_S, _SWEEP_SHARE * took)
            await asyncio.sleep(_POLL_S)

    def _close_for_hooks(self) -> int:
        """From here on nothing is answered with a success; returns the requests cut off."""
        REFUSING.append(None)  # the stack answers 503 to any request that still reaches it
        reset = len(IN_FLIGHT)
        closed = close_connections(self.settings.port, force=True)
        if reset or closed:
            _log.warning(
                "connections closed before the shutdown hooks; requests in flight reset",
                requests_reset=reset,
                connections_closed=closed,
            )
        return reset

    async def _run_shutdown_hooks(self) -> None:
        """Every hook, in order, each bounded; a failure is logged and the next one runs."""
        default = self.settings.hook_timeout
        for hook in self.app.shutdown_hooks:
            name = hook_name(hook)
            self.watchdog.phase = f"shutdown hook {name}"
            outcome = await run_hook(
                hook,
                hook_timeout(hook, default),
                sync_in_thread=True,
                running=self.watchdog.running,
            )
            if not outcome.ok:
                _log.error(
                    "shutdown hook failed",
                    hook=name,
                    reason=outcome.reason,
                    exc_info=outcome.error,
                )
                self.exit_code = EXIT_UNCLEAN
        self.watchdog.phase = "exiting"

    # -- serving --------------------------------------------------------------------------------

    def serve(self) -> NoReturn:
        """Start Robyn's server on this process and never return (exit via `exit_process`)."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self.guard = _robyn.SignalGuard()  # records Python's handlers before actix's
        startup: Any = self._startup
        try:
            _robyn.serve_forever(self.app, self.held, self.settings.workers, startup)
        except BaseException as exc:  # noqa: BLE001 - whatever stopped the loop, exit cleanly
            _log.critical("the server stopped unexpectedly", exc_info=exc)
            exit_process(EXIT_UNCLEAN)
        # run_forever returned without our drain: the loop was stopped by someone else.
        _log.error("the server's event loop stopped unexpectedly")
        exit_process(EXIT_UNCLEAN)
