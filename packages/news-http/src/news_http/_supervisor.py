"""The supervisor of ``processes > 1`` forked workers: forwards signals, reaps, reports.

SIGTERM/SIGINT stop the workers; SIGHUP is forwarded to them (a settings watcher in each worker
reloads on it; a worker without one ignores it), and the supervisor itself runs on.

Robyn's own multi-process mode SIGKILLs its workers on a signal, so no worker drains or runs
shutdown code. Here the calling process forks the workers itself, forwards SIGTERM/SIGINT to
each (each drains and runs its own hooks, see `news_http._worker`), waits for them, and kills
only those still alive after the shutdown budget. A worker that dies unexpectedly stops the
others, so that the orchestrator restarts the whole pod; on Linux the workers get SIGTERM if
the supervisor dies.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import threading
from typing import TYPE_CHECKING, NoReturn

import news_log
from news_http import _robyn
from news_http._shutdown import EXIT_UNCLEAN, hooks_budget
from news_http._worker import Worker

if TYPE_CHECKING:
    from pathlib import Path
    from types import FrameType

    from robyn.robyn import SocketHeld

    from news_http._app import NewsApp
    from news_http._settings import HTTPSettings

__all__ = ["Supervisor"]

_log = news_log.get_logger("news_http.server")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: get SIGTERM if the supervisor dies, instead of serving on as an orphan."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0
        error = os.strerror(ctypes.get_errno()) if failed else ""
    except Exception as exc:  # noqa: BLE001 - serve on, say so
        error = f"{type(exc).__name__}: {exc}"
    if error:
        _log.warning(
            "cannot ask for SIGTERM when the supervisor dies (prctl); an orphaned worker "
            "would serve on",
            error=error,
        )


class Supervisor:
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
        child_socket = _robyn.clone_socket(self.held)
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                _die_with_parent()
                # SIGHUP, forwarded by the supervisor, is for a settings watcher of the worker
                # (news_config.watch installs its handler when started); without one, ignored.
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                Worker(self.app, self.settings, child_socket, index=index).serve()
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
            + hooks_budget(self.app.shutdown_hooks, self.settings.hook_timeout)
            + self.settings.hook_timeout
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

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        """Forward SIGHUP (reload settings) to every worker; the supervisor itself runs on."""
        del signum, frame
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)

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
        signal.signal(signal.SIGHUP, self._on_hup)
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
