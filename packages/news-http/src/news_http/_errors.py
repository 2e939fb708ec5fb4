"""Errors news-http raises itself (errors sent to HTTP clients are news-api's `APIError`).

The tree::

    Exception
     └── NewsHTTPError                  root of news-http's own errors
          ├── HTTPConfigError       ValueError: bad settings or routes (create/register time)
          └── ServerStartError      RuntimeError: the server could not start serving
               └── PortInUseError   OSError: the port is taken by another process

Handlers raise `news_api.APIError` subclasses; news-http turns them into problem responses.
"""

from __future__ import annotations

__all__ = ["HTTPConfigError", "NewsHTTPError", "PortInUseError", "ServerStartError"]


class NewsHTTPError(Exception):
    """Root of the errors news-http raises."""


class HTTPConfigError(NewsHTTPError, ValueError):
    """Settings or route registrations that cannot work (raised before serving)."""


class ServerStartError(NewsHTTPError, RuntimeError):
    """The server could not start serving (port, socket, startup hook)."""


class PortInUseError(ServerStartError, OSError):
    """The address is already in use by another process."""
