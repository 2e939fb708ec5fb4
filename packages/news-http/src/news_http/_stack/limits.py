"""Body size limit (413 before the handler) and request timeout (504).

Robyn reads the whole body into memory before any Python runs, without a limit, and never
applies a request timeout (upstream #1425; its client/keep-alive timeouts do not reach the
server). What can be enforced in Python is enforced here: a declared ``Content-Length`` above the
limit is refused before the handler runs; a body that arrived chunked (no Content-Length) is
measured and refused the same way. Memory protection against huge chunked bodies and slow
clients belongs in the fronting proxy (see the README).

Timeouts: an async handler is cancelled when the deadline passes and the client gets 504. A sync
handler runs on one of Robyn's threads and cannot be interrupted; when it overruns, its result
is discarded, the client gets 504 and a warning is logged.
"""

from __future__ import annotations

import asyncio
import functools
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final

import news_api
import news_log
from news_http._chain import is_async

if TYPE_CHECKING:
    from robyn import Request, Response

    from news_http._types import Handler, Middleware

__all__ = ["body_limit_middleware", "timeout_middleware"]

_log = news_log.get_logger("news_http")
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def body_limit_middleware(max_bytes: int) -> Middleware:
    """Refuse bodies above ``max_bytes`` with a 413 problem before the handler runs."""

    def too_large() -> news_api.ApiError:
        return news_api.PayloadTooLarge(f"the request body must not exceed {max_bytes} bytes")

    def check(request: Request) -> None:
        declared = request.headers.get("content-length")
        if declared is not None:
            # actix has already rejected malformed lengths; be defensive all the same.
            if not declared.isdigit() or int(declared) > max_bytes:
                raise too_large()
            return
        if request.method in _BODY_METHODS:
            body = request.body
            size = len(body) if isinstance(body, bytes) else len(body.encode())
            if size > max_bytes:
                raise too_large()

    def middleware(next_handler: Handler) -> Handler:
        if is_async(next_handler):
            call_async: Any = next_handler

            @functools.wraps(next_handler)
            async def async_handler(request: Request) -> Response:
                check(request)
                response: Response = await call_async(request)
                return response

            return async_handler

        call: Any = next_handler

        @functools.wraps(next_handler)
        def sync_handler(request: Request) -> Response:
            check(request)
            response: Response = call(request)
            return response

        return sync_handler

    return middleware


def timeout_middleware(seconds: float, route: str) -> Middleware:
    """Answer 504 when the handler takes longer than ``seconds`` (see the module docstring)."""

    def timed_out() -> news_api.ApiError:
        return news_api.GatewayTimeout(f"the request took longer than {seconds:g} s")

    def middleware(next_handler: Handler) -> Handler:
        if is_async(next_handler):
            call_async: Any = next_handler

            @functools.wraps(next_handler)
            async def async_handler(request: Request) -> Response:
                deadline = asyncio.timeout(seconds)
                try:
                    async with deadline:
                        response: Response = await call_async(request)
                except TimeoutError:
                    if deadline.expired():
                        _log.warning(
                            "request timed out; handler cancelled",
                            method=request.method,
                            route=route,
                            timeout_s=seconds,
                        )
                        raise timed_out() from None
                    raise
                return response

            return async_handler

        call: Any = next_handler

        @functools.wraps(next_handler)
        def sync_handler(request: Request) -> Response:
            started = perf_counter()
            response: Response = call(request)
            elapsed = perf_counter() - started
            if elapsed > seconds:
                _log.warning(
                    "sync handler overran the request timeout; answering 504 "
                    "(sync handlers cannot be interrupted: make it async or bound its I/O)",
                    method=request.method,
                    route=route,
                    timeout_s=seconds,
                    elapsed_s=round(elapsed, 3),
                )
                raise timed_out()
            return response

        return sync_handler

    return middleware
