"""The metrics hook news-db reports to (``news_db.metrics.DBMetrics`` implements it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from news_db._errors import DBConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from news_db._settings import MetricsMode

__all__ = ["DBMetricsHook", "NoopMetrics", "PoolStats", "resolve_metrics"]


class PoolStats(NamedTuple):
    """A snapshot of a pool: its bounds, open connections, those lent out and the waiters."""

    max_size: int
    size: int
    in_use: int
    idle: int
    waiting: int


@runtime_checkable
class DBMetricsHook(Protocol):
    """What a metrics backend implements to watch a `Database` (news_db.metrics provides one).

    Called on the event loop thread; must not block. ``operation`` is the caller's name for the
    query (``operation=`` argument), or the method's name; SQL text never reaches it.
    """

    def observe(self, database: str, operation: str, seconds: float, error: str | None) -> None:
        """Record one call: its duration and, if it failed, its error class.

        ``error`` is the SQLSTATE class (``23``, ``40``, ``57``...) of a server error,
        ``timeout``, ``connection`` or ``pool`` for client-side failures, None on success.
        """

    def watch_pool(self, database: str, stats: Callable[[], PoolStats]) -> None:
        """Start reporting a pool's gauges (read from ``stats`` at each scrape)."""

    def unwatch_pool(self, database: str) -> None:
        """Stop reporting a pool's gauges (the Database stopped)."""


class NoopMetrics:
    """A `DBMetricsHook` that records nothing: ``metrics=NoopMetrics()`` turns metrics off."""

    __slots__ = ()

    def observe(self, database: str, operation: str, seconds: float, error: str | None) -> None:
        """Do nothing."""

    def watch_pool(self, database: str, stats: Callable[[], PoolStats]) -> None:
        """Do nothing."""

    def unwatch_pool(self, database: str) -> None:
        """Do nothing."""


_DEFAULT_HOOK: list[DBMetricsHook] = []


def resolve_metrics(hook: DBMetricsHook | None, mode: MetricsMode) -> DBMetricsHook | None:
    """The hook a Database reports to: ``hook`` if given, else per ``mode``.

    ``auto``: `news_db.metrics.DBMetrics` when prometheus-client and news-metrics are
    installed, else none; ``on``: the same, and `DBConfigError` when they are missing;
    ``off``: none. Imported here, on first use, so that ``import news_db`` stays cheap.
    """
    if isinstance(hook, NoopMetrics):
        return None
    if hook is not None or mode == "off":
        return hook
    if _DEFAULT_HOOK:
        return _DEFAULT_HOOK[0]
    try:
        from news_db.metrics import DBMetrics
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if mode == "auto" and missing.startswith(("prometheus_client", "news_metrics")):
            return None
        if mode == "auto":
            raise
        raise DBConfigError(
            'metrics="on" needs prometheus-client: pip install "news-db[metrics]" '
            '(or set metrics="auto"/"off", e.g. NEWSROOM_DB__METRICS=off)'
        ) from exc
    _DEFAULT_HOOK.append(DBMetrics())
    return _DEFAULT_HOOK[0]
