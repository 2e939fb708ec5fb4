"""PostgreSQL for news platform services, on asyncpg.

A bounded pool with typed errors and msgspec results::

    import news_db

    settings = news_db.DatabaseSettings(host="db.internal", database="newsroom")
    async with news_db.Database(settings, name="newsroom") as db:  # or app.manage(db)
        article = await db.fetchrow("SELECT id, title FROM articles WHERE id = $1", 7, into=Article)
        try:
            await db.execute("INSERT INTO articles (id, title) VALUES ($1, $2)", 7, "Hi")
        except news_db.UniqueViolationError as exc:
            ...  # exc.constraint == "articles_pkey": answer 409

        async def transfer(tx: news_db.Connection) -> None:
            await tx.execute("UPDATE accounts SET balance = balance - 10 WHERE id = 1")
            await tx.execute("UPDATE accounts SET balance = balance + 10 WHERE id = 2")

        await db.transaction(transfer, isolation="serializable", retries=5)

Migrations: ``NNNN_name.sql`` files, `Migrations(folder).apply(db)`, ``python -m news_db
migrate``, or ``migrate_on_start``. Errors derive from `NewsDBError` (tree in
``news_db._errors``). Extras: ``news_db.metrics`` (Prometheus), ``news_db.health``.
"""

from __future__ import annotations

from news_db.__about__ import __version__
from news_db._codecs import decode_rows
from news_db._database import Connection, Database, IsolationLevel
from news_db._errors import (
    CheckViolationError,
    CommitUnknownError,
    DatabaseClosedError,
    DBConfigError,
    DBConnectionError,
    ForeignKeyViolationError,
    IntegrityError,
    MigrationChecksumError,
    MigrationError,
    NewsDBError,
    NotNullViolationError,
    PoolTimeoutError,
    QueryError,
    QueryTimeoutError,
    ResultDecodeError,
    RetryableTransactionError,
    StatementCacheError,
    UniqueViolationError,
)
from news_db._metrics import DBMetricsHook, NoopMetrics, PoolStats
from news_db._migrations import Migration, Migrations, MigrationState
from news_db._settings import DatabaseSettings, TLSSettings

# Tracebacks and reprs name the public home (news_db.UniqueViolationError), not the module.
# Not the settings Structs: msgspec resolves their annotations in their own module.
for _public in (
    CheckViolationError,
    CommitUnknownError,
    Connection,
    DBConfigError,
    DBConnectionError,
    Database,
    DatabaseClosedError,
    ForeignKeyViolationError,
    IntegrityError,
    Migration,
    MigrationChecksumError,
    MigrationError,
    MigrationState,
    Migrations,
    NewsDBError,
    NoopMetrics,
    NotNullViolationError,
    PoolStats,
    PoolTimeoutError,
    QueryError,
    QueryTimeoutError,
    ResultDecodeError,
    RetryableTransactionError,
    StatementCacheError,
    UniqueViolationError,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "CheckViolationError",
    "CommitUnknownError",
    "Connection",
    "DBConfigError",
    "DBConnectionError",
    "DBMetricsHook",
    "Database",
    "DatabaseClosedError",
    "DatabaseSettings",
    "ForeignKeyViolationError",
    "IntegrityError",
    "IsolationLevel",
    "Migration",
    "MigrationChecksumError",
    "MigrationError",
    "MigrationState",
    "Migrations",
    "NewsDBError",
    "NoopMetrics",
    "NotNullViolationError",
    "PoolStats",
    "PoolTimeoutError",
    "QueryError",
    "QueryTimeoutError",
    "ResultDecodeError",
    "RetryableTransactionError",
    "StatementCacheError",
    "TLSSettings",
    "UniqueViolationError",
    "__version__",
    "decode_rows",
]
