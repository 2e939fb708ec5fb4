"""Context fields that ride along into every log line: ``bind()`` over contextvars.

``scope()`` is a ``bind()`` that also collects the fields bound further in, for the one line
that sums a block up after its inner binds have exited (news-http's access line).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextvars import Token
    from types import TracebackType

__all__ = ["bind", "get_context", "scope"]

_EMPTY: dict[str, Any] = {}
_CONTEXT: ContextVar[dict[str, Any]] = ContextVar("news_log_context", default=_EMPTY)
#: The innermost open `scope`'s collection, in a one-item list that the scope empties when it
#: exits (tasks started inside keep a reference; an empty list makes their later binds a no-op).
_COLLECTOR: ContextVar[list[dict[str, Any]] | None] = ContextVar("news_log_collector", default=None)


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
    at a time. Inside a `scope`, the fields are also collected by it.

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
        fields = self._fields
        merged = {**current, **fields} if current else dict(fields)
        self._token = _CONTEXT.set(merged)
        collector = _COLLECTOR.get()
        if collector:
            collector[0].update(fields)
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


class scope:  # noqa: N801 - used like a function: ``with scope(request_id=rid) as inner:``
    """Bind fields like `bind`, and collect every field bound further in while the block runs.

    A line that sums a block up is written after the block's inner binds have exited: the
    access line of a request comes after the route guard's ``bind(principal=...)`` is gone.
    ``with scope(...) as inner:`` gives a mapping that every `bind` entered inside the block
    (at any depth, in this context and in tasks started from it) adds its fields to, so that
    line can name them: ``log.info("request", **inner)``. A later bind overwrites an earlier
    one's value of the same key (tasks binding the same key: the last one wins). ``inner``
    stops changing when the block exits; binds made afterwards by tasks that outlive it are
    not collected. Scopes nest: an inner scope's fields and what it collected reach the outer
    scope when the inner one exits.

    Example:
        >>> with scope(request_id="r-1") as inner:
        ...     with bind(principal="ada"):
        ...         pass
        ...     dict(inner)
        {'principal': 'ada'}
    """

    __slots__ = ("_cell", "_collector_token", "_fields", "_parent", "_token")

    # Set by __enter__ (the request path: no work in __init__ beyond keeping the fields).
    _cell: list[dict[str, Any]]
    _collector_token: Token[list[dict[str, Any]] | None]
    _parent: list[dict[str, Any]] | None
    _token: Token[dict[str, Any]]

    def __init__(self, **fields: Any) -> None:
        self._fields = fields

    def __enter__(self) -> Mapping[str, Any]:
        current = _CONTEXT.get()
        fields = self._fields
        self._token = _CONTEXT.set({**current, **fields} if current else dict(fields))
        parent = self._parent = _COLLECTOR.get()
        if parent:
            parent[0].update(fields)
        collected: dict[str, Any] = {}
        cell = self._cell = [collected]
        self._collector_token = _COLLECTOR.set(cell)
        return collected

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _COLLECTOR.reset(self._collector_token)
        _CONTEXT.reset(self._token)
        cell = self._cell
        parent = self._parent
        if parent and cell and cell[0]:
            parent[0].update(cell[0])
        cell.clear()
