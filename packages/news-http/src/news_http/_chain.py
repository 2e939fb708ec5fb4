"""Composing middlewares around a handler, once, at start-up (go-kratos style).

The first middleware in a list is the outermost: it sees the request first and the response
last. A middleware must hand back a handler of the same kind it was given (a coroutine function
for an async handler, a plain function for a sync one): Robyn runs sync handlers on its own
threads, and async ones on the event loop, and news-http registers the composed chain with the
kind of the route's handler.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

from news_http._errors import HTTPConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from robyn import Request, Response

    from news_http._types import Handler, Middleware

__all__ = ["compose", "is_async", "make_middleware", "route_middleware", "with_middleware"]

_ROUTE_MIDDLEWARE_ATTR = "__news_http_middleware__"


def is_async(handler: Callable[..., Any]) -> bool:
    """Return whether ``handler`` is a coroutine function (seen through ``functools.wraps``)."""
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__func__", None)
    )


def compose(handler: Handler, middlewares: Iterable[Middleware]) -> Handler:
    """Wrap ``handler`` in ``middlewares``, the first one outermost.

    Raises:
        HTTPConfigError: A middleware returned a handler of the other kind (sync vs async),
            or something that is not callable.
    """
    chain = handler
    for middleware in reversed(list(middlewares)):
        wrapped = middleware(chain)
        if not callable(wrapped):
            raise HTTPConfigError(
                f"middleware {_name(middleware)} returned {wrapped!r}, not a handler; "
                "a middleware takes the next handler and returns a handler"
            )
        if is_async(wrapped) != is_async(chain):
            kind = "an async" if is_async(chain) else "a sync"
            raise HTTPConfigError(
                f"middleware {_name(middleware)} was given {kind} handler and returned the "
                "other kind; return a coroutine function for async handlers and a plain "
                "function for sync ones (news_http.make_middleware does both)"
            )
        chain = wrapped
    return chain


def _name(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or repr(obj)


def make_middleware(
    *,
    before: Callable[[Request], Response | None] | None = None,
    after: Callable[[Request, Response], Response | None] | None = None,
) -> Middleware:
    """Build a middleware from two plain functions; it works around sync and async handlers.

    Args:
        before: Called with the request before the handler; returning a `Response`
            short-circuits (the handler is not called). Raising a `news_api.APIError`
            (``Unauthorized``...) answers with that problem.
        after: Called with the request and the handler's response; returning a `Response`
            replaces it, returning None keeps it (mutate ``response.headers`` in place).

    Example:
        >>> def require_key(request):
        ...     if request.headers.get("x-api-key") != "s3cret":
        ...         raise news_api.Unauthorized("missing or wrong API key")  # doctest: +SKIP
        >>> app_middleware = make_middleware(before=require_key)
    """
    if before is None and after is None:
        raise HTTPConfigError("make_middleware needs before=, after= or both")

    def middleware(next_handler: Handler) -> Handler:
        if is_async(next_handler):
            call_next_async: Callable[[Request], Any] = next_handler

            @functools.wraps(next_handler)
            async def async_handler(request: Request) -> Response:
                if before is not None:
                    early = before(request)
                    if early is not None:
                        return early
                response: Response = await call_next_async(request)
                if after is not None:
                    replaced = after(request, response)
                    if replaced is not None:
                        return replaced
                return response

            return async_handler

        call_next: Callable[[Request], Any] = next_handler

        @functools.wraps(next_handler)
        def sync_handler(request: Request) -> Response:
            if before is not None:
                early = before(request)
                if early is not None:
                    return early
            response: Response = call_next(request)
            if after is not None:
                replaced = after(request, response)
                if replaced is not None:
                    return replaced
            return response

        return sync_handler

    return middleware


def with_middleware(*middlewares: Middleware) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a route handler with middlewares that apply to that route only (every method).

    Put it under the route decorator::

        @app.post("/articles")
        @news_http.with_middleware(require_editor)
        def create_article(request): ...

    Route middlewares run inside the app's own (``create_app(..., middleware=[...])``).
    """

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        existing = route_middleware(handler)
        setattr(handler, _ROUTE_MIDDLEWARE_ATTR, (*middlewares, *existing))
        return handler

    return decorate


def route_middleware(handler: Callable[..., Any]) -> tuple[Middleware, ...]:
    """Return the middlewares `with_middleware` attached to ``handler`` (outermost first)."""
    found: tuple[Middleware, ...] = getattr(handler, _ROUTE_MIDDLEWARE_ATTR, ())
    return found
