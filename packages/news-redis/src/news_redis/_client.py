"""`Redis`: a pooled asyncio client with timeouts, translated errors, metrics and a lifecycle.

It wraps redis-py's ``redis.asyncio.Redis`` over a bounded blocking pool. Long-lived: start it
once per process (``async with``, or ``app.manage(redis)`` in news-http, which also registers
`health_check` as a readiness check), share it, stop it at shutdown.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import TYPE_CHECKING, Any, ClassVar

import news_log
from news_redis import _redispy
from news_redis._errors import (
    NewsRedisError,
    PoolExhaustedError,
    RedisClosedError,
    RedisCommandError,
    RedisConfigError,
    RedisConnectionError,
    RedisTimeoutError,
)
from news_redis._metrics import resolve_metrics
from news_redis._settings import RedisSettings
from news_redis._wire import ErrorReply, Wire

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    import redis.asyncio

    from news_redis._metrics import RedisMetricsHook

__all__ = ["Pipeline", "Redis", "Script", "translate_error"]

_log = news_log.get_logger("news_redis")
perf_counter = time.perf_counter

Arg = str | bytes | int | float


def translate_error(exc: BaseException, settings: RedisSettings, command: str) -> NewsRedisError:
    """Turn a redis-py (or socket) error into the matching news-redis error (cause kept)."""
    from redis import exceptions

    where = f"Redis at {settings.address}"
    error: NewsRedisError
    if isinstance(exc, NewsRedisError):
        return exc
    if isinstance(exc, exceptions.AuthenticationError):
        error = RedisConnectionError(
            f"{where} refused the credentials ({exc}); check username and password"
        )
    elif isinstance(exc, exceptions.TimeoutError | TimeoutError):
        error = RedisTimeoutError(
            f"{where} did not answer {command} within {settings.socket_timeout:g}s "
            f"(socket_timeout) or connect within {settings.connect_timeout:g}s: "
            f"{str(exc) or 'timeout'}; "
            "the server is overloaded, blocked (a slow script or command) or unreachable"
        )
    elif isinstance(exc, exceptions.ConnectionError | OSError):
        error = RedisConnectionError(
            f"{where} is unreachable or dropped the connection during {command}: {exc}; "
            "check that it runs and that host/port/url are right"
        )
    elif isinstance(exc, exceptions.RedisError):
        error = RedisCommandError(f"{where} refused {command}: {exc}")
    else:
        error = RedisCommandError(f"{where}: {command} failed: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def _make_pool(settings: RedisSettings) -> Any:
    """Build the bounded blocking pool (redis-py is imported here, not by ``import news_redis``)."""
    from redis import exceptions
    from redis.asyncio import BlockingConnectionPool
    from redis.asyncio.connection import Connection, SSLConnection
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    class Pool(BlockingConnectionPool):
        """The blocking pool, counting connections in use, naming exhaustion clearly."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.held: set[int] = set()

        async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
            try:
                connection = await super().get_connection()  # type: ignore[no-untyped-call]
            except exceptions.ConnectionError as exc:
                if isinstance(exc.__cause__, TimeoutError):
                    raise PoolExhaustedError(
                        f"Redis pool exhausted: all {settings.pool_size} connections to "
                        f"{settings.address} stayed busy for {settings.pool_timeout:g}s "
                        "(pool_timeout); raise pool_size or find the slow commands"
                    ) from exc
                raise
            self.held.add(id(connection))
            return connection

        async def release(self, connection: Any) -> None:
            self.held.discard(id(connection))
            await super().release(connection)

    kwargs: dict[str, Any] = {
        "host": settings.server_host,
        "port": settings.server_port,
        "db": settings.database,
        "username": settings.user,
        "password": settings.password.reveal() if settings.password else None,
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.socket_timeout,
        "health_check_interval": settings.health_check_interval,
        "client_name": settings.client_name or None,
        "retry": Retry(NoBackoff(), 0),  # no silent retries: callers decide (idempotence)
        "max_connections": settings.pool_size,
        "timeout": settings.pool_timeout,
        "connection_class": Connection,
    }
    if settings.uses_tls:
        kwargs["connection_class"] = SSLConnection
        kwargs["ssl_ca_certs"] = settings.tls_ca_file
        kwargs["ssl_certfile"] = settings.tls_cert_file
        kwargs["ssl_keyfile"] = settings.tls_key_file
        kwargs["ssl_check_hostname"] = settings.tls_check_hostname
    return Pool(**kwargs)


