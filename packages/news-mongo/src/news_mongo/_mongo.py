"""`Mongo`: pymongo's ``AsyncMongoClient`` for one service: lifecycle, collections, transactions.

The client is made in `Mongo.start`, on the running event loop: pymongo's asyncio client
belongs to the loop that made it (a client made at import time, or in another test's loop,
fails in confusing ways). A `Mongo` can be started again after `stop`, on another loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import time
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from pymongo.errors import PyMongoError, WaitQueueTimeoutError

from news_log import get_logger
from news_mongo._collection import Collection
from news_mongo._errors import (
    CommitUnknownError,
    MongoClosedError,
    MongoConnectionError,
    PoolTimeoutError,
    TransactionConflictError,
    error_labels,
    translate,
)
from news_mongo._metrics import MongoMetricsHook, PoolStats, resolve_metrics
from news_mongo._monitor import CommandMonitor, PoolCounter

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence
    from types import TracebackType

    from pymongo.asynchronous.client_session import AsyncClientSession
    from pymongo.asynchronous.database import AsyncDatabase
    from pymongo.asynchronous.mongo_client import AsyncMongoClient

    from news_mongo._indexes import Index
    from news_mongo._settings import MongoSettings

__all__ = ["Mongo", "Transaction", "client_options"]

T = TypeVar("T")
D = TypeVar("D")

log = get_logger("news_mongo")

_RETRY_BASE: Final = 0.005
_RETRY_MAX: Final = 0.5
_STOP_TIMEOUT: Final = 10.0
TRANSIENT: Final = "TransientTransactionError"
UNKNOWN_COMMIT: Final = "UnknownTransactionCommitResult"


def _app_name(settings: MongoSettings, name: str | None) -> str:
    if settings.app_name:
        return settings.app_name
    if name:
        return name
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return program.removesuffix(".py") or "news-mongo"


def client_options(settings: MongoSettings, app_name: str) -> dict[str, Any]:
    """The ``AsyncMongoClient`` keyword arguments for these settings (without listeners)."""
    options: dict[str, Any] = {
        "appname": app_name,
        "minPoolSize": settings.min_pool_size,
        "maxPoolSize": settings.max_pool_size,
        "waitQueueTimeoutMS": int(settings.pool_timeout * 1000),
        "serverSelectionTimeoutMS": int(settings.server_selection_timeout * 1000),
        "connectTimeoutMS": int(settings.connect_timeout * 1000),
        "socketTimeoutMS": (
            None if settings.socket_timeout is None else int(settings.socket_timeout * 1000)
        ),
        "maxIdleTimeMS": int(settings.max_idle_time * 1000) or None,
        "readPreference": settings.read_preference,
        "retryWrites": settings.retry_writes,
        "retryReads": settings.retry_reads,
        "tz_aware": True,
        "uuidRepresentation": "standard",
    }
    if settings.read_concern is not None:
        options["readConcernLevel"] = settings.read_concern
    if settings.write_concern is not None:
        w = settings.write_concern
        options["w"] = int(w) if w.isdigit() else w
    if settings.journal is not None:
        options["journal"] = settings.journal
    if settings.write_timeout is not None:
        options["wTimeoutMS"] = int(settings.write_timeout * 1000)
    if settings.direct_connection is not None:
        options["directConnection"] = settings.direct_connection
    tls = settings.tls
    if tls.enabled is not None:
        options["tls"] = tls.enabled
    if tls.ca_file:
        options["tlsCAFile"] = tls.ca_file
    if tls.cert_key_file:
        options["tlsCertificateKeyFile"] = tls.cert_key_file
    if tls.cert_key_password is not None:
        options["tlsCertificateKeyFilePassword"] = tls.cert_key_password.reveal()
    if tls.allow_invalid_hostnames:
        options["tlsAllowInvalidHostnames"] = True
    if tls.allow_invalid_certificates:
        options["tlsAllowInvalidCertificates"] = True
    return options


class Transaction:
    """A running transaction, handed to the body of `Mongo.transaction`.

    Attributes:
        session: pymongo's ``AsyncClientSession`` (pass it as ``session=`` to raw calls).
        attempt: Which run of the body this is (1 on the first).
    """

    __slots__ = ("_mongo", "attempt", "session")

    def __init__(self, mongo: Mongo, session: AsyncClientSession, attempt: int) -> None:
        self._mongo = mongo
        self.session = session
        self.attempt = attempt

    @overload
    def collection(self, name: str) -> Collection[dict[str, Any]]: ...
    @overload
    def collection(self, name: str, document_type: type[D]) -> Collection[D]: ...
    def collection(self, name: str, document_type: type[Any] = dict) -> Collection[Any]:
        """A `Collection` whose every call runs inside this transaction."""
        return Collection(self._mongo, name, document_type, self.session)


class Mongo:
    """A MongoDB client for one service: start it, use its collections, stop it.

    It fits news-http's ``app.manage(mongo)`` (``start``/``stop``/``health_check``, readiness
    check ``mongodb``) and works as an async context manager.

    Args:
        settings: Connection, pool, timeout, concern and TLS settings.
        name: The service's name: the handshake's app name when the settings give none, and
            the ``client`` label of the metrics.
        indexes: Indexes per collection name, created in `start` (``ensure_indexes``).
        metrics: A `MongoMetricsHook`; default per ``settings.metrics`` (news_mongo.metrics).
    """

    health_name = "mongodb"
    """The readiness check name news-http gives this resource."""

    def __init__(
        self,
        settings: MongoSettings,
        *,
        name: str | None = None,
        indexes: Mapping[str, Sequence[Index]] | None = None,
        metrics: MongoMetricsHook | None = None,
    ) -> None:
        self.settings = settings
        self.name = _app_name(settings, name)
        self.indexes: dict[str, list[Index]] = {k: list(v) for k, v in (indexes or {}).items()}
        self._metrics = resolve_metrics(metrics, settings.metrics)
        self._client: AsyncMongoClient[Any] | None = None
        self._database: AsyncDatabase[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool = PoolCounter(self.name, self._metrics)
        self._generation = 0

    def __repr__(self) -> str:
        state = "running" if self._client is not None else "stopped"
        return f"Mongo({self.settings.hosts!r}, database={self.settings.database!r}, {state})"

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between a successful `start` and `stop`."""
        return self._client is not None

    @property
    def client(self) -> AsyncMongoClient[Any]:
        """The pymongo ``AsyncMongoClient`` (for what news-mongo does not wrap).

        Raises:
            MongoClosedError: Not running.
        """
        if self._client is None:
            raise self._closed()
        return self._client

    @property
    def database(self) -> AsyncDatabase[Any]:
        """The pymongo ``AsyncDatabase`` of ``settings.database``."""
        return self._raw_database()

    async def start(self) -> None:
        """Make the client on the running loop, check a server answers, create the indexes.

        Raises:
            MongoConnectionError: No server answered within server_selection_timeout.
            IndexConflictError: A declared index clashes with an existing one.
        """
        if self._client is not None:
            return
        from pymongo import AsyncMongoClient

        settings = self.settings
        self._pool = PoolCounter(self.name, self._metrics)
        listeners: list[Any] = [self._pool]
        if self._metrics is not None:
            listeners.append(CommandMonitor(self.name, self._metrics))
        try:
            client: AsyncMongoClient[Any] = AsyncMongoClient(
                settings.uri.reveal(),
                event_listeners=listeners,
                **client_options(settings, self.name),
            )
        except PyMongoError as exc:  # a malformed URI or option
            from news_mongo._errors import MongoConfigError

            raise MongoConfigError(
                f"the MongoDB settings are not accepted by pymongo: {type(exc).__name__}: "
                f"{_redact(str(exc), settings)}"
            ) from None
        try:
            async with asyncio.timeout(settings.server_selection_timeout + 5.0):
                await client.admin.command("ping")
        except BaseException as exc:
            with contextlib.suppress(BaseException):
                async with asyncio.timeout(_STOP_TIMEOUT):
                    await client.close()
            if isinstance(exc, asyncio.CancelledError):
                raise
            reason = f"{type(exc).__name__}: {_redact(str(exc), settings)}"
            raise MongoConnectionError(
                f"cannot reach MongoDB at {settings.hosts} within "
                f"{settings.server_selection_timeout:g}s (server_selection_timeout): {reason}"
            ) from None
        self._client = client
        self._database = client.get_database(settings.database)
        self._loop = asyncio.get_running_loop()
        self._generation += 1
        if self._metrics is not None:
            self._metrics.watch_pool(self.name, self.pool_stats)
        log.info(
            "mongodb client started",
            hosts=settings.hosts,
            database=settings.database,
            max_pool_size=settings.max_pool_size,
            app_name=self.name,
        )
        if settings.ensure_indexes and self.indexes:
            try:
                await self.ensure_indexes(self.indexes)
            except BaseException:
                await self.stop()
                raise

    async def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        """Close the client (its pools and monitors) within ``timeout`` s; never raises.

        Operations still running fail with a connection error. What it gave up on is logged.
        """
        client, self._client = self._client, None
        self._database = None
        self._loop = None
        if client is None:
            return
        self._generation += 1
        if self._metrics is not None:
            self._metrics.unwatch_pool(self.name)
        try:
            async with asyncio.timeout(timeout):
                await client.close()
        except BaseException as exc:
            log.warning(
                "mongodb client did not close in time",
                timeout=timeout,
                in_use=self._pool.in_use,
                error=f"{type(exc).__name__}: {exc}",
            )
            if isinstance(exc, asyncio.CancelledError):
                raise
        log.info("mongodb client stopped", hosts=self.settings.hosts)

    async def __aenter__(self) -> Mongo:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _closed(self) -> MongoClosedError:
        return MongoClosedError(
            f"the Mongo client ({self.settings.hosts}) is not running: await mongo.start() "
            "first (or app.manage(mongo)); it was never started or is stopped"
        )

    def _raw_database(self) -> AsyncDatabase[Any]:
        database = self._database
        if database is None:
            raise self._closed()
        if asyncio.get_running_loop() is not self._loop:
            raise MongoClosedError(
                "this Mongo was started on another event loop; pymongo's async client belongs "
                "to the loop that made it: start (and stop) the Mongo on the loop that uses it "
                "(in tests, a Mongo per test)"
            )
        return database

    def _error(self, exc: PyMongoError, operation: str) -> BaseException:
        if isinstance(exc, WaitQueueTimeoutError):
            max_size = self.settings.max_pool_size
            wait = self.settings.pool_timeout
            in_use = self._pool.in_use
            waiting = self._pool.waiting
            return PoolTimeoutError(
                f"no MongoDB connection free within {wait:g}s (pool_timeout) for {operation}: "
                f"pool size {max_size}, {in_use} in use, {waiting} other operations "
                "waiting; raise max_pool_size, or look for slow operations holding them",
                size=max_size,
                in_use=in_use,
                waiting=waiting,
                timeout=wait,
            )
        if self._client is None:
            return self._closed()
        return translate(exc, operation=operation) or exc

    # --- collections ---------------------------------------------------------------------------

    @overload
    def collection(self, name: str) -> Collection[dict[str, Any]]: ...
    @overload
    def collection(self, name: str, document_type: type[D]) -> Collection[D]: ...
    def collection(self, name: str, document_type: type[Any] = dict) -> Collection[Any]:
        """A `Collection` of the service's database whose documents decode into ``document_type``.

        Args:
            name: The collection's name.
            document_type: A msgspec Struct class (or ``dict``, the default: raw documents).
        """
        return Collection(self, name, document_type)

    async def ensure_indexes(self, indexes: Mapping[str, Sequence[Index]]) -> dict[str, list[str]]:
        """Create the indexes that do not exist yet; return their names per collection.

        Idempotent: an index that exists with the same keys and options is left alone.

        Raises:
            IndexConflictError: An index of that name or keys exists with other options
                (drop or rename it in a migration; this never drops an index).
        """
        database = self._raw_database()
        created: dict[str, list[str]] = {}
        for name, declared in indexes.items():
            if not declared:
                continue
            try:
                created[name] = await database[name].create_indexes([i.model() for i in declared])
            except PyMongoError as exc:
                raise self._error(exc, f"{name}.ensure_indexes") from exc
        log.info("mongodb indexes ensured", indexes={k: len(v) for k, v in created.items()})
        return created

    # --- transactions --------------------------------------------------------------------------

    async def transaction(
        self,
        fn: Callable[[Transaction], Awaitable[T]],
        /,
        *,
        retries: int | None = None,
        timeout: float | None = None,
    ) -> T:
        """Run ``await fn(tx)`` in a transaction and commit it, retrying as the driver advises.

        As MongoDB's drivers specify (and pymongo's ``with_transaction`` does): an error
        labelled ``TransientTransactionError`` (a write conflict, a failover) aborts and runs
        ``fn`` again; a commit that fails with ``UnknownTransactionCommitResult`` is committed
        again (committing twice is safe). Both are bounded by ``retries`` (default
        ``transaction_retries``) and ``timeout`` (default ``transaction_timeout``), with a
        short jittered backoff. Any other error aborts and is raised. ``fn`` must only touch
        MongoDB through ``tx`` (side effects elsewhere run once per attempt).

        Raises:
            TransactionConflictError: Still transient after the retries (``.attempts``).
            CommitUnknownError: The commit's outcome stayed unknown: it is not re-run.
        """
        client = self.client
        self._raw_database()  # the loop check
        limit = self.settings.transaction_retries if retries is None else retries
        budget = self.settings.transaction_timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        attempt = 0
        async with client.start_session() as session:
            while True:
                attempt += 1
                await session.start_transaction()
                try:
                    result = await fn(Transaction(self, session, attempt))
                except BaseException as exc:
                    await self._abort(session)
                    if isinstance(exc, Exception) and TRANSIENT in error_labels(exc):
                        if attempt <= limit and time.monotonic() < deadline:
                            await self._backoff(attempt, exc)
                            continue
                        raise self._conflict(exc, attempt) from exc
                    if isinstance(exc, PyMongoError):  # fn used raw pymongo calls
                        raise self._error(exc, "transaction") from exc
                    raise
                retry_body = await self._commit(session, limit, deadline, attempt)
                if not retry_body:
                    return result

    async def _abort(self, session: AsyncClientSession) -> None:
        if session.in_transaction:
            with contextlib.suppress(Exception):  # the server aborts it by itself on timeout
                async with asyncio.timeout(_STOP_TIMEOUT):
                    await session.abort_transaction()

    async def _backoff(self, attempt: int, exc: BaseException) -> None:
        delay = random.uniform(0, min(_RETRY_MAX, _RETRY_BASE * 2 ** (attempt - 1)))  # noqa: S311
        log.debug(
            "mongodb transaction retried",
            attempt=attempt,
            error=type(exc).__name__,
            delay=round(delay, 4),
        )
        await asyncio.sleep(delay)

    def _conflict(self, exc: BaseException, attempts: int) -> TransactionConflictError:
        code = getattr(exc, "code", None)
        code_name = getattr(exc, "code_name", "") or getattr(exc, "codeName", "")
        error = TransactionConflictError(
            f"transaction still failing with TransientTransactionError after {attempts} "
            f"attempts ({type(exc).__name__}: {exc}); the data is contended or the cluster "
            "is failing over: retry later, or raise transaction_retries",
            code=code,
            code_name=str(code_name),
            labels=error_labels(exc),
        )
        error.attempts = attempts
        return error

    async def _commit(
        self, session: AsyncClientSession, limit: int, deadline: float, attempt: int
    ) -> bool:
        """Commit, retrying an unknown result; True when the whole body must run again."""
        commits = 0
        while True:
            commits += 1
            try:
                await session.commit_transaction()
            except PyMongoError as exc:
                labels = error_labels(exc)
                if UNKNOWN_COMMIT in labels:
                    if commits <= limit and time.monotonic() < deadline:
                        await self._backoff(commits, exc)
                        continue
                    raise CommitUnknownError(
                        f"the transaction's commit outcome is still unknown after {commits} "
                        f"attempts ({type(exc).__name__}: {exc}): it may or may not have "
                        "committed; it is not re-run"
                    ) from exc
                if TRANSIENT in labels:
                    if attempt <= limit and time.monotonic() < deadline:
                        await self._backoff(attempt, exc)
                        return True
                    raise self._conflict(exc, attempt) from exc
                raise self._error(exc, "commit") from exc
            except BaseException:
                await self._abort(session)  # cancelled mid-commit: the outcome is unknown
                raise
            return False

    # --- pool and readiness --------------------------------------------------------------------

    def pool_stats(self) -> PoolStats:
        """The connection pools now: max size per server, open, in use, operations waiting."""
        pool = self._pool
        return PoolStats(self.settings.max_pool_size, pool.open, pool.in_use, max(pool.waiting, 0))

    async def health_check(self, timeout: float = 2.0) -> str:
        """Readiness: ``ping`` the server within ``timeout`` seconds.

        Returns a short output (connections in use of the pool size). Raises when not running,
        no server answers in time, or no pooled connection is free (`PoolTimeoutError`).
        """
        client = self.client
        self._raw_database()
        try:
            async with asyncio.timeout(timeout):
                await client.admin.command("ping")
        except TimeoutError as exc:
            raise MongoConnectionError(
                f"MongoDB at {self.settings.hosts} did not answer ping within {timeout:g}s"
            ) from exc
        except PyMongoError as exc:
            raise self._error(exc, "health_check") from exc
        stats = self.pool_stats()
        return f"{stats.in_use}/{stats.max_size} connections in use, {stats.waiting} waiting"


def _redact(text: str, settings: MongoSettings) -> str:
    """``text`` without the URI's credentials (pymongo's messages may quote the URI)."""
    uri = settings.uri.reveal()
    text = text.replace(uri, settings.hosts)
    userinfo = uri.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]
    if userinfo:
        text = text.replace(userinfo, "***")
    return text
