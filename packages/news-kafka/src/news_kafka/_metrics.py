"""The metrics hook news-kafka reports to (news-metrics implements it structurally)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["KafkaMetricsHook", "NoopMetrics"]


@runtime_checkable
class KafkaMetricsHook(Protocol):
    """What a metrics backend implements to count Kafka traffic (news-metrics provides one).

    Every method is called on the event loop thread and must not block.
    """

    def published(self, topic: str, n: int) -> None:
        """Count ``n`` records delivered to ``topic``."""

    def publish_failed(self, topic: str, error_type: str) -> None:
        """Count one record (or batch) that could not be delivered to ``topic``."""

    def consumed(self, topic: str, group: str) -> None:
        """Count one record handled successfully."""

    def handler_failed(self, topic: str, group: str, error_type: str) -> None:
        """Count one failed handler attempt (it may still be retried)."""

    def dead_lettered(self, topic: str, group: str) -> None:
        """Count one record sent to the dead-letter topic."""

    def handler_duration(self, topic: str, group: str, seconds: float) -> None:
        """Observe how long one handler attempt took."""

    def lag(self, topic: str, partition: int, group: str, lag: int) -> None:
        """Report the records of a partition not yet handled by this group (a gauge)."""


class NoopMetrics:
    """A `KafkaMetricsHook` that records nothing (the default; news-kafka skips its calls)."""

    __slots__ = ()

    def published(self, topic: str, n: int) -> None:
        """Do nothing."""

    def publish_failed(self, topic: str, error_type: str) -> None:
        """Do nothing."""

    def consumed(self, topic: str, group: str) -> None:
        """Do nothing."""

    def handler_failed(self, topic: str, group: str, error_type: str) -> None:
        """Do nothing."""

    def dead_lettered(self, topic: str, group: str) -> None:
        """Do nothing."""

    def handler_duration(self, topic: str, group: str, seconds: float) -> None:
        """Do nothing."""

    def lag(self, topic: str, partition: int, group: str, lag: int) -> None:
        """Do nothing."""
