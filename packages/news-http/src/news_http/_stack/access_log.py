"""The access log: one structured line per request, written through news-log off the request path.

Measured on this machine: a news-log line costs ~3 µs in a tight loop but ~13 µs of CPU per
request when logged from Robyn's request path (cold caches between requests), a fifth of a
small request's total cost. So the request path only appends a tuple to a deque (atomic, no
lock); a background thread wakes when the deque stops being empty, lets a batch gather for
``BATCH_INTERVAL_S`` and writes the lines through the ``news_http.access`` news-log logger in
one warm loop. Nothing is dropped: the deque is unbounded, `AccessLog.flush` drains it
synchronously (graceful shutdown does, and so does interpreter exit), and a forked worker
starts with an empty deque and its own thread.

A line: ``method``, ``route`` (the template), ``path``, ``status``, ``duration_ms``, ``bytes``,
``client_ip`` (X-Forwarded-For only from trusted proxies), plus ``request_id`` and
``traceparent``/``tracestate`` when present, and every field bound with `news_log.bind` inside
the request (a route guard's ``principal``, ``auth_method``, ``client_id``; a handler's
``article_id``), collected by the stack's `news_log.scope`; the line's own fields win a clash.
Its ``ts`` is when it was written, at most a few milliseconds after the response;
``duration_ms`` is exact.
"""

from __future__ import annotations

import atexit
import ipaddress
import os
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, Final

import news_log

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "ACCESS_LOGGER",
    "BATCH_INTERVAL_S",
    "DRAINING",
    "IN_FLIGHT",
    "REFUSING",
    "AccessLog",
    "ClientAddress",
    "flush_all",
]

ACCESS_LOGGER: Final = "news_http.access"
BATCH_INTERVAL_S: Final = 0.01

#: One entry per request inside the stack right now (deque appends and pops are atomic, so
#: Robyn's threads need no lock); graceful shutdown waits for it to empty.
IN_FLIGHT: Final[deque[None]] = deque()
#: Not empty from the start of the drain: a request whose body is shorter than its declared
#: Content-Length (its connection was closed while the body arrived) gets 503.
DRAINING: Final[deque[None]] = deque()
#: Not empty once the shutdown hooks are about to run: from then on the stack answers 503 to
#: every request that still reaches it, and replaces a success computed meanwhile by a 503.
REFUSING: Final[deque[None]] = deque()

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    """Find the client's address: the peer, or X-Forwarded-For when the peer is a trusted proxy.

    X-Forwarded-For is read right to left, skipping trusted proxies; the first untrusted
    address is the client (anything left of it may be forged by the client itself).
    """

    __slots__ = ("networks",)

    def __init__(self, trusted: Iterable[str]) -> None:
        self.networks: tuple[_Network, ...] = tuple(
            ipaddress.ip_network(item.strip(), strict=False) for item in trusted
        )

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def resolve(self, peer: str | None, forwarded: str | None) -> str | None:
        """Return the client address given the peer and its X-Forwarded-For header."""
        if not self.networks or peer is None or not forwarded or not self._trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # garbage in the header: fall back to what we know
        return hops[0] if hops else peer


_Entry = tuple["Mapping[str, Any]", str, str, str, int, float, int, "str | None", "str | None"]


class AccessLog:
    """Queue access lines on the request path; write them from a background thread."""

    def __init__(self, client_address: ClientAddress) -> None:
        self._client_address = client_address
        self._logger = news_log.get_logger(ACCESS_LOGGER)
        self._reset()
        _instances.add(self)

    @property
    def trusts_proxies(self) -> bool:
        """Whether X-Forwarded-For may matter (some trusted proxy is configured)."""
        return bool(self._client_address.networks)

    def _reset(self) -> None:
        self._pending: deque[_Entry] = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._drain_lock = threading.Lock()

    def record(  # noqa: PLR0917 - positional on purpose: the request path avoids kwargs
        self,
        context: Mapping[str, Any],
        method: str,
        route: str,
        path: str,
        status: int,
        duration_ms: float,
        size: int,
        peer: str | None,
        forwarded: str | None,
    ) -> None:
        """Queue one line (request path: an append, and a wake-up when the queue was empty)."""
        pending = self._pending
        pending.append((context, method, route, path, status, duration_ms, size, peer, forwarded))
        if len(pending) == 1:
            thread = self._thread
            if thread is None or not thread.is_alive():
                self._start()
            self._wake.set()

    def _start(self) -> None:
        with self._drain_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="news-http-access-log", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        wake = self._wake
        while True:
            wake.wait()
            wake.clear()
            time.sleep(BATCH_INTERVAL_S)  # let a burst gather: one warm loop per batch
            self.flush()

    def flush(self) -> None:
        """Write every queued line now (in the calling thread)."""
        pending = self._pending
        resolve = self._client_address.resolve
        info = self._logger.info
        with self._drain_lock:
            while True:
                try:
                    context, method, route, path, status, ms, size, peer, fwd = pending.popleft()
                except IndexError:
                    return
                # The line's own fields win over same-named ones bound inside the request.
                info(
                    "request",
                    **{
                        **context,
                        "method": method,
                        "route": route,
                        "path": path,
                        "status": status,
                        "duration_ms": round(ms, 3),
                        "bytes": size,
                        "client_ip": resolve(peer, fwd),
                    },
                )

    def _after_fork_in_child(self) -> None:
        self._reset()


_instances: weakref.WeakSet[AccessLog] = weakref.WeakSet()


def flush_all() -> None:
    """Write every queued access line of every access log in this process."""
    for access_log in list(_instances):
        access_log.flush()


def _after_fork() -> None:
    for access_log in list(_instances):
        access_log._after_fork_in_child()


atexit.register(flush_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
