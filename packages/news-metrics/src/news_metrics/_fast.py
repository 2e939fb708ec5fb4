"""Direct recorders for labelled prometheus-client children: the hooks' hot path.

prometheus-client's ``Counter.labels(...).inc()`` resolves the label tuple under a lock and checks
its arguments on every call. The hooks instead resolve each label set once, keep the child, and
record through the child's value objects directly: one ``inc`` on the value per counter, and a
bisect plus two ``inc`` per histogram observation, the same arithmetic as ``Histogram.observe``.

In multi-process mode a value ``inc`` is an mmap write (a lock, a pid check and a struct pack:
several microseconds). There the recorders add to in-process buffers under one lock instead, and a
daemon thread writes the buffered amounts to the files every ``multiprocess_flush_interval``
seconds (also before this process renders a scrape, at interpreter exit, and when a
multiprocessing child exits). A worker killed with SIGKILL loses at most one interval of counts.

These touch attributes prometheus-client does not document (``_value``, ``_sum``, ``_buckets``,
``_upper_bounds``), stable since its first releases. Each recorder is probed when built; if a
future version changes them, the recorder falls back to the public method (slower, same result).
The test suite checks both paths against the exposition.
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
from bisect import bisect_left
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DIRECT_LOCK",
    "counter_inc",
    "direct_histogram",
    "direct_value",
    "flush",
    "gauge_inc",
    "histogram_observe",
    "set_buffering",
    "use_fast_path",
]

_FAST = True

# --- buffering (multi-process mode) ---------------------------------------------------------------

_buffer_interval = 0.0  # seconds between flushes; 0: recorders write through
_LOCK = threading.Lock()  # guards every pending amount; replaced in a forked child
_pending: list[list[Any]] = []  # [value_inc, amount] pairs
_flusher: threading.Thread | None = None
_stop = threading.Event()


def use_fast_path(enabled: bool) -> bool:
    """Switch the direct recorders on or off for children resolved from now on; return the old."""
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
        except Exception:
            import logging

            logging.getLogger("news_metrics").exception("news_metrics: flushing metrics failed")


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
