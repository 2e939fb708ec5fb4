"""Multi-process mode: metrics of forked worker processes (Robyn ``processes > 1``) added up.

prometheus-client's multiprocess mode keeps every value in a small mmap file per process in one
folder; the exposition (any worker's ``/metrics``) reads them all and merges them: counters and
histograms are summed (also those of workers that have exited, so totals never go backwards),
``http_requests_in_flight`` sums the live processes only, ``kafka_consumer_lag`` takes the most
recent value of a live process.

The parent process, before it forks the workers and before any metric is recorded in it::

    directory = news_metrics.multiprocess.prepare(settings.metrics.multiprocess_dir or None)
    app.start(...)  # forks; each worker records into its own files
    ...  # when a worker exits (if the runner learns its pid):
    news_metrics.multiprocess.child_exited(pid)
    ...  # after every worker exited:
    news_metrics.multiprocess.cleanup()

Exposition also drops the live gauges of workers found dead, so `child_exited` is an optimisation
for runners that know their children's pids, not a requirement.

Workers buffer what they record and write it to their files every
``MetricsSettings.multiprocess_flush_interval`` seconds (1 s by default), at exit, and before
rendering a scrape themselves: a scrape shows other workers' values up to one interval late, and a
worker killed with SIGKILL loses at most that interval's counts. Writing every value directly
costs several microseconds per request more (``hatch run bench:metrics``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

from news_metrics._errors import MultiprocessError

__all__ = [
    "active_directory",
    "child_exited",
    "cleanup",
    "flush",
    "live_pids",
    "prepare",
    "reap_dead",
]

ENV: str = "PROMETHEUS_MULTIPROC_DIR"

_lock = threading.Lock()
_prepared: Path | None = None
_created_dir = False


def prepare(directory: str | os.PathLike[str] | None = None) -> Path:
    """Turn multi-process mode on for this process and the children it will fork; return the folder.

    The folder is *directory*, else ``$PROMETHEUS_MULTIPROC_DIR``, else a new private temporary
    folder. It is created if missing and emptied of metric files (``*.db``) left by an earlier
    run; nothing else in it is touched. ``PROMETHEUS_MULTIPROC_DIR`` is set to it, so children
    (forked or spawned) record there. Calling it again with the same folder does nothing.

    Raises:
        MultiprocessError: news-metrics already recorded metrics in memory in this process (call
            `prepare` earlier: before serving, before any business event), prepare() already ran
            with another folder, or the folder cannot be used.
    """
    global _prepared, _created_dir  # noqa: PLW0603 - process-wide mode, like the env variable
    from news_metrics import _prometheus
    from news_metrics._families import created_in_memory

    with _lock:
        chosen = directory if directory is not None else os.environ.get(ENV) or None
        if _prepared is not None:
            if chosen is None or Path(chosen).resolve() == _prepared:
                return _prepared
            raise MultiprocessError(
                f"multi-process mode already uses {_prepared}; cannot switch to {chosen}"
            )
        if created_in_memory():
            raise MultiprocessError(
                "news-metrics already recorded metrics in this process's memory, which the "
                "workers' exposition cannot see; call news_metrics.multiprocess.prepare() "
                "before the first request, Kafka message or business event is recorded"
            )
        try:
            if chosen is None:
                path = Path(tempfile.mkdtemp(prefix="news-metrics-"))
                _created_dir = True
            else:
                path = Path(chosen)
                path.mkdir(parents=True, exist_ok=True)
                for stale in path.glob("*.db"):
                    stale.unlink()
            path = path.resolve()
            probe = path / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise MultiprocessError(
                f"cannot use {chosen or 'a temporary folder'} for multi-process metrics: {exc}; "
                "give a writable folder (MetricsSettings.multiprocess_dir)"
            ) from exc
        os.environ[ENV] = str(path)
        # prometheus-client may have chosen in-memory values at import (the variable was not set
        # yet): metrics created from now on write to the folder.
        _prometheus.switch_to_multiprocess_values()
        _prepared = path
        return path


def flush() -> None:
    """Write this process's buffered values to its files now.

    Workers buffer values and write them every ``MetricsSettings.multiprocess_flush_interval``
    seconds, at exit, and before they render a scrape. Call it before a worker ends in a way that
    skips both (``os._exit`` outside multiprocessing).
    """
    from news_metrics import _prometheus

    _prometheus.flush()


def active_directory() -> Path | None:
    """The folder of multi-process mode if this process records into one, else None."""
    if _prepared is not None:
        return _prepared
    from news_metrics import _prometheus

    if _prometheus.values_are_multiprocess() and os.environ.get(ENV):
        return Path(os.environ[ENV])
    return None


def child_exited(pid: int) -> None:
    """Forget the live gauges (in-flight requests, lag) of the exited worker *pid*."""
    directory = active_directory()
    if directory is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _pid_of(file: Path) -> int | None:
    tail = file.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited child its parent has not reaped yet is a zombie: kill(0) still succeeds
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] not in (b"Z", b"X")


def live_pids(directory: Path) -> list[int]:
    """The pids that own metric files in *directory* and are still running, plus this process."""
    pids = {os.getpid()}
    pids.update(pid for f in directory.glob("*.db") if (pid := _pid_of(f)) is not None)
    return sorted(pid for pid in pids if _alive(pid))


def reap_dead(directory: Path) -> list[int]:
    """Drop the live gauges of processes that own files in *directory* but are gone; return them."""
    from prometheus_client import multiprocess

    dead = []
    for file in directory.glob("gauge_live*.db"):
        pid = _pid_of(file)
        if pid is not None and pid not in dead and not _alive(pid):
            dead.append(pid)
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    return dead


def cleanup() -> None:
    """Leave multi-process mode's folder: delete it if `prepare` created it, else its ``*.db``.

    Call it in the parent after every worker has exited. This process's own metrics stop
    working afterwards, like after fork: it is the end of the run.
    """
    global _prepared, _created_dir
    with _lock:
        path, created = _prepared, _created_dir
        if path is None:
            return
        from prometheus_client import values

        from news_metrics import _prometheus

        _prometheus.flush()
        close_files = getattr(values, "close_all_multiprocess_files", None)
        if callable(close_files):  # prometheus-client >= 0.21
            close_files()
        if created:
            shutil.rmtree(path, ignore_errors=True)
        else:
            for stale in path.glob("*.db"):
                stale.unlink(missing_ok=True)
        if os.environ.get(ENV) == str(path):
            del os.environ[ENV]
        _prepared, _created_dir = None, False
