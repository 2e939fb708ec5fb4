"""`Database`: a bounded asyncpg pool with typed errors, msgspec results and metrics.

Every call borrows a pooled connection for one statement (or a block: `Database.acquire`,
`Database.transaction`) and gives it back, also when the caller is cancelled: asyncpg then
cancels the statement on the server and the pool waits for that before the connection is
lent again. Waiting for a connection is always bounded (``acquire_timeout``).

Session reset: asyncpg's pool sends ``RESET ALL``, ``CLOSE ALL``, ``UNLISTEN *`` and
``pg_advisory_unlock_all()`` on every release: one more round trip per call. news-db's reset
also drops temporary tables (``DISCARD TEMP``). news-db sends it
only when session state may have changed: after every `acquire`/`transaction` block, and after
a one-statement call whose SQL visibly changes the session (``SET``, ``LISTEN``, advisory locks,
``set_config``, temporary tables, ``DECLARE``, ``PREPARE``, ``BEGIN``...). An open transaction
is always rolled back (asyncpg does that before lending the connection again).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

from news_db._codecs import decode_rows, init_connection
from news_db._connect import application_name, describe_target, pool_kwargs
from news_db._errors import (
    CommitUnknownError,
    DatabaseClosedError,
    DBConnectionError,
    NewsDBError,
    PoolTimeoutError,
    QueryError,
    QueryTimeoutError,
    RetryableTransactionError,
    translate,
)
from news_db._metrics import DBMetricsHook, PoolStats, resolve_metrics
from news_log import get_logger

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
    from types import TracebackType

    import asyncpg

    from news_db._settings import DatabaseSettings

__all__ = ["Connection", "Database", "IsolationLevel"]

T = TypeVar("T")
IsolationLevel = Literal["read_committed", "repeatable_read", "serializable"]

log = get_logger("news_db")

_RELEASE_TIMEOUT: Final = 10.0
# SQL that changes session state, which must not reach the next borrower. A false positive
# only costs the reset round trip; state changed where the SQL does not show it (inside a
# function) is the caller's to do in an acquire() block.
_SESSION_SQL: Final = re.compile(
    r"(?:^|;)\s*(?:set|reset|listen|unlisten|declare|prepare|discard|load|begin|start|lock)\b"
    r"|advisory|set_config|\btemp(?:orary)?\b|\bcursor\b",
    re.IGNORECASE,
)
_SESSION_CACHE: dict[str, bool] = {}


def _changes_session(query: str) -> bool:
    """True when a one-statement call's SQL may leave session state behind."""
    known = _SESSION_CACHE.get(query)
    if known is None:
        if len(_SESSION_CACHE) > 4096:  # dynamic SQL: keep the cache bounded
            _SESSION_CACHE.clear()
        known = _SESSION_CACHE[query] = _SESSION_SQL.search(query) is not None
    return known


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's ``reset``: nothing more than asyncpg's rollback (news-db resets when needed)."""


async def _reset_session(conn: asyncpg.Connection) -> None:
    """Roll back, run asyncpg's reset query and DISCARD TEMP; terminate what cannot be reset.

    asyncpg's reset query is RESET ALL, CLOSE ALL, UNLISTEN * and an advisory unlock; DISCARD
    TEMP drops the temporary tables it leaves behind.
    A connection that cannot be reset (broken, or the reset was cancelled) is terminated, so
    that it never goes back to the pool with another caller's session state.
    """
    try:
        async with asyncio.timeout(_RELEASE_TIMEOUT):
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
            await conn.execute(conn.get_reset_query() + "\nDISCARD TEMP;")
    except BaseException:
        conn.terminate()
        raise


_RETRY_BASE: Final = 0.02
_RETRY_MAX: Final = 1.0


def _error_class(error: BaseException) -> str:
    """The metrics label of a failure: SQLSTATE class, or a client-side kind."""
    if isinstance(error, PoolTimeoutError):
        return "pool"
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate:
        return str(sqlstate)[:2]
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionError):
        return "connection"
    return "client"


class Connection:
    """A pooled connection lent to a block (`Database.acquire`, `Database.transaction`).

    It has the query methods of `Database`, run on this one connection (so inside the
    transaction). ``raw`` is the asyncpg connection, for what news-db does not wrap (its
    errors are then asyncpg's own). Do not keep it past the block.
    """

    __slots__ = ("_db", "raw")

    def __init__(self, db: Database, raw: asyncpg.Connection) -> None:
        self._db = db
        self.raw = raw

    async def _call(
        self, method: str, operation: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        db = self._db
        hook = db._metrics
        started = time.perf_counter() if hook is not None else 0.0
        try:
            result = await getattr(self.raw, method)(*args, **kwargs)
        except Exception as exc:
            error = db._translate(exc, operation, kwargs.get("timeout"))
            if hook is not None:
                hook.observe(
                    db.name, operation or method, time.perf_counter() - started, _error_class(error)
                )
            if error is exc:
                raise
            raise error from exc
        if hook is not None:
            hook.observe(db.name, operation or method, time.perf_counter() - started, None)
        return result

    async def fetch(
        self,
        query: str,
        *args: Any,
        into: type[T] | None = None,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> list[Any]:
        """Run a query and return every row (Records, or ``into`` Struct instances)."""
        rows = await self._call("fetch", operation, (query, *args), {"timeout": timeout})
        return rows if into is None else decode_rows(into, rows)

    async def fetchrow(
        self,
        query: str,
        *args: Any,
        into: type[T] | None = None,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> Any:
        """Run a query and return its first row (a Record or an ``into`` instance), or None."""
        row = await self._call("fetchrow", operation, (query, *args), {"timeout": timeout})
        if row is None or into is None:
            return row
        return decode_rows(into, (row,))[0]

    async def fetchval(
        self,
        query: str,
        *args: Any,
        column: int = 0,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> Any:
        """Run a query and return one value of its first row (None when there is no row)."""
        return await self._call(
            "fetchval", operation, (query, *args), {"column": column, "timeout": timeout}
        )

    async def execute(
        self, query: str, *args: Any, timeout: float | None = None, operation: str | None = None
    ) -> str:
        """Run a statement; return its status tag (``INSERT 0 1``, ``UPDATE 3``...)."""
        status: str = await self._call("execute", operation, (query, *args), {"timeout": timeout})
        return status

    async def executemany(
        self,
        query: str,
        args: Iterable[Sequence[Any]],
        *,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> None:
        """Run a statement once per argument tuple, pipelined (atomic: all or none)."""
        await self._call("executemany", operation, (query, args), {"timeout": timeout})

    async def copy_records(
        self,
        table: str,
        records: Iterable[Sequence[Any]],
        *,
        columns: Sequence[str] | None = None,
        schema: str | None = None,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> int:
        """Bulk-load rows with COPY (binary); return how many were copied."""
        status: str = await self._call(
            "copy_records_to_table",
            operation,
            (table,),
            {"records": records, "columns": columns, "schema_name": schema, "timeout": timeout},
        )
        return int(status.rpartition(" ")[2] or 0)


class Database:
    """A PostgreSQL connection pool for one service: start it, query it, stop it.

    It fits news-http's ``app.manage(db)`` (``start``/``stop``/``health_check``) and works
    as an async context manager. Every query method borrows a connection for one statement;
    `acquire` lends one for a block, `transaction` for a transaction (retried on
    serialization failures and deadlocks when given a function).

    Args:
        settings: Connection, pool, TLS and migration settings.
        name: The service's name: ``application_name`` when the settings give none (shown in
            ``pg_stat_activity``) and the ``database`` label of the metrics.
        metrics: A `DBMetricsHook`; default per ``settings.metrics`` (news_db.metrics).
    """

    health_name = "postgres"
    """The readiness check name news-http gives this resource."""

    def __init__(
        self,
        settings: DatabaseSettings,
        *,
        name: str | None = None,
        metrics: DBMetricsHook | None = None,
    ) -> None:
        self.settings = settings
        self.name = application_name(settings, name)
        self._metrics = resolve_metrics(metrics, settings.metrics)
        self._pool: asyncpg.Pool | None = None
        self._max = settings.max_size
        self._busy = 0  # connections lent out or being acquired by news-db's callers
        self._waiting = 0
        self._starting: asyncio.Lock | None = None

    def __repr__(self) -> str:
        state = "running" if self._pool is not None else "stopped"
        return f"Database({describe_target(self.settings)!r}, {state})"

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between a successful `start` and `stop`."""
        return self._pool is not None

    async def start(self) -> None:
        """Open the pool (``min_size`` connections) and, if configured, apply migrations.

        Raises:
            DBConnectionError: The server cannot be reached or refused the login.
            DBConfigError: TLS files cannot be loaded.
            MigrationError: ``migrate_on_start`` and a migration failed.
        """
        if self._pool is not None:
            return
        import asyncpg

        kwargs = pool_kwargs(self.settings, self.name)
        target = describe_target(self.settings)
        try:
            async with asyncio.timeout(self.settings.connect_timeout + 5.0):
                pool = await asyncpg.create_pool(
                    init=init_connection, reset=_keep_session, **kwargs
                )
        except TimeoutError as exc:
            raise DBConnectionError(
                f"PostgreSQL at {target} did not accept connections within "
                f"{self.settings.connect_timeout:g}s (connect_timeout)"
            ) from exc
        except Exception as exc:
            error = translate(exc)
            if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError | OSError):
                raise DBConnectionError(
                    f"cannot connect to PostgreSQL at {target}: {type(exc).__name__}: {exc}",
                    sqlstate=getattr(error, "sqlstate", None),
                ) from exc
            raise
        self._pool = pool
        self._busy = self._waiting = 0
        if self._metrics is not None:
            self._metrics.watch_pool(self.name, self.pool_stats)
        log.info(
            "database pool started",
            target=target,
            min_size=self.settings.min_size,
            max_size=self.settings.max_size,
            application_name=self.name,
        )
        if self.settings.migrate_on_start and self.settings.migrations:
            from news_db._migrations import Migrations

            try:
                await Migrations(self.settings.migrations).apply(self)
            except BaseException:
                await self.stop()
                raise

    async def stop(self, timeout: float = 10.0) -> None:
        """Close the pool: wait up to ``timeout`` s for lent connections, then terminate them.

        Never raises; what it gave up on is logged.
        """
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._metrics is not None:
            self._metrics.unwatch_pool(self.name)
        try:
            async with asyncio.timeout(timeout):
                await pool.close()
        except BaseException as exc:
            log.warning(
                "database pool did not close in time; terminating its connections",
                timeout=timeout,
                in_use=self._busy,
                error=f"{type(exc).__name__}: {exc}",
            )
            pool.terminate()
            if isinstance(exc, asyncio.CancelledError):
                raise
        log.info("database pool stopped", target=describe_target(self.settings))

    async def __aenter__(self) -> Database:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- pool ----------------------------------------------------------------------------------

    def pool_stats(self) -> PoolStats:
        """The pool now: max size, open connections, lent out, idle, callers waiting."""
        pool = self._pool
        if pool is None:
            return PoolStats(self._max, 0, 0, 0, 0)
        size = pool.get_size()
        idle = pool.get_idle_size()
        return PoolStats(self._max, size, size - idle, idle, self._waiting)

    def _closed(self) -> DatabaseClosedError:
        return DatabaseClosedError(
            f"the Database ({describe_target(self.settings)}) is not running: await "
            "db.start() first (or app.manage(db)); it was never started or is stopped"
        )

    async def _acquire(self, timeout: float | None = None) -> asyncpg.Connection:
        pool = self._pool
        if pool is None:
            raise self._closed()
        self._busy += 1
        if self._busy <= self._max:
            # A holder is free in asyncpg's queue: taking it does not wait (connecting a new
            # one is bounded by connect_timeout), so no timer is armed on the fast path.
            try:
                conn: asyncpg.Connection = await pool.acquire()
            except BaseException as exc:
                self._busy -= 1
                raise self._acquire_error(exc) from exc
            return conn
        wait = self.settings.acquire_timeout if timeout is None else timeout
        self._waiting += 1
        try:
            async with asyncio.timeout(wait):
                conn = await pool.acquire()
        except TimeoutError as exc:
            self._busy -= 1
            stats = self.pool_stats()
            raise PoolTimeoutError(
                f"no PostgreSQL connection free within {wait:g}s (acquire_timeout): pool size "
                f"{self._max}, {stats.in_use} in use, {stats.waiting - 1} other callers "
                "waiting; raise max_size (and the server's max_connections), shorten "
                "transactions, or look for connections held across slow work",
                size=self._max,
                in_use=stats.in_use,
                waiting=stats.waiting - 1,
                timeout=wait,
            ) from exc
        except BaseException as exc:
            self._busy -= 1
            raise self._acquire_error(exc) from exc
        finally:
            self._waiting -= 1
        return conn

    def _acquire_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, NewsDBError | asyncio.CancelledError):
            return exc
        import asyncpg

        if isinstance(exc, asyncpg.InterfaceError) and "pool is closing" in str(exc):
            return self._closed()
        error = translate(exc)
        if error is None:
            return exc
        if isinstance(error, DBConnectionError):
            return DBConnectionError(
                f"cannot connect to PostgreSQL at {describe_target(self.settings)}: "
                f"{type(exc).__name__}: {exc}",
                sqlstate=error.sqlstate,
            )
        return error

    async def _release(self, conn: asyncpg.Connection, *, reset: bool = False) -> None:
        pool = self._pool
        try:
            if reset and pool is not None:
                with contextlib.suppress(Exception):  # terminated: the pool replaces it
                    await _reset_session(conn)
        finally:
            try:
                if pool is not None:
                    await pool.release(conn, timeout=_RELEASE_TIMEOUT)
                else:
                    conn.terminate()  # stop() ran meanwhile (and gave up waiting for it)
            except Exception:  # noqa: BLE001, S110 - asyncpg terminated it; the holder is back
                pass
            finally:
                self._busy -= 1

    def _translate(
        self, exc: BaseException, operation: str | None, timeout: float | None = None
    ) -> BaseException:
        if isinstance(exc, TimeoutError) and not isinstance(exc, NewsDBError):
            limit = self.settings.statement_timeout if timeout is None else timeout
            where = f" ({operation})" if operation else ""
            source = "statement_timeout" if timeout is None else "timeout="
            ran = f"{limit:g}s ({source})" if limit else "its time limit"
            return QueryTimeoutError(
                f"statement ran past {ran} and was cancelled on the server{where}"
            )
        return translate(exc, operation=operation) or exc

    # --- one-statement calls -------------------------------------------------------------------

    async def _run(
        self, method: str, operation: str | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        hook = self._metrics
        started = time.perf_counter() if hook is not None else 0.0
        try:
            conn = await self._acquire()
        except BaseException as exc:
            if hook is not None and isinstance(exc, NewsDBError):
                hook.observe(self.name, operation or method, time.perf_counter() - started, "pool")
            raise
        try:
            result = await getattr(conn, method)(*args, **kwargs)
        except Exception as exc:
            error = self._translate(exc, operation, kwargs.get("timeout"))
            if hook is not None:
                hook.observe(
                    self.name,
                    operation or method,
                    time.perf_counter() - started,
                    _error_class(error),
                )
            if error is exc:
                raise
            raise error from exc
        finally:
            query = args[0]
            await self._release(
                conn, reset=method != "copy_records_to_table" and _changes_session(query)
            )
        if hook is not None:
            hook.observe(self.name, operation or method, time.perf_counter() - started, None)
        return result

    async def fetch(
        self,
        query: str,
        *args: Any,
        into: type[T] | None = None,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> list[Any]:
        """Run a query and return every row.

        Args:
            query: SQL with ``$1, $2...`` placeholders.
            *args: The parameters (json/jsonb ones as Python values: dicts, lists, Structs).
            into: A msgspec Struct class: rows come back as its instances (columns by name).
            timeout: This call's statement timeout in seconds (default: statement_timeout).
            operation: A name for metrics and errors (``"articles.list"``), never SQL.

        Raises:
            QueryError: The server refused it (`UniqueViolationError`... by SQLSTATE).
            PoolTimeoutError: No connection free within acquire_timeout.
            DBConnectionError: The server cannot be reached or the connection was lost.
            ResultDecodeError: The rows do not fit ``into``.
        """
        rows = await self._run("fetch", operation, (query, *args), {"timeout": timeout})
        return rows if into is None else decode_rows(into, rows)

    async def fetchrow(
        self,
        query: str,
        *args: Any,
        into: type[T] | None = None,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> Any:
        """Run a query and return its first row (a Record, or an ``into`` instance), or None.

        Arguments and errors as `fetch`.
        """
        row = await self._run("fetchrow", operation, (query, *args), {"timeout": timeout})
        if row is None or into is None:
            return row
        return decode_rows(into, (row,))[0]

    async def fetchval(
        self,
        query: str,
        *args: Any,
        column: int = 0,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> Any:
        """Run a query and return one value (``column``) of its first row, None without rows."""
        return await self._run(
            "fetchval", operation, (query, *args), {"column": column, "timeout": timeout}
        )

    async def execute(
        self, query: str, *args: Any, timeout: float | None = None, operation: str | None = None
    ) -> str:
        """Run a statement (or, without arguments, several); return the status tag."""
        status: str = await self._run("execute", operation, (query, *args), {"timeout": timeout})
        return status

    async def executemany(
        self,
        query: str,
        args: Iterable[Sequence[Any]],
        *,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> None:
        """Run a statement once per argument tuple, pipelined; atomic (all rows or none)."""
        await self._run("executemany", operation, (query, args), {"timeout": timeout})

    async def copy_records(
        self,
        table: str,
        records: Iterable[Sequence[Any]],
        *,
        columns: Sequence[str] | None = None,
        schema: str | None = None,
        timeout: float | None = None,
        operation: str | None = None,
    ) -> int:
        """Bulk-load rows into ``table`` with binary COPY; return how many were copied."""
        status: str = await self._run(
            "copy_records_to_table",
            operation,
            (table,),
            {"records": records, "columns": columns, "schema_name": schema, "timeout": timeout},
        )
        return int(status.rpartition(" ")[2] or 0)

    # --- blocks --------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def acquire(self, *, timeout: float | None = None) -> AsyncIterator[Connection]:
        """Borrow one connection for a block (session state, several statements in a row).

        Args:
            timeout: The longest wait for a free connection (default: acquire_timeout).

        Raises:
            PoolTimeoutError: None became free in time; the message names the pool size, how
                many are in use and how many callers wait.
        """
        conn = await self._acquire(timeout)
        try:
            yield Connection(self, conn)
        finally:
            await self._release(conn, reset=True)

    @overload
    def transaction(
        self,
        fn: None = None,
        /,
        *,
        isolation: IsolationLevel | None = None,
        readonly: bool = False,
        deferrable: bool = False,
    ) -> contextlib.AbstractAsyncContextManager[Connection]: ...

    @overload
    def transaction(
        self,
        fn: Callable[[Connection], Awaitable[T]],
        /,
        *,
        isolation: IsolationLevel | None = None,
        readonly: bool = False,
        deferrable: bool = False,
        retries: int = 3,
    ) -> Awaitable[T]: ...

    def transaction(
        self,
        fn: Callable[[Connection], Awaitable[T]] | None = None,
        /,
        *,
        isolation: IsolationLevel | None = None,
        readonly: bool = False,
        deferrable: bool = False,
        retries: int = 3,
    ) -> contextlib.AbstractAsyncContextManager[Connection] | Awaitable[T]:
        """Run statements in one transaction; with a function, retry it on conflicts.

        ``async with db.transaction(isolation="serializable") as tx:`` runs the block once
        (a with block cannot be re-run): a conflict raises `RetryableTransactionError`.

        ``await db.transaction(fn, isolation="serializable", retries=5)`` calls
        ``await fn(tx)`` in a transaction and commits; on a serialization failure (40001)
        or deadlock (40P01), reported by any statement or by COMMIT (the server rolled the
        transaction back), it waits (exponential backoff with full jitter) and calls ``fn``
        again, up to ``retries`` more times. Nothing is re-run once the outcome of COMMIT is
        unknown (connection lost while committing: `CommitUnknownError`), nor after any other
        error. ``fn`` must only touch the database through ``tx`` (side effects elsewhere run
        once per attempt).

        Args:
            fn: The transaction's body, ``async def fn(tx: Connection) -> T``.
            isolation: ``read_committed`` (the server default), ``repeatable_read`` or
                ``serializable``.
            readonly: A READ ONLY transaction.
            deferrable: DEFERRABLE (with serializable and readonly: never fails to serialize).
            retries: Further attempts after a conflict (function form only).
        """
        if fn is None:
            return self._transaction_block(isolation, readonly, deferrable)
        return self._run_transaction(fn, isolation, readonly, deferrable, retries)

    async def _begin(
        self, isolation: IsolationLevel | None, readonly: bool, deferrable: bool
    ) -> tuple[asyncpg.Connection, Any]:
        conn = await self._acquire()
        try:
            tx = conn.transaction(isolation=isolation, readonly=readonly, deferrable=deferrable)
            await tx.start()
        except BaseException as exc:
            await self._release(conn, reset=True)
            if isinstance(exc, Exception):
                error = self._translate(exc, "begin")
                if error is not exc:
                    raise error from exc
            raise
        return conn, tx

    async def _commit(self, tx: Any) -> None:
        import asyncpg

        try:
            await tx.commit()
        except asyncpg.PostgresError as exc:
            error = self._translate(exc, "commit")
            if isinstance(error, DBConnectionError):
                raise CommitUnknownError(
                    f"connection lost while committing ({exc}): the transaction may or may "
                    "not have committed; it is not retried",
                    sqlstate=error.sqlstate,
                ) from exc
            raise error from exc
        except Exception as exc:
            raise CommitUnknownError(
                f"connection lost while committing ({type(exc).__name__}: {exc}): the "
                "transaction may or may not have committed; it is not retried"
            ) from exc

    @staticmethod
    async def _rollback(tx: Any) -> None:
        with contextlib.suppress(Exception):  # a broken connection rolled back by itself
            async with asyncio.timeout(_RELEASE_TIMEOUT):
                await tx.rollback()

    @contextlib.asynccontextmanager
    async def _transaction_block(
        self, isolation: IsolationLevel | None, readonly: bool, deferrable: bool
    ) -> AsyncIterator[Connection]:
        conn, tx = await self._begin(isolation, readonly, deferrable)
        try:
            try:
                yield Connection(self, conn)
            except BaseException:
                await self._rollback(tx)
                raise
            await self._commit(tx)
        finally:
            await self._release(conn, reset=True)

    async def _attempt(
        self,
        fn: Callable[[Connection], Awaitable[T]],
        isolation: IsolationLevel | None,
        readonly: bool,
        deferrable: bool,
    ) -> T:
        conn, tx = await self._begin(isolation, readonly, deferrable)
        try:
            try:
                result = await fn(Connection(self, conn))
            except BaseException as exc:
                await self._rollback(tx)
                if isinstance(exc, Exception) and not isinstance(exc, NewsDBError):
                    error = self._translate(exc, None)  # fn used tx.raw: asyncpg's errors
                    if isinstance(error, QueryError):
                        raise error from exc
                raise
            await self._commit(tx)
            return result
        finally:
            await self._release(conn, reset=True)

    async def _run_transaction(
        self,
        fn: Callable[[Connection], Awaitable[T]],
        isolation: IsolationLevel | None,
        readonly: bool,
        deferrable: bool,
        retries: int,
    ) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(fn, isolation, readonly, deferrable)
            except RetryableTransactionError as exc:
                if attempt > retries:
                    exc.attempts = attempt
                    raise
                delay = random.uniform(0, min(_RETRY_MAX, _RETRY_BASE * 2 ** (attempt - 1)))  # noqa: S311
                log.debug(
                    "transaction conflict, retrying",
                    sqlstate=exc.sqlstate,
                    attempt=attempt,
                    delay=round(delay, 4),
                )
                await asyncio.sleep(delay)

    # --- readiness -----------------------------------------------------------------------------

    async def health_check(self, timeout: float = 2.0) -> str:
        """Readiness: ``SELECT 1`` through the pool within ``timeout`` seconds.

        Returns a short output (connections in use of the pool size). Raises when the pool is
        not running, no connection is free in time (saturated: the message says so), or the
        server does not answer.
        """
        conn = await self._acquire(timeout)  # saturated: PoolTimeoutError says so
        try:
            async with asyncio.timeout(timeout):
                await conn.fetchval("SELECT 1")
        except TimeoutError as exc:
            raise DBConnectionError(
                f"PostgreSQL at {describe_target(self.settings)} did not answer SELECT 1 "
                f"within {timeout:g}s"
            ) from exc
        except Exception as exc:
            error = self._translate(exc, "health_check")
            if error is exc:
                raise
            raise error from exc
        finally:
            await self._release(conn)
        stats = self.pool_stats()
        return f"{stats.in_use}/{stats.max_size} connections in use, {stats.waiting} waiting"
