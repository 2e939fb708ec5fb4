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
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

import news_log
from news_http._errors import HTTPConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

__all__ = ["Managed", "ManagedSet", "resource_name"]

_log = news_log.get_logger("news_http.server")


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
    )

    def __init__(self, owner: ManagedSet, resource: object, name: str) -> None:
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
        """Stop the resource, bounded by ``hook_timeout``, if its start completed; once."""
        if not self.started:
            return
        self.started = False
        result = self._call_stop()
        if inspect.isawaitable(result):
            async with asyncio.timeout(self.owner.timeout()):
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
        return start, stop


class ManagedSet:
    """The app's managed resources in registration order."""

    __slots__ = ("items", "timeout")

    def __init__(self, timeout: Callable[[], float]) -> None:
        self.items: list[Managed] = []
        self.timeout = timeout

    def add(self, resource: object, name: str) -> Managed:
        """Register ``resource`` under ``name``."""
        if any(item.resource is resource for item in self.items):
            raise HTTPConfigError(f"resource {name!r} is managed twice")
        managed = Managed(self, resource, name)
        self.items.append(managed)
        return managed

    async def stop_started_before(self, failed: Managed) -> None:
        """After ``failed`` could not start: stop the ones started before it, in reverse.

        Runs to its end even if the failed start is cancelled meanwhile (its timeout): each
        stop is bounded by ``hook_timeout``.
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
