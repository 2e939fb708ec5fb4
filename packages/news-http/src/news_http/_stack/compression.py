"""Response compression: gzip (and brotli when enabled) for text and JSON bodies.

A body is compressed when it is at least ``compression_min_bytes`` long, its content type is
textual (``text/*``, JSON, ``+json``, XML, JavaScript), it is not already encoded, the status
allows a body, and the client's ``Accept-Encoding`` accepts a coding (q > 0). Brotli wins over
gzip when both are acceptable with the same preference. Such responses always get
``Vary: Accept-Encoding``, compressed or not, so caches keep the variants apart.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from robyn import Request, Response

__all__ = ["Compressor", "parse_accept_encoding"]

_TEXTUAL_PREFIXES: Final = ("text/", "application/json", "application/problem+json")
_TEXTUAL_TYPES: Final = frozenset(
    {"application/javascript", "application/xml", "application/x-ndjson", "image/svg+xml"}
)
_NO_BODY_STATUSES: Final = frozenset({204, 304})


def parse_accept_encoding(value: str) -> dict[str, float]:
    """Parse ``Accept-Encoding`` into {coding: q}; malformed q-values count as 0."""
    result: dict[str, float] = {}
    for item in value.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(raw.strip())
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:  # also rejects nan
                    q = 0.0
        result[coding] = q
    return result


def _textual(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(_TEXTUAL_PREFIXES) or media in _TEXTUAL_TYPES or media.endswith("+json")


class Compressor:
    """Chooses a coding for a request and compresses response bodies with it."""

    __slots__ = ("_brotli", "level", "min_bytes")

    def __init__(self, *, min_bytes: int, level: int, brotli: Any = None) -> None:
        self.min_bytes = min_bytes
        self.level = level
        self._brotli = brotli  # the imported ``brotli`` module, or None

    def choose(self, accept_encoding: str | None) -> str | None:
        """Return "br", "gzip" or None for the client's ``Accept-Encoding``."""
        if not accept_encoding:
            return None
        accepted = parse_accept_encoding(accept_encoding)
        star = accepted.get("*", 0.0)
        gzip_q = accepted.get("gzip", accepted.get("x-gzip", star))
        br_q = accepted.get("br", star) if self._brotli is not None else 0.0
        if br_q > 0.0 and br_q >= gzip_q:
            return "br"
        if gzip_q > 0.0:
            return "gzip"
        return None

    def compress(self, body: bytes, coding: str) -> bytes:
        """Compress ``body`` with ``coding`` ("gzip" or "br")."""
        if coding == "br":
            compressed: bytes = self._brotli.compress(body, quality=4)
            return compressed
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, 31)  # 31: gzip container
        return compressor.compress(body) + compressor.flush()

    def apply(self, request: Request, response: Response) -> Response:
        """Compress ``response`` in place when worthwhile and acceptable; return it."""
        body = response.description
        if len(body) < self.min_bytes or response.status_code in _NO_BODY_STATUSES:
            return response
        headers = response.headers
        if headers.contains("content-encoding") or not _textual(headers.get("content-type")):
            return response
        headers.append("vary", "Accept-Encoding")
        coding = self.choose(request.headers.get("accept-encoding"))
        if coding is None or request.method == "HEAD":
            return response
        raw = body if isinstance(body, bytes) else body.encode()
        compressed = self.compress(raw, coding)
        if len(compressed) >= len(raw):
            return response
        response.description = compressed
        headers.set("content-encoding", coding)
        return response
