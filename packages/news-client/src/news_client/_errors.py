"""The errors news-client raises, all under one root.

::

    NewsClientError
    ├── ClientConfigError (also ValueError)     bad settings, found at construction
    ├── ClientClosedError (also RuntimeError)   a call before start() or after stop()
    ├── CallTimeoutError (also TimeoutError)    the call's deadline (or an attempt's) passed
    ├── BreakerOpenError                        the circuit breaker refused the call (open, or
    │                                           half-open with every trial taken); not sent
    ├── BulkheadFullError                       the dependency's concurrency limit was reached
    ├── TransportError (also ConnectionError)   no HTTP answer: refused, reset, closed early
    │   └── ConnectError                        could not connect (nothing was sent)
    └── HTTPStatusError                         the dependency answered 4xx/5xx (``status``,
        │                                       ``problem``: its problem+json details)
        ├── HTTPClientError                     4xx
        │   ├── BadRequestError                 400
        │   ├── UnauthorizedError               401
        │   ├── ForbiddenError                  403
        │   ├── NotFoundError                   404
        │   ├── ConflictError                   409
        │   ├── ValidationFailedError           422 (``problem.errors``: the fields)
        │   └── TooManyRequestsError            429 (``retry_after``)
        └── HTTPServerError                     5xx
            ├── ServiceUnavailableError         503 (``retry_after``)
            └── GatewayTimeoutError             504

A problem+json answer (RFC 9457, as news-api renders it) becomes the class of its status with
its ``detail``, ``code``, ``request_id`` and field ``errors`` in `Problem`. aiohttp's errors are
translated at the boundary and kept as ``__cause__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    from news_client._problem import Problem

__all__ = [
    "BadRequestError",
    "BreakerOpenError",
    "BulkheadFullError",
    "CallTimeoutError",
    "ClientClosedError",
    "ClientConfigError",
    "ConflictError",
    "ConnectError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "HTTPClientError",
    "HTTPServerError",
    "HTTPStatusError",
    "NewsClientError",
    "NotFoundError",
    "ServiceUnavailableError",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "ValidationFailedError",
    "status_error_class",
]


class NewsClientError(Exception):
    """Root of every error raised by news-client."""


class ClientConfigError(NewsClientError, ValueError):
    """The settings are invalid or inconsistent; the message names the field and the fix."""


class ClientClosedError(NewsClientError, RuntimeError):
    """The client is not running: a call before ``start()`` or after ``stop()``."""


class CallTimeoutError(NewsClientError, TimeoutError):
    """A call (or one attempt of it) ran past its time limit and was cancelled.

    Attributes:
        dependency: The dependency (client or breaker name), or "" for a bare `timeout`.
        timeout: The limit that passed, in seconds.
    """

    def __init__(self, message: str, *, dependency: str = "", timeout: float = 0.0) -> None:
        super().__init__(message)
        self.dependency = dependency
        self.timeout = timeout


class BreakerOpenError(NewsClientError):
    """The circuit breaker did not let the call through; nothing was sent.

    Attributes:
        breaker: The breaker's name (its key).
        state: ``"open"``, or ``"half_open"`` when every trial call is taken.
        retry_after: Seconds until the breaker lets trial calls through (0.0 in half-open).
    """

    def __init__(self, message: str, *, breaker: str, state: str, retry_after: float) -> None:
        super().__init__(message)
        self.breaker = breaker
        self.state = state
        self.retry_after = retry_after


class BulkheadFullError(NewsClientError):
    """The bulkhead's concurrency limit was reached and no slot freed within ``max_wait``.

    Attributes:
        bulkhead: The bulkhead's name.
        limit: Its concurrency limit.
    """

    def __init__(self, message: str, *, bulkhead: str, limit: int) -> None:
        super().__init__(message)
        self.bulkhead = bulkhead
        self.limit = limit


class TransportError(NewsClientError, ConnectionError):
    """No HTTP answer: the connection was reset or closed before the response was complete.

    The request may have reached the dependency; only idempotent requests are retried.

    Attributes:
        dependency: The client's name.
    """

    def __init__(self, message: str, *, dependency: str = "") -> None:
        super().__init__(message)
        self.dependency = dependency


class ConnectError(TransportError):
    """The connection could not be made (refused, unreachable, DNS, TLS handshake).

    Nothing was sent, so every method may be retried.
    """


class HTTPStatusError(NewsClientError):
    """The dependency answered with an error status (4xx or 5xx).

    Attributes:
        status: The HTTP status code.
        method: The request's method.
        dependency: The client's name.
        route: The route template the caller gave (``/v1/articles/{id}``), not the URL.
        headers: The response headers (a case-insensitive mapping).
        body: The response body (bytes).
        problem: The RFC 9457 problem details when the answer was ``application/problem+json``
            (or a JSON object with ``title``/``detail``), else None.
    """

    status: int
    problem: Problem | None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str = "",
        dependency: str = "",
        route: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        problem: Problem | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.dependency = dependency
        self.route = route
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.body = body
        self.problem = problem

    @property
    def detail(self) -> str | None:
        """The problem's ``detail`` (what the dependency said about this occurrence), if any."""
        return self.problem.detail if self.problem is not None else None

    @property
    def code(self) -> str | None:
        """The problem's machine-readable ``code`` (news-api's, e.g. ``"not_found"``), if any."""
        return self.problem.code if self.problem is not None else None

    @property
    def retry_after(self) -> float | None:
        """Seconds the dependency asked to wait (its ``Retry-After`` header), if it said."""
        from news_client._retry import parse_retry_after

        return parse_retry_after(self.headers.get("Retry-After"))


class HTTPClientError(HTTPStatusError):
    """A 4xx answer: the request was refused; the dependency itself is fine."""


class HTTPServerError(HTTPStatusError):
    """A 5xx answer: the dependency failed (counts against its circuit breaker)."""


class BadRequestError(HTTPClientError):
    """400: the dependency found the request malformed."""


class UnauthorizedError(HTTPClientError):
    """401: missing or rejected credentials."""


class ForbiddenError(HTTPClientError):
    """403: the credentials are not allowed to do this."""


class NotFoundError(HTTPClientError):
    """404: no such resource."""


class ConflictError(HTTPClientError):
    """409: the request conflicts with the resource's state."""


class ValidationFailedError(HTTPClientError):
    """422: the body failed the dependency's schema; ``problem.errors`` names the fields."""


class TooManyRequestsError(HTTPClientError):
    """429: rate limited; ``retry_after`` says for how long (retried when it fits the deadline)."""


class ServiceUnavailableError(HTTPServerError):
    """503: the dependency is overloaded or down; ``retry_after`` may say for how long."""


class GatewayTimeoutError(HTTPServerError):
    """504: a gateway in front of the dependency timed out."""


_BY_STATUS: Final[dict[int, type[HTTPStatusError]]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationFailedError,
    429: TooManyRequestsError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
}


def status_error_class(status: int) -> type[HTTPStatusError]:
    """The error class for an HTTP error ``status``: its own class, else 4xx/5xx's."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    return HTTPServerError if status >= 500 else HTTPClientError
