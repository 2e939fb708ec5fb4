"""Request id and W3C trace context: accept a well-formed id or make one; validate traceparent."""

from __future__ import annotations

import os
import re
from collections import deque
from typing import TYPE_CHECKING, Final

import news_log

if TYPE_CHECKING:
    from robyn import Headers

__all__ = [
    "MAX_REQUEST_ID_LENGTH",
    "context_fields",
    "current_request_id",
    "new_request_id",
    "valid_traceparent",
]

MAX_REQUEST_ID_LENGTH: Final = 128
#: Letters, digits and ``- _ . : + / = @``: UUIDs, ULIDs, base64 and vendor ids fit; quotes,
#: spaces, control characters and anything that could forge a log line or a header do not.
_REQUEST_ID_RE: Final = re.compile(r"[A-Za-z0-9\-_.:+/=@]{1,%d}" % MAX_REQUEST_ID_LENGTH)  # noqa: UP031
#: W3C trace context level 1: version-traceid-parentid-flags, lower-case hex.
_TRACEPARENT_RE: Final = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_TRACESTATE_RE: Final = re.compile(r"[\x20-\x7e]{1,512}")
_ZERO_TRACE: Final = "0" * 32
_ZERO_PARENT: Final = "0" * 16
_VARIANT: Final = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


#: Ids made ahead from one ``os.urandom`` call (one system call per ``_BATCH`` ids instead of one
#: per request). ``deque.pop`` is atomic, so Robyn's threads never share an id; a forked worker
#: starts empty (it must not hand out its parent's ids).
_POOL: Final[deque[str]] = deque()
_BATCH: Final = 64


def _refill() -> str:
    h = os.urandom(16 * _BATCH).hex()
    ids = [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
        f"{_VARIANT[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * _BATCH, 32)
    ]
    _POOL.extend(ids[1:])
    return ids[0]


def new_request_id() -> str:
    """Return a random UUID version 4 string (a fraction of the cost of ``str(uuid4())``)."""
    try:
        return _POOL.pop()
    except IndexError:
        return _refill()


def valid_traceparent(value: str) -> str | None:
    """Return ``value`` if it is a well-formed W3C ``traceparent`` header, else None.

    Version 00 is exactly 55 characters; a later version may append ``-fields``, and then its
    first 55 characters must still parse (W3C Trace Context, "Versioning of traceparent").
    """
    if len(value) != 55 and (len(value) > 512 or value.startswith("00") or value[55:56] != "-"):
        return None
    match = _TRACEPARENT_RE.fullmatch(value, 0, 55)
    if (
        match is None
        or match.group(1) == "ff"
        or match.group(2) == _ZERO_TRACE
        or match.group(3) == _ZERO_PARENT
    ):
        return None
    return value


def current_request_id() -> str | None:
    """Return the id of the request being handled (None outside a request)."""
    value = news_log.get_context().get("request_id")
    return value if isinstance(value, str) else None


def context_fields(headers: Headers, header: str) -> dict[str, str]:
    """The fields to bind for a request: its id (accepted or made), traceparent, tracestate."""
    rid = headers.get(header)
    if rid is None or _REQUEST_ID_RE.fullmatch(rid) is None:
        rid = new_request_id()
    fields = {"request_id": rid}
    traceparent = headers.get("traceparent")
    if traceparent is not None:
        traceparent = valid_traceparent(traceparent)
        if traceparent is not None:
            fields["traceparent"] = traceparent
            tracestate = headers.get("tracestate")
            if tracestate is not None and _TRACESTATE_RE.fullmatch(tracestate):
                fields["tracestate"] = tracestate
    return fields


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL.clear)
