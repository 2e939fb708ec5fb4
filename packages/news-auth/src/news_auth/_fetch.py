"""Small blocking HTTP JSON calls (JWKS, discovery, token endpoint) on the standard library.

They run on a worker thread (``asyncio.to_thread``) or a sync handler's own thread, never on
the event loop. Responses are bounded in size and time.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final

__all__ = ["FetchError", "request_json"]

MAX_RESPONSE_BYTES: Final = 1 << 20


class FetchError(Exception):
    """A request failed: no answer, a non-2xx status, or a body that is not a JSON object.

    Attributes:
        status: The HTTP status, when there was an answer.
        body: The decoded JSON object of a non-2xx answer, when it had one.
    """

    def __init__(
        self, message: str, *, status: int | None = None, body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def _decode(raw: bytes, url: str, status: int) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise FetchError(f"{url}: answer is not JSON", status=status) from exc
    if not isinstance(value, dict):
        raise FetchError(f"{url}: answer is not a JSON object", status=status)
    return value


def request_json(
    url: str,
    *,
    timeout: float,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """GET ``url`` (or POST ``form`` url-encoded) and return its JSON object.

    Raises:
        FetchError: No answer within ``timeout``, a non-2xx status, or no JSON object.
    """
    data = None
    all_headers = {"accept": "application/json", **(headers or {})}
    if form is not None:
        data = urllib.parse.urlencode(form).encode("ascii")
        all_headers["content-type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=all_headers)  # noqa: S310 - checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read(MAX_RESPONSE_BYTES + 1)
            status = response.status
    except urllib.error.HTTPError as exc:
        body: dict[str, Any] | None = None
        try:
            body = _decode(exc.read(MAX_RESPONSE_BYTES), url, exc.code)
        except (FetchError, OSError):
            body = None
        raise FetchError(f"{url}: HTTP {exc.code}", status=exc.code, body=body) from exc
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
        raise FetchError(f"{url}: {exc}") from exc
    if len(raw) > MAX_RESPONSE_BYTES:
        raise FetchError(f"{url}: answer larger than {MAX_RESPONSE_BYTES} bytes", status=status)
    return _decode(raw, url, status)
