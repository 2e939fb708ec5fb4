"""`HealthRegistry`: named liveness and readiness checks, run concurrently, aggregated."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as _dt
import threading
from typing import TYPE_CHECKING, Literal, TypeVar

from news_health._check import RegisteredCheck
from news_health._errors import CheckConfigError, LoopError
from news_health._loop import LoopMonitor
from news_health._report import CheckOutcome, HealthReport, Status, aggregate
from news_health._settings import HealthSettings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from news_health._check import CheckFunction

__all__ = ["LIFECYCLE_CHECK", "LOOP_CHECK", "HealthRegistry", "Probe"]

Probe = Literal["liveness", "readiness", "both"]
"""Which probe(s) a check belongs to."""

F = TypeVar("F", bound="CheckFunction")

LOOP_CHECK = "event_loop"
"""Name of the built-in liveness check of event-loop lag."""
LIFECYCLE_CHECK = "lifecycle"
"""Name of the built-in readiness entry for startup and shutdown state."""


def _instant(name: str, status: Status, output: str) -> CheckOutcome:
    return CheckOutcome(
        name=name,
        status=status,
        critical=True,
        time=_dt.datetime.now(_dt.UTC),
        duration=0.0,
        output=output,
    )


class HealthRegistry:
    """Named health checks, split into liveness and readiness, with timeouts and a result cache.

    Liveness answers "is this process wedged?" (restart it): the built-in ``event_loop`` check
    plus the checks registered for liveness (a consumer loop's heartbeat). Readiness answers
    "should it get traffic?": startup finished (`mark_started`), not shutting down
    (`mark_shutting_down`), and the registered dependency checks pass. A shutting-down process
    stays *live* (it is draining work) but is immediately *not ready*.

    Args:
        settings: Timeouts, caching and the event-loop check (`HealthSettings`); None: the
            defaults.
        service_id: ``serviceId`` in reports.
        version: ``version`` in reports.
        release_id: ``releaseId`` in reports.
        description: ``description`` in reports.

    Example::

        registry = HealthRegistry(HealthSettings(default_timeout=1.0), service_id="ingest")
    """

    def __init__(
        self,
        settings: HealthSettings | None = None,
        *,
        service_id: str | None = None,
        version: str | None = None,
        release_id: str | None = None,
        description: str | None = None,
    ) -> None:
        settings = HealthSettings() if settings is None else settings
        self.settings = settings
        self.service_id = service_id
        self.version = version
        self.release_id = release_id
        self.description = description
        self.default_timeout = settings.default_timeout
        self.default_cache_ttl = settings.default_cache_ttl
        self.require_startup = settings.require_startup
        self._liveness: dict[str, RegisteredCheck] = {}
        self._readiness: dict[str, RegisteredCheck] = {}
        self._lock = threading.Lock()
        self._started = False
        self._shutting_down = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._monitor: LoopMonitor | None = None
        if settings.loop_lag_threshold is not None:
            self._monitor = LoopMonitor(
                threshold=settings.loop_lag_threshold,
                interval=settings.loop_interval,
                window=settings.loop_window,
            )
            self._liveness[LOOP_CHECK] = RegisteredCheck(
                LOOP_CHECK, self._monitor.check, timeout=None, critical=True, cache_ttl=0.0
            )

    def __repr__(self) -> str:
        return (
            f"HealthRegistry(liveness={list(self._liveness)}, readiness={list(self._readiness)}, "
            f"started={self._started}, shutting_down={self._shutting_down})"
        )

    # -- registration ---------------------------------------------------------------------

    def add(
        self,
        name: str,
        check: CheckFunction,
        *,
        probe: Probe = "readiness",
        timeout: float | None = None,
        critical: bool = True,
        cache_ttl: float | None = None,
        blocking: bool = False,
    ) -> None:
        """Register a check.

        Args:
            name: Unique name within its probe(s); the key in the report (``"postgres"``).
            check: An async callable returning None/True (pass), a str (pass with output),
                False (fail) or a `CheckResult`; raising fails it (type and message are
                reported, sanitised). With ``blocking=True`` a plain callable run in a thread.
            probe: ``"readiness"`` (default), ``"liveness"`` or ``"both"``.
            timeout: Seconds before the run is abandoned as failed (default: the registry's).
            critical: When False a failure only makes the report ``warn`` (HTTP 200).
            cache_ttl: Seconds its result is reused (default: the registry's); 0 disables.
            blocking: Run a synchronous callable in a worker thread.

        Raises:
            CheckConfigError: The name is empty or taken in that probe, or an option is invalid.
        """
        if probe not in ("liveness", "readiness", "both"):
            raise CheckConfigError(f"probe must be liveness, readiness or both, not {probe!r}")
        targets = []
        if probe in ("liveness", "both"):
            targets.append(self._liveness)
        if probe in ("readiness", "both"):
            targets.append(self._readiness)
        entry = RegisteredCheck(
            name,
            check,
            timeout=self.default_timeout if timeout is None else timeout,
            critical=critical,
            cache_ttl=self.default_cache_ttl if cache_ttl is None else cache_ttl,
            blocking=blocking,
        )
        with self._lock:
            for table in targets:
                if name in table or name in (LOOP_CHECK, LIFECYCLE_CHECK):
                    raise CheckConfigError(f"a check named {name!r} is already registered")
            for table in targets:
                table[name] = entry

    def check(
        self,
        name: str,
        *,
        probe: Probe = "readiness",
        timeout: float | None = None,
        critical: bool = True,
        cache_ttl: float | None = None,
        blocking: bool = False,
    ) -> Callable[[F], F]:
        """Decorator form of `add`: ``@registry.check("postgres", timeout=1)``.

        Raises:
            CheckConfigError: As `add`.
        """

        def register(func: F) -> F:
            self.add(
                name,
                func,
                probe=probe,
                timeout=timeout,
                critical=critical,
                cache_ttl=cache_ttl,
                blocking=blocking,
            )
            return func

        return register

    def remove(self, name: str) -> None:
        """Unregister a check from every probe (no error if it is not registered)."""
        with self._lock:
            if name != LOOP_CHECK:
                self._liveness.pop(name, None)
            self._readiness.pop(name, None)

    def names(self, probe: Literal["liveness", "readiness"]) -> list[str]:
        """Names of the checks of a probe, in registration order (built-ins included)."""
        table = self._liveness if probe == "liveness" else self._readiness
        return list(table)

    def get(self, name: str) -> RegisteredCheck | None:
        """The registered check with this name (readiness first), or None."""
        return self._readiness.get(name) or self._liveness.get(name)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """True once `mark_started` was called."""
        return self._started

    @property
    def shutting_down(self) -> bool:
        """True once `mark_shutting_down` was called."""
        return self._shutting_down

    @property
    def loop_monitor(self) -> LoopMonitor | None:
        """The built-in event-loop monitor (None when turned off)."""
        return self._monitor

    def mark_started(self) -> None:
        """Say startup has finished (hooks ran, connections open): readiness may pass."""
        self._started = True

    def mark_shutting_down(self) -> None:
        """Say shutdown began: readiness fails from now on, before any draining starts.

        Safe to call from a signal handler or any thread; liveness is unaffected.
        """
        self._shutting_down = True

    async def start(self) -> None:
        """Attach to the running event loop: start the loop-lag monitor there.

        Sync entry points then run checks on this loop. Idempotent.
        """
        self._loop = asyncio.get_running_loop()
        if self._monitor is not None:
            self._monitor.start(self._loop)

    async def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the monitor and cancel in-flight check runs (waiting up to ``timeout``)."""
        if self._monitor is not None and self._monitor.loop is asyncio.get_running_loop():
            self._monitor.stop()
        tasks = [
            task
            for check in {*self._liveness.values(), *self._readiness.values()}
            if (task := check.cancel()) is not None
        ]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        self._loop = None

    async def __aenter__(self) -> HealthRegistry:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- probes ---------------------------------------------------------------------------

    def _report(self, outcomes: list[CheckOutcome]) -> HealthReport:
        return HealthReport(
            status=aggregate(outcomes),
            checks={o.name: o for o in outcomes},
            service_id=self.service_id,
            version=self.version,
            release_id=self.release_id,
            description=self.description,
        )

    async def _run(self, checks: list[RegisteredCheck]) -> list[CheckOutcome]:
        if self._loop is None or not self._loop.is_running():
            self._loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(check.run() for check in checks)))

    async def check_liveness(self) -> HealthReport:
        """Run the liveness checks concurrently and aggregate them."""
        return self._report(await self._run(list(self._liveness.values())))

    async def check_readiness(self) -> HealthReport:
        """Fail at once when shutting down or not started; else run the readiness checks.

        While starting or shutting down, dependency checks are not run (nothing to learn,
        nothing to hammer): the report holds only the ``lifecycle`` entry.
        """
        if self._shutting_down:
            return self._report([_instant(LIFECYCLE_CHECK, Status.FAIL, "shutting down")])
        if self.require_startup and not self._started:
            return self._report([_instant(LIFECYCLE_CHECK, Status.FAIL, "starting")])
        lifecycle = _instant(LIFECYCLE_CHECK, Status.PASS, "started")
        return self._report([lifecycle, *await self._run(list(self._readiness.values()))])

    # -- synchronous entry points ---------------------------------------------------------

    def check_liveness_sync(self, timeout: float | None = 5.0) -> HealthReport:
        """`check_liveness` for code that is not on the event loop (threads, WSGI).

        When the registry is attached to a loop (`start`, or an earlier async probe), the
        checks run on that loop and this thread waits up to ``timeout`` seconds; a loop that
        is blocked is detected without waiting (from the lag monitor), and a loop that does not
        answer within ``timeout`` fails the report. Otherwise the checks run in a temporary
        loop (`asyncio.run`).

        Raises:
            LoopError: Called from the registry's own loop thread (await the async method).
        """
        monitor = self._monitor
        if monitor is not None and monitor.running and self._other_loop() is not None:
            verdict = monitor.check_from_thread()
            if verdict.status is Status.FAIL:
                return self._report(
                    [
                        CheckOutcome(
                            name=LOOP_CHECK,
                            status=Status.FAIL,
                            critical=True,
                            time=_dt.datetime.now(_dt.UTC),
                            duration=0.0,
                            output=verdict.output,
                            observed_value=verdict.observed_value,
                            observed_unit=verdict.observed_unit,
                            component_type=verdict.component_type,
                        )
                    ]
                )
        return self._sync(self.check_liveness, timeout, LOOP_CHECK)

    def check_readiness_sync(self, timeout: float | None = 5.0) -> HealthReport:
        """`check_readiness` for code that is not on the event loop (see `check_liveness_sync`).

        Raises:
            LoopError: Called from the registry's own loop thread (await the async method).
        """
        if self._shutting_down:
            return self._report([_instant(LIFECYCLE_CHECK, Status.FAIL, "shutting down")])
        return self._sync(self.check_readiness, timeout, LIFECYCLE_CHECK)

    def _other_loop(self) -> asyncio.AbstractEventLoop | None:
        """The registry's loop when it runs in another thread; None when it is not running."""
        loop = self._loop
        if loop is None or not loop.is_running() or loop.is_closed():
            return None
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            raise LoopError(
                "the sync health entry points cannot run on the registry's own event loop "
                "(it would wait for itself): await check_liveness()/check_readiness() instead"
            )
        return loop

    def _sync(
        self, probe: Callable[[], Awaitable[HealthReport]], timeout: float | None, name: str
    ) -> HealthReport:
        loop = self._other_loop()
        if loop is not None:
            future = asyncio.run_coroutine_threadsafe(_call(probe), loop)
            try:
                return future.result(timeout)
            except concurrent.futures.TimeoutError:
                future.cancel()
                return self._report(
                    [_instant(name, Status.FAIL, f"event loop did not answer within {timeout:g}s")]
                )
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_call(probe))
        raise LoopError(
            "the sync health entry points cannot be called from a running event loop: "
            "await check_liveness()/check_readiness() instead"
        )


async def _call(probe: Callable[[], Awaitable[HealthReport]]) -> HealthReport:
    return await probe()
