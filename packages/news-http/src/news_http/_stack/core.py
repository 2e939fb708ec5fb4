"""The standard stack, fused into one layer per route (one sync and one async variant).

In order, outermost first:

1. in-flight count (graceful shutdown waits for it) and the last safety net: anything escaping
   the steps below becomes a 500 problem with a logged traceback, never Robyn's bare 500;
2. request id: a well-formed incoming id is kept, else one is made; it, ``traceparent`` and
   ``tracestate`` are bound into news-log's context (a `news_log.scope`, which also collects the
   fields bound further in: the caller a route guard authenticated); the id is echoed on the
   response;
3. access log (queued, written off the request path; its line carries the fields bound inside
   the request, e.g. ``principal``) and the metrics hook (only when given);
4. CORS: preflights answered here; allowed origins reflected on every response, errors too;
5. compression of the final body;
6. recovery: exceptions from the steps below and the handler become problem+json responses;
7. body limit (413 before anything below runs);
8. request timeout (504);
9. the inner chain: authentication for ``auth_required`` routes, the app's middlewares, the
   route's middlewares, the handler.

Each step is a plain function or a small object from its own module (`cors`, `compression`,
`recovery`, `limits`, `access_log`, `request_id`). They are fused rather than nested as
separate middlewares because on Robyn every Python frame on the request path costs more than in
a micro-benchmark (cold caches between requests); the order above is the contract.

The sync variant also keeps the Python thread state of the Robyn thread that calls it
(`news_http._robyn.keep_thread_state`): Robyn 0.88 otherwise makes and deletes one per request,
which measured ~25 µs of CPU per request in the full stack, more than the stack's own work.

Once the shutdown hooks are about to run (`REFUSING`), requests that still reach the stack get
503 without running the handler, and a success computed meanwhile becomes a 503: nothing is
answered with a 2xx after a consumer or publisher started stopping.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from threading import get_ident
from time import perf_counter
from typing import TYPE_CHECKING, Any

import news_api
import news_log
from news_http._chain import is_async
from news_http._robyn import KEPT_THREADS, keep_thread_state
from news_http._stack.access_log import DRAINING, IN_FLIGHT, REFUSING
from news_http._stack.recovery import error_response, internal_error_response, to_robyn
from news_http._stack.request_id import context_fields

if TYPE_CHECKING:
    from collections.abc import Mapping

    from robyn import Headers, Request, Response

    from news_http._stack.access_log import AccessLog
    from news_http._stack.compression import Compressor
    from news_http._stack.cors import CORSPolicy, LiveCORS
    from news_http._types import Handler, HTTPMetricsHook, Middleware

__all__ = ["standard_stack"]

_log = news_log.get_logger("news_http")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UNBOUND = contextlib.nullcontext()


def _rebound(inner: Mapping[str, Any]) -> contextlib.AbstractContextManager[Any]:
    """Bind again what the request bound further in (gone once the handler returned or raised).

    So the lines written after the handler (its exception, a timeout) name the caller too.
    """
    return news_log.bind(**inner) if inner else _UNBOUND


class _Metrics:
    """Calls into a metrics hook that never break a request (failures logged once each)."""

    __slots__ = ("_hook", "_reported", "_route")

    def __init__(self, hook: HTTPMetricsHook, route: str) -> None:
        self._hook = hook
        self._route = route
        self._reported: set[str] = set()

    def _failed(self, exc: Exception) -> None:
        key = f"{type(exc).__name__}: {exc}"
        if key not in self._reported and len(self._reported) < 100:
            self._reported.add(key)
            _log.error("metrics hook failed", route=self._route, exc_info=exc)

    def started(self, method: str) -> None:
        try:
            self._hook.request_started(method, self._route)
        except Exception as exc:  # noqa: BLE001 - metrics never break a request
            self._failed(exc)

    def finished(self, method: str, status: int, seconds: float, size: int) -> None:
        try:
            self._hook.request_finished(method, self._route, status, seconds, size)
        except Exception as exc:  # noqa: BLE001 - metrics never break a request
            self._failed(exc)


def _refused(request: Request) -> Response:
    """503 for a request that reaches the stack once the shutdown hooks are about to run."""
    from news_http._stack.request_id import current_request_id

    problem = news_api.ServiceUnavailable("the server is shutting down; try again", retry_after=1)
    return to_robyn(problem.to_response(request_id=current_request_id(), instance=request.url.path))


def _cut_short(request: Request, headers: Headers) -> bool:
    """Whether the request's body is shorter than its Content-Length (checked while draining)."""
    declared = headers.get("content-length")
    if declared is None or not declared.isdigit() or declared == "0":
        return False
    body = request.body
    size = len(body) if isinstance(body, bytes) else len(body.encode())
    return size < int(declared)


