"""The errors news-db raises, all under one root.

::

    NewsDBError
    ├── DBConfigError (also ValueError)          bad settings, found when built or at start()
    ├── DatabaseClosedError (also RuntimeError)  a call before start() or after stop()
    ├── PoolTimeoutError (also TimeoutError)     no connection within acquire_timeout (names
    │                                            the pool size, how many are in use and waiting)
    ├── DBConnectionError (also ConnectionError) cannot connect, or the connection was lost
    │   └── CommitUnknownError                   lost while COMMIT was in flight: the outcome
    │                                            is unknown, the block is never re-run
    ├── QueryError                               the server refused a statement (.sqlstate)
    │   ├── QueryTimeoutError (also TimeoutError) statement_timeout (or a server-side one) hit
    │   ├── IntegrityError                       class 23: .constraint, .table, .detail
    │   │   ├── UniqueViolationError             23505 -> HTTP 409 in a service
    │   │   ├── ForeignKeyViolationError         23503 -> HTTP 409/422
    │   │   ├── CheckViolationError              23514 -> HTTP 422
    │   │   └── NotNullViolationError            23502 -> HTTP 422
    │   ├── RetryableTransactionError            40001 serialization failure, 40P01 deadlock
    │   │                                        (retried by transaction(..., retries=N))
    │   └── StatementCacheError                  a prepared statement clash behind PgBouncer in
    │                                            transaction mode: set statement_cache_size=0
    ├── ResultDecodeError (also TypeError)       a row does not fit the requested Struct
    └── MigrationError                           a migration failed or cannot be applied
        └── MigrationChecksumError               an applied file was edited afterwards

asyncpg's errors are translated at the boundary (`translate`) and kept as ``__cause__``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CheckViolationError",
    "CommitUnknownError",
    "DBConfigError",
    "DBConnectionError",
    "DatabaseClosedError",
    "ForeignKeyViolationError",
    "IntegrityError",
    "MigrationChecksumError",
    "MigrationError",
    "NewsDBError",
    "NotNullViolationError",
    "PoolTimeoutError",
    "QueryError",
    "QueryTimeoutError",
    "ResultDecodeError",
    "RetryableTransactionError",
    "StatementCacheError",
    "UniqueViolationError",
    "translate",
]


class NewsDBError(Exception):
    """Root of every error raised by news-db."""


class DBConfigError(NewsDBError, ValueError):
    """The settings are invalid or inconsistent; the message names the field and the fix."""


class DatabaseClosedError(NewsDBError, RuntimeError):
    """The `Database` is not running: a call before ``start()`` or after ``stop()``."""


class PoolTimeoutError(NewsDBError, TimeoutError):
    """No pooled connection became free within ``acquire_timeout``.

    Attributes:
        size: The pool's maximum size.
        in_use: Connections held by callers when the wait ended.
        waiting: Other callers still waiting for a connection.
        timeout: The time waited, in seconds.
    """

    def __init__(
        self, message: str, *, size: int, in_use: int, waiting: int, timeout: float
    ) -> None:
        super().__init__(message)
        self.size = size
        self.in_use = in_use
        self.waiting = waiting
        self.timeout = timeout


class DBConnectionError(NewsDBError, ConnectionError):
    """The server cannot be reached, refused the connection, or the connection was lost.

    A statement that fails this way may or may not have run (a write whose acknowledgement was
    lost); inside a transaction, the transaction was rolled back by the server.

    Attributes:
        sqlstate: The SQLSTATE the server sent (``57P01`` admin shutdown...), else None.
    """

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class CommitUnknownError(DBConnectionError):
    """The connection was lost while COMMIT was in flight: it may or may not have committed.

    `Database.transaction` never re-runs the block after this (it could apply twice); make the
    block idempotent or check its effect before trying again.
    """


class QueryError(NewsDBError):
    """The server refused a statement.

    Attributes:
        sqlstate: The five-character SQLSTATE (``23505``...), None for client-side errors.
        detail: The server's DETAIL line, if any.
        constraint: The constraint involved (integrity errors), else None.
        table: The table involved, if the server named one.
        column: The column involved, if the server named one.
    """

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        detail: str | None = None,
        constraint: str | None = None,
        table: str | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.detail = detail
        self.constraint = constraint
        self.table = table
        self.column = column


class QueryTimeoutError(QueryError, TimeoutError):
    """A statement ran past ``statement_timeout`` (cancelled on the server), or a server limit."""


class IntegrityError(QueryError):
    """An integrity constraint refused a write (SQLSTATE class 23); ``constraint`` names it."""


class UniqueViolationError(IntegrityError):
    """A unique or primary key constraint refused a duplicate (23505): usually HTTP 409."""


class ForeignKeyViolationError(IntegrityError):
    """A foreign key refused a missing or still-referenced row (23503)."""


class CheckViolationError(IntegrityError):
    """A CHECK constraint refused a value (23514): usually HTTP 422."""


class NotNullViolationError(IntegrityError):
    """A NOT NULL column got no value (23502); ``column`` names it."""


class RetryableTransactionError(QueryError):
    """A serialization failure (40001) or deadlock (40P01): the transaction was rolled back.

    Running the whole transaction again usually succeeds: ``db.transaction(fn, retries=N)``
    does it with backoff. Raised when the retries are used up (``attempts`` says how many).
    """

    attempts: int = 1


class StatementCacheError(QueryError):
    """A prepared-statement clash, typical of PgBouncer in transaction mode.

    PgBouncer (before 1.21, or without ``max_prepared_statements``) hands each transaction
    to any server connection, so asyncpg's cached prepared statements collide or vanish.
    Set ``statement_cache_size=0`` (``..._DB__STATEMENT_CACHE_SIZE=0``).
    """


class ResultDecodeError(NewsDBError, TypeError):
    """A row does not fit the Struct it was to be decoded into (missing or mistyped column)."""


class MigrationError(NewsDBError):
    """A migration file is malformed, failed to apply, or the history disagrees with the files."""


class MigrationChecksumError(MigrationError):
    """An applied migration file was changed afterwards; ``name`` is the file.

    Applied migrations are history: restore the file and add a new migration instead.
    """

    def __init__(self, message: str, *, name: str) -> None:
        super().__init__(message)
        self.name = name


_INTEGRITY: Final[dict[str, type[IntegrityError]]] = {
    "23505": UniqueViolationError,
    "23503": ForeignKeyViolationError,
    "23514": CheckViolationError,
    "23502": NotNullViolationError,
}
RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})
_CONNECTION_SQLSTATES: Final = frozenset({"57P01", "57P02", "57P03", "53300"})
_CACHE_SQLSTATES: Final = frozenset({"42P05", "26000"})  # duplicate / unknown prepared statement
_CACHE_HINT: Final = (
    "; behind PgBouncer in transaction mode set statement_cache_size=0 "
    "(env ..._DB__STATEMENT_CACHE_SIZE=0): asyncpg's prepared statements do not survive "
    "PgBouncer switching server connections"
)


def translate(  # noqa: PLR0911 - one verdict per error kind
    exc: BaseException, *, operation: str | None = None
) -> NewsDBError | None:
    """Return the news-db error for an asyncpg/OS error, or None when it is not one of those.

    The caller raises the result ``from exc``. ``operation`` (a caller-given name) is added to
    the message when given.
    """
    import asyncpg

    where = f" ({operation})" if operation else ""
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate: str | None = getattr(exc, "sqlstate", None)
        message = f"{exc}{where}"
        if sqlstate is None:  # pragma: no cover - every server error carries one
            return QueryError(message)
        fields = {
            "sqlstate": sqlstate,
            "detail": getattr(exc, "detail", None),
            "constraint": getattr(exc, "constraint_name", None),
            "table": getattr(exc, "table_name", None),
            "column": getattr(exc, "column_name", None),
        }
        if sqlstate in _INTEGRITY:
            constraint = fields["constraint"]
            if constraint:
                message = f"{exc} (constraint {constraint}){where}"
            return _INTEGRITY[sqlstate](message, **fields)
        if sqlstate.startswith("23"):
            return IntegrityError(message, **fields)
        if sqlstate in RETRYABLE_SQLSTATES:
            return RetryableTransactionError(message, **fields)
        if sqlstate == "57014":
            return QueryTimeoutError(f"statement cancelled on the server: {exc}{where}", **fields)
        text = str(exc)
        if (sqlstate in _CACHE_SQLSTATES and "prepared statement" in text) or (
            sqlstate == "08P01" and "bind message" in text  # a name reused for another statement
        ):
            return StatementCacheError(f"{exc}{where}{_CACHE_HINT}", **fields)
        if sqlstate.startswith("08") or sqlstate in _CONNECTION_SQLSTATES:
            return DBConnectionError(f"PostgreSQL connection lost: {exc}{where}", sqlstate=sqlstate)
        return QueryError(message, **fields)
    if isinstance(exc, asyncpg.InterfaceError) and "another operation is in progress" in str(exc):
        return None  # a programming error: let it through untranslated
    if isinstance(
        exc,
        OSError | asyncpg.exceptions.ConnectionDoesNotExistError | asyncpg.InternalClientError,
    ) or (isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc)):
        return DBConnectionError(
            f"PostgreSQL connection failed: {type(exc).__name__}: {exc}{where}"
        )
    return None
