"""Errors news-http raises itself (errors sent to HTTP clients are news-api's `ApiError`).

The tree::

    Exception
     └── NewsHttpError                  root of news-http's own errors
          ├── HttpConfigError       ValueError: bad settings or routes (create/register time)
          └── ServerStartError      RuntimeError: the server could not start serving
               └── PortInUseError   OSError: the port is taken by another process

Handlers raise `news_api.ApiError` subclasses; news-http turns them into problem responses.
"""

from __future__ import annotations

__all__ = ["HttpConfigError", "NewsHttpError", "PortInUseError", "ServerStartError"]


class NewsHttpError(Exception):
    """Root of the errors news-http raises."""


class HttpConfigError(NewsHttpError, ValueError):
    """Settings or route registrations that cannot work (raised before serving)."""


class ServerStartError(NewsHttpError, RuntimeError):
    """The server could not start serving (port, socket, startup hook)."""


class PortInUseError(ServerStartError, OSError):
    """The address is already in use by another process."""
