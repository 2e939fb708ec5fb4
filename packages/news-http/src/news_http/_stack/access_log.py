"""Access log and metrics: one structured line and one metrics report per request.

This layer sits right inside the request id, so the line carries ``request_id`` (and
``traceparent``) from the bound context. It is also the last safety net: an exception escaping
the layers inside it (which the recovery layer should never let happen) still becomes a
problem response and a logged traceback, never a bare Robyn 500 without a request id.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import deque
from time import perf_counter
from typing import TYPE_CHECKING, Any, Final

import news_log
from news_http._chain import is_async
from news_http._stack.recovery import internal_error_response

if TYPE_CHECKING:
    from collections.abc import Iterable

    from robyn import Request, Response

    from news_http._types import Handler, HttpMetricsHook, Middleware

__all__ = ["IN_FLIGHT", "ClientAddress", "access_log_middleware", "metrics_middleware"]

#: One entry per request inside the stack right now (deque appends and pops are atomic, so
#: Robyn's threads need no lock); graceful shutdown waits for it to empty.
IN_FLIGHT: Final[deque[None]] = deque()

ACCESS_LOGGER: Final = "news_http.access"
_log = news_log.get_logger("news_http")

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """Find the client's address: the peer, or X-Forwarded-For when the peer is a trusted proxy.

    X-Forwarded-For is read right to left, skipping trusted proxies; the first untrusted
    address is the client (anything left of it may be forged by the client itself).
    """

    __slots__ = ("_networks",)

    def __init__(self, trusted: Iterable[str]) -> None:
        self._networks: tuple[_Network, ...] = tuple(
            ipaddress.ip_network(item.strip(), strict=False) for item in trusted
        )

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def __call__(self, request: Request) -> str | None:
        """Return the client address of ``request`` (None when Robyn has no peer address)."""
        peer = request.ip_addr
        if not self._networks or peer is None or not self._trusted(peer):
            return peer
        forwarded = request.headers.get("x-forwarded-for")
        if not forwarded:
            return peer
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # garbage in the header: fall back to what we know
        return hops[0] if hops else peer


def _body_size(response: Response) -> int:
    body = response.description
    return len(body) if isinstance(body, bytes) else len(body.encode())


def access_log_middleware(
    route: str, *, client_address: ClientAddress, enabled: bool = True
) -> Middleware:
    """Log one line per request to ``news_http.access`` (none when not ``enabled``).

    Either way, any exception that reaches this layer becomes a 500 problem (logged with its
    traceback).
    """
    access = news_log.get_logger(ACCESS_LOGGER)

    def finish(request: Request, response: Response, started: float) -> None:
        if not enabled:
            return
        access.info(
            "request",
            method=request.method,
            route=route,
            path=request.url.path,
            status=response.status_code,
            duration_ms=round((perf_counter() - started) * 1000.0, 3),
            bytes=_body_size(response),
            client_ip=client_address(request),
        )

    def escaped(request: Request, exc: BaseException) -> Response:
        _log.error(
            "unhandled error in the middleware stack",
            method=request.method,
            route=route,
            exc_info=exc,
        )
        return internal_error_response(request)

    def middleware(next_handler: Handler) -> Handler:
        if is_async(next_handler):
            call_async: Any = next_handler

            @functools.wraps(next_handler)
            async def async_handler(request: Request) -> Response:
                started = perf_counter()
                IN_FLIGHT.append(None)
                try:
                    response: Response = await call_async(request)
                except Exception as exc:  # noqa: BLE001 - the last net: never a bare 500
                    response = escaped(request, exc)
                finally:
                    IN_FLIGHT.pop()
                finish(request, response, started)
                return response

            return async_handler

        call: Any = next_handler

        @functools.wraps(next_handler)
        def sync_handler(request: Request) -> Response:
            started = perf_counter()
            IN_FLIGHT.append(None)
            try:
                response: Response = call(request)
            except Exception as exc:  # noqa: BLE001 - the last net: never a bare 500
                response = escaped(request, exc)
            finally:
                IN_FLIGHT.pop()
            finish(request, response, started)
            return response

        return sync_handler

    return middleware


def metrics_middleware(route: str, hook: HttpMetricsHook) -> Middleware:
    """Report each request to ``hook`` (started, then finished with status, time and size).

    A hook that raises is logged (once per distinct error message) and otherwise ignored.
    """
    started_fn = hook.request_started
    finished_fn = hook.request_finished
    reported: set[str] = set()

    def report_failure(exc: Exception) -> None:
        key = f"{type(exc).__name__}: {exc}"
        if key not in reported and len(reported) < 100:
            reported.add(key)
            _log.error("metrics hook failed", route=route, exc_info=exc)

    def finish(method: str, response: Response, started: float) -> None:
        try:
            finished_fn(
                method, route, response.status_code, perf_counter() - started, _body_size(response)
            )
        except Exception as exc:  # noqa: BLE001 - metrics never break a request
            report_failure(exc)

    def begin(method: str) -> float:
        try:
            started_fn(method, route)
        except Exception as exc:  # noqa: BLE001 - metrics never break a request
            report_failure(exc)
        return perf_counter()

    def middleware(next_handler: Handler) -> Handler:
        if is_async(next_handler):
            call_async: Any = next_handler

            @functools.wraps(next_handler)
            async def async_handler(request: Request) -> Response:
                method = request.method
                started = begin(method)
                response: Response = await call_async(request)
                finish(method, response, started)
                return response

            return async_handler

        call: Any = next_handler

        @functools.wraps(next_handler)
        def sync_handler(request: Request) -> Response:
            method = request.method
            started = begin(method)
            response: Response = call(request)
            finish(method, response, started)
            return response

        return sync_handler

    return middleware
