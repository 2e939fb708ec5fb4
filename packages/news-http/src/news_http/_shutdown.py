"""Shutdown that always ends: bounded hooks, a watchdog thread, and the process exit.

- `run_hook` runs one lifecycle hook within ``hook_timeout`` and reports how it went instead
  of raising, whatever the hook raises (``CancelledError``, ``SystemExit`` included). An async
  hook that overruns is cancelled; one that ignores the cancellation is left running (logged)
  so that the next hooks still run. A sync shutdown hook runs on a thread of its own, so that
  one that never returns cannot stop the event loop or the hooks after it.
- `Watchdog` is the hard deadline: a daemon thread started with the signal, independent of the
  event loop. If the process is still alive at ``shutdown_delay + shutdown_grace + the hooks'
  bounds + WATCHDOG_MARGIN_S`` (each hook's bound is ``hook_timeout``, or a managed resource's
  longer ``stop_timeout``: `hook_timeout`) (an async hook that swallows cancellation and blocks the
  loop, a C call that never returns...), it logs what was still running (the shutdown phase,
  the hooks left running, where the main thread is) and exits with code 1.
- `exit_process` writes what is queued (access log, news-metrics' multi-process values,
  news-log, within `FLUSH_TIMEOUT_S`) and leaves with ``os._exit``: Robyn's server threads are
  Rust threads that hold nothing to save, and a normal interpreter exit could race them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Final, NoReturn

import news_log
from news_http._managed import TIMEOUT_ATTR
from news_http._stack.access_log import flush_all

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "CANCEL_GRACE_S",
    "EXIT_STARTUP_FAILED",
    "EXIT_UNCLEAN",
    "FLUSH_TIMEOUT_S",
    "WATCHDOG_MARGIN_S",
    "HookOutcome",
    "Watchdog",
    "exit_process",
    "hook_name",
    "hook_timeout",
    "hooks_budget",
    "run_hook",
]

EXIT_UNCLEAN: Final = 1
EXIT_STARTUP_FAILED: Final = 3
#: Seconds a hook that overran its timeout gets to finish after being cancelled.
CANCEL_GRACE_S: Final = 0.25
#: Seconds the watchdog adds to the shutdown budget before it ends the process.
WATCHDOG_MARGIN_S: Final = 3.0
#: Seconds `exit_process` may spend writing logs.
FLUSH_TIMEOUT_S: Final = 1.5

_log = news_log.get_logger("news_http.server")


def hook_name(hook: Callable[..., Any]) -> str:
    """A hook's name for log lines (its qualified name)."""
    return str(getattr(hook, "__qualname__", None) or repr(hook))


def hook_timeout(hook: Callable[..., Any], default: float) -> float:
    """Seconds ``hook`` may take: ``default`` (``hook_timeout``), or its own longer bound.

    A managed resource's stop hook carries its bound (`news_http._managed.TIMEOUT_ATTR`).
    """
    bound = getattr(hook, TIMEOUT_ATTR, None)
    return max(default, float(bound())) if callable(bound) else default


class HookOutcome:
    """How one hook ended: ``ok``, or a ``reason`` (and the exception, if it raised)."""

    __slots__ = ("error", "left_running", "reason")

    def __init__(
        self, reason: str | None = None, error: BaseException | None = None, *, left: bool = False
    ) -> None:
        self.reason = reason
        self.error = error
        self.left_running = left

    @property
    def ok(self) -> bool:
        """Whether the hook returned normally within its timeout."""
        return self.reason is None


async def _guarded(awaitable: Any) -> BaseException | None:
    """Await ``awaitable``; return what it raised instead of raising it."""
    try:
        await awaitable
    except BaseException as exc:  # noqa: BLE001 - reported by run_hook, never propagated
        return exc
    return None


def _call(hook: Callable[[], Any]) -> tuple[BaseException | None, Any]:
    """Call ``hook``: what it raised, or what it returned."""
    try:
        return None, hook()
    except BaseException as exc:  # noqa: BLE001 - reported by run_hook, never propagated
        return exc, None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError):
        return "CancelledError: it was cancelled (a library it awaits was stopped)"
    return f"{type(exc).__name__}: {exc}"


async def _wait(future: asyncio.Future[Any], timeout: float) -> bool:
    """Wait up to ``timeout`` for ``future``; True if it is done. Never raises."""
    try:
        done, _ = await asyncio.wait({future}, timeout=timeout)
    except BaseException:  # noqa: BLE001 - this waiter was cancelled: shutdown goes on
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return future.done()
    return bool(done)


def _start(hook: Callable[[], Any], *, on_thread: bool) -> asyncio.Future[Any] | HookOutcome:
    """Start ``hook``: a future of what it raised (None: nothing), or its outcome if done."""
    loop = asyncio.get_running_loop()
    if on_thread:
        context = contextvars.copy_context()
        future: asyncio.Future[BaseException | None] = loop.create_future()

        def work() -> None:
            error, result = context.run(_call, hook)
            with contextlib.suppress(RuntimeError):  # the loop is gone: nothing to tell
                if inspect.isawaitable(result):  # a sync callable that returned a coroutine
                    loop.call_soon_threadsafe(_await_into, future, result)
                else:
                    loop.call_soon_threadsafe(_settle, future, error)

        name = f"news-http-hook-{hook_name(hook)}"
        threading.Thread(target=work, name=name, daemon=True).start()
        return future
    try:
        result = hook()
    except BaseException as exc:  # noqa: BLE001 - every failure is an outcome
        return HookOutcome(_describe(exc), exc)
    if not inspect.isawaitable(result):
        return HookOutcome()
    return asyncio.ensure_future(_guarded(result))


