"""Route bookkeeping: conflicts Robyn would hide, fallback routes for 404/405, Allow lists.

Robyn routes with matchit 0.7, one tree per method. An insert that conflicts (``/:a`` next to
``/:b``, a catch-all next to a parameter) is dropped silently by Robyn, and a path no route
matches is answered by Rust with a bare text 404 that no Python code sees. news-http therefore
keeps its own copy of the tree: it refuses conflicting routes at registration, and at start-up
adds, per method, fallback routes wherever matchit allows them (a catch-all under every node
without a parameter child, the exact path of every node that is not a route), so that every
request reaches the Python stack and unmatched ones get the same request id, log line and
problem+json as any other.
"""

from __future__ import annotations

import re
from typing import Final

from news_http._errors import HTTPConfigError

__all__ = ["FALLBACK_PARAM", "METHODS", "RouteTable", "normalize_route"]

#: The methods Robyn can route (others get Robyn's own 405 before any Python runs).
METHODS: Final = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE")
FALLBACK_PARAM: Final = "news_http_unmatched"


def normalize_route(endpoint: str) -> str:
    """Normalize like Robyn: leading slash, no trailing slash (except the root)."""
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint:
        return "/"
    return endpoint if endpoint.startswith("/") else "/" + endpoint


def _segments(route: str) -> list[str]:
    return [] if route == "/" else route.strip("/").split("/")


class _Node:
    __slots__ = ("catch_all", "is_route", "param", "param_node", "static")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.param: str | None = None
        self.param_node: _Node | None = None
        self.catch_all: str | None = None
        self.is_route = False


class _Tree:
    """One method's routes, shaped like matchit's tree, with matchit 0.7's conflict rules."""

    def __init__(self) -> None:
        self.root = _Node()

    def insert(self, route: str) -> None:
        node = self.root
        segments = _segments(route)
        for index, segment in enumerate(segments):
            if segment.startswith("*"):
                if index != len(segments) - 1:
                    raise HTTPConfigError(f"route {route}: a catch-all must be the last segment")
                name = segment[1:]
                if node.param is not None:
                    raise HTTPConfigError(
                        f"route {route}: a catch-all cannot sit next to the parameter "
                        f":{node.param} (Robyn's router would silently drop one of them)"
                    )
                if node.catch_all is not None and node.catch_all != name:
                    raise HTTPConfigError(
                        f"route {route}: conflicts with the catch-all *{node.catch_all}"
                    )
                node.catch_all = name
                return
            if segment.startswith(":"):
                name = segment[1:]
                if not name:
                    raise HTTPConfigError(f"route {route}: a parameter needs a name")
                if node.catch_all is not None:
                    raise HTTPConfigError(
                        f"route {route}: the parameter :{name} cannot sit next to the "
                        f"catch-all *{node.catch_all} (Robyn's router would drop one)"
                    )
                if node.param is not None and node.param != name:
                    raise HTTPConfigError(
                        f"route {route}: parameter :{name} conflicts with :{node.param} at the "
                        "same position; use the same name in both routes"
                    )
                node.param = name
                if node.param_node is None:
                    node.param_node = _Node()
                node = node.param_node
            else:
                node = node.static.setdefault(segment, _Node())
        node.is_route = True

    def fallbacks(self) -> list[str]:
        """Routes to add so that every path reaches Python (see the module docstring)."""
        out: list[str] = []

        def walk(node: _Node, prefix: str) -> None:
            here = prefix or "/"
            if not node.is_route:
                out.append(here)
            if node.param is None and node.catch_all is None:
                out.append(f"{prefix}/*{FALLBACK_PARAM}")
            for segment, child in node.static.items():
                walk(child, f"{prefix}/{segment}")
            if node.param_node is not None:
                walk(node.param_node, f"{prefix}/:{node.param}")

        walk(self.root, "")
        return out


def _pattern(route: str) -> re.Pattern[str]:
    parts = []
    for segment in _segments(route):
        if segment.startswith("*"):
            parts.append(".+")
        elif segment.startswith(":"):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


class RouteTable:
    """Every registered (method, route), for conflicts, fallbacks and Allow headers."""

    def __init__(self) -> None:
        self._trees: dict[str, _Tree] = {m: _Tree() for m in METHODS}
        self._routes: dict[str, list[tuple[str, re.Pattern[str]]]] = {m: [] for m in METHODS}
        self._registered: set[tuple[str, str]] = set()

    def add(self, method: str, route: str) -> None:
        """Record a route; raise `HTTPConfigError` on a duplicate or a router conflict."""
        method = method.upper()
        if method not in self._trees:
            raise HTTPConfigError(f"Robyn cannot route {method} requests")
        if (method, route) in self._registered:
            raise HTTPConfigError(f"route {method} {route} is registered twice")
        self._trees[method].insert(route)
        self._registered.add((method, route))
        self._routes[method].append((route, _pattern(route)))

    def has(self, method: str, route: str) -> bool:
        """Return whether exactly this (method, route) is registered."""
        return (method.upper(), route) in self._registered

    def routes(self, method: str) -> list[str]:
        """The routes registered for ``method``, in registration order."""
        return [route for route, _ in self._routes[method.upper()]]

    def fallbacks(self, method: str) -> list[str]:
        """The fallback routes ``method`` needs (see the module docstring)."""
        return self._trees[method.upper()].fallbacks()

    def allowed_methods(self, path: str) -> list[str]:
        """The methods with a route matching ``path`` (for 405 and its Allow header)."""
        return [
            method
            for method in METHODS
            if any(pattern.fullmatch(path) for _, pattern in self._routes[method])
        ]
