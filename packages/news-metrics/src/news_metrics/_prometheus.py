"""Every use of prometheus-client's private names, in one place: checked, switchable, tested.

The hooks' hot paths record through prometheus-client's value objects directly instead of its
public ``.labels(...).inc()`` / ``.observe()`` (which resolve the label tuple under a lock and
check their arguments on every call). Those are the **fast paths**; each has a public fallback
giving the same values (tests/news_metrics/test_prometheus_compat.py proves it both ways):

- ``value_inc``: a counter or gauge child's ``_value.inc`` (skips the argument checks);
- ``histogram``: a histogram child's ``_sum``, ``_buckets`` and ``_upper_bounds``, observed
  with the same bisect as ``Histogram.observe``;
- ``direct``: HTTP request recorders adding to the in-memory values' ``_value`` floats under one
  lock per request (`DIRECT_LOCK`) instead of one lock per value.

Other private names used here, without a public equivalent: ``values.ValueClass`` and its
``_multiprocess`` flag (which kind of value new metrics get), switched to
``values.MultiProcessValue()`` when multi-process mode is set up after prometheus-client was
imported.

**Checked**: this module is imported on first use of a metric (never by ``import news_metrics``),
and then reads the installed prometheus-client version; outside the tested range
(`TESTED_RANGE`, the same as the package's dependency) the fast paths are off and one warning
says why. **Switchable**: ``NEWS_METRICS_NO_FAST_PATHS=1`` (``true``/``yes``/``on``) turns every
fast path off, with one log line; recording then uses prometheus-client's public API only.

In multi-process mode a value ``inc`` is an mmap write (a lock, a pid check and a struct pack:
several microseconds). There the recorders add to in-process buffers under one lock instead, and a
daemon thread writes the buffered amounts to the files every ``multiprocess_flush_interval``
seconds (also before this process renders a scrape, at interpreter exit, and when a
multiprocessing child exits). A worker killed with SIGKILL loses at most one interval of counts.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import sys
import threading
from bisect import bisect_left
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "DIRECT_LOCK",
    "NO_FAST_PATHS_ENV",
    "TESTED_RANGE",
    "counter_inc",
    "direct_histogram",
    "direct_route_recorders",
    "direct_value",
    "fast_paths_off_reason",
    "flush",
    "gauge_inc",
    "histogram_observe",
    "set_buffering",
    "switch_to_multiprocess_values",
    "use_fast_path",
    "values_are_multiprocess",
]

#: The prometheus-client versions the fast paths are tested with: (floor, cap), cap excluded.
TESTED_RANGE: Final = ((0, 20), (0, 27))
#: Set to 1/true/yes/on to record through prometheus-client's public API only.
NO_FAST_PATHS_ENV: Final = "NEWS_METRICS_NO_FAST_PATHS"

_log = logging.getLogger("news_metrics")


def fast_paths_off_reason(
    version: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Why the fast paths must stay off (the switch, or an untested version), or None.

    Args:
        version: The prometheus-client version to judge; None reads the installed one.
        environ: The environment to read the switch from; None means ``os.environ``.
    """
    env = os.environ if environ is None else environ
    if env.get(NO_FAST_PATHS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return f"{NO_FAST_PATHS_ENV} is set"
    if version is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        try:
            version = installed("prometheus-client")
        except PackageNotFoundError:
            return "the prometheus-client version cannot be read"
    try:
        found = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return f"prometheus-client {version} is not a version this module can compare"
    (floor, cap) = TESTED_RANGE
    if not floor <= found < cap:
        tested = f">={floor[0]}.{floor[1]},<{cap[0]}.{cap[1]}"
        return f"prometheus-client {version} is outside the tested range {tested}"
    return None


_OFF_REASON = fast_paths_off_reason()
_FAST = _OFF_REASON is None
if _OFF_REASON is not None:
    _log.warning(
        "news_metrics: fast paths off (%s); recording through prometheus-client's public API",
        _OFF_REASON,
    )

# --- buffering (multi-process mode) ---------------------------------------------------------------

_buffer_interval = 0.0  # seconds between flushes; 0: recorders write through
_LOCK = threading.Lock()  # guards every pending amount; replaced in a forked child
_pending: list[list[Any]] = []  # [value_inc, amount] pairs
_flusher: threading.Thread | None = None
_stop = threading.Event()


def use_fast_path(enabled: bool) -> bool:
    """Switch the direct recorders on or off for children resolved from now on; return the old.

    For tests; `NO_FAST_PATHS_ENV` is the operator's switch.
    """
    global _FAST
    old, _FAST = _FAST, enabled
    return old


def set_buffering(interval: float) -> None:
    """Buffer recorders resolved from now on, flushed every *interval* s (0: write through)."""
    global _buffer_interval  # noqa: PLW0603
    _buffer_interval = interval


def flush() -> None:
    """Write every buffered amount to its value (the multi-process files)."""
    with _LOCK:
        todo = [(pair[0], pair[1]) for pair in _pending if pair[1]]
        for pair in _pending:
            pair[1] = 0.0
    for inc, amount in todo:
        inc(amount)


def _flush_loop(interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            flush()
        except Exception:  # noqa: BLE001 - the flusher thread must live on; the error is logged
            _log.exception("news_metrics: flushing metrics failed")


def _ensure_flusher() -> None:
    global _flusher  # noqa: PLW0603
    if _flusher is None or not _flusher.is_alive():
        _flusher = threading.Thread(
            target=_flush_loop,
            args=(_buffer_interval, _stop),
            name="news-metrics-flush",
            daemon=True,
        )
        _flusher.start()


def _buffered(inc: Callable[[float], None]) -> list[Any]:
    pair: list[Any] = [inc, 0.0]
    with _LOCK:
        _pending.append(pair)
    _ensure_flusher()
    return pair


def _before_fork() -> None:
    _LOCK.acquire()  # no thread holds it mid-update while the process is copied


def _after_fork_in_parent() -> None:
    _LOCK.release()


class _ForkAnchor:
    """A weak-referenceable object that multiprocessing's after-fork registry can hold."""


_anchor = _ForkAnchor()


def _after_fork_in_child() -> None:
    global _LOCK, _flusher, _stop  # noqa: PLW0603
    _LOCK = threading.Lock()
    for pair in _pending:
        pair[1] = 0.0  # the parent's pending amounts: the parent writes them itself
    _flusher, _stop = None, threading.Event()
    if _pending:
        _ensure_flusher()
    # A multiprocessing child ends with os._exit(), skipping atexit: flush in its exit machinery.
    for name in ("multiprocessing.util", "multiprocess.util"):
        util = sys.modules.get(name)
        if util is not None:

            def _on_child(_obj: object, util: Any = util) -> None:
                util.Finalize(None, flush, exitpriority=-1000)

            util.register_after_fork(_anchor, _on_child)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
atexit.register(flush)


# --- direct values (single process): several updates under one lock -------------------------------

#: Guards every update made through `direct_value`/`direct_histogram` objects. One acquisition
#: covers all the values a hook changes for one event (a finished request: six), where each
#: ``MutexValue.inc`` would take its own lock and cost a Python call.
DIRECT_LOCK = threading.Lock()


def _plain_value(value: Any) -> bool:
    return getattr(value, "_multiprocess", True) is False and isinstance(
        getattr(value, "_value", None), float
    )


def direct_value(child: Any, *, checked: bool = True) -> Any | None:
    """The in-memory value object of a counter or gauge child, to add to under `DIRECT_LOCK`.

    Only while the fast path is on and values are not buffered (single process), and only for
    prometheus-client's in-memory values (a float in ``_value``); None otherwise (use
    `counter_inc`). Updating ``value._value`` under `DIRECT_LOCK` bypasses the value's own lock:
    every writer of such a child must go through `DIRECT_LOCK` (the hooks are the only writers
    of their families). ``checked=False`` skips the fast-path and buffering switches (for a
    child of a family whose other children are already updated directly).
    """
    if checked and (not _FAST or _buffer_interval > 0):
        return None
    value = getattr(child, "_value", None)
    return value if _plain_value(value) else None


def direct_histogram(child: Any) -> tuple[Any, tuple[Any, ...], tuple[float, ...]] | None:
    """A histogram child's sum value, bucket values and upper bounds for direct updates.

    The bucket of an observation is ``bisect_left(bounds, amount, 0, len(bounds) - 1)``, as in
    `histogram_observe`. None when `direct_value` would refuse any of the values.
    """
    if not _FAST or _buffer_interval > 0:
        return None
    try:
        sum_value = child._sum
        buckets = tuple(child._buckets)
        bounds = tuple(float(bound) for bound in child._upper_bounds)
    except (AttributeError, TypeError, ValueError):
        return None
    if (
        not bounds
        or len(bounds) != len(buckets)
        or bounds[-1] != math.inf
        or not _plain_value(sum_value)
        or not all(_plain_value(bucket) for bucket in buckets)
    ):
        return None
    return sum_value, buckets, bounds


# --- recorders ------------------------------------------------------------------------------------


def _value_inc(child: Any) -> Callable[[float], None] | None:
    value = getattr(child, "_value", None)
    inc = getattr(value, "inc", None)
    return inc if callable(inc) else None


def _buffered_inc(inc: Callable[[float], None]) -> Callable[[float], None]:
    pair = _buffered(inc)

    def buffered(amount: float) -> None:
        with _LOCK:
            pair[1] += amount

    return buffered


def counter_inc(child: Any) -> Callable[[float], None]:
    """Return a function adding its (non-negative) argument to a counter child."""
    inc = _value_inc(child) if _FAST else None
    if inc is None:
        public: Callable[[float], None] = child.inc
        return public
    return _buffered_inc(inc) if _buffer_interval > 0 else inc


def gauge_inc(child: Any) -> Callable[[float], None]:
    """Return a function adding its argument (negative to decrement) to a gauge child.

    Only for gauges whose multiprocess mode is not a ``mostrecent`` one (those need timestamps).
    """
    return counter_inc(child)


def histogram_observe(child: Any) -> Callable[[float], None]:
    """Return a function observing one value into a histogram child."""
    public: Callable[[float], None] = child.observe
    if not _FAST:
        return public
    try:
        sum_inc = child._sum.inc
        bucket_incs = tuple(bucket.inc for bucket in child._buckets)
        bounds = tuple(float(bound) for bound in child._upper_bounds)
    except (AttributeError, TypeError, ValueError):
        return public
    if (
        not bounds
        or len(bounds) != len(bucket_incs)
        or bounds[-1] != math.inf
        or not callable(sum_inc)
        or not all(callable(inc) for inc in bucket_incs)
    ):
        return public
    last = len(bounds) - 1  # the +Inf bucket: bisect never looks past it (NaN lands there too)

    if _buffer_interval > 0:
        sum_pair = _buffered(sum_inc)
        bucket_pairs = tuple(_buffered(inc) for inc in bucket_incs)

        def observe_buffered(amount: float) -> None:
            i = bisect_left(bounds, amount, 0, last)
            with _LOCK:
                sum_pair[1] += amount
                bucket_pairs[i][1] += 1

        return observe_buffered

    def observe(
        amount: float,
        _sum: Callable[[float], None] = sum_inc,
        _incs: tuple[Callable[[float], None], ...] = bucket_incs,
        _bounds: tuple[float, ...] = bounds,
        _last: int = last,
        _bisect: Callable[..., int] = bisect_left,
    ) -> None:
        _sum(amount)
        _incs[_bisect(_bounds, amount, 0, _last)](1)

    return observe


def direct_route_recorders(
    in_flight: Any,
    duration: tuple[Any, tuple[Any, ...], tuple[float, ...]],
    sizes: tuple[Any, tuple[Any, ...], tuple[float, ...]],
    statuses: dict[int, Any],
    status_of: Callable[[int], Any],
) -> tuple[Callable[[], None], Callable[[int, float, float], None]]:
    """``(start, finish)`` of one HTTP route over in-memory values: one lock per event.

    Args:
        in_flight: The in-flight gauge's value (from `direct_value`).
        duration: The duration histogram's parts (from `direct_histogram`).
        sizes: The response-size histogram's parts (from `direct_histogram`).
        statuses: Status code to its request counter's value (from `direct_value`), filled by
            *status_of* for a status seen the first time.
        status_of: Returns (and stores in *statuses*) the counter value of a new status.
    """
    lock = DIRECT_LOCK
    duration_sum, duration_buckets, duration_bounds = duration
    size_sum, size_buckets, size_bounds = sizes
    duration_last, size_last = len(duration_bounds) - 1, len(size_bounds) - 1

    def start() -> None:
        with lock:
            in_flight._value += 1.0

    def finish(status: int, seconds: float, size: float) -> None:
        count = statuses.get(status)
        if count is None:
            count = status_of(status)
        # the +Inf bucket is never looked past (NaN lands there too)
        d = duration_buckets[bisect_left(duration_bounds, seconds, 0, duration_last)]
        s = size_buckets[bisect_left(size_bounds, size, 0, size_last)]
        with lock:
            in_flight._value -= 1.0
            count._value += 1.0
            duration_sum._value += seconds
            d._value += 1.0
            size_sum._value += size
            s._value += 1.0

    return start, finish


class Sink:
    """A stand-in value for a direct recorder that must record nothing (a disabled route)."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = 0.0


# --- which values new metrics get ---------------------------------------------------------------


def values_are_multiprocess() -> bool:
    """Whether prometheus-client records new metric values into multi-process mmap files."""
    from prometheus_client import values

    flag = getattr(values.ValueClass, "_multiprocess", None)
    if flag is None:  # not this version's shape: what prometheus-client decides at import
        return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    return bool(flag)


def switch_to_multiprocess_values() -> None:
    """Make metrics created from now on write to the multi-process folder.

    prometheus-client picks in-memory values at import when ``PROMETHEUS_MULTIPROC_DIR`` is not
    set yet; its own tests switch it this way.
    """
    from prometheus_client import values

    if not values_are_multiprocess():
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
