"""`MetricsServer`: a small asyncio HTTP server exposing metrics, for Kafka-only workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Self

from news_metrics._errors import ServerError
from news_metrics._exposition import render
from news_metrics._settings import MetricsSettings

if TYPE_CHECKING:
    from types import TracebackType

    from prometheus_client import CollectorRegistry

__all__ = ["MetricsServer"]

log = logging.getLogger("news_metrics")

_MAX_HEAD = 16 * 1024
_IDLE_TIMEOUT = 75.0  # seconds a kept-alive connection may sit idle (Prometheus reuses them)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}


class MetricsServer:
    """Serves `render`'s exposition at ``settings.path`` on ``settings.host:settings.port``.

    For processes without news-http (Kafka consumers, batch workers). An asyncio server:
    ``async with MetricsServer(settings): ...`` or `start` / `stop`. ``GET`` and ``HEAD`` of the
    path return the metrics (OpenMetrics or text by the Accept header); other paths 404, other
    methods 405. Connections are kept alive as Prometheus expects. Rendering runs in a worker
    thread, so a scrape does not stall the event loop for long; a wedged loop does stall the
    scrape, which Prometheus reports as ``up == 0``: a useful signal.

    Args:
        settings: Host, port (0 picks a free one: see `port`) and path; defaults if None.
        registry: What to render in single-process mode (default: prometheus-client's).
    """

    def __init__(
        self,
        settings: MetricsSettings | None = None,
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._settings = settings if settings is not None else MetricsSettings()
        self._registry = registry
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._idle: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port the server listens on (the chosen one when the settings said 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("MetricsServer is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The exposition URL, e.g. ``http://127.0.0.1:9464/metrics``."""
        host = self._settings.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{self._settings.path}"

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._server is not None and self._server.is_serving()

    async def start(self) -> None:
        """Start listening.

        Raises:
            ServerError: the address cannot be bound (in use, not local, no permission).
        """
        if self._server is not None:
            return
        try:
            self._server = await asyncio.start_server(
                self._serve,
                self._settings.host,
                self._settings.port,
                reuse_address=True,
                limit=_MAX_HEAD,
            )
        except OSError as exc:
            raise ServerError(
                exc.errno,
                f"metrics server cannot listen on {self._settings.host}:{self._settings.port}: "
                f"{exc.strerror or exc}; choose another MetricsSettings.port (or host)",
            ) from exc
        log.info("metrics server listening on %s", self.url)

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, let scrapes in progress finish for up to *timeout* s, then close."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._idle):  # kept-alive connections between requests: close now
            task.cancel()
        pending = set(self._connections)
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            for task in still:
                task.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- HTTP ----------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a connection callback always runs in a task
        self._connections.add(task)
        try:
            while self._server is not None:
                head = await self._next_request(reader, writer, task)
                if head is None or self._server is None:
                    return
                keep_alive = await self._handle(reader, writer, head)
                if not keep_alive:
                    return
        except asyncio.CancelledError:
            if self._server is not None:
                raise  # cancelled by someone else than stop(): let it propagate
        except Exception:
            log.exception("metrics server: connection failed")
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _next_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, task: asyncio.Task[None]
    ) -> bytes | None:
        """Wait (idle: `stop` may cancel it) for the next request head; None to close."""
        self._idle.add(task)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=_IDLE_TIMEOUT)
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            return None
        except asyncio.LimitOverrunError:
            head = b""
        finally:
            self._idle.discard(task)
        if not head or len(head) > _MAX_HEAD:
            await self._respond(writer, 431, b"request head too large\n", close=True)
            return None
        return head

    @staticmethod
    def _parse(head: bytes) -> tuple[str, str, str, dict[str, str]] | bytes:
        """Split a request head into (method, path, version, headers), or say what is wrong."""
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return b"bad request line\n"
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                return b"bad header line\n"
            headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length", "0")
        if not length.isdigit() or int(length) > _MAX_HEAD or "transfer-encoding" in headers:
            return b"request bodies are not accepted\n"
        return parts[0], parts[1].split("?", 1)[0], parts[2], headers

    async def _handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes
    ) -> bool:
        parsed = self._parse(head)
        if isinstance(parsed, bytes):
            await self._respond(writer, 400, parsed, close=True)
            return False
        method, path, version, headers = parsed
        if int(headers.get("content-length", "0")):
            await reader.readexactly(int(headers["content-length"]))
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        status, body, content_type = 200, b"", "text/plain; charset=utf-8"
        extra: tuple[tuple[str, str], ...] = ()
        if path != self._settings.path:
            status, body = 404, f"not found; metrics are at {self._settings.path}\n".encode()
        elif method not in ("GET", "HEAD"):
            status, body, extra = 405, b"use GET\n", (("Allow", "GET, HEAD"),)
        else:
            try:
                body, content_type = await asyncio.to_thread(
                    render, headers.get("accept"), registry=self._registry
                )
            except Exception:
                log.exception("metrics server: rendering the metrics failed")
                status, body, keep_alive = 500, b"rendering the metrics failed\n", False
        await self._respond(
            writer,
            status,
            body,
            close=not keep_alive,
            content_type=content_type,
            head=method == "HEAD",
            extra=extra,
        )
        return keep_alive

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        *,
        close: bool,
        content_type: str = "text/plain; charset=utf-8",
        head: bool = False,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {_REASONS[status]}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in extra),
        ]
        if close:
            lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if not head:
            writer.write(body)
        await writer.drain()
