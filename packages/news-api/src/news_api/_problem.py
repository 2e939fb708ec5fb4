"""RFC 9457 problem details: the `problem` constructor and the `FieldError` item.

Body members, in this order, absent ones left out::

    type, title, status, detail, instance, code, request_id, errors, <extensions...>
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from news_api._response import PROBLEM_MEDIA_TYPE, Response, encode_json, merge_headers

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["RESERVED_MEMBERS", "FieldError", "problem", "status_title"]

RESERVED_MEMBERS: Final = frozenset(
    {"type", "title", "status", "detail", "instance", "code", "request_id", "errors"}
)
"""Problem members news-api sets itself; extension members may not use these names."""


class FieldError(msgspec.Struct, frozen=True):
    """One invalid field of a request, as listed under ``errors`` of a 422 problem.

    Attributes:
        field: The field's path in the request body: ``author.name``, ``tags[2]``; ``""`` for
            the body as a whole.
        message: What is wrong with it, for humans (``Expected `str`, got `int```).
    """

    field: str
    message: str


def status_title(status: int) -> str:
    """The standard reason phrase of an HTTP status (``404`` → ``"Not Found"``)."""
    from http import HTTPStatus  # the enum takes ~1 ms to import: only when needed

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error" if status >= 400 else "Unknown"


def problem(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    code: str | None = None,
    errors: Iterable[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """Build an ``application/problem+json`` response (RFC 9457).

    Prefer raising an `APIError` subclass in handlers; use this for one-off problems.

    Args:
        status: The HTTP status code, also written as the ``status`` member.
        title: Short summary of the problem type; defaults to the status' reason phrase.
        detail: Explanation specific to this occurrence, safe to show to the client.
        type: URI identifying the problem type; ``"about:blank"`` when not given.
        instance: URI reference of this occurrence (usually the request path).
        request_id: The request id, so a client can quote it to support.
        code: A stable machine-readable code (``"article_locked"``).
        errors: Per-field errors (validation failures).
        headers: Extra headers (names lower-cased).
        **extensions: More members for the body (must not reuse a standard member name).

    Raises:
        TypeError: An extension cannot be encoded (a standard member's name given twice, once
            named and once in ``**extensions``, is refused by Python itself).
        APIUsageError: (a ValueError) A header contains CR, LF or NUL.
    """
    body: dict[str, Any] = {
        "type": type or "about:blank",
        "title": title if title is not None else status_title(status),
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if code is not None:
        body["code"] = code
    if request_id is not None:
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = list(errors)
    if extensions:  # a standard member's name binds to its named argument: no clash possible
        body.update(extensions)
    response_headers = {"content-type": PROBLEM_MEDIA_TYPE}
    if headers:
        merge_headers(response_headers, headers)
    return Response(status, response_headers, encode_json(body))
