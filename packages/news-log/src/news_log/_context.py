"""Context fields that ride along into every log line: ``bind()`` over contextvars."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextvars import Token
    from types import TracebackType

__all__ = ["bind", "get_context"]

_EMPTY: dict[str, Any] = {}
_CONTEXT: ContextVar[dict[str, Any]] = ContextVar("news_log_context", default=_EMPTY)


def get_context() -> Mapping[str, Any]:
    """Return the fields bound in the current context (read-only; do not mutate).

    Other packages use it to carry the request id and trace context across boundaries,
    e.g. news-kafka copies ``request_id`` and ``traceparent`` into record headers.
    """
    return _CONTEXT.get()


class bind:  # noqa: N801 - used like a function: ``with bind(request_id=rid):``
    """Bind fields into every log line written inside the ``with`` block.

    The fields live in a :class:`contextvars.ContextVar`, so they survive ``await``, are
    copied into tasks made by ``asyncio.create_task``/``asyncio.gather`` (each task gets a
    snapshot), appear in lines of stdlib loggers of other libraries, and are removed on exit.
    Nested binds add to (and may override) the outer fields. An instance can be entered once
    at a time.

    Example:
        >>> with bind(request_id="r-1"):
        ...     get_context()["request_id"]
        'r-1'
    """

    __slots__ = ("_fields", "_token")

    def __init__(self, **fields: Any) -> None:
        self._fields = fields
        self._token: Token[dict[str, Any]] | None = None

    def __enter__(self) -> Mapping[str, Any]:
        current = _CONTEXT.get()
        merged = {**current, **self._fields} if current else dict(self._fields)
        self._token = _CONTEXT.set(merged)
        return merged

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _CONTEXT.reset(self._token)
            self._token = None