def _body_size(response: Response) -> int:
    body = response.description
    return len(body) if isinstance(body, bytes) else len(body.encode())


def standard_stack(  # noqa: PLR0915 - one fused layer, see the module docstring
    *,
    route: str,
    request_id_header: str,
    access_log: AccessLog | None,
    metrics: HTTPMetricsHook | None,
    cors: LiveCORS | None,
    compressor: Compressor | None,
    max_body_bytes: int | None,
    timeout: float | None,
) -> Middleware:
    """Build the fused standard layer for ``route`` (see the module docstring for the order).

    ``cors`` is read on every request (``cors.policy``), so the app can switch it while serving.
    """
    header_lower = request_id_header.lower()
    scope = news_log.scope
    record = access_log.record if access_log is not None else None
    trusted = access_log is not None and access_log.trusts_proxies
    meter = _Metrics(metrics, route) if metrics is not None else None
    apply_compression = compressor.apply if compressor is not None else None
    gateway_detail = f"the request took longer than {timeout:g} s" if timeout else ""
    too_large_detail = f"the request body must not exceed {max_body_bytes} bytes"
    both_lengths_detail = (
        "the request has both Content-Length and Transfer-Encoding; send one (RFC 9112 6.3)"
    )

    def check_body(request: Request, headers: Headers, method: str) -> None:
        declared = headers.get("content-length")
        if declared is not None:
            if headers.get("transfer-encoding") is not None:
                raise news_api.BadRequest(both_lengths_detail)
            # actix has already rejected malformed lengths; be defensive all the same.
            if not declared.isdigit() or int(declared) > max_body_bytes:  # type: ignore[operator]
                raise news_api.PayloadTooLarge(too_large_detail)
        elif method in _BODY_METHODS:
            body = request.body
            size = len(body) if isinstance(body, bytes) else len(body.encode())
            if size > max_body_bytes:  # type: ignore[operator]
                raise news_api.PayloadTooLarge(too_large_detail)

    def finish(  # noqa: PLR0917 - positional on purpose: the request path avoids kwargs
        request: Request,
        headers: Headers,
        method: str,
        response: Response,
        fields: dict[str, str],
        inner: Mapping[str, Any],
        started: float,
    ) -> Response:
        if REFUSING and response.status_code < 400:
            response = _refused(request)
        response.headers.set(request_id_header, fields["request_id"])
        if record is not None or meter is not None:
            seconds = perf_counter() - started
            size = _body_size(response)
            if meter is not None:
                meter.finished(method, response.status_code, seconds, size)
            if record is not None:
                record(
                    {**inner, **fields} if inner else fields,
                    method,
                    route,
                    request.url.path,
                    response.status_code,
                    seconds * 1000.0,
                    size,
                    request.ip_addr,
                    headers.get("x-forwarded-for") if trusted else None,
                )
        return response

    def escaped(request: Request, exc: BaseException, inner: Mapping[str, Any]) -> Response:
        with _rebound(inner):
            _log.error("unhandled error in the middleware stack", route=route, exc_info=exc)
        return internal_error_response(request)

    def preflight(
        request: Request, headers: Headers, method: str, origin: str, policy: CORSPolicy
    ) -> Response | None:
        if method == "OPTIONS":
            requested = headers.get("access-control-request-method")
            if requested is not None:
                return policy.preflight(request, origin, requested)
        return None

    def outgoing(
        request: Request, response: Response, origin: str | None, policy: CORSPolicy | None
    ) -> Response:
        if apply_compression is not None:
            response = apply_compression(request, response)
        if policy is not None:
            policy.decorate(response, origin)
        return response

    def middleware(next_handler: Handler) -> Handler:  # noqa: PLR0915 - two variants
        if is_async(next_handler):
            call_async: Any = next_handler

            async def run_async(
                request: Request, headers: Headers, method: str, inner: Mapping[str, Any]
            ) -> Response:
                try:
                    if max_body_bytes is not None:
                        check_body(request, headers, method)
                    if not timeout:
                        response: Response = await call_async(request)
                        return response
                    deadline = asyncio.timeout(timeout)
                    try:
                        async with deadline:
                            response = await call_async(request)
                    except TimeoutError:
                        if deadline.expired():
                            with _rebound(inner):
                                _log.warning(
                                    "request timed out; handler cancelled",
                                    method=method,
                                    route=route,
                                    timeout_s=timeout,
                                )
                            raise news_api.GatewayTimeout(gateway_detail) from None
                        raise
                except Exception as exc:  # noqa: BLE001 - recovery: problems, not crashes
                    with _rebound(inner):
                        return error_response(request, exc, route)
                return response

            @functools.wraps(next_handler)
            async def async_stack(request: Request) -> Response:
                started = perf_counter()
                IN_FLIGHT.append(None)
                try:
                    headers = request.headers
                    method = request.method
                    fields = context_fields(headers, header_lower)
                    with scope(**fields) as inner:
                        try:
                            if meter is not None:
                                meter.started(method)
                            policy = cors.policy if cors is not None else None
                            origin = headers.get("origin") if policy is not None else None
                            early = (
                                preflight(request, headers, method, origin, policy)
                                if origin is not None and policy is not None
                                else None
                            )
                            if early is not None:
                                response = early
                            elif REFUSING or (DRAINING and _cut_short(request, headers)):
                                response = _refused(request)
                            else:
                                response = outgoing(
                                    request,
                                    await run_async(request, headers, method, inner),
                                    origin,
                                    policy,
                                )
                        except Exception as exc:  # noqa: BLE001 - the last net: no bare 500
                            response = escaped(request, exc, inner)
                        return finish(request, headers, method, response, fields, inner, started)
                finally:
                    IN_FLIGHT.pop()

            return async_stack

        call: Any = next_handler

        def run_sync(
            request: Request, headers: Headers, method: str, inner: Mapping[str, Any]
        ) -> Response:
            try:
                if max_body_bytes is not None:
                    check_body(request, headers, method)
                began = perf_counter()
                response: Response = call(request)
                elapsed = perf_counter() - began
            except Exception as exc:  # noqa: BLE001 - recovery: problems, not crashes
                with _rebound(inner):
                    return error_response(request, exc, route)
            if timeout and elapsed > timeout:
                with _rebound(inner):
                    return overran(request, method, elapsed)
            return response

        def overran(request: Request, method: str, elapsed: float) -> Response:
            _log.warning(
                "sync handler overran the request timeout; answering 504 "
                "(sync handlers cannot be interrupted: make it async or bound its I/O)",
                method=method,
                route=route,
                timeout_s=timeout,
                elapsed_s=round(elapsed, 3),
            )
            return error_response(request, news_api.GatewayTimeout(gateway_detail), route)

        @functools.wraps(next_handler)
        def sync_stack(request: Request) -> Response:
            started = perf_counter()
            if get_ident() not in KEPT_THREADS:
                keep_thread_state()
            IN_FLIGHT.append(None)
            try:
                headers = request.headers
                method = request.method
                fields = context_fields(headers, header_lower)
                with scope(**fields) as inner:
                    try:
                        if meter is not None:
                            meter.started(method)
                        policy = cors.policy if cors is not None else None
                        origin = headers.get("origin") if policy is not None else None
                        early = (
                            preflight(request, headers, method, origin, policy)
                            if origin is not None and policy is not None
                            else None
                        )
                        if early is not None:
                            response = early
                        elif REFUSING or (DRAINING and _cut_short(request, headers)):
                            response = _refused(request)
                        else:
                            response = outgoing(
                                request, run_sync(request, headers, method, inner), origin, policy
                            )
                    except Exception as exc:  # noqa: BLE001 - the last net: never a bare 500
                        response = escaped(request, exc, inner)
                    return finish(request, headers, method, response, fields, inner, started)
            finally:
                IN_FLIGHT.pop()

        return sync_stack

    return middleware
