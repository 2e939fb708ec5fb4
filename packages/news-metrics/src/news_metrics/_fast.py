"""Direct recorders for labelled prometheus-client children: the hooks' hot path.

prometheus-client's ``Counter.labels(...).inc()`` resolves the label tuple under a lock and checks
its arguments on every call (about 2 µs per metric here). The hooks instead resolve each label set
once, keep the child, and record through the child's value objects directly: one ``inc`` on the
value (a float under a lock, or an mmap slot in multi-process mode) per counter, and a bisect plus
two ``inc`` per histogram observation, the same arithmetic as ``Histogram.observe``.

These touch attributes prometheus-client does not document (``_value``, ``_sum``, ``_buckets``,
``_upper_bounds``), stable since its first releases. Each recorder is probed when built; if a
future version changes them, the recorder falls back to the public method (slower, same result).
The test suite checks both paths against the exposition.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["counter_inc", "gauge_inc", "histogram_observe", "use_fast_path"]

_FAST = True


def use_fast_path(enabled: bool) -> bool:
    """Switch the direct recorders on or off for children resolved from now on; return the old."""
    global _FAST
    old, _FAST = _FAST, enabled
    return old


def _value_inc(child: Any) -> Callable[[float], None] | None:
    value = getattr(child, "_value", None)
    inc = getattr(value, "inc", None)
    return inc if callable(inc) else None


def counter_inc(child: Any) -> Callable[[float], None]:
    """Return a function adding its (non-negative) argument to a counter child."""
    inc = _value_inc(child) if _FAST else None
    if inc is None:
        public: Callable[[float], None] = child.inc
        return public
    return inc


def gauge_inc(child: Any) -> Callable[[float], None]:
    """Return a function adding its argument (negative to decrement) to a gauge child.

    Only for gauges whose multiprocess mode is not a ``mostrecent`` one (those need timestamps).
    """
    inc = _value_inc(child) if _FAST else None
    if inc is None:
        public: Callable[[float], None] = child.inc
        return public
    return inc


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
