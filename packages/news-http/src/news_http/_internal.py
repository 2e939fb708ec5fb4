"""The internal listener: metrics and probes on their own port (``HTTPSettings.internal_port``).

The usual Prometheus setup: the public port (behind the Service, the Ingress, the load balancer)
serves the API only, and a second port that only the cluster reaches serves ``/metrics`` and the
probes. Robyn serves one socket per server, so this listener is a small HTTP/1.1 server on the
worker's event loop (the one that runs async handlers and the health checks): GET and HEAD of the
three paths, one request per connection (``Connection: close``), bounded reads. Each worker of a
multi-process server binds the port with ``SO_REUSEPORT`` and the kernel spreads the scrapes;
with multi-process metrics any worker's answer adds up every worker.

It starts before the app's startup hooks (so probes answer "starting" while they run) and closes
after the shutdown hooks (so readiness answers 503 during the whole drain).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from http import HTTPStatus
from typing import TYPE_CHECKING

import msgspec

import news_log
from news_http._errors import PortInUseError, ServerStartError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from news_health import HealthRegistry
    from news_http._settings import HTTPSettings

__all__ = ["InternalServer"]

_log = news_log.get_logger("news_http.server")
_MAX_HEAD = 16 * 1024
_READ_TIMEOUT_S = 10.0

# What one endpoint answers: (status, content type, body).
Answer = tuple[int, str, bytes]


def _problem(status: int, detail: str) -> Answer:
    title = HTTPStatus(status).phrase
    body = msgspec.json.encode(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}
    )
    return status, "application/problem+json", body


class InternalServer:
    """Serves ``metrics_path``, ``liveness_path`` and ``readiness_path`` on the internal port."""

    def __init__(
        self, settings: HTTPSettings, *, metrics: bool, health: HealthRegistry | None
    ) -> None:
        self.host = settings.internal_host
        self.port = settings.internal_port
        self._reuse_port = settings.processes > 1
        self._routes: dict[str, Callable[[str | None], Awaitable[Answer]]] = {}
        if metrics:
            self._routes[settings.metrics_path] = self._metrics
        if health is not None:
            self._health = health
            self._routes[settings.liveness_path] = self._liveness
            self._routes[settings.readiness_path] = self._readiness
        self._server: asyncio.Server | None = None

    # -- endpoints ----------------------------------------------------------------------------

    @staticmethod
    async def _metrics(accept: str | None) -> Answer:
        import news_metrics

        body, content_type = news_metrics.render(accept)
        return 200, content_type, body

    async def _liveness(self, accept: str | None) -> Answer:
        report = await self._health.check_liveness()
        return report.http_status, report.content_type, report.to_json()

    async def _readiness(self, accept: str | None) -> Answer:
        report = await self._health.check_readiness()
        return report.http_status, report.content_type, report.to_json()

    # -- lifecycle ----------------------------------------------------------------------------

    def _socket(self) -> socket.socket:
        family = socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self._reuse_port:  # every worker listens; the kernel spreads the connections
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.host, self.port))
            sock.listen(64)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            if exc.errno == 98:  # EADDRINUSE
                raise PortInUseError(
                    exc.errno,
                    f"internal port {self.port} on {self.host} is already in use by another "
                    "process; choose another HTTPSettings.internal_port",
                ) from exc
            raise ServerStartError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        return sock

    async def start(self) -> None:
        """Listen on the internal host:port (on the running event loop)."""
        self._server = await asyncio.start_server(self._serve, sock=self._socket())
        _log.info(
            "serving metrics and probes on the internal port",
            host=self.host,
            port=self.port,
            paths=sorted(self._routes),
        )

    async def stop(self) -> None:
        """Stop listening and close open connections."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await server.wait_closed()

    # -- one connection -------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            method, path, accept = self._parse(head)
            status, content_type, body = await self._answer(method, path, accept)
            reason = HTTPStatus(status).phrase
            headers = (
                f"HTTP/1.1 {status} {reason}\r\n"
                f"content-type: {content_type}\r\n"
                f"content-length: {len(body)}\r\n"
                "cache-control: no-store\r\n"
                "connection: close\r\n"
            )
            if status == 405:
                headers += "allow: GET, HEAD\r\n"
            writer.write(headers.encode("latin-1") + b"\r\n" + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass  # a client that went away or sent no request: nothing to answer
        except Exception as exc:  # noqa: BLE001 - the listener never dies of one request
            _log.error("internal endpoint failed", exc_info=exc)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    @staticmethod
    def _parse(head: bytes) -> tuple[str, str, str | None]:
        if len(head) > _MAX_HEAD:
            return "", "", None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return "", "", None
        accept = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "accept":
                accept = value.strip()
        return parts[0], parts[1].split("?", 1)[0], accept

    async def _answer(self, method: str, path: str, accept: str | None) -> Answer:
        if not method:
            return _problem(400, "malformed request")
        endpoint = self._routes.get(path)
        if endpoint is None:
            return _problem(404, "the internal port serves metrics and probes only")
        if method not in ("GET", "HEAD"):
            return _problem(405, f"{method} is not allowed on this resource")
        return await endpoint(accept)
