"""Settings: the circuit breaker's, the retries', the bulkhead's, TLS, and a client's whole."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from news_client.__about__ import __version__
from news_client._errors import ClientConfigError
from news_config import Secret

__all__ = [
    "BreakerSettings",
    "BulkheadSettings",
    "ClientSettings",
    "MetricsMode",
    "RetrySettings",
    "TLSSettings",
    "WindowType",
]

WindowType = Literal["count", "time"]
MetricsMode = Literal["auto", "on", "off"]


class BreakerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A circuit breaker: when it opens, how long it stays open, how it probes (resilience4j's).

    Closed, it lets every call through and keeps the outcomes of a sliding window (the last
    ``window_size`` calls, or the calls of the last ``window_size`` seconds). Once the window
    holds ``minimum_calls`` calls and the failure rate or the slow-call rate reaches its
    threshold, it opens: calls fail at once with `BreakerOpenError` for ``open_duration``
    seconds. Then it lets ``half_open_calls`` trial calls through: if their failure and slow
    rates stay under the thresholds it closes, else it opens again.
    """

    enabled: Annotated[
        bool, Meta(description="Use a circuit breaker (off: every call goes through)")
    ] = True
    window: Annotated[
        WindowType,
        Meta(description="Sliding window by call count (count) or by seconds (time)"),
    ] = "count"
    window_size: Annotated[
        int,
        Meta(ge=1, le=10_000, description="Calls (count window) or seconds (time window) kept"),
    ] = 100
    minimum_calls: Annotated[
        int, Meta(ge=1, description="Calls the window must hold before a rate can open it")
    ] = 20
    failure_rate_threshold: Annotated[
        float,
        Meta(gt=0, le=100, description="Failure rate, in percent, at which the breaker opens"),
    ] = 50.0
    slow_call_duration: Annotated[
        float, Meta(gt=0, description="A call taking this many seconds or more is slow")
    ] = 5.0
    slow_call_rate_threshold: Annotated[
        float,
        Meta(gt=0, le=100, description="Slow-call rate, in percent, at which the breaker opens"),
    ] = 100.0
    open_duration: Annotated[
        float, Meta(gt=0, description="Seconds the breaker stays open before trial calls")
    ] = 30.0
    half_open_calls: Annotated[
        int,
        Meta(ge=1, le=1000, description="Trial calls let through in half-open (never more)"),
    ] = 5

    def __post_init__(self) -> None:
        if self.window == "count" and self.minimum_calls > self.window_size:
            raise ClientConfigError(
                f"breaker: minimum_calls ({self.minimum_calls}) exceeds window_size "
                f"({self.window_size}) of the count window, so the breaker could never open; "
                "lower minimum_calls or raise window_size"
            )


class RetrySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Retries: exponential backoff with full jitter, inside the call's deadline, on a budget.

    The wait after failed attempt n is a random time in [0, min(backoff_max, backoff_base *
    2**(n-1))] (full jitter), or the dependency's ``Retry-After`` when that is longer. A retry
    whose wait would end past the call's deadline is not made. The budget bounds retries over
    the last ``budget_window`` seconds to ``budget_min_retries`` plus ``budget_ratio`` of the
    calls made, so an outage does not multiply the load on the dependency (no retry storm).
    """

    attempts: Annotated[
        int, Meta(ge=1, le=10, description="Tries in total, the first included (1 = no retry)")
    ] = 3
    backoff_base: Annotated[
        float, Meta(ge=0, description="Longest wait after the first failed attempt, seconds")
    ] = 0.1
    backoff_max: Annotated[
        float, Meta(ge=0, description="Longest wait between two attempts, seconds")
    ] = 2.0
    budget_ratio: Annotated[
        float,
        Meta(ge=0, le=10, description="Retries allowed per call made (0.2: at most 20% more)"),
    ] = 0.2
    budget_min_retries: Annotated[
        int, Meta(ge=0, description="Retries always allowed per budget window, even when idle")
    ] = 10
    budget_window: Annotated[
        float, Meta(gt=0, description="Seconds over which the retry budget is counted")
    ] = 10.0

    def __post_init__(self) -> None:
        if self.backoff_max < self.backoff_base:
            raise ClientConfigError(
                f"retry: backoff_max ({self.backoff_max}) is below backoff_base "
                f"({self.backoff_base}); raise backoff_max or lower backoff_base"
            )


class BulkheadSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A bulkhead: at most ``max_concurrent`` calls at once; others wait up to ``max_wait``."""

    max_concurrent: Annotated[
        int, Meta(ge=1, description="Calls to the dependency in flight at once, at most")
    ] = 100
    max_wait: Annotated[
        float,
        Meta(ge=0, description="Seconds a call may wait for a free slot (0: fail at once)"),
    ] = 0.0


