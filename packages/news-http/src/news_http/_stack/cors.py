"""CORS per the Fetch standard: reflect allowed origins only, answer preflights, vary on Origin.

- A request without ``Origin`` passes untouched (plus ``Vary: Origin`` when the answer depends
  on the origin).
- An allowed origin is reflected in ``Access-Control-Allow-Origin`` (``*`` only for a wildcard
  policy without credentials), with ``Access-Control-Allow-Credentials: true`` when enabled and
  ``Access-Control-Expose-Headers`` when configured.
- A disallowed origin gets no CORS header at all: the browser blocks the response.
- A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered
  here, before routing, body limits and handlers: 204 with the allowed methods, headers and
  max age when origin, method and every requested header are allowed; else a 403 problem without
  CORS headers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import news_api
from news_http._errors import HTTPConfigError
from news_http._stack.recovery import error_response

if TYPE_CHECKING:
    from robyn import Request, Response

    from news_http._settings import CORSSettings

__all__ = ["CORSPolicy", "LiveCORS"]

# Sent by browsers without being listed in Access-Control-Allow-Headers being required
# (CORS-safelisted request headers); browsers do not put them in Access-Control-Request-Headers
# unless their value is unusual, in which case the server must allow them explicitly.
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: An origin as browsers serialise it: lower-case scheme and host, optional port, nothing else.
_ORIGIN_RE = re.compile(r"[a-z][a-z0-9+.\-]*://[a-z0-9\-._~%!$&'()*+,;=\[\]:]+")


class LiveCORS:
    """The app's current CORS policy, read by every route's stack on each request.

    The stack is composed once per route; swapping ``policy`` (one assignment) switches every
    route at once (`news_http.NewsApp.set_cors`). None: CORS is off.
    """

    __slots__ = ("policy",)

    def __init__(self, policy: CORSPolicy | None = None) -> None:
        self.policy = policy


class CORSPolicy:
    """A compiled `CORSSettings`: which origins, methods and headers are allowed."""

    __slots__ = (
        "allow_any_header",
        "allow_any_origin",
        "credentials",
        "expose",
        "headers",
        "headers_value",
        "max_age",
        "methods",
        "methods_value",
        "origins",
        "patterns",
        "vary",
    )

    def __init__(self, settings: CORSSettings) -> None:
        self.allow_any_origin = "*" in settings.origins
        self.credentials = settings.credentials
        if self.allow_any_origin and self.credentials:
            raise HTTPConfigError(
                "CORS: origins '*' together with credentials=true would let every site act "
                "with your users' cookies; list the allowed origins explicitly"
            )
        for origin in settings.origins:
            if origin != "*" and _ORIGIN_RE.fullmatch(origin) is None:
                raise HTTPConfigError(
                    f"CORS: origin {origin!r} must look like 'https://news.example' "
                    "(scheme://host[:port] in lower case, no path, no trailing slash): "
                    "browsers send exactly that, so anything else would never match"
                )
        self.origins = frozenset(o for o in settings.origins if o != "*")
        try:
            self.patterns = tuple(re.compile(p) for p in settings.origin_patterns)
        except re.error as exc:
            raise HTTPConfigError(f"CORS: bad origin pattern: {exc}") from exc
        methods = [m.strip().upper() for m in settings.methods if m.strip()]
        for method in methods:
            if method == "*" or _TOKEN_RE.fullmatch(method) is None:
                raise HTTPConfigError(
                    f"CORS: methods: {method!r} is not an HTTP method name; list the methods "
                    "('GET', 'POST'...): '*' is not supported"
                )
        self.methods = frozenset(methods)
        self.methods_value = ", ".join(methods)
        headers = [h.strip() for h in settings.headers if h.strip()]
        self.allow_any_header = "*" in headers
        for header in headers:
            if _TOKEN_RE.fullmatch(header) is None:  # '*' is a token too
                raise HTTPConfigError(
                    f"CORS: headers: {header!r} is not a header name (letters, digits and "
                    "!#$%&'*+-.^_`|~; one name per item, or '*' for any)"
                )
        self.headers = frozenset(h.lower() for h in headers if h != "*")
        self.headers_value = ", ".join(h for h in headers if h != "*")
        expose = [h.strip() for h in settings.expose_headers if h.strip()]
        for header in expose:
            if _TOKEN_RE.fullmatch(header) is None:
                raise HTTPConfigError(
                    f"CORS: expose_headers: {header!r} is not a header name (letters, digits "
                    "and !#$%&'*+-.^_`|~; one name per item)"
                )
        self.expose = ", ".join(expose)
        self.max_age = str(settings.max_age)
        # The answer depends on the Origin header unless it is "*" for everyone.
        self.vary = not (self.allow_any_origin and not self.origins and not self.patterns)

    @property
    def enabled(self) -> bool:
        """Whether any origin is allowed at all (otherwise the layer is left out)."""
        return self.allow_any_origin or bool(self.origins) or bool(self.patterns)

    def allowed_origin(self, origin: str) -> str | None:
        """Return the value for Access-Control-Allow-Origin, or None if ``origin`` is refused."""
        if origin in self.origins:
            return origin
        for pattern in self.patterns:
            if pattern.fullmatch(origin):
                return origin
        if self.allow_any_origin:
            return "*"
        return None

    def decorate(self, response: Response, origin: str | None) -> None:
        """Add the CORS headers of an actual (non-preflight) response, in place."""
        headers = response.headers
        if self.vary:
            headers.append("vary", "Origin")
        if origin is None:
            return
        allowed = self.allowed_origin(origin)
        if allowed is None:
            return
        headers.set("access-control-allow-origin", allowed)
        if self.credentials:
            headers.set("access-control-allow-credentials", "true")
        if self.expose:
            headers.set("access-control-expose-headers", self.expose)

    def preflight(self, request: Request, origin: str, method: str) -> Response:
        """Answer a preflight: 204 with the policy, or a 403 problem without CORS headers."""
        from robyn import Response as RobynResponse

        allowed = self.allowed_origin(origin)
        requested = request.headers.get("access-control-request-headers") or ""
        names = [n.strip().lower() for n in requested.split(",") if n.strip()]
        refused: str | None = None
        if allowed is None:
            refused = "origin is not allowed"
        elif method.upper() not in self.methods:
            refused = f"method {method.upper()} is not allowed"
        elif not self.allow_any_header:
            bad = [n for n in names if n not in self.headers]
            if bad:
                refused = f"header(s) not allowed: {', '.join(bad)}"
        if refused is not None:
            # a 403 is never logged by error_response: no route label to give it
            response = error_response(
                request, news_api.Forbidden(f"CORS preflight refused: {refused}")
            )
            if self.vary:
                response.headers.append("vary", "Origin")
            return response
        assert allowed is not None
        headers = {
            "access-control-allow-origin": allowed,
            "access-control-allow-methods": self.methods_value,
            "access-control-max-age": self.max_age,
        }
        if self.allow_any_header:
            if names:
                headers["access-control-allow-headers"] = ", ".join(names)
        elif self.headers_value:
            headers["access-control-allow-headers"] = self.headers_value
        if self.credentials:
            headers["access-control-allow-credentials"] = "true"
        response = RobynResponse(204, headers, b"")
        vary = ["Access-Control-Request-Method", "Access-Control-Request-Headers"]
        if self.vary:
            vary.insert(0, "Origin")
        response.headers.set("vary", ", ".join(vary))
        return response
