"""Generic checks with no dependencies: TCP reachability and progress heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from news_health._errors import CheckConfigError
from news_health._report import CheckResult, Status

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["heartbeat_check", "tcp_check"]


def tcp_check(
    host: str, port: int, *, component_type: str | None = None
) -> Callable[[], Awaitable[CheckResult]]:
    """A check that opens (and closes) a TCP connection to ``host:port``.

    Passes with the connect time in ms as ``observedValue``; a refused, unreachable or
    unresolvable address fails with the error (the registry's timeout bounds a silent one).

    Example::

        registry.add("postgres", tcp_check("db.internal", 5432), timeout=1)

    Raises:
        CheckConfigError: ``port`` is not in 1-65535 or ``host`` is empty.
    """
    if not host:
        raise CheckConfigError("tcp_check needs a host")
    if not 1 <= port <= 65535:
        raise CheckConfigError(f"tcp_check port must be 1-65535, not {port}")

    async def check() -> CheckResult:
        started = time.perf_counter()
        _, writer = await asyncio.open_connection(host, port)
        millis = round((time.perf_counter() - started) * 1000, 3)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return CheckResult(
            Status.PASS,
            observed_value=millis,
            observed_unit="ms",
            component_type=component_type,
        )

    check.__name__ = check.__qualname__ = f"tcp_check({host}:{port})"
    return check


def heartbeat_check(
    last_progress: Callable[[], float | None],
    *,
    stale_after: float,
    warn_after: float | None = None,
    active: Callable[[], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], Awaitable[CheckResult]]:
    """A liveness check that fails when a loop has made no progress for ``stale_after`` seconds.

    ``last_progress()`` returns the `time.monotonic` time of the last progress (a consumer's
    ``last_poll_monotonic``), or None when there was none yet; then the time since this check
    was created counts instead, so a slow start is not a failure before ``stale_after``.

    Args:
        last_progress: Returns the monotonic time of the last progress, or None.
        stale_after: Seconds without progress after which the check fails.
        warn_after: Seconds without progress after which it warns (optional, below
            ``stale_after``).
        active: Returns False when the loop is legitimately idle (stopped, not started):
            the check then passes with output ``inactive``.
        clock: The time source ``last_progress`` uses (default `time.monotonic`).

    Raises:
        CheckConfigError: ``stale_after`` is not positive, or ``warn_after`` is not below it.
    """
    if not stale_after > 0:
        raise CheckConfigError("heartbeat_check stale_after must be > 0 seconds")
    if warn_after is not None and not 0 < warn_after < stale_after:
        raise CheckConfigError("heartbeat_check warn_after must be > 0 and below stale_after")
    created = clock()

    async def check() -> CheckResult:
        if active is not None and not active():
            return CheckResult(Status.PASS, "inactive", component_type="component")
        last = last_progress()
        now = clock()
        age = max(0.0, now - (created if last is None else last))
        observed = round(age, 3)
        since = "since start" if last is None else "for"
        if age > stale_after:
            return CheckResult(
                Status.FAIL,
                f"no progress {since} {age:.1f}s (stale after {stale_after:g}s)",
                observed_value=observed,
                observed_unit="s",
                component_type="component",
            )
        if warn_after is not None and age > warn_after:
            return CheckResult(
                Status.WARN,
                f"no progress {since} {age:.1f}s (warn after {warn_after:g}s)",
                observed_value=observed,
                observed_unit="s",
                component_type="component",
            )
        return CheckResult(
            Status.PASS,
            "waiting for first progress" if last is None else None,
            observed_value=observed,
            observed_unit="s",
            component_type="component",
        )

    return check
