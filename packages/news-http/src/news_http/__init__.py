"""HTTP for news platform services: Robyn with the standard middleware chain and a real lifecycle.

A complete service::

    import news_api
    import news_http

    app = news_http.create_app(news_http.HTTPSettings(port=8080), name="articles")


    @app.get("/articles/:article_id")
    def get_article(article_id: int) -> news_api.Response:
        if article_id != 7:
            raise news_api.NotFound(f"no article {article_id}")
        return news_api.ok({"id": 7, "title": "Hello"})


    @app.on_shutdown
    async def close_publisher() -> None: ...


    if __name__ == "__main__":
        news_http.run(app)  # SIGTERM/SIGINT: drain, shutdown hooks, flush logs, exit 0

Every route runs inside one composed chain (request id, access log, metrics, CORS,
compression, recovery, body limit, timeout, your middlewares): a request crosses from Rust into
Python once. Handlers return dicts, msgspec Structs, ``news_api`` responses or raise
``news_api.APIError``; unmatched paths get a problem+json 404/405 like everything else.

``import news_http`` is cheap (settings, errors and types); Robyn is imported by `create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from news_http.__about__ import __version__
from news_http._errors import HTTPConfigError, NewsHTTPError, PortInUseError, ServerStartError
from news_http._settings import CORSSettings, HTTPSettings, SecurityHeaders
from news_http._types import (
    QUERY,
    AsyncHandler,
    FromQuery,
    Handler,
    HTTPMetricsHook,
    Middleware,
    Resource,
    SyncHandler,
)

# Tracebacks, reprs and docs name the public home (news_http.NewsApp). Not the settings Structs:
# msgspec resolves their annotations in the module they name.
for _public in (
    FromQuery,
    HTTPConfigError,
    HTTPMetricsHook,
    NewsHTTPError,
    PortInUseError,
    Resource,
    ServerStartError,
):
    _public.__module__ = __name__
del _public

if TYPE_CHECKING:
    from news_http._app import UNMATCHED_ROUTE, NewsApp, create_app
    from news_http._chain import make_middleware, with_middleware
    from news_http._handler import JSON_MEDIA_TYPES, accepts, to_response
    from news_http._run import run
    from news_http._stack.request_id import current_request_id, new_request_id

__all__ = [
    "JSON_MEDIA_TYPES",
    "QUERY",
    "UNMATCHED_ROUTE",
    "AsyncHandler",
    "CORSSettings",
    "FromQuery",
    "HTTPConfigError",
    "HTTPMetricsHook",
    "HTTPSettings",
    "Handler",
    "Middleware",
    "NewsApp",
    "NewsHTTPError",
    "PortInUseError",
    "Resource",
    "SecurityHeaders",
    "ServerStartError",
    "SyncHandler",
    "__version__",
    "accepts",
    "create_app",
    "current_request_id",
    "make_middleware",
    "new_request_id",
    "run",
    "to_response",
    "with_middleware",
]

# Names that need Robyn (about 0.2 s to import) load on first use.
_LAZY = {
    "UNMATCHED_ROUTE": "news_http._app",
    "NewsApp": "news_http._app",
    "create_app": "news_http._app",
    "make_middleware": "news_http._chain",
    "with_middleware": "news_http._chain",
    "to_response": "news_http._handler",
    "accepts": "news_http._handler",
    "JSON_MEDIA_TYPES": "news_http._handler",
    "run": "news_http._run",
    "current_request_id": "news_http._stack.request_id",
    "new_request_id": "news_http._stack.request_id",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'news_http' has no attribute {name!r}")
    import importlib

    from news_http._robyn import hidden_argv

    with hidden_argv():  # importing robyn parses sys.argv (it makes a Config at import)
        value = getattr(importlib.import_module(module), name)
    if isinstance(value, type) or callable(value):  # classes and functions, not constants
        value.__module__ = __name__
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
