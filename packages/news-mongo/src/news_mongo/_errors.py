"""The errors news-mongo raises, all under one root.

::

    NewsMongoError
    ├── MongoConfigError (also ValueError)          bad settings or index declarations
    ├── MongoClosedError (also RuntimeError)        a call before start() or after stop()
    ├── PoolTimeoutError (also TimeoutError)        no pooled connection within pool_timeout
    │                                               (names the pool size, in use and waiting)
    ├── MongoConnectionError (also ConnectionError) no server within server_selection_timeout,
    │   │                                           or the connection was lost mid-operation
    │   └── CommitUnknownError                      the commit's outcome stayed unknown after
    │                                               its retries: never re-run automatically
    ├── MongoTimeoutError (also TimeoutError)       socket_timeout, maxTimeMS or wtimeout hit
    ├── OperationError                              the server refused it (.code, .code_name,
    │   │                                           .labels)
    │   ├── DuplicateKeyError                       E11000: .index names the unique index
    │   │                                           (-> HTTP 409 in a service)
    │   ├── IndexConflictError                      ensure_indexes: an index of that name or
    │   │                                           keys exists with other options
    │   └── TransactionConflictError                TransientTransactionError after the retries
    │                                               (write conflict...): .attempts
    └── DocumentDecodeError (also TypeError)        a stored document does not fit the Struct

pymongo's errors are translated at the boundary (`translate`) and kept as ``__cause__``.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = [
    "CommitUnknownError",
    "DocumentDecodeError",
    "DuplicateKeyError",
    "IndexConflictError",
    "MongoClosedError",
    "MongoConfigError",
    "MongoConnectionError",
    "MongoTimeoutError",
    "NewsMongoError",
    "OperationError",
    "PoolTimeoutError",
    "TransactionConflictError",
    "error_labels",
    "translate",
]


class NewsMongoError(Exception):
    """Root of every error raised by news-mongo.

    Attributes:
        labels: The server's or driver's error labels (``TransientTransactionError``...).
    """

    labels: frozenset[str] = frozenset()


class MongoConfigError(NewsMongoError, ValueError):
    """The settings or index declarations are invalid; the message names the field and fix."""


class MongoClosedError(NewsMongoError, RuntimeError):
    """The `Mongo` is not running: a call before ``start()`` or after ``stop()``."""


class PoolTimeoutError(NewsMongoError, TimeoutError):
    """No pooled connection became free within ``pool_timeout``.

    Attributes:
        size: The pool's maximum size.
        in_use: Connections checked out when the wait ended.
        waiting: Callers waiting for a connection when it ended (this one included).
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


class MongoConnectionError(NewsMongoError, ConnectionError):
    """No server could be selected in time, or the connection broke mid-operation.

    A lost connection is not proof that a write did not happen: retryable writes (on by
    default) already retried it once.
    """


class CommitUnknownError(MongoConnectionError):
    """The outcome of ``commitTransaction`` stayed unknown after its retries.

    The transaction may or may not have committed; news-mongo never re-runs the body then.
    """


class MongoTimeoutError(NewsMongoError, TimeoutError):
    """An operation ran past its time: ``socket_timeout``, ``maxTimeMS`` or ``wtimeout``."""


class OperationError(NewsMongoError):
    """The server refused an operation.

    Attributes:
        code: The server's error code (None when it gave none).
        code_name: Its name (``DuplicateKey``, ``WriteConflict``...), '' when unknown.
        details: The error document the server sent (may be empty).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        code_name: str = "",
        details: dict[str, Any] | None = None,
        labels: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.code_name = code_name
        self.details = details or {}
        self.labels = labels


class DuplicateKeyError(OperationError):
    """A unique index refused the write (E11000).

    Attributes:
        index: The index's name (``_id_`` for a duplicate ``_id``; '' if the server gave none).
        collection: ``database.collection`` where known, else ''.
        key_value: The duplicate key (``{"slug": "a"}``), when the server reports it.
    """

    def __init__(
        self,
        message: str,
        *,
        index: str,
        collection: str = "",
        key_value: dict[str, Any] | None = None,
        code: int | None = 11000,
        details: dict[str, Any] | None = None,
        labels: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(
            message, code=code, code_name="DuplicateKey", details=details, labels=labels
        )
        self.index = index
        self.collection = collection
        self.key_value = key_value


class IndexConflictError(OperationError):
    """``ensure_indexes``: an index with that name or those keys exists with other options.

    Drop the old index (or rename the new one) in a migration; start() never drops indexes.
    """


class TransactionConflictError(OperationError):
    """A transaction kept failing with ``TransientTransactionError`` past its retries.

    Attributes:
        attempts: How many times the transaction body ran.
    """

    attempts: int = 1


class DocumentDecodeError(NewsMongoError, TypeError):
    """A stored document does not fit the collection's Struct; names the field and ``_id``."""


# ---- translation ---------------------------------------------------------------------------------

