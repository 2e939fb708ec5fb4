"""The shapes of the middleware chain and of the metrics hook.

A `Handler` takes Robyn's `Request` and returns Robyn's `Response` (sync) or a coroutine of one
(async). A `Middleware` takes the next handler and returns a handler of the same kind: news-http
composes the chain once, when the app starts serving, and a request crosses from Rust into
Python once, however many middlewares there are (go-kratos style).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Final, Protocol, TypeAlias, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from robyn import Request, Response

__all__ = [
    "QUERY",
    "AsyncHandler",
    "FromQuery",
    "HTTPMetricsHook",
    "Handler",
    "Middleware",
    "Resource",
    "SyncHandler",
]

_T = TypeVar("_T")


class _QueryMarker:
    """The `FromQuery` marker in a handler parameter's ``Annotated`` metadata."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "news_http.QUERY"


#: ``Annotated[T, news_http.QUERY]``: what `FromQuery` expands to.
QUERY: Final = _QueryMarker()

FromQuery = Annotated[_T, QUERY]
"""A handler parameter read from the query string into a msgspec Struct: ``FromQuery[Paging]``.

Each field is the query parameter of its (encoded) name, converted with msgspec like any
query parameter (``list[...]`` fields take every value), the Struct's defaults, ``Meta``
constraints and ``forbid_unknown_fields`` apply; a violation is a 422 problem naming the
parameter. Without the marker a Struct parameter is the JSON body.
"""

SyncHandler: TypeAlias = "Callable[[Request], Response]"
AsyncHandler: TypeAlias = "Callable[[Request], Awaitable[Response]]"
Handler: TypeAlias = "SyncHandler | AsyncHandler"
Middleware: TypeAlias = "Callable[[Handler], Handler]"


@runtime_checkable
class HTTPMetricsHook(Protocol):
    """What news-http reports per request; news-metrics implements it (structurally).

    Both methods run on the request path: keep them cheap and never raise (an exception is
    logged and swallowed, the request is unaffected).
    """

    def request_started(self, method: str, route: str) -> None:
        """A request for ``route`` (the template, e.g. ``/articles/:id``) entered the stack."""

    def request_finished(
        self, method: str, route: str, status: int, duration_s: float, response_bytes: int
    ) -> None:
        """The request got its response: status, seconds spent, body size in bytes."""


@runtime_checkable
class Resource(Protocol):
    """What `NewsApp.manage` takes (structurally): a long-lived client with async start/stop.

    news-kafka's ``Publisher`` and ``Consumer`` fit, as do database and Redis clients; an async
    context manager is accepted too. Optionally, ``async def health_check(self) -> str | None``
    (bounded; raises when the dependency is unusable) becomes a readiness check named after the
    resource's ``health_name`` attribute (a str) or its class.
    """

    async def start(self) -> None:
        """Connect; raise if the resource cannot be used (the worker then does not serve)."""

    async def stop(self) -> None:
        """Release everything; must be bounded (the app also bounds it by ``hook_timeout``).

        A resource whose stop may need longer says so with a ``stop_timeout`` attribute
        (seconds; optional, not part of the protocol check): the app then bounds its stop by
        that instead.
        """
