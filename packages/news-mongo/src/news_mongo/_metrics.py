"""The metrics hook news-mongo reports to (``news_mongo.metrics.MongoMetrics`` implements it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from news_mongo._errors import MongoConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from news_mongo._settings import MetricsMode

__all__ = ["MongoMetricsHook", "NoopMetrics", "PoolStats", "resolve_metrics"]


class PoolStats(NamedTuple):
    """The connection pools of a `Mongo` now, summed over its servers.

    ``max_size`` is per server (``max_pool_size``); ``open`` connections exist, ``in_use`` are
    checked out by operations, ``waiting`` operations wait for one.
    """

    max_size: int
    open: int
    in_use: int
    waiting: int


@runtime_checkable
class MongoMetricsHook(Protocol):
    """What a metrics backend implements to watch a `Mongo` (news_mongo.metrics provides one).

    Called on the event loop thread from pymongo's command and pool monitoring; must not
    block. Documents and filters never reach it: only command and collection names.
    """

    def observe(
        self, client: str, command: str, collection: str, seconds: float, error: str | None
    ) -> None:
        """Record one command: its duration and, if it failed, its error kind.

        ``error`` is the server's code name (``DuplicateKey``, ``WriteConflict``...) or
        ``network``/``timeout`` for driver-side failures, None on success.
        """

    def pool_error(self, client: str, reason: str) -> None:
        """Record a failed connection checkout (``timeout``, ``connection_error``...)."""

    def watch_pool(self, client: str, stats: Callable[[], PoolStats]) -> None:
        """Start reporting a client's pool gauges (read from ``stats`` at each scrape)."""

    def unwatch_pool(self, client: str) -> None:
        """Stop reporting a client's pool gauges (the Mongo stopped)."""


class NoopMetrics:
    """A `MongoMetricsHook` that records nothing: ``metrics=NoopMetrics()`` turns them off."""

    __slots__ = ()

    def observe(
        self, client: str, command: str, collection: str, seconds: float, error: str | None
    ) -> None:
        """Do nothing."""

    def pool_error(self, client: str, reason: str) -> None:
        """Do nothing."""

    def watch_pool(self, client: str, stats: Callable[[], PoolStats]) -> None:
        """Do nothing."""

    def unwatch_pool(self, client: str) -> None:
        """Do nothing."""


_DEFAULT_HOOK: list[MongoMetricsHook] = []


def resolve_metrics(hook: MongoMetricsHook | None, mode: MetricsMode) -> MongoMetricsHook | None:
    """The hook a Mongo reports to: ``hook`` if given, else per ``mode``.

    ``auto``: `news_mongo.metrics.MongoMetrics` when prometheus-client is installed, else none;
    ``on``: the same, and `MongoConfigError` when it is missing; ``off``: none. Imported here,
    on first use, so that ``import news_mongo`` stays cheap.
    """
    if isinstance(hook, NoopMetrics):
        return None
    if hook is not None or mode == "off":
        return hook
    if _DEFAULT_HOOK:
        return _DEFAULT_HOOK[0]
    try:
        from news_mongo.metrics import MongoMetrics
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if mode == "auto" and missing.startswith(("prometheus_client", "news_metrics")):
            return None
        if mode == "auto":
            raise
        raise MongoConfigError(
            'metrics="on" needs prometheus-client: pip install "news-mongo[metrics]" '
            '(or set metrics="auto"/"off", e.g. NEWSROOM_MONGO__METRICS=off)'
        ) from exc
    _DEFAULT_HOOK.append(MongoMetrics())
    return _DEFAULT_HOOK[0]
