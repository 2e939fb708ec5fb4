"""One registered check: timeout, result cache (TTL) and single-flight execution."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import inspect
import math
import time
from typing import TYPE_CHECKING, Any, TypeAlias

from news_health._errors import CheckConfigError
from news_health._report import CheckOutcome, CheckResult, Status, describe_exception, safe_output

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["CheckFunction", "CheckReturn", "RegisteredCheck"]

CheckReturn: TypeAlias = "CheckResult | str | bool | None"
"""What a check may return: None or True (pass), a str (pass with output), False (fail), or a
`CheckResult`."""

CheckFunction: TypeAlias = "Callable[[], Awaitable[CheckReturn]] | Callable[[], CheckReturn]"
"""A check: an async callable (or, with ``blocking=True``, a plain one run in a thread)."""


def _coerce(value: Any) -> CheckResult:
    if isinstance(value, CheckResult):
        return value
    if value is None or value is True:
        return CheckResult(Status.PASS)
    if value is False:
        return CheckResult(Status.FAIL, "check returned False")
    if isinstance(value, str):
        return CheckResult(Status.PASS, value)
    return CheckResult(
        Status.FAIL,
        f"check returned an unsupported {type(value).__name__} (expected "
        "None, bool, str or CheckResult)",
    )


class RegisteredCheck:
    """A named check with its options, cache and in-flight run.

    Concurrent callers of `run` while a run is in progress await that same run (single
    flight); a result is reused for ``cache_ttl`` seconds after it was produced.
    """

    __slots__ = (
        "_clock",
        "_expires",
        "_inflight",
        "_result",
        "blocking",
        "cache_ttl",
        "critical",
        "func",
        "name",
        "runs",
        "timeout",
    )

    def __init__(
        self,
        name: str,
        func: CheckFunction,
        *,
        timeout: float | None,
        critical: bool,
        cache_ttl: float,
        blocking: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not name or not name.strip():
            raise CheckConfigError("a check needs a non-empty name")
        if not callable(func):
            raise CheckConfigError(f"check {name!r}: {func!r} is not callable")
        if timeout is not None and not (timeout > 0 and not math.isnan(timeout)):
            raise CheckConfigError(f"check {name!r}: timeout must be > 0 seconds (or None)")
        if not cache_ttl >= 0:
            raise CheckConfigError(f"check {name!r}: cache_ttl must be >= 0 seconds")
        self.name = name
        self.func = func
        self.timeout = timeout
        self.critical = critical
        self.cache_ttl = cache_ttl
        self.blocking = blocking
        self.runs = 0
        self._clock = clock
        self._result: CheckOutcome | None = None
        self._expires = 0.0
        self._inflight: asyncio.Task[CheckOutcome] | None = None

    def __repr__(self) -> str:
        return (
            f"RegisteredCheck({self.name!r}, timeout={self.timeout!r}, "
            f"critical={self.critical!r}, cache_ttl={self.cache_ttl!r})"
        )

    async def run(self) -> CheckOutcome:
        """The check's outcome: cached if fresh, else the in-flight run's, else a new run's."""
        result = self._result
        if result is not None and self._clock() < self._expires:
            return dataclasses.replace(result, cached=True)
        loop = asyncio.get_running_loop()
        task = self._inflight
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._execute(), name=f"health-check:{self.name}")
            self._inflight = task
        # shield: a probe that gives up (client gone) must not cancel the run others await.
        return await asyncio.shield(task)

    def cancel(self) -> asyncio.Task[CheckOutcome] | None:
        """Cancel the in-flight run, if any, and return its task."""
        task = self._inflight
        if task is not None and not task.done():
            task.cancel()
            return task
        return None

    def clear_cache(self) -> None:
        """Forget the cached result: the next `run` executes the check."""
        self._result = None
        self._expires = 0.0

    async def _call(self) -> Any:
        if self.blocking:
            value = await asyncio.to_thread(self.func)
        else:
            value = self.func()
        if inspect.isawaitable(value):
            value = await value
        return value

    async def _execute(self) -> CheckOutcome:
        self.runs += 1
        when = _dt.datetime.now(_dt.UTC)
        started = time.perf_counter()
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                value = await self._call()
            result = _coerce(value)
        except TimeoutError as exc:
            if deadline.expired():
                result = CheckResult(Status.FAIL, f"timed out after {self.timeout:g}s")
            else:
                result = CheckResult(Status.FAIL, describe_exception(exc))
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the run itself is being cancelled (registry stop, loop shutdown)
            # Something inside the check was cancelled (not by us): that is its failure.
            result = CheckResult(Status.FAIL, "CancelledError: the check was cancelled")
        except Exception as exc:  # noqa: BLE001 - any failure of a check is its verdict
            result = CheckResult(Status.FAIL, describe_exception(exc))
        duration = time.perf_counter() - started
        outcome = CheckOutcome(
            name=self.name,
            status=Status(result.status),
            critical=self.critical,
            time=when,
            duration=duration,
            output=safe_output(result.output) if result.output else None,
            observed_value=result.observed_value,
            observed_unit=result.observed_unit,
            component_type=result.component_type,
        )
        self._result = outcome
        self._expires = self._clock() + self.cache_ttl
        return outcome