class Script:
    """A Lua script run with ``EVALSHA`` (loaded with ``EVAL`` when Redis does not know it).

    Made by `Redis.script`; call it with the keys and the arguments::

        incr_by = redis.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        value = await incr_by(["counter"], [5])
    """

    __slots__ = ("_heads", "_redis", "name", "sha", "source")

    def __init__(self, redis: Redis, source: str, *, name: str = "EVALSHA") -> None:
        self._redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self.name = name
        self._heads: dict[tuple[int, int], bytes] = {}

    def evalsha_command(self, keys: Sequence[Arg], args: Sequence[Arg]) -> bytes:
        """The EVALSHA command for ``keys`` and ``args``, encoded (its start cached per arity)."""
        arity = (len(keys), len(args))
        head = self._heads.get(arity)
        if head is None:
            head = self._heads[arity] = _redispy.encode_command(
                "EVALSHA", self.sha, len(keys)
            ).replace(b"*3\r\n", b"*%d\r\n" % (3 + len(keys) + len(args)), 1)
        return _redispy.encode_tail(head, (*keys, *args))

    async def __call__(self, keys: Sequence[Arg] = (), args: Sequence[Arg] = ()) -> Any:
        """Run the script; return its reply (Lua tables come back as lists).

        Raises:
            RedisClosedError, RedisUnavailableError, RedisCommandError (a Lua error).
        """
        return await self._redis.run_script(self, keys, args)

    def __repr__(self) -> str:
        return f"Script(sha={self.sha[:12]}..., name={self.name!r})"


class Pipeline:
    """Commands sent together in one round trip (a ``MULTI``/``EXEC`` transaction by default).

    Made by `Redis.pipeline`::

        pipe = redis.pipeline()
        pipe.command("INCR", "hits")
        pipe.command("EXPIRE", "hits", 60)
        hits, _ = await pipe.execute()
    """

    __slots__ = ("_commands", "_redis", "_transaction")

    def __init__(self, redis: Redis, *, transaction: bool) -> None:
        self._redis = redis
        self._transaction = transaction
        self._commands: list[tuple[Arg, ...]] = []

    def command(self, *args: Arg) -> Pipeline:
        """Queue one command (``"SET", "k", "v"``); returns the pipeline for chaining."""
        if not args:
            raise ValueError("a command needs at least its name")
        self._commands.append(args)
        return self

    def __len__(self) -> int:
        return len(self._commands)

    async def execute(self) -> list[Any]:
        """Send the queued commands; return their replies in order, and clear the queue.

        Raises:
            RedisCommandError: A command was refused (the transaction, if any, did not run).
            RedisClosedError, RedisUnavailableError.
        """
        commands, self._commands = self._commands, []
        if not commands:
            return []
        client = self._redis.client
        redis = self._redis
        started = perf_counter()
        name = "MULTI" if self._transaction else "PIPELINE"
        try:
            async with client.pipeline(transaction=self._transaction) as pipe:
                for args in commands:
                    pipe.execute_command(*args)
                replies: list[Any] = await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - translated, raised with its cause
            error = redis.failed(exc, name)
            raise error from error.__cause__
        redis.observe(name, started)
        return replies


