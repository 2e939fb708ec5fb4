"""Pagination: offset pages (``page``/``per_page``/``total``) and cursor pages (``next_cursor``).

Offset page envelope::

    {
        "data": [...],
        "meta": {"page": 2, "per_page": 20, "total": 95, "pages": 5},
        "links": {
            "self": "...page=2...",
            "first": "...page=1...",
            "prev": "...page=1...",
            "next": "...page=3...",
            "last": "...page=5...",
        },
    }

Cursor page envelope::

    {"data": [...], "meta": {"next_cursor": "WzEyMzRd.x1…"}, "links": {"self": ..., "next": ...}}

Links are built from a base URL and the request's query; every other query parameter is kept
in place, only the page (or cursor) parameters change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias
from urllib.parse import parse_qsl, quote

import msgspec

from news_api._base import APITypeError, APIUsageError
from news_api._errors import ValidationFailed
from news_api._problem import FieldError
from news_api._response import ok

if TYPE_CHECKING:
    from collections.abc import Iterable

    from news_api._cursor import CursorCodec
    from news_api._response import Response

__all__ = [
    "CursorParams",
    "GetAllQuery",
    "MultiItemsQuery",
    "PageMeta",
    "PageParams",
    "Query",
    "cursor_page",
    "cursor_params",
    "offset_links",
    "offset_page",
    "page_params",
]


class MultiItemsQuery(Protocol):
    """A framework's query object with every (name, value) pair, repeats included, in order.

    Robyn's ``request.query_params`` (``QueryParams.multi_items()``) is one; news-api never
    imports a framework, it only needs this method.
    """

    def multi_items(self) -> Sequence[tuple[str, str]]:
        """Every (name, value) pair of the query, in order."""
        ...


class GetAllQuery(Protocol):
    """A framework's query object with its names and all values of a name (``get_all``)."""

    def keys(self) -> Iterable[str]:
        """The parameter names."""
        ...

    def get_all(self, key: str) -> Sequence[str] | None:
        """Every value of parameter *key*."""
        ...


Query: TypeAlias = (
    Mapping[str, str | Sequence[str]]
    | Sequence[tuple[str, str]]
    | MultiItemsQuery
    | GetAllQuery
    | str
    | None
)
"""A request query: a raw query string, a mapping (values may be lists), (name, value) pairs, or
a framework's query object read structurally (Robyn's ``request.query_params`` as it is)."""

_INT_DIGITS: Final = 18


class PageParams(msgspec.Struct, frozen=True):
    """Validated offset-pagination parameters from a request's query.

    Attributes:
        page: The 1-based page number.
        per_page: Items per page.
    """

    page: int
    per_page: int

    @property
    def offset(self) -> int:
        """Rows to skip: ``(page - 1) * per_page`` (SQL ``OFFSET``)."""
        return (self.page - 1) * self.per_page

    @property
    def limit(self) -> int:
        """Rows to fetch: ``per_page`` (SQL ``LIMIT``)."""
        return self.per_page


class CursorParams(msgspec.Struct, frozen=True):
    """Validated cursor-pagination parameters from a request's query.

    Attributes:
        position: The decoded cursor value; None on the first page (no cursor sent).
        limit: Items per page.
    """

    position: Any
    limit: int


class PageMeta(msgspec.Struct, frozen=True):
    """The ``meta`` of an offset page.

    Attributes:
        page: The 1-based page number.
        per_page: Items per page.
        total: Items in the whole collection.
        pages: Number of pages (``ceil(total / per_page)``, 0 for an empty collection).
    """

    page: int
    per_page: int
    total: int
    pages: int


def _pairs(query: Query) -> list[tuple[str, str]]:
    if query is None:
        return []
    if isinstance(query, str):
        return parse_qsl(query.lstrip("?"), keep_blank_values=True) if query else []
    multi_items = getattr(query, "multi_items", None)
    if callable(multi_items):  # Robyn's QueryParams, Starlette's QueryParams, multidicts
        return [(str(name), str(value)) for name, value in multi_items()]
    get_all = getattr(query, "get_all", None)
    keys = getattr(query, "keys", None)
    if callable(get_all) and callable(keys) and not isinstance(query, Mapping):
        return [(str(name), str(value)) for name in keys() for value in get_all(name) or ()]
    if isinstance(query, Mapping):
        pairs: list[tuple[str, str]] = []
        for name, value in query.items():
            if isinstance(value, str):
                pairs.append((name, value))
            else:
                pairs.extend((name, v) for v in value)
        return pairs
    try:
        return [(str(name), str(value)) for name, value in query]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise APITypeError(
            f"a query is a query string, a mapping, (name, value) pairs or an object with "
            f"multi_items() or keys()/get_all() (Robyn's request.query_params), not "
            f"{type(query).__name__}"
        ) from None


