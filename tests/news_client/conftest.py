"""A real aiohttp.web server on loopback whose faults the tests switch on and off."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec
import pytest
from aiohttp import web

import news_client

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FaultServer:
    """An HTTP server on 127.0.0.1 with switchable faults; it counts what reaches it.

    ``fault`` is one of: ``None`` (answer 200 JSON), ``"delay"`` (sleep ``delay`` seconds
    first), ``"status"`` (answer ``status`` with ``retry_after`` and a problem+json body),
    ``"reset"`` (reset the connection without answering), ``"gate"`` (wait for ``gate``),
    ``"script"`` (pop the next fault from ``script``; an empty script answers 200).
    """

    def __init__(self) -> None:
        self.fault: str | None = None
        self.delay = 0.0
        self.status = 503
        self.retry_after: str | None = None
        self.problem: dict[str, Any] | None = None
        self.script: list[str | int | None] = []
        self.gate = asyncio.Event()
        self.hits = 0
        self.requests: list[web.Request] = []
        self.bodies: list[bytes] = []
        self.port = 0
        self.routes: dict[str, Handler] = {}
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (again, on the same port after a stop)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            server = site._server  # the one way aiohttp says which port port=0 got
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._runner is not None:
            self.gate.set()
            await self._runner.cleanup()
            self._runner = None
            self.gate = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        self.requests.append(request)
        self.bodies.append(await request.read())
        custom = self.routes.get(request.path)
        if custom is not None:
            return await custom(request)
        fault: str | int | None = self.fault
        if fault == "script":
            fault = self.script.pop(0) if self.script else None
        if isinstance(fault, int):
            return self._status(fault)
        if fault == "delay":
            await asyncio.sleep(self.delay)
        elif fault == "gate":
            await self.gate.wait()
        elif fault == "status":
            return self._status(self.status)
        elif fault == "reset":
            transport = request.transport
            assert transport is not None
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.close()  # RST: the client sees a reset, no answer
            await asyncio.sleep(3600)
        return web.json_response({"ok": True, "path": request.path})

    def _status(self, status: int) -> web.Response:
        headers = {"Retry-After": self.retry_after} if self.retry_after else {}
        problem = self.problem or {
            "type": "about:blank",
            "title": "Service Unavailable" if status == 503 else "Error",
            "status": status,
            "detail": f"injected {status}",
            "code": "injected",
        }
        return web.Response(
            status=status,
            body=msgspec.json.encode(problem),
            content_type="application/problem+json",
            headers=headers,
        )


class SilentServer:
    """Accepts TCP connections and never answers (reads and discards what it is sent)."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free port."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            self._writers.append(writer)
            while await reader.read(65536):
                pass

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[FaultServer]:
    """A started fault server (stopped after the test)."""
    fault_server = FaultServer()
    await fault_server.start()
    try:
        yield fault_server
    finally:
        await fault_server.stop()


@pytest.fixture
async def silent() -> AsyncIterator[SilentServer]:
    """A server that accepts connections and never answers."""
    silent_server = SilentServer()
    await silent_server.start()
    try:
        yield silent_server
    finally:
        await silent_server.stop()


def free_port() -> int:
    """A loopback port nothing listens on (right now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingMetrics:
    """A ClientMetricsHook that records every call."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, str]] = []
        self.retries: list[tuple[str, str]] = []
        self.rejections: list[tuple[str, str]] = []
        self.states: list[tuple[str, str, str]] = []

    def request(
        self, dependency: str, method: str, route: str, status: str, seconds: float
    ) -> None:
        """Record one attempt."""
        assert seconds >= 0
        self.requests.append((dependency, method, route, status))

    def retried(self, dependency: str, route: str) -> None:
        """Record one retry."""
        self.retries.append((dependency, route))

    def rejected(self, dependency: str, reason: str) -> None:
        """Record one refusal."""
        self.rejections.append((dependency, reason))

    def breaker_state(self, breaker: str, old: str, new: str) -> None:
        """Record one transition."""
        self.states.append((breaker, old, new))


def settings(url: str, **overrides: Any) -> news_client.ClientSettings:
    """ClientSettings for the tests: short waits, metrics off unless asked."""
    retry = overrides.pop("retry", news_client.RetrySettings(backoff_base=0.01, backoff_max=0.05))
    values: dict[str, Any] = {"base_url": url, "metrics": "off", "retry": retry}
    values.update(overrides)
    return news_client.ClientSettings(**values)


@pytest.fixture
def make_settings() -> Callable[..., news_client.ClientSettings]:
    """`settings(url, **overrides)`: test ClientSettings."""
    return settings


@pytest.fixture
def recording() -> RecordingMetrics:
    """A metrics hook that records every call."""
    return RecordingMetrics()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()
