"""Managed resources: long-lived clients the app starts before serving and stops after the drain.

`NewsApp.manage` takes anything with async ``start()``/``stop()`` (or an async context manager):
a Kafka publisher or consumer, a database pool, a Redis client. news-http never imports the
resource's package: it goes by shape (`news_http.Resource`).

Each resource becomes one startup and one shutdown hook of the app, so the runner treats them
like any hook (ordered, bounded by ``hook_timeout``, named in its log lines): resources start in
registration order *after* the app's own startup hooks, and stop in reverse order *before* the
app's own shutdown hooks (last in, first out), once the in-flight requests finished. When a
resource fails to start, the ones already started are stopped (reverse order, each bounded)
before the worker exits; a resource is never stopped unless its start completed, and never twice.

A resource's stop may need longer than ``hook_timeout``: a Kafka consumer waits up to its
``stop_timeout_ms`` (30 s by default) for handlers in flight, a publisher up to its
``close_timeout_ms`` to flush what it accepted. Cutting that short at ``hook_timeout`` (10 s)
redelivers handled records or fails accepted ones, so a resource's stop is bounded by the larger
of ``hook_timeout`` and its own bound: ``app.manage(resource, stop_timeout=...)``, else the
resource's ``stop_timeout`` attribute (seconds its ``stop()`` takes at most: news-kafka's
``Publisher`` and ``Consumer`` have one). The shutdown deadline grows with it.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from typing import TYPE_CHECKING, Any, Final

import news_log
from news_http._errors import HTTPConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

__all__ = [
    "TIMEOUT_ATTR",
    "Managed",
    "ManagedSet",
    "checked_stop_timeout",
    "resource_name",
    "stop_timeout_of",
]

_log = news_log.get_logger("news_http.server")
#: A shutdown hook with this attribute (a callable returning seconds) runs within that bound
#: instead of ``hook_timeout`` (the stop hooks of resources that need longer).
TIMEOUT_ATTR: Final = "__news_http_timeout__"


def _seconds(value: object) -> float | None:
    """``value`` as a usable bound in seconds (a finite number > 0), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def checked_stop_timeout(value: float | None) -> float | None:
    """``app.manage(stop_timeout=...)`` checked: None, or a number of seconds > 0."""
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is None:
        raise HTTPConfigError(f"stop_timeout must be a number of seconds > 0, got {value!r}")
    return seconds


def stop_timeout_of(resource: object, explicit: float | None) -> float | None:
    """The resource's own stop bound: ``explicit``, else its ``stop_timeout`` attribute now.

    Read when the bound is needed (at the signal and at the stop), not when managed: a
    resource's bound may change while it runs (a consumer that started a dead-letter publisher).
    """
    if explicit is not None:
        return explicit
    try:
        declared = getattr(resource, "stop_timeout", None)
    except Exception:  # noqa: BLE001 - a property that fails: no bound of its own
        return None
    return _seconds(declared)


def resource_name(resource: object, name: str | None) -> str:
    """The resource's name: ``name``, else its ``health_name`` (a str), else its class, lowered."""
    if name is not None:
        if not name:
            raise HTTPConfigError("a managed resource's name must not be empty")
        return name
    health_name = getattr(resource, "health_name", None)
    if isinstance(health_name, str) and health_name:
        return health_name
    return type(resource).__name__.lower()


def _callable(resource: object, attribute: str) -> Callable[..., Any] | None:
    found = getattr(resource, attribute, None)
    return found if callable(found) else None


