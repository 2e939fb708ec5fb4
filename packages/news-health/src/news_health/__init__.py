"""Health checks for news platform services: liveness and readiness with timeouts and caching.

No dependencies. Register named checks, then answer probes with a ``application/health+json``
report::

    import asyncio

    import news_health

    registry = news_health.HealthRegistry(service_id="newsroom-api", version="1.4.2")
    registry.add("postgres", news_health.tcp_check("db.internal", 5432), timeout=1)


    @registry.check("search", critical=False, cache_ttl=5)  # failure only warns
    async def search_ok() -> str:
        return "3 nodes"


    async def main() -> None:
        async with registry:  # starts the event-loop lag monitor
            registry.mark_started()  # readiness may pass from now on
            report = await registry.check_readiness()
            report.http_status, report.content_type, report.to_json()
            registry.mark_shutting_down()  # readiness fails at once; liveness unaffected

Liveness = the built-in ``event_loop`` lag check plus checks added with ``probe="liveness"``
(e.g. `heartbeat_check` over a consumer's last poll time). Readiness = startup finished, not
shutting down, and the readiness checks pass. Checks run concurrently, each under its own
timeout; results are cached for a TTL and concurrent probes share one in-flight run.
A critical failure makes the report ``fail`` (HTTP 503); a non-critical one ``warn`` (200).
Outputs never carry stack traces or credentials (``scheme://user:pass@`` is masked).
"""

from __future__ import annotations

from news_health.__about__ import __version__
from news_health._check import CheckFunction, CheckReturn, RegisteredCheck
from news_health._checks import heartbeat_check, tcp_check
from news_health._errors import CheckConfigError, HealthConfigError, LoopError, NewsHealthError
from news_health._loop import LoopMonitor
from news_health._registry import LIFECYCLE_CHECK, LOOP_CHECK, HealthRegistry, Probe
from news_health._report import (
    HEALTH_MEDIA_TYPE,
    CheckOutcome,
    CheckResult,
    HealthReport,
    Status,
    describe_exception,
    safe_output,
)
from news_health._settings import HealthSettings

# Tracebacks, reprs and docs name the public home (news_health.HealthRegistry). Not the Struct
# (HealthSettings): msgspec resolves its annotations in the module it names.
for _public in (
    CheckConfigError,
    CheckOutcome,
    CheckResult,
    HealthConfigError,
    HealthRegistry,
    HealthReport,
    LoopError,
    LoopMonitor,
    NewsHealthError,
    RegisteredCheck,
    Status,
    describe_exception,
    heartbeat_check,
    safe_output,
    tcp_check,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "HEALTH_MEDIA_TYPE",
    "LIFECYCLE_CHECK",
    "LOOP_CHECK",
    "CheckConfigError",
    "CheckFunction",
    "CheckOutcome",
    "CheckResult",
    "CheckReturn",
    "HealthConfigError",
    "HealthRegistry",
    "HealthReport",
    "HealthSettings",
    "LoopError",
    "LoopMonitor",
    "NewsHealthError",
    "Probe",
    "RegisteredCheck",
    "Status",
    "__version__",
    "describe_exception",
    "heartbeat_check",
    "safe_output",
    "tcp_check",
]