_DUP_INDEX: Final = re.compile(r"index:\s+(\S+)")
_DUP_COLLECTION: Final = re.compile(r"collection:\s+(\S+)")
_DUPLICATE_CODES: Final = frozenset({11000, 11001, 12582})
_INDEX_CONFLICT_CODES: Final = frozenset({85, 86})  # IndexOptionsConflict, IndexKeySpecsConflict
_TIMEOUT_CODES: Final = frozenset({50, 262, 64})  # MaxTimeMSExpired, ExceededTimeLimit, WTimeout


_KNOWN_LABELS: Final = (
    "TransientTransactionError",
    "UnknownTransactionCommitResult",
    "RetryableWriteError",
    "NoWritesPerformed",
)


def _pymongo_labels(exc: Any) -> frozenset[str]:
    """The known labels a pymongo error carries (through its public ``has_error_label``)."""
    return frozenset(label for label in _KNOWN_LABELS if exc.has_error_label(label))


def error_labels(exc: BaseException | None) -> frozenset[str]:
    """The error labels of ``exc`` or of the pymongo error it was translated from."""
    seen = 0
    while exc is not None and seen < 4:
        labels = getattr(exc, "labels", None)
        if labels:
            return frozenset(labels)
        if hasattr(exc, "has_error_label"):
            return _pymongo_labels(exc)
        exc = exc.__cause__
        seen += 1
    return frozenset()


def _duplicate(message: str, details: dict[str, Any], labels: frozenset[str]) -> DuplicateKeyError:
    errmsg = str(details.get("errmsg") or message)
    found = _DUP_INDEX.search(errmsg)
    index = found.group(1) if found else ""
    where = _DUP_COLLECTION.search(errmsg)
    collection = where.group(1) if where else ""
    key_value = details.get("keyValue")
    shown = f" {key_value}" if isinstance(key_value, dict) else ""
    return DuplicateKeyError(
        f"duplicate key{shown} refused by unique index {index or '?'}"
        f"{' on ' + collection if collection else ''}: a document with that key exists "
        "(answer 409, or update the existing one)",
        index=index,
        collection=collection,
        key_value=key_value if isinstance(key_value, dict) else None,
        code=details.get("code", 11000),
        details=details,
        labels=labels,
    )


def translate(  # noqa: PLR0911, PLR0912 - one verdict per error kind
    exc: BaseException, *, operation: str = ""
) -> NewsMongoError | None:
    """The news-mongo error for a pymongo error (None when it is not one).

    The caller raises it ``from exc``. ``operation`` (``articles.insert_one``) goes into the
    message.
    """
    from pymongo import errors

    if isinstance(exc, NewsMongoError):
        return exc
    if not isinstance(exc, errors.PyMongoError):
        return None
    where = f" ({operation})" if operation else ""
    labels = _pymongo_labels(exc)
    if isinstance(exc, errors.BulkWriteError):
        write_errors = exc.details.get("writeErrors") or []
        first = write_errors[0] if write_errors else {}
        if first.get("code") in _DUPLICATE_CODES:
            return _duplicate(str(exc), first, labels)
        if first:
            return OperationError(
                f"the server refused a write{where}: {first.get('errmsg', exc)}",
                code=first.get("code"),
                code_name=str(first.get("codeName", "")),
                details=dict(first),
                labels=labels,
            )
    if isinstance(exc, errors.DuplicateKeyError):
        return _duplicate(str(exc), dict(exc.details or {}), labels)
    if isinstance(exc, errors.ExecutionTimeout | errors.WTimeoutError):
        return MongoTimeoutError(f"operation ran past its time limit{where}: {exc}")
    if isinstance(exc, errors.OperationFailure):
        details = dict(exc.details or {})
        code = exc.code
        code_name = str(details.get("codeName", ""))
        if code in _DUPLICATE_CODES:
            return _duplicate(str(exc), details, labels)
        if code in _TIMEOUT_CODES:
            error = MongoTimeoutError(f"operation ran past its time limit{where}: {exc}")
            error.labels = labels
            return error
        cls = IndexConflictError if code in _INDEX_CONFLICT_CODES else OperationError
        return cls(
            f"the server refused the operation{where}: {code_name or code}: "
            f"{details.get('errmsg', exc)}",
            code=code,
            code_name=code_name,
            details=details,
            labels=labels,
        )
    if isinstance(exc, errors.NetworkTimeout):
        error = MongoTimeoutError(
            f"no reply within socket_timeout{where}: {exc}; the server is slow or hung "
            "(the connection was closed, the operation may have run)"
        )
        error.labels = labels
        return error
    if isinstance(exc, errors.ServerSelectionTimeoutError):
        error2 = MongoConnectionError(
            f"no MongoDB server available within server_selection_timeout{where}: {exc}"
        )
        error2.labels = labels
        return error2
    if isinstance(exc, errors.ConnectionFailure):
        error3 = MongoConnectionError(f"connection to MongoDB lost{where}: {exc}")
        error3.labels = labels
        return error3
    return OperationError(f"MongoDB operation failed{where}: {type(exc).__name__}: {exc}")
