"""pymongo monitoring listeners: the pool counters of a `Mongo` and its command metrics.

`PoolCounter` is always installed (it feeds `Mongo.pool_stats` and the pool timeout message: a
few integer updates per operation). pymongo publishes no event when an operation waiting for a
connection is cancelled, so ``waiting`` may count such an operation until the pool next
drains (no connection in use), where it is reset; ``open`` and ``in_use`` are exact.
`CommandMonitor` is installed only when a metrics hook is in use: it times every command by
name and collection from pymongo's command monitoring (the driver measures the duration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pymongo import monitoring

if TYPE_CHECKING:
    from news_mongo._metrics import MongoMetricsHook

__all__ = ["CommandMonitor", "PoolCounter"]

_MAX_PENDING: Final = 10_000


class PoolCounter(monitoring.ConnectionPoolListener):
    """Counts connections open, checked out and waited for (over every server's pool)."""

    def __init__(self, name: str, hook: MongoMetricsHook | None = None) -> None:
        self.name = name
        self.hook = hook
        self.open = 0
        self.in_use = 0
        self.waiting = 0

    def pool_created(self, event: monitoring.PoolCreatedEvent) -> None:
        """Nothing to count."""

    def pool_ready(self, event: monitoring.PoolReadyEvent) -> None:
        """Nothing to count."""

    def pool_cleared(self, event: monitoring.PoolClearedEvent) -> None:
        """Nothing to count: the cleared connections are closed one by one (counted there)."""

    def pool_closed(self, event: monitoring.PoolClosedEvent) -> None:
        """Nothing to count."""

    def connection_created(self, event: monitoring.ConnectionCreatedEvent) -> None:
        """One more connection open."""
        self.open += 1

    def connection_ready(self, event: monitoring.ConnectionReadyEvent) -> None:
        """Nothing to count."""

    def connection_closed(self, event: monitoring.ConnectionClosedEvent) -> None:
        """One connection fewer."""
        self.open -= 1

    def connection_check_out_started(
        self, event: monitoring.ConnectionCheckOutStartedEvent
    ) -> None:
        """An operation waits for a connection."""
        self.waiting += 1

    def connection_check_out_failed(self, event: monitoring.ConnectionCheckOutFailedEvent) -> None:
        """The wait ended without a connection (timeout, connection error, pool closed)."""
        self.waiting = max(self.waiting - 1, 0)
        if self.hook is not None:
            reason = str(event.reason)
            self.hook.pool_error(self.name, _REASONS.get(reason, reason))

    def connection_checked_out(self, event: monitoring.ConnectionCheckedOutEvent) -> None:
        """The wait ended with a connection."""
        self.waiting = max(self.waiting - 1, 0)
        self.in_use += 1

    def connection_checked_in(self, event: monitoring.ConnectionCheckedInEvent) -> None:
        """A connection came back (none in use: nobody waits; cancelled waits leave no event)."""
        self.in_use -= 1
        if self.in_use <= 0:
            self.waiting = 0


_REASONS: Final = {
    monitoring.ConnectionCheckOutFailedReason.TIMEOUT: "timeout",
    monitoring.ConnectionCheckOutFailedReason.POOL_CLOSED: "pool_closed",
    monitoring.ConnectionCheckOutFailedReason.CONN_ERROR: "connection_error",
}


def _collection(command: Any, name: str) -> str:
    """The collection a command document names (``find: "articles"``), or ''."""
    target = command.get(name)
    if isinstance(target, str):
        return target
    if name == "getMore":
        value = command.get("collection")
        return value if isinstance(value, str) else ""
    return ""


class CommandMonitor(monitoring.CommandListener):
    """Reports every command's duration, command name and collection to a metrics hook."""

    def __init__(self, name: str, hook: MongoMetricsHook) -> None:
        self.name = name
        self.hook = hook
        self._pending: dict[int, str] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Remember the command's collection until it ends."""
        pending = self._pending
        if len(pending) > _MAX_PENDING:  # ends never seen (a cancelled task): stay bounded
            pending.clear()
        pending[event.request_id] = _collection(event.command, event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Record the duration (a reply with write errors counts as an error)."""
        collection = self._pending.pop(event.request_id, "")
        error = None
        write_errors = event.reply.get("writeErrors")
        if write_errors:
            first = write_errors[0]
            error = str(first.get("codeName") or _CODE_NAMES.get(first.get("code"), "write_error"))
        self.hook.observe(
            self.name, event.command_name, collection, event.duration_micros / 1e6, error
        )

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Record the duration and the error kind."""
        collection = self._pending.pop(event.request_id, "")
        failure = event.failure
        error = failure.get("codeName")
        if not error:
            kind = str(failure.get("errtype", ""))
            error = "timeout" if "Timeout" in kind else "network" if kind else "error"
        self.hook.observe(
            self.name, event.command_name, collection, event.duration_micros / 1e6, str(error)
        )


_CODE_NAMES: Final = {11000: "DuplicateKey", 121: "DocumentValidationFailure"}