def _first(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    for key, value in pairs:
        if key == name:
            return value
    return None


def _int_param(
    pairs: list[tuple[str, str]], name: str, default: int, low: int, high: int | None
) -> tuple[int, FieldError | None]:
    raw = _first(pairs, name)
    if raw is None or raw == "":
        return default, None
    text = raw.strip()
    limit = f"between {low} and {high}" if high is not None else f">= {low}"
    if not text.isdigit() or len(text) > _INT_DIGITS or not text.isascii():
        return default, FieldError(name, f"must be an integer {limit}")
    value = int(text)
    if value < low or (high is not None and value > high):
        return default, FieldError(name, f"must be an integer {limit}")
    return value, None


def page_params(
    query: Query,
    *,
    default_per_page: int = 20,
    max_per_page: int = 100,
    page_param: str = "page",
    per_page_param: str = "per_page",
) -> PageParams:
    """Read and validate ``page`` and ``per_page`` from a request query.

    Missing or empty values take the defaults (page 1, ``default_per_page``).

    Raises:
        ValidationFailed: A value is not an integer in range; ``errors`` names each query
            parameter (``{"field": "per_page", "message": "must be an integer between 1 and
            100"}``).
    """
    pairs = _pairs(query)
    page, page_error = _int_param(pairs, page_param, 1, 1, None)
    per_page, per_page_error = _int_param(pairs, per_page_param, default_per_page, 1, max_per_page)
    errors = [e for e in (page_error, per_page_error) if e is not None]
    if errors:
        raise ValidationFailed(errors=errors)
    return PageParams(page, per_page)


def cursor_params(
    query: Query,
    codec: CursorCodec,
    *,
    type_: Any = Any,
    default_limit: int = 20,
    max_limit: int = 100,
    cursor_param: str = "cursor",
    limit_param: str = "limit",
) -> CursorParams:
    """Read and verify ``cursor`` and ``limit`` from a request query.

    Raises:
        InvalidCursor: The cursor is malformed, altered, expired or of the wrong shape (400).
        ValidationFailed: ``limit`` is not an integer between 1 and ``max_limit`` (422).
    """
    pairs = _pairs(query)
    limit, error = _int_param(pairs, limit_param, default_limit, 1, max_limit)
    if error is not None:
        raise ValidationFailed(errors=[error])
    raw = _first(pairs, cursor_param)
    position = codec.decode(raw, type_) if raw else None
    return CursorParams(position, limit)


def _quote(text: str) -> str:
    return text if text.isalnum() and text.isascii() else quote(text, safe="")


class _Links:
    """Builds URLs that differ only in a few query parameters; the rest is encoded once."""

    __slots__ = ("_current", "_names", "_path", "_segments", "_variable")

    def __init__(self, base_url: str, query: Query, variable: Iterable[str]) -> None:
        base, _, _fragment = base_url.partition("#")
        self._path, _, base_query = base.partition("?")
        self._variable = tuple(variable)
        self._names = [_quote(name) + "=" for name in self._variable]
        # A segment is an encoded "name=value" or the index of a variable parameter (placed
        # where the request had it first; later repeats are dropped; absent ones go last).
        self._segments: list[str | int] = []
        self._current: list[str | None] = [None] * len(self._variable)
        placed: set[str] = set()
        for name, value in _pairs(base_query) + _pairs(query):
            if name in self._variable:
                if name not in placed:
                    placed.add(name)
                    index = self._variable.index(name)
                    self._segments.append(index)
                    self._current[index] = value
            else:
                self._segments.append(f"{_quote(name)}={_quote(value)}")
        self._segments.extend(i for i, n in enumerate(self._variable) if n not in placed)

    def url(self, *values: str | None) -> str:
        """The URL with the variable parameters set to ``values`` (None leaves one out)."""
        parts: list[str] = []
        for seg in self._segments:
            if isinstance(seg, str):
                parts.append(seg)
            elif (value := values[seg]) is not None:
                parts.append(self._names[seg] + _quote(value))
        return f"{self._path}?{'&'.join(parts)}" if parts else self._path

    def current(self) -> str:
        """The URL as requested (variable parameters at their first requested value)."""
        return self.url(*self._current)


def offset_links(
    *,
    page: int,
    per_page: int,
    total: int,
    base_url: str,
    query: Query = None,
    page_param: str = "page",
    per_page_param: str = "per_page",
) -> dict[str, str]:
    """The ``self``/``first``/``prev``/``next``/``last`` links of an offset page.

    `offset_page` puts them in its envelope; call this directly for a ``Link`` header, or when
    the body has another shape. ``prev`` is absent on page 1, ``next`` on the last page (and
    beyond it, where ``prev`` points at the last page); ``last`` is page 1 for an empty
    collection. Every other query parameter is kept, in place::

        offset_links(page=2, per_page=20, total=95, base_url="/v1/articles", query="tag=x")
        # {"self": "/v1/articles?tag=x&page=2&per_page=20", "first": "...page=1...",
        #  "prev": "...page=1...", "next": "...page=3...", "last": "...page=5..."}

    Args:
        page: The 1-based page number.
        per_page: Items per page.
        total: Items in the whole collection.
        base_url: The collection's URL (path or absolute; its own query string is kept).
        query: The request's query (a query string, a mapping, pairs or a framework's query
            object such as Robyn's ``request.query_params``).
        page_param: Name of the page parameter.
        per_page_param: Name of the page-size parameter.

    Raises:
        APIUsageError: (a ValueError) ``page`` or ``per_page`` is below 1, or ``total`` is negative.
    """
    if page < 1 or per_page < 1 or total < 0:
        raise APIUsageError("page and per_page must be >= 1 and total >= 0")
    pages = -(-total // per_page)
    last = max(pages, 1)

    links_for = _Links(base_url, query, (page_param, per_page_param))
    size = str(per_page)

    def link(number: int) -> str:
        return links_for.url(str(number), size)

    links = {"self": link(page), "first": link(1)}
    if page > 1:
        links["prev"] = link(min(page - 1, last))
    if page < pages:
        links["next"] = link(page + 1)
    links["last"] = link(last)
    return links


def offset_page(
    data: Any,
    *,
    page: int,
    per_page: int,
    total: int,
    base_url: str,
    query: Query = None,
    page_param: str = "page",
    per_page_param: str = "per_page",
    meta: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A 200 envelope for one offset page: ``data``, `PageMeta` as ``meta``, and ``links``.

    Args:
        data: The items of this page.
        page: The 1-based page number.
        per_page: Items per page.
        total: Items in the whole collection.
        base_url: The collection's URL (path or absolute; its own query string is kept).
        query: The request's query; other parameters are carried into every link.
        page_param: Name of the page parameter.
        per_page_param: Name of the page-size parameter.
        meta: Extra meta members (``{"sort": "-published"}``), after the `PageMeta` ones.
        headers: Extra headers.

    Raises:
        APIUsageError: (a ValueError) ``page`` or ``per_page`` is below 1, ``total`` is
            negative, or ``meta`` reuses ``page``, ``per_page``, ``total`` or ``pages``.
    """
    links = offset_links(
        page=page,
        per_page=per_page,
        total=total,
        base_url=base_url,
        query=query,
        page_param=page_param,
        per_page_param=per_page_param,
    )
    page_meta = PageMeta(page, per_page, total, -(-total // per_page))
    if not meta:
        return ok(data, meta=page_meta, links=links, headers=headers)
    body_meta: dict[str, Any] = msgspec.structs.asdict(page_meta)
    _add_meta(body_meta, meta, "offset_page")
    return ok(data, meta=body_meta, links=links, headers=headers)


def _add_meta(body_meta: dict[str, Any], extra: Mapping[str, Any], caller: str) -> None:
    clash = sorted(set(body_meta).intersection(extra))
    if clash:
        raise APIUsageError(
            f"{caller}(meta=...) reuses {', '.join(clash)}, which {caller} sets itself; "
            "pick other names"
        )
    body_meta.update(extra)


def cursor_page(
    data: Any,
    *,
    next_cursor: str | None,
    base_url: str,
    query: Query = None,
    prev_cursor: str | None = None,
    cursor_param: str = "cursor",
    meta: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A 200 envelope for one cursor page: ``meta.next_cursor`` and ``links.next``.

    ``meta.next_cursor`` is null on the last page (and ``links.next`` absent), so clients loop
    ``while next_cursor``. Other query parameters (filters, ``limit``) are kept in the links.

    Args:
        data: The items of this page.
        next_cursor: The cursor of the next page (from `CursorCodec.encode`), None at the end.
        base_url: The collection's URL.
        query: The request's query (its ``cursor`` is replaced in the links).
        prev_cursor: The cursor of the previous page, if the listing supports going back.
        cursor_param: Name of the cursor parameter.
        meta: Extra meta members (``{"limit": 20}``).
        headers: Extra headers.

    Raises:
        APIUsageError: (a ValueError) ``meta`` reuses ``next_cursor`` (or ``prev_cursor`` when
            given).
    """
    body_meta: dict[str, Any] = {"next_cursor": next_cursor}
    if prev_cursor is not None:
        body_meta["prev_cursor"] = prev_cursor
    if meta:
        _add_meta(body_meta, meta, "cursor_page")
    links_for = _Links(base_url, query, (cursor_param,))
    links = {"self": links_for.current()}
    if next_cursor is not None:
        links["next"] = links_for.url(next_cursor)
    if prev_cursor is not None:
        links["prev"] = links_for.url(prev_cursor)
    return ok(data, meta=body_meta, links=links, headers=headers)
