"""A pipelined RESP2 connection for the hot path: rate-limit checks and other Lua scripts.

redis-py's asyncio client spends most of a small command's client CPU around the round trip:
a pool checkout (condition, timeout scope, connection check), a task per write
(``asyncio.wait_for``), a timeout scope per read, retry and observability layers. A rate-limit
check pays that on every request of a limited route. `Wire` keeps one connection per client and
pipelines every command on it: a call writes its pre-encoded command and awaits a future; the
protocol parses replies as they arrive and resolves the futures in order. No checkout, no task,
no per-call timer.

- **Cancellation** never desynchronises the connection: a cancelled call's future is done, its
  reply still arrives in order and is dropped. Nothing is left unread for the next caller.
- **Timeouts**: one timer watches the oldest pending call; when it is ``socket_timeout`` late,
  every pending call fails with `RedisTimeoutError` and the connection is closed (a blocked
  server answers nobody in time). The next call reconnects (``connect_timeout``).
- **Connection loss** fails the pending calls with `RedisConnectionError`; the next call
  reconnects.

Used by `Redis.run_script` unless ``NEWS_REDIS_NO_FAST_PATHS=1`` (then redis-py's ``evalsha``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, Final

from news_redis._errors import (
    NewsRedisError,
    RedisClosedError,
    RedisConnectionError,
    RedisTimeoutError,
)

if TYPE_CHECKING:
    import ssl

    from news_redis._settings import RedisSettings

__all__ = ["ErrorReply", "Wire"]

_CRLF: Final = b"\r\n"


class ErrorReply(str):
    """An error reply of the server (``-ERR ...``), returned, not raised, by `Wire.call`."""

    __slots__ = ()


class _Incomplete(Exception):  # noqa: N818 - internal control flow
    pass


def _parse(buffer: bytearray, pos: int) -> tuple[Any, int]:  # noqa: PLR0911 - one per type
    """Parse one RESP2 reply at ``pos``; return it and the position after it."""
    end = buffer.find(_CRLF, pos)
    if end < 0:
        raise _Incomplete
    kind = buffer[pos]
    line = buffer[pos + 1 : end]
    pos = end + 2
    if kind == 58:  # ':' integer
        return int(line), pos
    if kind == 36:  # '$' bulk string
        size = int(line)
        if size < 0:
            return None, pos
        if len(buffer) < pos + size + 2:
            raise _Incomplete
        return bytes(buffer[pos : pos + size]), pos + size + 2
    if kind == 42:  # '*' array
        count = int(line)
        if count < 0:
            return None, pos
        items = []
        for _ in range(count):
            item, pos = _parse(buffer, pos)
            items.append(item)
        return items, pos
    if kind == 43:  # '+' simple string
        return bytes(line), pos
    if kind == 45:  # '-' error
        return ErrorReply(line.decode("utf-8", "replace")), pos
    raise RedisConnectionError(f"Redis sent a reply news-redis cannot read: {bytes(line)!r}")


class _Protocol(asyncio.Protocol):
    """One connection: FIFO of (future, deadline); replies resolve them in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float, where: str) -> None:
        self.loop = loop
        self.timeout = timeout
        self.where = where
        self.transport: asyncio.Transport | None = None
        self.pending: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.buffer = bytearray()
        self.closed: NewsRedisError | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        pos = 0
        pending = self.pending
        try:
            while pos < len(buffer):
                try:
                    reply, pos = _parse(buffer, pos)
                except _Incomplete:
                    break
                if not pending:
                    raise RedisConnectionError(f"{self.where} sent a reply nobody asked for")
                future, _deadline = pending.popleft()
                if not future.done():  # a cancelled caller's reply is dropped here
                    future.set_result(reply)
        except (NewsRedisError, ValueError) as exc:
            error = exc if isinstance(exc, NewsRedisError) else RedisConnectionError(str(exc))
            self.fail(error)
            return
        del buffer[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.fail(
            self.closed
            or RedisConnectionError(
                f"{self.where} closed the connection"
                + (f": {exc}" if exc else "")
                + "; check that it runs (it may have restarted)"
            )
        )

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        deadline = self.loop.time() + self.timeout
        self.pending.append((future, deadline))
        assert self.transport is not None
        self.transport.write(packed)
        if self.timer is None:
            self.timer = self.loop.call_at(deadline, self.watch)
        return future

    def watch(self) -> None:
        """The timer: fail everything when the oldest pending call is past its deadline."""
        self.timer = None
        pending = self.pending
        if not pending:
            return
        deadline = pending[0][1]
        if self.loop.time() >= deadline:
            self.fail(
                RedisTimeoutError(
                    f"{self.where} did not answer within {self.timeout:g}s (socket_timeout); "
                    "the server is overloaded, blocked (a slow script or command) or "
                    "unreachable"
                )
            )
            return
        self.timer = self.loop.call_at(deadline, self.watch)

    def fail(self, error: NewsRedisError) -> None:
        """Close the connection and fail every pending call with ``error``."""
        if self.closed is None:
            self.closed = error
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        while self.pending:
            future, _deadline = self.pending.popleft()
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: a cancelled caller's never warns
        if self.transport is not None:
            self.transport.abort()
            self.transport = None


class Wire:
    """One pipelined connection of a `Redis` client, opened on first use and after a loss."""

    __slots__ = ("_connecting", "_loop", "_protocol", "_settings", "_ssl", "_stopped", "where")

    def __init__(self, settings: RedisSettings) -> None:
        self._settings = settings
        self.where = f"Redis at {settings.address}"
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[_Protocol] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ssl: ssl.SSLContext | None = None
        self._stopped = False

    async def call(self, packed: bytes) -> Any:
        """Send one pre-encoded command; return its reply (an `ErrorReply` for ``-ERR``).

        Raises:
            RedisConnectionError, RedisTimeoutError, RedisClosedError.
        """
        protocol = self._protocol
        if protocol is None or protocol.closed is not None:
            protocol = await self._connect()
        return await protocol.send(packed)

    @property
    def pending(self) -> int:
        """Calls sent and not answered yet (cancelled ones included until their reply)."""
        protocol = self._protocol
        return len(protocol.pending) if protocol is not None else 0

    async def _connect(self) -> _Protocol:
        if self._stopped:
            raise RedisClosedError(f"{self.where}: the client is stopped")
        connecting = self._connecting
        if connecting is None:  # one connection attempt at a time; the others wait for it
            loop = asyncio.get_running_loop()
            connecting = self._connecting = loop.create_future()
            try:
                protocol = await self._open(loop)
            except BaseException as exc:
                error = exc if isinstance(exc, NewsRedisError) else RedisConnectionError(str(exc))
                connecting.set_exception(error)
                connecting.exception()
                raise
            finally:
                self._connecting = None
            self._protocol = protocol
            connecting.set_result(protocol)
            return protocol
        return await asyncio.shield(connecting)

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Protocol:
        settings = self._settings
        context = self._ssl_context() if settings.uses_tls else None
        try:
            async with asyncio.timeout(settings.connect_timeout):
                _transport, protocol = await loop.create_connection(
                    lambda: _Protocol(loop, settings.socket_timeout, self.where),
                    settings.server_host,
                    settings.server_port,
                    ssl=context,
                    server_hostname=settings.server_host if context is not None else None,
                )
                try:
                    await self._handshake(protocol)
                except BaseException:  # timed out or refused: never leave the socket open
                    protocol.fail(RedisConnectionError(f"{self.where}: handshake failed"))
                    raise
        except TimeoutError as exc:
            raise RedisTimeoutError(
                f"{self.where}: no connection within {settings.connect_timeout:g}s "
                "(connect_timeout); the server is unreachable or overloaded"
            ) from exc
        except OSError as exc:
            raise RedisConnectionError(
                f"{self.where} is unreachable: {exc}; check that it runs and that "
                "host/port/url are right"
            ) from exc
        return protocol

    async def _handshake(self, protocol: _Protocol) -> None:
        from news_redis._redispy import encode_command

        settings = self._settings
        commands: list[tuple[str, tuple[Any, ...]]] = []
        if settings.password:
            user = settings.user
            auth = (user, settings.password.reveal()) if user else (settings.password.reveal(),)
            commands.append(("AUTH", ("AUTH", *auth)))
        if settings.database:
            commands.append(("SELECT", ("SELECT", settings.database)))
        if settings.client_name:
            commands.append(("CLIENT SETNAME", ("CLIENT", "SETNAME", settings.client_name)))
        futures = [(name, protocol.send(encode_command(*args))) for name, args in commands]
        for name, future in futures:
            reply = await future
            if isinstance(reply, ErrorReply):
                protocol.fail(RedisConnectionError(f"{self.where} refused {name}: {reply}"))
                what = "the credentials" if name == "AUTH" else name
                raise RedisConnectionError(
                    f"{self.where} refused {what} ({reply}); check username and password"
                    if name == "AUTH"
                    else f"{self.where} refused {what}: {reply}"
                )

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            import ssl

            settings = self._settings
            context = ssl.create_default_context(cafile=settings.tls_ca_file)
            if settings.tls_cert_file:
                context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
            context.check_hostname = settings.tls_check_hostname
            self._ssl = context
        return self._ssl

    def close(self) -> None:
        """Close the connection; pending calls fail with `RedisClosedError`."""
        self._stopped = True
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.fail(RedisClosedError(f"{self.where}: the client was stopped"))