async def run_hook(
    hook: Callable[[], Any], timeout: float, *, sync_in_thread: bool, running: set[str]
) -> HookOutcome:
    """Run ``hook`` within ``timeout`` seconds; report the outcome, never raise.

    Args:
        hook: A sync or async callable without arguments.
        timeout: Seconds it may take (``hook_timeout``).
        sync_in_thread: Run a sync hook on a thread of its own (shutdown hooks), rather than
            on the event loop (startup hooks, which may set up loop-bound state).
        running: The names of hooks left running; a hook that overruns is added to it.
    """
    on_thread = sync_in_thread and not inspect.iscoroutinefunction(hook)
    started = _start(hook, on_thread=on_thread)
    if isinstance(started, HookOutcome):
        return started
    overran = f"took longer than {timeout:g} s"
    if not await _wait(started, timeout):
        if not on_thread:
            started.cancel()
            if await _wait(started, CANCEL_GRACE_S):
                return HookOutcome(overran)
        running.add(hook_name(hook))
        left = "left running on its thread" if on_thread else "ignored cancellation; left running"
        return HookOutcome(f"{overran}; {left}", left=True)
    error = None if started.cancelled() else started.result()
    if started.cancelled():
        return HookOutcome(overran)
    return HookOutcome() if error is None else HookOutcome(_describe(error), error)


def _await_into(future: asyncio.Future[BaseException | None], awaitable: Any) -> None:
    """Await ``awaitable`` on the loop; settle ``future`` with what it raised (None: nothing)."""
    task = asyncio.ensure_future(_guarded(awaitable))

    def done(finished: asyncio.Future[BaseException | None]) -> None:
        error = asyncio.CancelledError() if finished.cancelled() else finished.result()
        _settle(future, error)

    task.add_done_callback(done)


def _settle(future: asyncio.Future[BaseException | None], error: BaseException | None) -> None:
    if not future.done():
        future.set_result(error)


# -- the watchdog -------------------------------------------------------------------------------


def _where(thread_id: int | None) -> str | None:
    """``file:line in function`` of the innermost frame of ``thread_id`` (None if unknown)."""
    if thread_id is None:
        return None
    frame = sys._current_frames().get(thread_id)
    if frame is None:
        return None
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"


class Watchdog:
    """Ends the process at a deadline, whatever the event loop does (see the module docstring).

    Attributes:
        phase: What the shutdown is doing (``draining``, ``shutdown hook close_pool``...);
            named in the log line if the deadline passes.
        running: Names of hooks that overran and were left running.
    """

    def __init__(self) -> None:
        self.phase = "starting the shutdown"
        self.running: set[str] = set()
        self._cancelled = threading.Event()
        self._thread: threading.Thread | None = None
        self._main = threading.main_thread().ident

    def start(self, budget_s: float) -> None:
        """Start counting: the process ends ``budget_s`` seconds from now at the latest."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, args=(budget_s,), name="news-http-watchdog", daemon=True
        )
        self._thread.start()

    def cancel(self) -> None:
        """Stop counting (the shutdown finished on its own)."""
        self._cancelled.set()

    def _run(self, budget_s: float) -> None:
        if self._cancelled.wait(budget_s):
            return
        _log.critical(
            "shutdown deadline passed; exiting without finishing the shutdown",
            deadline_s=round(budget_s, 3),
            phase=self.phase,
            left_running=sorted(self.running),
            main_thread=_where(self._main),
            pid=os.getpid(),
        )
        exit_process(EXIT_UNCLEAN, from_watchdog=True)


# -- the exit -----------------------------------------------------------------------------------

_exit_lock = threading.RLock()  # a signal handler may call it again on the same thread


def _flush_metrics() -> None:
    """Write news-metrics' buffered multi-process values (os._exit skips its atexit hook)."""
    module = sys.modules.get("news_metrics.multiprocess")
    if module is not None:
        with contextlib.suppress(Exception):
            module.flush()


def exit_process(code: int, *, from_watchdog: bool = False) -> NoReturn:
    """Write the access log, metrics and news-log (bounded), then ``os._exit(code)``.

    Safe from any thread and more than once: the first caller exits; a later one waits for it
    (the watchdog waits at most `FLUSH_TIMEOUT_S`, then exits itself).
    """
    if not _exit_lock.acquire(timeout=FLUSH_TIMEOUT_S + 0.5 if from_watchdog else -1):
        os._exit(code)
    deadline = time.monotonic() + FLUSH_TIMEOUT_S
    with contextlib.suppress(Exception):
        flush_all()  # the access lines still queued in memory
    _flush_metrics()
    with contextlib.suppress(Exception):
        news_log.shutdown(timeout=max(0.1, deadline - time.monotonic()))
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def hooks_budget(hooks: Iterable[Callable[..., Any]], default: float) -> float:
    """Seconds the shutdown ``hooks`` may take in all (each within its `hook_timeout`)."""
    return sum(hook_timeout(hook, default) for hook in hooks)


def budget(*, delay: float, grace: float, hooks: float, settle: float) -> float:
    """Seconds from the signal to the watchdog's deadline (``hooks``: their `hooks_budget`)."""
    return delay + grace + settle + hooks + WATCHDOG_MARGIN_S


def names(hooks: Iterable[Callable[..., Any]]) -> list[str]:
    """The names of ``hooks`` (for log lines)."""
    return [hook_name(hook) for hook in hooks]
