"""The publisher's fail-fast state: it notices that no broker answers, and says so at once.

While records wait for an acknowledgement that does not come, the publisher probes the
cluster (one metadata request, the same probe as its readiness check) every
``producer.probe_interval`` seconds; once a probe failed, probing goes on whether records
still wait or not (callers with a budget shorter than ``fail_fast_after`` give up before it
and retry one after the other: each would otherwise wait its whole budget, for ever), until a
probe succeeds. Once probes have failed for ``producer.fail_fast_after`` seconds the brokers
are *unreachable*: the publishes waiting fail with
`BrokerUnavailableError`, and new ones fail at once instead of each waiting its full budget.
Probing goes on (the cool-down between probes is the interval); the first probe that reaches
a broker ends the fail-fast state, and publishing resumes by itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Final

from news_kafka._errors import BrokerUnavailableError
from news_log import get_logger

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["Breaker"]

log = get_logger("news_kafka.publisher")

_STOP_WAIT: Final = 1.0  # seconds stop() waits for a cancelled probe


class Breaker:
    """Probes the brokers while records wait; fails publishes fast once they are unreachable.

    Args:
        probe: One bounded metadata request; raises when no broker answers.
        waiting_since: Since when records wait without an acknowledgement (monotonic
            seconds), or None when nothing waits.
        on_unreachable: Called when the brokers turn unreachable: fail what waits.
        on_reachable: Called when a broker answers again.
        after: Seconds of failed probes before failing fast.
        interval: Seconds between probes (the cool-down while failing fast).
        servers: The bootstrap servers, for messages.
    """

    __slots__ = (
        "_after",
        "_interval",
        "_on_reachable",
        "_on_unreachable",
        "_probe",
        "_task",
        "_waiting_since",
        "down_since",
        "failing",
        "last_error",
        "servers",
    )

    def __init__(
        self,
        probe: Callable[[], Awaitable[Any]],
        *,
        waiting_since: Callable[[], float | None],
        on_unreachable: Callable[[], None],
        on_reachable: Callable[[], None],
        after: float,
        interval: float,
        servers: str,
    ) -> None:
        self._probe = probe
        self._waiting_since = waiting_since
        self._on_unreachable = on_unreachable
        self._on_reachable = on_reachable
        self._after = after
        self._interval = interval
        self.servers = servers
        self.failing = False
        self.down_since: float | None = None
        self.last_error = ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start watching (the publisher started)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        """Stop watching (bounded; the publisher stops)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait((task,), timeout=_STOP_WAIT)

    def error(self, topic: str, key: bytes | None, attempts: int) -> BrokerUnavailableError:
        """The error of a publish refused (or given up) while failing fast."""
        return BrokerUnavailableError(
            f"Kafka at {self.servers} is unreachable (no broker answered for "
            f"{self._after:g} s: {self.last_error}); publish to topic {topic!r} refused at "
            f"once; publishing resumes by itself when a broker answers again (probed every "
            f"{self._interval:g} s)",
            topic=topic,
            key=key,
            attempts=attempts,
        )

    async def _watch(self) -> None:
        interval = self._interval
        while True:
            await asyncio.sleep(interval)
            if not self.failing and self.down_since is None:
                since = self._waiting_since()
                if since is None or time.monotonic() - since < interval:
                    continue  # nothing waits, or acknowledgements come
            started = time.monotonic()
            try:
                await self._probe()
            except Exception as exc:  # noqa: BLE001 - any failure: no broker answered
                self.last_error = f"{type(exc).__name__}: {exc}".rstrip(": ")
                self._failed(started)
                continue
            if self.failing:
                log.warning(
                    "Kafka reachable again; publishing resumes",
                    servers=self.servers,
                    unreachable_s=round(time.monotonic() - (self.down_since or started), 1),
                )
                self.failing = False
                self._on_reachable()
            self.down_since = None

    def _failed(self, started: float) -> None:
        if self.down_since is None:
            self.down_since = started
        if self.failing or started - self.down_since < self._after:
            return
        self.failing = True
        log.error(
            "Kafka unreachable; publishes fail at once until a broker answers",
            servers=self.servers,
            unreachable_s=round(time.monotonic() - self.down_since, 1),
            error=self.last_error,
            probe_interval_s=self._interval,
        )
        self._on_unreachable()