class TLSSettings(msgspec.Struct, frozen=True, kw_only=True):
    """TLS for https base URLs: which CAs to trust, and a client certificate for mutual TLS."""

    verify: Annotated[
        bool, Meta(description="Check the server's certificate and host name (keep it on)")
    ] = True
    ca_file: Annotated[
        str | None, Meta(description="PEM file of CAs to trust (None: the system's trust store)")
    ] = None
    cert_file: Annotated[str | None, Meta(description="PEM client certificate, for mutual TLS")] = (
        None
    )
    key_file: Annotated[str | None, Meta(description="PEM private key of cert_file")] = None
    key_password: Annotated[
        Secret | None, Meta(description="Password of key_file, when it is encrypted")
    ] = None

    def __post_init__(self) -> None:
        if self.key_file and not self.cert_file:
            raise ClientConfigError("tls: key_file is set without cert_file; mutual TLS needs both")
        if self.key_password and not self.key_file:
            raise ClientConfigError("tls: key_password is set without key_file")


def _default_user_agent() -> str:
    return f"news-client/{__version__}"


class ClientSettings(msgspec.Struct, frozen=True, kw_only=True):
    """One dependency's HTTP client: where it is, time limits, pool, retries, breaker, TLS.

    Example:
        >>> settings = ClientSettings(base_url="http://enrichment:8080", total_timeout=2.0)
        >>> settings.retry.attempts
        3
    """

    base_url: Annotated[
        str,
        Meta(description="The dependency's URL, http(s)://host[:port][/prefix] (routes join it)"),
    ] = ""
    connect_timeout: Annotated[
        float, Meta(gt=0, description="Seconds to get a connection (pool wait + TCP + TLS)")
    ] = 2.0
    read_timeout: Annotated[
        float, Meta(gt=0, description="Longest silence, in seconds, while awaiting the answer")
    ] = 10.0
    total_timeout: Annotated[
        float,
        Meta(
            gt=0,
            description="Seconds a whole call may take: every attempt and every wait between",
        ),
    ] = 15.0
    attempt_timeout: (
        Annotated[
            float,
            Meta(
                gt=0, description="Seconds one attempt may take (None: what is left of the total)"
            ),
        ]
        | None
    ) = None
    pool_size: Annotated[
        int, Meta(ge=1, description="Connections to the dependency kept open at most")
    ] = 100
    keepalive_timeout: Annotated[
        float, Meta(ge=0, description="Seconds an idle pooled connection is kept")
    ] = 15.0
    dns_cache_ttl: Annotated[
        int, Meta(ge=0, description="Seconds a resolved address is reused (0: resolve each time)")
    ] = 10
    user_agent: Annotated[str, Meta(description="The User-Agent header sent")] = msgspec.field(
        default_factory=_default_user_agent
    )
    headers: Annotated[dict[str, str], Meta(description="Headers sent with every request")] = (
        msgspec.field(default_factory=dict)
    )
    request_id_header: Annotated[
        str,
        Meta(min_length=1, description="Header carrying the current request id (news-log's)"),
    ] = "x-request-id"
    retry_statuses: Annotated[
        frozenset[int],
        Meta(description="Answer statuses that are retried (idempotent requests only)"),
    ] = frozenset({429, 502, 503, 504})
    failure_statuses: Annotated[
        frozenset[int],
        Meta(description="Answer statuses that count as failures for the circuit breaker"),
    ] = frozenset({500, 502, 503, 504})
    health_path: Annotated[
        str,
        Meta(description="Route the readiness check GETs (empty: only the breaker's state)"),
    ] = ""
    stop_timeout: Annotated[
        float, Meta(ge=0, description="stop(): seconds in-flight calls may take to finish")
    ] = 5.0
    metrics: Annotated[
        MetricsMode,
        Meta(
            description="Prometheus metrics when no metrics= hook is passed: auto (if "
            "prometheus-client is installed), on (require it), off"
        ),
    ] = "auto"
    retry: Annotated[RetrySettings, Meta(description="Retries")] = msgspec.field(
        default_factory=RetrySettings
    )
    breaker: Annotated[BreakerSettings, Meta(description="Circuit breaker")] = msgspec.field(
        default_factory=BreakerSettings
    )
    bulkhead: Annotated[BulkheadSettings, Meta(description="Concurrency limit")] = msgspec.field(
        default_factory=BulkheadSettings
    )
    tls: Annotated[TLSSettings, Meta(description="TLS (https base URLs)")] = msgspec.field(
        default_factory=TLSSettings
    )

    def __post_init__(self) -> None:
        if self.base_url:
            parts = urlsplit(self.base_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ClientConfigError(
                    f"base_url: {self.base_url!r} is not http(s)://host[:port][/prefix]"
                )
            if parts.query or parts.fragment:
                raise ClientConfigError(
                    f"base_url: {self.base_url!r} has a query or fragment; give them per call"
                )
        for name in ("retry_statuses", "failure_statuses"):
            bad = sorted(s for s in getattr(self, name) if not 100 <= s <= 599)
            if bad:
                raise ClientConfigError(f"{name}: {bad} are not HTTP statuses (100-599)")
        if self.attempt_timeout is not None and self.attempt_timeout > self.total_timeout:
            raise ClientConfigError(
                f"attempt_timeout ({self.attempt_timeout}) exceeds total_timeout "
                f"({self.total_timeout}); one attempt can never take longer than the call"
            )
