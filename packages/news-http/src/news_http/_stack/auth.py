"""``auth_required=True`` routes: Robyn's `AuthenticationHandler`, run inside the chain.

Robyn runs it as a before-middleware (an extra crossing, and its 401 carries no request id and
is no problem+json). Here it runs in the chain: ``None`` from ``authenticate`` becomes a 401
problem with the handler's ``WWW-Authenticate`` scheme; an identity is set on the request.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

import news_api
from news_http._chain import is_async
from news_http._errors import HTTPConfigError

if TYPE_CHECKING:
    from robyn import AuthenticationHandler, Request, Response

    from news_http._types import Handler, Middleware

__all__ = ["auth_middleware"]


def auth_middleware(authentication: AuthenticationHandler, route: str) -> Middleware:
    """Require an identity from ``authentication`` before the handler runs."""
    authenticate: Any = authentication.authenticate
    scheme = getattr(getattr(authentication, "token_getter", None), "scheme", None) or "Bearer"
    async_authenticate = inspect.iscoroutinefunction(authenticate)

    def refuse() -> news_api.APIError:
        return news_api.Unauthorized("authentication required", challenge=scheme)

    def middleware(next_handler: Handler) -> Handler:
        if is_async(next_handler):
            call_async: Any = next_handler

            @functools.wraps(next_handler)
            async def async_handler(request: Request) -> Response:
                identity = authenticate(request)
                if inspect.isawaitable(identity):
                    identity = await identity
                if identity is None:
                    raise refuse()
                request.identity = identity
                response: Response = await call_async(request)
                return response

            return async_handler

        if async_authenticate:
            raise HTTPConfigError(
                f"route {route}: the authentication handler is async but the route's handler "
                "is sync; make the handler async (a sync handler cannot await authenticate)"
            )
        call: Any = next_handler

        @functools.wraps(next_handler)
        def sync_handler(request: Request) -> Response:
            identity = authenticate(request)
            if identity is None:
                raise refuse()
            request.identity = identity
            response: Response = call(request)
            return response

        return sync_handler

    return middleware