class Managed:
    """One resource under the app's control, with its start and stop hooks."""

    __slots__ = (
        "_aexit",
        "_start",
        "_stop",
        "health_check",
        "name",
        "owner",
        "resource",
        "started",
        "stop_timeout",
    )

    def __init__(
        self, owner: ManagedSet, resource: object, name: str, stop_timeout: float | None = None
    ) -> None:
        start, stop = _callable(resource, "start"), _callable(resource, "stop")
        aenter, aexit = _callable(resource, "__aenter__"), _callable(resource, "__aexit__")
        if start is None or stop is None:
            if aenter is None or aexit is None:
                raise HTTPConfigError(
                    f"app.manage() needs a resource with async start() and stop() methods, or an "
                    f"async context manager; {type(resource).__qualname__} has neither"
                )
            start, stop = aenter, None
        self.owner = owner
        self.resource = resource
        self.name = name
        self._start: Callable[[], Any] = start
        self._stop: Callable[[], Any] | None = stop
        self._aexit = aexit
        self.started = False
        self.health_check = _callable(resource, "health_check")
        self.stop_timeout = checked_stop_timeout(stop_timeout)

    def stop_bound(self) -> float:
        """Seconds its stop may take: ``hook_timeout``, or its own longer ``stop_timeout``."""
        hook_timeout = self.owner.timeout()
        own = stop_timeout_of(self.resource, self.stop_timeout)
        return hook_timeout if own is None else max(hook_timeout, own)

    def _call_stop(self) -> Any:
        if self._stop is not None:
            return self._stop()
        assert self._aexit is not None
        return self._aexit(None, None, None)

    async def start(self) -> None:
        """Start the resource; on failure stop those started before it, then raise.

        Not bounded here: the runner bounds every startup hook by ``hook_timeout`` (and a
        timeout cancels this coroutine, which still stops the ones started before it).
        """
        try:
            result = self._start()
            if inspect.isawaitable(result):
                await result
        except BaseException:
            await self.owner.stop_started_before(self)
            raise
        self.started = True
        _log.info("managed resource started", resource=self.name)

    async def stop(self) -> None:
        """Stop the resource, bounded by `stop_bound`, if its start completed; once."""
        if not self.started:
            return
        self.started = False
        result = self._call_stop()
        if inspect.isawaitable(result):
            async with asyncio.timeout(self.stop_bound()):
                await result
        _log.info("managed resource stopped", resource=self.name)

    def hooks(self) -> tuple[Callable[[], Coroutine[Any, Any, None]], ...]:
        """The startup and the shutdown hook, named ``<name>.start`` / ``<name>.stop``."""

        async def start() -> None:
            await self.start()

        async def stop() -> None:
            await self.stop()

        for hook, verb in ((start, "start"), (stop, "stop")):
            hook.__name__ = verb
            hook.__qualname__ = f"{self.name}.{verb}"
        setattr(stop, TIMEOUT_ATTR, self.stop_bound)
        return start, stop


class ManagedSet:
    """The app's managed resources in registration order."""

    __slots__ = ("items", "timeout")

    def __init__(self, timeout: Callable[[], float]) -> None:
        self.items: list[Managed] = []
        self.timeout = timeout

    def add(self, resource: object, name: str, stop_timeout: float | None = None) -> Managed:
        """Register ``resource`` under ``name``."""
        if any(item.resource is resource for item in self.items):
            raise HTTPConfigError(f"resource {name!r} is managed twice")
        managed = Managed(self, resource, name, stop_timeout)
        self.items.append(managed)
        return managed

    async def stop_started_before(self, failed: Managed) -> None:
        """After ``failed`` could not start: stop the ones started before it, in reverse.

        Runs to its end even if the failed start is cancelled meanwhile (its timeout): each
        stop is bounded by its `Managed.stop_bound`.
        """
        cleanup = asyncio.ensure_future(self._stop_before(failed))
        while not cleanup.done():
            try:
                await asyncio.shield(cleanup)
            except asyncio.CancelledError:
                continue  # the startup hook's own deadline: the bounded cleanup goes on

    async def _stop_before(self, failed: Managed) -> None:
        index = self.items.index(failed)
        for item in reversed(self.items[:index]):
            if not item.started:
                continue
            try:
                await item.stop()
            except BaseException as exc:  # noqa: BLE001 - every started resource gets its stop
                _log.error(
                    "managed resource failed to stop after a failed start",
                    resource=item.name,
                    error=f"{type(exc).__name__}: {exc}",
                )
