"""RFC 9457 problem details read from another service's error answer."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["FieldError", "Problem", "parse_problem"]


class FieldError(msgspec.Struct, frozen=True):
    """One failing field of a 422 answer (news-api's ``errors`` member)."""

    field: str = ""
    message: str = ""


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """The problem details of an error answer (``application/problem+json``).

    The standard members of RFC 9457, the members news-api adds (``code``, ``request_id``,
    ``errors``), and every other member in ``extensions``.
    """

    type: str = "about:blank"
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    request_id: str | None = None
    errors: tuple[FieldError, ...] = ()
    extensions: dict[str, Any] = msgspec.field(default_factory=dict)


_KNOWN = frozenset(Problem.__struct_fields__)


def parse_problem(body: bytes, content_type: str) -> Problem | None:
    """The problem details in ``body``, or None when it holds none.

    A ``application/problem+json`` body is read as one; a plain JSON object is read too when it
    has a ``title`` or ``detail`` (services that send problems as ``application/json``). A
    member of the wrong type is dropped rather than failing: the status error is raised anyway.
    """
    if not body or "json" not in content_type:
        return None
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    if not isinstance(data, dict):
        return None
    if "problem" not in content_type and "title" not in data and "detail" not in data:
        return None
    fields: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for key, value in data.items():
        (fields if key in _KNOWN and key != "extensions" else extensions)[key] = value
    try:
        return msgspec.convert({**fields, "extensions": extensions}, Problem)
    except msgspec.ValidationError:
        kept = {}
        for key, value in fields.items():
            try:
                msgspec.convert({key: value}, Problem)
            except msgspec.ValidationError:
                extensions[key] = value
            else:
                kept[key] = value
        return msgspec.convert({**kept, "extensions": extensions}, Problem)
