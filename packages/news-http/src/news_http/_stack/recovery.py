"""Recovery: any exception becomes an RFC 9457 problem; internals stay in the log.

`news_api.APIError` renders as its own problem (status, title, code, detail, headers). Anything
else becomes a generic 500 whose body says "internal error" and nothing more; the log line (at
error level, logger ``news_http``) carries the exception type, message and full traceback, with
the request id bound by the outer layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from robyn import Response

import news_api
import news_log
from news_http._stack.request_id import current_request_id

if TYPE_CHECKING:
    from robyn import Request

__all__ = ["error_response", "internal_error_response", "to_robyn"]

_log = news_log.get_logger("news_http")


def to_robyn(response: news_api.Response) -> Response:
    """Convert a framework-free `news_api.Response` into Robyn's `Response`."""
    return Response(response.status, dict(response.headers), response.body)


def internal_error_response(request: Request) -> Response:
    """A generic 500 problem for ``request``: no exception text, just the request id."""
    return to_robyn(
        news_api.InternalServerError("internal error").to_response(
            request_id=current_request_id(), instance=request.url.path
        )
    )


def error_response(request: Request, exc: Exception, route: str = "") -> Response:
    """Render ``exc`` as a problem response and log it; never leaks internals for non-API errors.

    ApiErrors below 500 are the client's fault and are not logged here (the access log has
    them); 5xx ApiErrors are logged at error level without traceback, other exceptions with it.
    """
    if isinstance(exc, news_api.APIError):
        try:
            rendered = exc.to_response(request_id=current_request_id(), instance=request.url.path)
        except Exception as render_exc:  # noqa: BLE001 - an unencodable extension member
            _log.error(
                "cannot render the API error; answering 500",
                method=request.method,
                route=route,
                error_type=type(exc).__name__,
                exc_info=render_exc,
            )
            return internal_error_response(request)
        if exc.status >= 500:
            _log.error(
                "request failed",
                method=request.method,
                route=route,
                status=exc.status,
                error_type=type(exc).__name__,
                detail=exc.detail,
            )
        return to_robyn(rendered)
    _log.error(
        "unhandled exception in handler",
        method=request.method,
        route=route,
        exc_info=exc,
    )
    return internal_error_response(request)
