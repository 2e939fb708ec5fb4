"""The metrics hook news-redis reports to (news-metrics' ``RedisMetrics`` implements it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from news_redis._errors import RedisConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from news_redis._settings import MetricsMode

__all__ = ["NoopMetrics", "RedisMetricsHook", "resolve_metrics"]


@runtime_checkable
class RedisMetricsHook(Protocol):
    """What a metrics backend implements to observe Redis traffic.

    Every method is called on the event loop thread (or a request thread) and must not block
    or raise.
    """

    def command(self, client: str, command: str, seconds: float) -> None:
        """Observe one command that got its answer (``command``: GET, EVALSHA...)."""

    def command_failed(self, client: str, command: str, error_type: str) -> None:
        """Count one command that failed (``error_type``: the news-redis error's name)."""

    def pool(self, client: str, size: int, in_use: Callable[[], int]) -> None:
        """Register a client's pool: its ``size`` and a function giving connections in use."""

    def rate_limited(self, policy: str, outcome: str) -> None:
        """Count one rate-limit decision.

        ``outcome`` is ``allowed``, ``limited``, ``fallback_allowed``, ``fallback_limited``
        (the backend was down and the in-process fallback decided), ``failed_open`` (down,
        admitted without a fallback) or ``failed_closed`` (down, refused).
        """


class NoopMetrics:
    """A `RedisMetricsHook` that records nothing: ``metrics=NoopMetrics()`` turns metrics off."""

    __slots__ = ()

    def command(self, client: str, command: str, seconds: float) -> None:
        """Do nothing."""

    def command_failed(self, client: str, command: str, error_type: str) -> None:
        """Do nothing."""

    def pool(self, client: str, size: int, in_use: Callable[[], int]) -> None:
        """Do nothing."""

    def rate_limited(self, policy: str, outcome: str) -> None:
        """Do nothing."""


_DEFAULT_HOOK: list[RedisMetricsHook] = []


def resolve_metrics(hook: RedisMetricsHook | None, mode: MetricsMode) -> RedisMetricsHook | None:
    """The hook a client reports to: ``hook`` if given, else per ``mode``.

    ``auto``: news-metrics' ``RedisMetrics`` when news-metrics is installed, else none;
    ``on``: the same, and `RedisConfigError` when it is missing; ``off``: none. news-metrics is
    imported here, on first use, so that ``import news_redis`` stays cheap.
    """
    if isinstance(hook, NoopMetrics):
        return None
    if hook is not None or mode == "off":
        return hook
    if _DEFAULT_HOOK:
        return _DEFAULT_HOOK[0]
    try:
        from news_metrics import RedisMetrics
    except (ModuleNotFoundError, ImportError) as exc:
        missing = isinstance(exc, ModuleNotFoundError) and (exc.name or "").startswith(
            "news_metrics"
        )
        if mode == "auto" and (missing or not isinstance(exc, ModuleNotFoundError)):
            return None
        if mode == "auto":
            raise
        raise RedisConfigError(
            'metrics="on" needs news-metrics with RedisMetrics: pip install "news-redis[metrics]" '
            '(or set metrics="auto"/"off", e.g. NEWSROOM_REDIS__METRICS=off)'
        ) from exc
    created: RedisMetricsHook = RedisMetrics()
    _DEFAULT_HOOK.append(created)
    return created
