"""The metrics hook news-client reports to, and how a client finds its default one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from news_client._errors import ClientConfigError

if TYPE_CHECKING:
    from news_client._breaker import BreakerState
    from news_client._settings import MetricsMode

__all__ = ["ClientMetricsHook", "NoopMetrics", "resolve_metrics"]


@runtime_checkable
class ClientMetricsHook(Protocol):
    """What a metrics backend implements to observe outbound calls (`news_client.metrics`).

    Every method is called on the event loop and must neither block nor raise.
    """

    def request(
        self, dependency: str, method: str, route: str, status: str, seconds: float
    ) -> None:
        """Observe one attempt's duration.

        ``status`` is the answer's code (``"200"``) or what happened instead: ``"timeout"``,
        ``"connect_error"``, ``"transport_error"``.
        """

    def retried(self, dependency: str, route: str) -> None:
        """Count one retry (a second or later attempt) of a call to ``route``."""

    def rejected(self, dependency: str, reason: str) -> None:
        """Count one call refused before it was sent: ``breaker_open`` or ``bulkhead_full``."""

    def breaker_state(self, breaker: str, old: BreakerState, new: BreakerState) -> None:
        """Record a breaker's transition from ``old`` to ``new``."""


class NoopMetrics:
    """A `ClientMetricsHook` that records nothing: ``metrics=NoopMetrics()`` turns metrics off."""

    __slots__ = ()

    def request(
        self, dependency: str, method: str, route: str, status: str, seconds: float
    ) -> None:
        """Do nothing."""

    def retried(self, dependency: str, route: str) -> None:
        """Do nothing."""

    def rejected(self, dependency: str, reason: str) -> None:
        """Do nothing."""

    def breaker_state(self, breaker: str, old: BreakerState, new: BreakerState) -> None:
        """Do nothing."""


_DEFAULT_HOOK: list[ClientMetricsHook] = []


def resolve_metrics(hook: ClientMetricsHook | None, mode: MetricsMode) -> ClientMetricsHook | None:
    """The hook a client reports to: ``hook`` if given, else per ``mode``.

    ``auto``: `news_client.metrics.ClientMetrics` when prometheus-client is installed, else
    none; ``on``: the same, and `ClientConfigError` when it is missing; ``off``: none. One
    instance serves every client of the process; it is imported here, on first use, so that
    ``import news_client`` stays cheap.
    """
    if isinstance(hook, NoopMetrics):
        return None
    if hook is not None or mode == "off":
        return hook
    if _DEFAULT_HOOK:
        return _DEFAULT_HOOK[0]
    try:
        from news_client.metrics import ClientMetrics
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("prometheus_client") and mode == "auto":
            return None
        if mode == "auto":
            raise
        raise ClientConfigError(
            'metrics="on" needs prometheus-client: pip install "news-client[metrics]" '
            '(or set metrics="auto"/"off")'
        ) from exc
    _DEFAULT_HOOK.append(ClientMetrics())
    return _DEFAULT_HOOK[0]
