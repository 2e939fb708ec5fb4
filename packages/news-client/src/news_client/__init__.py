"""Outbound HTTP for news platform services: deadlines, retries, circuit breakers, bulkheads.

An HTTP client per dependency, on aiohttp, started and stopped with the service (it fits
news-http's ``app.manage``)::

    import news_client

    settings = news_client.ClientSettings(base_url="http://enrichment:8080", total_timeout=2.0)
    async with news_client.HTTPClient(settings, name="enrichment") as enrichment:
        try:
            answer = await enrichment.post("/v1/tags", json=article, idempotency_key=article_id)
            tags = answer.json(type=list[str])
        except news_client.BreakerOpenError:
            tags = []  # the dependency is down: degrade, do not wait
        except news_client.ValidationFailedError as exc:  # its 422 problem+json
            log.warning("rejected", detail=exc.detail, fields=exc.problem.errors)

Every request carries the request id and ``traceparent`` bound with ``news_log.bind``; a call
never outlives ``total_timeout``; idempotent requests are retried with backoff and jitter
within it; the breaker opens on failure or slow-call rates.

The primitives work without HTTP, around any coroutine::

    breaker = news_client.CircuitBreaker(news_client.BreakerSettings(), name="geo")
    retry = news_client.Retry(news_client.RetrySettings(attempts=3), name="geo")
    bulkhead = news_client.Bulkhead(news_client.BulkheadSettings(max_concurrent=10))


    async def one_try() -> Place:
        async with bulkhead, news_client.timeout(0.5, name="geo"):
            return await breaker.call(geo.lookup, address)


    place = await retry.call(one_try, timeout=2.0)

Errors derive from `NewsClientError`; see ``news_client._errors`` for the tree.
"""

from __future__ import annotations

from news_client.__about__ import __version__
from news_client._breaker import BreakerState, CircuitBreaker, CircuitBreakers, StateListener
from news_client._bulkhead import Bulkhead, timeout
from news_client._errors import (
    BadRequestError,
    BreakerOpenError,
    BulkheadFullError,
    CallTimeoutError,
    ClientClosedError,
    ClientConfigError,
    ConflictError,
    ConnectError,
    ForbiddenError,
    GatewayTimeoutError,
    HTTPClientError,
    HTTPServerError,
    HTTPStatusError,
    NewsClientError,
    NotFoundError,
    ServiceUnavailableError,
    TooManyRequestsError,
    TransportError,
    UnauthorizedError,
    ValidationFailedError,
)
from news_client._http import HTTPClient, Response, TokenSource, default_is_failure
from news_client._metrics import ClientMetricsHook, NoopMetrics
from news_client._problem import FieldError, Problem
from news_client._retry import Retry, RetryBudget, default_retryable, parse_retry_after
from news_client._settings import (
    BreakerSettings,
    BulkheadSettings,
    ClientSettings,
    MetricsMode,
    RetrySettings,
    TLSSettings,
    WindowType,
)

# Tracebacks, reprs and docs name the public home (news_client.HTTPClient). Not the Structs:
# msgspec resolves their annotations in the module they name.
for _public in (
    BadRequestError,
    BreakerOpenError,
    Bulkhead,
    BulkheadFullError,
    CallTimeoutError,
    CircuitBreaker,
    CircuitBreakers,
    ClientClosedError,
    ClientConfigError,
    ClientMetricsHook,
    ConflictError,
    ConnectError,
    ForbiddenError,
    GatewayTimeoutError,
    HTTPClient,
    HTTPClientError,
    HTTPServerError,
    HTTPStatusError,
    NewsClientError,
    NoopMetrics,
    NotFoundError,
    Response,
    Retry,
    RetryBudget,
    ServiceUnavailableError,
    TokenSource,
    TooManyRequestsError,
    TransportError,
    UnauthorizedError,
    ValidationFailedError,
    default_is_failure,
    default_retryable,
    parse_retry_after,
    timeout,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "BadRequestError",
    "BreakerOpenError",
    "BreakerSettings",
    "BreakerState",
    "Bulkhead",
    "BulkheadFullError",
    "BulkheadSettings",
    "CallTimeoutError",
    "CircuitBreaker",
    "CircuitBreakers",
    "ClientClosedError",
    "ClientConfigError",
    "ClientMetricsHook",
    "ClientSettings",
    "ConflictError",
    "ConnectError",
    "FieldError",
    "ForbiddenError",
    "GatewayTimeoutError",
    "HTTPClient",
    "HTTPClientError",
    "HTTPServerError",
    "HTTPStatusError",
    "MetricsMode",
    "NewsClientError",
    "NoopMetrics",
    "NotFoundError",
    "Problem",
    "Response",
    "Retry",
    "RetryBudget",
    "RetrySettings",
    "ServiceUnavailableError",
    "StateListener",
    "TLSSettings",
    "TokenSource",
    "TooManyRequestsError",
    "TransportError",
    "UnauthorizedError",
    "ValidationFailedError",
    "WindowType",
    "__version__",
    "default_is_failure",
    "default_retryable",
    "parse_retry_after",
    "timeout",
]
