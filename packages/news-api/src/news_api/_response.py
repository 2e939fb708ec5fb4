"""The framework-free `Response` value and the success-envelope constructors.

A `Response` is three plain fields (status, headers, body bytes) so that news-http (Robyn), an
ASGI or WSGI app, or a Kafka worker can all use the same values. Header names are lower case.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from news_api._base import APIUsageError
from news_api._secret import enc_hook

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "JSON_MEDIA_TYPE",
    "PROBLEM_MEDIA_TYPE",
    "Response",
    "created",
    "encode_json",
    "merge_headers",
    "no_content",
    "ok",
    "to_asgi",
    "to_wsgi",
]

JSON_MEDIA_TYPE: Final = "application/json"
"""The media type of success envelopes."""
PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
"""The media type of RFC 9457 problem details."""

# One encoder for the whole process: msgspec encoders are thread-safe and reusing one avoids
# re-creating its internal state on every request. `decimal_format="number"` is not set:
# Decimals travel as strings, which is lossless for every client.
# Secrets (``news_config.Secret``) in a body are encoded as the mask, never as their value.
_ENCODER: Final = msgspec.json.Encoder(enc_hook=enc_hook)


class Response(msgspec.Struct, frozen=True, gc=False):
    """An HTTP response as plain values, independent of any web framework.

    Attributes:
        status: The HTTP status code.
        headers: Header names (lower case) to values. Each response owns its dict.
        body: The encoded body; empty for 204.
    """

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str | None:
        """The ``content-type`` header, or None when the response has no body type."""
        return self.headers.get("content-type")

    def json(self) -> Any:
        """Decode the body as JSON (handy in tests and in non-HTTP consumers of responses)."""
        return msgspec.json.decode(self.body)

    def with_headers(self, headers: Mapping[str, str]) -> Response:
        """Return a copy with ``headers`` added (names lower-cased; later values win).

        Raises:
            APIUsageError: (a ValueError) A header name or value contains CR, LF or NUL
                (response splitting).
        """
        return Response(self.status, merge_headers(dict(self.headers), headers), self.body)


def encode_json(value: Any) -> bytes:
    """Encode ``value`` as JSON with news-api's shared msgspec encoder.

    Structs, dataclasses, dicts, lists, datetimes (RFC 3339), UUIDs, Decimals (as strings),
    enums and `msgspec.Raw` (pre-encoded JSON, embedded as is) are supported; a secret
    (``news_config.Secret``) is encoded as ``"**********"``.

    Raises:
        TypeError: ``value`` holds an object msgspec cannot encode.
    """
    return _ENCODER.encode(value)


def _check_header(name: str, value: str) -> None:
    for text in (name, value):
        if "\r" in text or "\n" in text or "\0" in text:
            raise APIUsageError(
                f"header {name!r} contains CR, LF or NUL; refusing to build the response "
                "(strip control characters from values taken from requests)"
            )


def merge_headers(base: dict[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    """Add ``extra`` into ``base`` (in place) with lower-cased names and return ``base``.

    Raises:
        APIUsageError: (a ValueError) A header name or value contains CR, LF or NUL.
    """
    if extra:
        for name, value in extra.items():
            _check_header(name, value)
            base[name.lower()] = value
    return base


class _Envelope(msgspec.Struct, omit_defaults=True, gc=False):
    data: Any
    meta: Any = None
    links: Any = None


def ok(
    data: Any,
    *,
    meta: Any = None,
    links: Any = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A success response: ``{"data": ..., "meta": {...}, "links": {...}}`` as application/json.

    ``meta`` and ``links`` are left out of the body when None. ``data`` may be anything
    `encode_json` accepts (Structs, dicts, lists, datetimes, `msgspec.Raw`...).

    Args:
        data: The payload, under ``"data"``.
        meta: Optional metadata (counts, pagination), under ``"meta"``.
        links: Optional related URLs (``{"next": ...}``), under ``"links"``.
        status: The HTTP status (200 unless told otherwise, e.g. 202).
        headers: Extra headers (names are lower-cased).

    Raises:
        TypeError: ``data``, ``meta`` or ``links`` holds a value that cannot be encoded.
        APIUsageError: (a ValueError) A header contains CR, LF or NUL.
    """
    body = _ENCODER.encode(_Envelope(data, meta, links))
    response_headers = {"content-type": JSON_MEDIA_TYPE}
    if headers:
        merge_headers(response_headers, headers)
    return Response(status, response_headers, body)


def created(
    data: Any,
    *,
    location: str | None = None,
    meta: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A 201 Created envelope, with a ``location`` header pointing at the new resource if any.

    Give ``location`` whenever the new resource has a URL of its own (RFC 9110 15.3.2); leave it
    out when it has none (a subscription, a batch of rows, an action's record).

    Raises:
        TypeError: ``data`` or ``meta`` cannot be encoded.
        APIUsageError: (a ValueError) ``location`` (or another header) contains CR, LF or
            NUL, or is empty.
    """
    if location is not None and not location:
        raise APIUsageError("created(location=...) is empty; give the URL or leave it out")
    response = ok(data, meta=meta, status=201, headers=headers)
    if location is not None:
        _check_header("location", location)
        response.headers["location"] = location
    return response


def no_content(*, headers: Mapping[str, str] | None = None) -> Response:
    """A 204 No Content response: empty body and no content-type.

    Raises:
        APIUsageError: (a ValueError) A header contains CR, LF or NUL.
    """
    return Response(204, merge_headers({}, headers), b"")


def to_asgi(response: Response) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Split a response into ASGI's parts: status, ``[(name, value)]`` as latin-1 bytes, body.

    The ``content-length`` header is added when absent. Use it as::

        status, headers, body = to_asgi(resp)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    """
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    if "content-length" not in response.headers and response.status != 204:
        headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    return response.status, headers, response.body


def to_wsgi(response: Response) -> tuple[str, list[tuple[str, str]], bytes]:
    """Split a response into WSGI's parts: status line (``"404 Not Found"``), headers, body.

    The ``content-length`` header is added when absent. Use it as::

        status, headers, body = to_wsgi(resp)
        start_response(status, headers)
        return [body]
    """
    from http import HTTPStatus

    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = "Unknown"
    headers = list(response.headers.items())
    if "content-length" not in response.headers and response.status != 204:
        headers.append(("content-length", str(len(response.body))))
    return f"{response.status} {phrase}", headers, response.body
