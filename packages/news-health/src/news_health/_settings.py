"""`HealthSettings`: how a `HealthRegistry` runs its checks (a frozen msgspec Struct)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from news_health._errors import HealthConfigError

__all__ = ["HealthSettings"]

Meta = msgspec.Meta


class HealthSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Timeouts, caching and the event-loop check of a `HealthRegistry`; durations in seconds.

    news-config fills it like any settings Struct (``NEWSROOM_HEALTH__DEFAULT_TIMEOUT=1.5``);
    building it checks the values, so a bad one fails at start-up.

    Raises:
        HealthConfigError: A value is out of range (also a ValueError).
    """

    default_timeout: Annotated[
        float, Meta(gt=0, description="Seconds a check may run when it has no timeout of its own")
    ] = 2.0
    default_cache_ttl: Annotated[
        float,
        Meta(ge=0, description="Seconds a result is reused when a check has no cache_ttl"),
    ] = 2.0
    loop_lag_threshold: Annotated[
        float | None,
        Meta(
            description="Event-loop lag (seconds) above which liveness fails; empty: no "
            "event_loop check"
        ),
    ] = 1.0
    loop_interval: Annotated[
        float, Meta(gt=0, description="Seconds between event-loop lag samples")
    ] = 0.25
    loop_window: Annotated[
        float, Meta(gt=0, description="Seconds of lag samples the event_loop check looks back over")
    ] = 10.0
    require_startup: Annotated[
        bool, Meta(description="Readiness fails ('starting') until mark_started() is called")
    ] = True

    def __post_init__(self) -> None:
        """Check the values (msgspec checks constraints only when decoding)."""
        problems = []
        if not self.default_timeout > 0:
            problems.append(f"default_timeout must be > 0 seconds, not {self.default_timeout!r}")
        if not self.default_cache_ttl >= 0:
            problems.append(
                f"default_cache_ttl must be >= 0 seconds, not {self.default_cache_ttl!r}"
            )
        if self.loop_lag_threshold is not None and not self.loop_lag_threshold > 0:
            problems.append(
                f"loop_lag_threshold must be > 0 seconds (or None), not {self.loop_lag_threshold!r}"
            )
        if not self.loop_interval > 0:
            problems.append(f"loop_interval must be > 0 seconds, not {self.loop_interval!r}")
        if not self.loop_window >= self.loop_interval:
            problems.append(
                f"loop_window ({self.loop_window!r}) must be at least loop_interval "
                f"({self.loop_interval!r})"
            )
        if problems:
            raise HealthConfigError("; ".join(problems))