class Redis:
    """A pooled Redis client for one service process.

    Example::

        redis = news_redis.Redis(news_redis.RedisSettings(url="redis://cache:6379/0"))
        async with redis:
            await redis.set("greeting", b"hello", ttl=60)
            assert await redis.get("greeting") == b"hello"

    With news-http, ``app.manage(redis)`` starts it before serving, stops it after the drain
    and adds its readiness check (named ``redis``, or the ``name`` given).

    Args:
        settings: Connection, pool and timeout settings (defaults: 127.0.0.1:6379/0).
        name: The client's name in logs, metrics and its readiness check.
        metrics: A metrics hook; by default news-metrics' ``RedisMetrics`` when installed
            (``settings.metrics``), ``NoopMetrics()`` for none.

    Raises:
        RedisConfigError: ``metrics="on"`` without news-metrics, or an empty name.
    """

    health_name: ClassVar[str] = "redis"
    """The name news-http gives the readiness check when ``app.manage`` is not given one."""

    def __init__(
        self,
        settings: RedisSettings | None = None,
        *,
        name: str = "redis",
        metrics: RedisMetricsHook | None = None,
    ) -> None:
        if not name:
            raise RedisConfigError("Redis(name=...) must not be empty")
        self.settings = settings or RedisSettings()
        self.name = name
        self._metrics = resolve_metrics(metrics, self.settings.metrics)
        self._client: redis.asyncio.Redis | None = None
        self._pool: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wire: Wire | None = None
        self._closing = False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Redis({self.settings.address!r}, db={self.settings.database}, {state})"

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the client is started and not stopped."""
        return self._client is not None and not self._closing

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the client was started on (its connections belong to it)."""
        return self._loop

    async def start(self) -> None:
        """Create the pool; with ``start_check`` (default), PING the server once.

        Raises:
            RedisUnavailableError: ``start_check`` is on and Redis did not answer (the message
                names the address and the cause).
        """
        if self._client is not None:
            return
        from redis.asyncio import Redis as RedisPy

        pool = _make_pool(self.settings)
        self._pool = pool
        self._client = RedisPy(connection_pool=pool)
        self._wire = Wire(self.settings) if _redispy.fast_paths() else None
        self._loop = asyncio.get_running_loop()
        self._closing = False
        if self._metrics is not None:
            self._metrics.pool(self.name, self.settings.pool_size, self.in_use)
        if self.settings.start_check:
            try:
                await self.execute("PING")
            except NewsRedisError:
                await self._close(2.0)
                raise
        _log.info(
            "redis client started",
            client=self.name,
            address=self.settings.address,
            db=self.settings.database,
            pool_size=self.settings.pool_size,
            tls=self.settings.uses_tls,
        )

    async def stop(self, timeout: float = 5.0) -> None:
        """Close every connection (in-flight commands fail); bounded by ``timeout`` seconds.

        Never raises: what could not be closed in time is logged.
        """
        if self._client is None:
            return
        self._closing = True
        await self._close(timeout)
        _log.info("redis client stopped", client=self.name, address=self.settings.address)

    async def _close(self, timeout: float) -> None:
        client, pool, wire = self._client, self._pool, self._wire
        self._client = None
        self._pool = None
        self._wire = None
        if wire is not None:
            wire.close()
        try:
            async with asyncio.timeout(timeout):
                if client is not None:
                    await client.aclose()
                if pool is not None:
                    await pool.disconnect()
        except BaseException as exc:
            _log.warning(
                "redis client did not close cleanly; connections dropped",
                client=self.name,
                address=self.settings.address,
                error=f"{type(exc).__name__}: {exc}",
            )
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._closing = False

    async def __aenter__(self) -> Redis:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def health_check(self) -> str:
        """Readiness: a PING that must answer within the timeouts; returns its round trip.

        Raises:
            RedisClosedError: The client is not started.
            RedisUnavailableError: Redis did not answer.
        """
        started = perf_counter()
        await self.execute("PING")
        return f"PONG in {(perf_counter() - started) * 1000:.1f} ms"

    # -- state ----------------------------------------------------------------------------------

    @property
    def client(self) -> redis.asyncio.Redis:
        """The underlying ``redis.asyncio.Redis`` (its errors are redis-py's, untranslated).

        Raises:
            RedisClosedError: The client is not started.
        """
        client = self._client
        if client is None:
            raise self._closed()
        return client

    def in_use(self) -> int:
        """Connections lent out right now (0 when stopped)."""
        pool = self._pool
        return len(pool.held) if pool is not None else 0

    def open_connections(self) -> int | None:
        """Connections open right now, idle or in use (None when it cannot be read)."""
        pool = self._pool
        if pool is None:
            return 0
        return _redispy.open_connections(pool)

    def _closed(self) -> RedisClosedError:
        return RedisClosedError(
            f"Redis client {self.name!r} is not running: start() it first (async with, or "
            "app.manage(redis)); it was stopped or never started"
        )

    # -- commands -------------------------------------------------------------------------------

    def failed(self, exc: BaseException, command: str) -> NewsRedisError:
        """Translate ``exc`` and count it (for the package's own callers)."""
        error = translate_error(exc, self.settings, command)
        metrics = self._metrics
        if metrics is not None:
            try:
                metrics.command_failed(self.name, command, type(error).__name__)
            except Exception:  # noqa: BLE001 - metrics never break a command
                _log.exception("redis metrics hook failed")
        return error

    def observe(self, command: str, started: float) -> None:
        """Record a command's latency (for the package's own callers)."""
        metrics = self._metrics
        if metrics is not None:
            try:
                metrics.command(self.name, command, perf_counter() - started)
            except Exception:  # noqa: BLE001 - metrics never break a command
                _log.exception("redis metrics hook failed")

    async def execute(self, *args: Arg) -> Any:
        """Run any command (``"HSET", "h", "f", "v"``); return redis-py's parsed reply.

        Raises:
            RedisClosedError: The client is not started.
            RedisConnectionError: Redis is unreachable or the connection broke.
            RedisTimeoutError: No answer within ``socket_timeout``.
            PoolExhaustedError: No free connection within ``pool_timeout``.
            RedisCommandError: Redis answered with an error.
        """
        client = self._client
        if client is None:
            raise self._closed()
        name = str(args[0]).upper() if args else "?"
        started = perf_counter()
        try:
            reply = await client.execute_command(*args)  # type: ignore[no-untyped-call]
        except Exception as exc:  # noqa: BLE001 - translated, raised with its cause
            error = self.failed(exc, name)
            raise error from error.__cause__
        self.observe(name, started)
        return reply

    async def ping(self) -> bool:
        """PING the server; True when it answered."""
        return bool(await self.execute("PING"))

    async def get(self, key: str | bytes) -> bytes | None:
        """The value of ``key`` (bytes), or None when it does not exist."""
        value: bytes | None = await self.execute("GET", key)
        return value

    async def set(
        self,
        key: str | bytes,
        value: Arg,
        *,
        ttl: float | None = None,
        only_if_absent: bool = False,
    ) -> bool:
        """Set ``key`` to ``value``, expiring after ``ttl`` seconds when given.

        Returns:
            True when it was set; False when ``only_if_absent`` and the key existed.
        """
        args: list[Arg] = ["SET", key, value]
        if ttl is not None:
            if not ttl > 0:
                raise ValueError(f"ttl must be > 0 seconds, not {ttl!r}")
            args += ["PX", max(1, round(ttl * 1000))]
        if only_if_absent:
            args.append("NX")
        return bool(await self.execute(*args))

    async def delete(self, *keys: str | bytes) -> int:
        """Delete ``keys``; return how many existed."""
        if not keys:
            return 0
        count: int = await self.execute("DEL", *keys)
        return count

    def script(self, source: str, *, name: str = "EVALSHA") -> Script:
        """Make a `Script` of Lua ``source`` (``name``: its label in metrics)."""
        return Script(self, source, name=name)

    def pipeline(self, *, transaction: bool = True) -> Pipeline:
        """Make a `Pipeline`: queued commands sent in one round trip (MULTI/EXEC by default)."""
        return Pipeline(self, transaction=transaction)

    async def run_script(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        """Run ``script`` with ``keys`` and ``args`` (what calling a `Script` does)."""
        pool = self._pool
        client = self._client
        if pool is None or client is None:
            raise self._closed()
        started = perf_counter()
        wire = self._wire
        try:
            if wire is not None:
                reply = await wire.call(script.evalsha_command(keys, args))
                if isinstance(reply, ErrorReply) and reply.startswith("NOSCRIPT"):
                    # EVAL runs it and loads it for the next EVALSHA
                    reply = await wire.call(
                        _redispy.encode_command("EVAL", script.source, len(keys), *keys, *args)
                    )
                if isinstance(reply, ErrorReply):
                    raise RedisCommandError(  # noqa: TRY301 - counted and raised below
                        f"Redis at {self.settings.address} refused {script.name}: {reply}"
                    )
            else:
                from redis.exceptions import NoScriptError

                try:
                    reply = await client.evalsha(script.sha, len(keys), *keys, *args)
                except NoScriptError:
                    reply = await client.eval(script.source, len(keys), *keys, *args)
        except Exception as exc:  # noqa: BLE001 - translated, raised with its cause
            error = self.failed(exc, script.name)
            raise error from error.__cause__
        self.observe(script.name, started)
        return reply
