"""Check results, the aggregated `HealthReport`, and the sanitising of output messages.

The JSON follows draft-inadarei-api-health-check (``application/health+json``)::

    {
        "status": "fail",
        "serviceId": "newsroom-api",
        "version": "1.4.2",
        "output": "failing: postgres",
        "checks": {
            "lifecycle": [{"status": "pass", "time": "...", "output": "started"}],
            "postgres": [
                {
                    "status": "fail",
                    "time": "2026-11-24T05:21:11.123Z",
                    "durationMs": 2000.4,
                    "output": "timed out after 2s",
                }
            ],
            "search": [
                {
                    "status": "pass",
                    "time": "...",
                    "durationMs": 3.1,
                    "observedValue": 3.1,
                    "observedUnit": "ms",
                    "componentType": "datastore",
                }
            ],
        },
    }
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import re
from typing import Any, Final

__all__ = [
    "HEALTH_MEDIA_TYPE",
    "CheckOutcome",
    "CheckResult",
    "HealthReport",
    "Status",
    "describe_exception",
    "safe_output",
]

HEALTH_MEDIA_TYPE: Final = "application/health+json"
"""The media type of health reports."""

MAX_OUTPUT: Final = 200
"""Outputs are clipped to this many characters."""


class Status(enum.StrEnum):
    """A check's or a report's status."""

    PASS = "pass"  # noqa: S105 - a status name, not a password
    """Healthy."""
    WARN = "warn"
    """Healthy, with a concern (a non-critical check failed, or a check warned)."""
    FAIL = "fail"
    """Unhealthy: the probe answers 503."""


_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/\s@]+@")
_SECRET_PAIR = re.compile(
    r"(?i)\b(?P<key>[\w.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key)"
    r"[\w.\-]*['\"]?)(?P<sep>\s*[=:]\s*)(?P<quote>['\"]?)[^\s'\",;&}]+"
)
_AUTH_SCHEME = re.compile(r"(?i)\b(?P<scheme>bearer|basic|digest)\s+[A-Za-z0-9._~+/=\-]{6,}")
_SPACE = re.compile(r"\s+")


def safe_output(text: str, *, limit: int = MAX_OUTPUT) -> str:
    """Make a message safe for a health report: one line, no credentials, bounded length.

    Only the first line is kept (no tracebacks); ``scheme://user:pass@`` loses its user info;
    ``password=...``, ``token: ...`` and ``Bearer ...`` values become ``***``; the result is
    clipped to ``limit`` characters.
    """
    first = text.strip().split("\n", 1)[0]
    first = _URL_USERINFO.sub(r"\g<scheme>***@", first)
    first = _SECRET_PAIR.sub(r"\g<key>\g<sep>\g<quote>***", first)
    first = _AUTH_SCHEME.sub(r"\g<scheme> ***", first)
    first = _SPACE.sub(" ", first).strip()
    return first if len(first) <= limit else first[: limit - 3] + "..."


def describe_exception(exc: BaseException) -> str:
    """``"ConnectionRefusedError: [Errno 111] Connect call failed"``: type and safe message."""
    message = safe_output(str(exc))
    name = type(exc).__name__
    text = f"{name}: {message}" if message else name
    return text if len(text) <= MAX_OUTPUT else text[: MAX_OUTPUT - 3] + "..."


@dataclasses.dataclass(frozen=True, slots=True)
class CheckResult:
    """What a check may return to say more than pass/fail.

    A check can also return None (pass), a str (pass, with that output), a bool (True pass,
    False fail) or raise (fail, with the exception's type and message as output).

    Attributes:
        status: ``pass``, ``warn`` or ``fail`` (a `Status` or its string).
        output: Message for operators (sanitised: no credentials, one line, 200 chars).
        observed_value: A measurement (``12.5``, ``3``, ``"leader"``).
        observed_unit: Its unit (``"ms"``, ``"s"``, ``"partitions"``).
        component_type: ``"datastore"``, ``"component"``, ``"system"``...
    """

    status: Status | str = Status.PASS
    output: str | None = None
    observed_value: float | int | str | None = None
    observed_unit: str | None = None
    component_type: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))


@dataclasses.dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One check's entry in a report.

    Attributes:
        name: The check's registered name.
        status: Its status.
        critical: Whether a failure fails the whole report (else it only warns).
        time: When the result was produced (UTC); older than the probe when cached.
        duration: How long the check ran, in seconds (``durationMs`` in the JSON report).
        output: Sanitised message (None when there is nothing to say).
        observed_value: Measurement, if the check gave one.
        observed_unit: Its unit.
        component_type: The component's type, if the check gave one.
        cached: True when the result came from the cache rather than a fresh run.
    """

    name: str
    status: Status
    critical: bool
    time: _dt.datetime
    duration: float
    output: str | None = None
    observed_value: float | int | str | None = None
    observed_unit: str | None = None
    component_type: str | None = None
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The draft's check object: ``status``, ``time``, ``durationMs``, ``output``..."""
        entry: dict[str, Any] = {
            "status": self.status.value,
            "time": _rfc3339(self.time),
            "durationMs": round(self.duration * 1000, 3),
        }
        if self.observed_value is not None:
            entry["observedValue"] = self.observed_value
        if self.observed_unit is not None:
            entry["observedUnit"] = self.observed_unit
        if self.component_type is not None:
            entry["componentType"] = self.component_type
        if not self.critical:
            entry["critical"] = False
        if self.output:
            entry["output"] = self.output
        return entry


def _rfc3339(when: _dt.datetime) -> str:
    return when.astimezone(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def aggregate(outcomes: list[CheckOutcome]) -> Status:
    """Critical fail → fail; non-critical fail or any warn → warn; otherwise pass."""
    status = Status.PASS
    for outcome in outcomes:
        if outcome.status is Status.FAIL:
            if outcome.critical:
                return Status.FAIL
            status = Status.WARN
        elif outcome.status is Status.WARN:
            status = Status.WARN
    return status


@dataclasses.dataclass(frozen=True, slots=True)
class HealthReport:
    """The result of a liveness or readiness probe.

    Attributes:
        status: The aggregate status (critical fail → fail; other failures and warnings → warn).
        checks: Each check's outcome, by name, in registration order.
        service_id: Optional service identifier (``serviceId``).
        version: Optional version of the service (``version``).
        release_id: Optional release identifier (``releaseId``).
        description: Optional human description (``description``).
    """

    status: Status
    checks: dict[str, CheckOutcome]
    service_id: str | None = None
    version: str | None = None
    release_id: str | None = None
    description: str | None = None

    @property
    def content_type(self) -> str:
        """``application/health+json``."""
        return HEALTH_MEDIA_TYPE

    @property
    def http_status(self) -> int:
        """200 for pass and warn, 503 for fail."""
        return 503 if self.status is Status.FAIL else 200

    @property
    def ok(self) -> bool:
        """True unless the status is fail."""
        return self.status is not Status.FAIL

    @property
    def failing(self) -> list[str]:
        """Names of the checks whose status is fail (critical or not)."""
        return [name for name, c in self.checks.items() if c.status is Status.FAIL]

    def to_dict(self) -> dict[str, Any]:
        """The report as the draft's JSON object."""
        body: dict[str, Any] = {"status": self.status.value}
        if self.version is not None:
            body["version"] = self.version
        if self.release_id is not None:
            body["releaseId"] = self.release_id
        if self.service_id is not None:
            body["serviceId"] = self.service_id
        if self.description is not None:
            body["description"] = self.description
        if self.status is not Status.PASS:
            failing = self.failing
            warning = [n for n, c in self.checks.items() if c.status is Status.WARN]
            parts = []
            if failing:
                parts.append("failing: " + ", ".join(failing))
            if warning:
                parts.append("warning: " + ", ".join(warning))
            body["output"] = safe_output("; ".join(parts), limit=500)
        body["checks"] = {name: [c.to_dict()] for name, c in self.checks.items()}
        return body

    def to_json(self) -> bytes:
        """The report as ``application/health+json`` bytes (UTF-8)."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
