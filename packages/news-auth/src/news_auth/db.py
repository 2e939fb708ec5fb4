"""API keys in PostgreSQL through news-db: `PostgresAPIKeyStore` (extra ``db``).

``pip install 'news-auth[db]'``. The table is created by the migration shipped in this package,
``news_auth:migrations`` (`MIGRATIONS`, file ``0001_api_keys.sql``): apply it with news-db
(``news_db.Migrations(news_auth.db.MIGRATIONS).apply(db)``) on a database whose migrations are
otherwise its own, or copy the file into your service's migrations folder under its next
number (news-db numbers the migrations of one database in one sequence).

::

    db = news_db.Database(settings.db, name="newsroom")
    api_keys = news_auth.APIKeys(settings.auth.api_keys, news_auth.db.PostgresAPIKeyStore(db))
    app.manage(db)

Every news-db error becomes `APIKeyStoreError` (cause kept): the route guard answers 503.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import news_db
from news_auth._apikeys import APIKeyRecord
from news_auth._errors import APIKeyStoreError

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Awaitable, Callable

__all__ = ["MIGRATIONS", "TABLE", "PostgresAPIKeyStore"]

MIGRATIONS: Final = "news_auth:migrations"
"""news-db migrations source of the API key table."""
TABLE: Final = "news_auth_api_keys"
"""The table the migration creates."""

_COLUMNS: Final = (
    "key_id, name, subject, scopes, digest, pepper_id, created_at, expires_at, revoked_at, "
    "last_used_at, rotated_from"
)
_INSERT: Final = (
    f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"  # noqa: S608
)
_GET: Final = f"SELECT {_COLUMNS} FROM {TABLE} WHERE key_id = $1"  # noqa: S608
_LIST: Final = f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY created_at, key_id"  # noqa: S608
_LIST_SUBJECT: Final = (
    f"SELECT {_COLUMNS} FROM {TABLE} WHERE subject = $1 ORDER BY created_at, key_id"  # noqa: S608
)
_REVOKE: Final = (
    f"UPDATE {TABLE} SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1 "  # noqa: S608
    "RETURNING key_id"
)
_EXPIRE: Final = (
    f"UPDATE {TABLE} SET expires_at = CASE WHEN expires_at IS NULL OR $2 < expires_at "  # noqa: S608
    "THEN $2 ELSE expires_at END WHERE key_id = $1 RETURNING key_id"
)
_TOUCH: Final = (
    f"UPDATE {TABLE} SET last_used_at = $2 WHERE key_id = $1 "  # noqa: S608
    "AND (last_used_at IS NULL OR last_used_at < $2)"
)
_REHASH: Final = f"UPDATE {TABLE} SET digest = $2, pepper_id = $3 WHERE key_id = $1"  # noqa: S608


def _record(row: Any) -> APIKeyRecord:
    return APIKeyRecord(
        key_id=row["key_id"],
        name=row["name"],
        subject=row["subject"],
        scopes=frozenset(row["scopes"]),
        digest=bytes(row["digest"]),
        pepper_id=row["pepper_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        rotated_from=row["rotated_from"],
    )


class PostgresAPIKeyStore:
    """An `APIKeyStore` in PostgreSQL, on a news-db `Database` the service manages.

    Args:
        db: The database (started and stopped by its owner, e.g. ``app.manage(db)``).
    """

    __slots__ = ("db",)

    def __init__(self, db: news_db.Database) -> None:
        """Use ``db``; the table comes from `MIGRATIONS`."""
        self.db = db

    async def _run(self, operation: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await call()
        except news_db.UniqueViolationError as exc:
            raise APIKeyStoreError(
                f"API key store: {operation}: the key id exists already"
            ) from exc
        except news_db.NewsDBError as exc:
            raise APIKeyStoreError(f"API key store: {operation} failed: {exc}") from exc

    async def insert(self, record: APIKeyRecord) -> None:
        """Store a new record (an existing id raises `APIKeyStoreError`)."""
        await self._run(
            "insert",
            lambda: self.db.execute(
                _INSERT,
                record.key_id,
                record.name,
                record.subject,
                sorted(record.scopes),
                record.digest,
                record.pepper_id,
                record.created_at,
                record.expires_at,
                record.revoked_at,
                record.last_used_at,
                record.rotated_from,
                operation="api_key_insert",
            ),
        )

    async def get(self, key_id: str) -> APIKeyRecord | None:
        """Return the record of ``key_id``, or None."""
        row = await self._run(
            "get", lambda: self.db.fetchrow(_GET, key_id, operation="api_key_get")
        )
        return None if row is None else _record(row)

    async def list(self, *, subject: str | None = None) -> list[APIKeyRecord]:
        """Return every record (of ``subject``), oldest first."""
        if subject is None:
            rows = await self._run("list", lambda: self.db.fetch(_LIST, operation="api_key_list"))
        else:
            rows = await self._run(
                "list", lambda: self.db.fetch(_LIST_SUBJECT, subject, operation="api_key_list")
            )
        return [_record(row) for row in rows]

    async def revoke(self, key_id: str, at: dt.datetime) -> bool:
        """Mark ``key_id`` revoked (an earlier revocation is kept); False if unknown."""
        found = await self._run(
            "revoke", lambda: self.db.fetchval(_REVOKE, key_id, at, operation="api_key_revoke")
        )
        return found is not None

    async def expire(self, key_id: str, at: dt.datetime) -> bool:
        """Make ``key_id`` expire at ``at`` unless it expires earlier; False if unknown."""
        found = await self._run(
            "expire", lambda: self.db.fetchval(_EXPIRE, key_id, at, operation="api_key_expire")
        )
        return found is not None

    async def touch(self, key_id: str, at: dt.datetime) -> None:
        """Set the last-used stamp (never backwards)."""
        await self._run(
            "touch", lambda: self.db.execute(_TOUCH, key_id, at, operation="api_key_touch")
        )

    async def rehash(self, key_id: str, digest: bytes, pepper_id: str) -> None:
        """Replace the digest after a pepper rotation."""
        await self._run(
            "rehash",
            lambda: self.db.execute(_REHASH, key_id, digest, pepper_id, operation="api_key_rehash"),
        )
