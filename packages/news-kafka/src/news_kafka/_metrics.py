"""The metrics hook news-kafka reports to (news-metrics implements it structurally)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from news_kafka._errors import KafkaConfigError

if TYPE_CHECKING:
    from news_kafka._settings import MetricsMode

__all__ = ["KafkaMetricsHook", "NoopMetrics", "resolve_metrics"]


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
    """A `KafkaMetricsHook` that records nothing: ``metrics=NoopMetrics()`` turns metrics off.

    news-kafka recognises it and skips its calls altogether (as with ``settings.metrics="off"``).
    """

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


_DEFAULT_HOOK: list[KafkaMetricsHook] = []


def resolve_metrics(hook: KafkaMetricsHook | None, mode: MetricsMode) -> KafkaMetricsHook | None:
    """The hook a Publisher/Consumer reports to: ``hook`` if given, else per ``mode``.

    ``auto``: news-metrics' `KafkaMetrics` when news-metrics is installed, else none; ``on``:
    the same, and `KafkaConfigError` when it is missing; ``off``: none. news-metrics is
    imported here, on first use, so that ``import news_kafka`` stays cheap. One `KafkaMetrics`
    serves every publisher and consumer of the process (label caps are per instance).
    """
    if isinstance(hook, NoopMetrics):
        return None
    if hook is not None or mode == "off":
        return hook
    if _DEFAULT_HOOK:
        return _DEFAULT_HOOK[0]
    try:
        from news_metrics import KafkaMetrics
    except ModuleNotFoundError as exc:
        if mode == "auto" and exc.name is not None and exc.name.startswith("news_metrics"):
            return None
        if mode == "auto":
            raise
        raise KafkaConfigError(
            'metrics="on" needs news-metrics: pip install "news-kafka[metrics]" '
            '(or set metrics="auto"/"off", e.g. NEWSROOM_KAFKA__METRICS=off)'
        ) from exc
    _DEFAULT_HOOK.append(KafkaMetrics())
    return _DEFAULT_HOOK[0]
