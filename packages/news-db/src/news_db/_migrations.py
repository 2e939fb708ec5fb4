"""SQL migrations: ``NNNN_name.sql`` files applied in order, once, under an advisory lock.

- A migration is a plain SQL file named ``0001_create_articles.sql`` (four digits, an
  underscore, lower-case words) in a directory or a package folder (``newsroom:migrations``).
- `Migrations.apply` takes a PostgreSQL advisory lock (so replicas starting together apply
  each file once: the others wait, then find nothing to do), checks the applied files
  against their recorded SHA-256 (an edited applied file is refused, named), then applies
  the pending ones in order, each in its own transaction together with its history row.
- A file whose first lines hold ``-- news-db: no-transaction`` runs outside a transaction,
  statement by statement (``CREATE INDEX CONCURRENTLY``); if it fails half-way, what ran
  stays: write such files so that running them again is harmless (``IF NOT EXISTS``).
- History: table ``news_db_migrations`` (version, name, checksum, applied_at, duration_ms).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Final

from news_db._errors import MigrationChecksumError, MigrationError, NewsDBError
from news_log import get_logger

if TYPE_CHECKING:
    from datetime import datetime
    from importlib.resources.abc import Traversable

    from news_db._database import Connection, Database

__all__ = ["Migration", "MigrationState", "Migrations"]

log = get_logger("news_db.migrations")

FILE_NAME: Final = re.compile(r"^(?P<version>\d{4})_(?P<title>[a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")
NO_TRANSACTION: Final = re.compile(r"^\s*--\s*news-db:\s*no-transaction\s*$", re.MULTILINE)
HISTORY_TABLE: Final = "news_db_migrations"
_LOCK_KEY: Final = int.from_bytes(
    hashlib.sha256(b"news-db migrations").digest()[:8], "big", signed=True
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file.

    Attributes:
        version: The number of the file name (``0003`` -> 3).
        name: The file name (``0003_add_tags.sql``).
        sql: The file's text.
        checksum: SHA-256 of the file's bytes, hex.
        transactional: False for files marked ``-- news-db: no-transaction``.
    """

    version: int
    name: str
    sql: str
    checksum: str
    transactional: bool


@dataclass(frozen=True, slots=True)
class MigrationState:
    """A migration as `Migrations.status` sees it: its file and its history row.

    Attributes:
        version: The migration's number.
        name: The file name (or the recorded one when the file is gone).
        applied_at: When it was applied, None when pending.
        state: ``applied``, ``pending``, ``changed`` (the file differs from what was
            applied) or ``missing`` (applied, but no such file any more).
    """

    version: int
    name: str
    applied_at: datetime | None
    state: str


def split_statements(sql: str) -> list[str]:
    """Split SQL text into statements on semicolons outside quotes, comments and $$ bodies."""
    statements: list[str] = []
    start = i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # doubled quote
                        end += 2
                        continue
                    break
                end += 1
            i = end + 1
        elif ch == "$":
            match = re.match(r"\$[A-Za-z_]*\$", sql[i:])
            if match:
                tag = match.group(0)
                end = sql.find(tag, i + len(tag))
                i = n if end < 0 else end + len(tag)
            else:
                i += 1
        elif ch == ";":
            statements.append(sql[start:i])
            i += 1
            start = i
        else:
            i += 1
    statements.append(sql[start:])
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    stripped = re.sub(r"--[^\n]*", "", statement)
    stripped = re.sub(r"/\*.*?\*/", "", stripped, flags=re.DOTALL)
    return bool(stripped.strip())


class Migrations:
    """The migration files of one folder, and how to apply them to a database.

    Args:
        source: A directory path, or ``package:folder`` for files shipped inside a package
            (``"newsroom:migrations"``).
        lock_timeout: How long to wait for another process's migration run, in seconds.
        statement_timeout: Time limit of each migration statement, in seconds (index builds
            can be long; the pool's statement_timeout does not apply).

    Raises:
        MigrationError: (on use) a file name that is not ``NNNN_name.sql``, two files with one
            number, or a source that does not exist.
    """

    def __init__(
        self,
        source: str | Path,
        *,
        lock_timeout: float = 600.0,
        statement_timeout: float = 3600.0,
    ) -> None:
        self.source = source
        self.lock_timeout = lock_timeout
        self.statement_timeout = statement_timeout

    def __repr__(self) -> str:
        return f"Migrations({str(self.source)!r})"

    def _folder(self) -> Traversable:
        source = self.source
        if isinstance(source, str) and ":" in source and not Path(source).exists():
            package, _, folder = source.partition(":")
            try:
                root = resources.files(package)
            except ModuleNotFoundError as exc:
                raise MigrationError(
                    f"migrations {source!r}: no package {package!r} to read them from"
                ) from exc
            return root.joinpath(*[p for p in folder.split("/") if p])
        return Path(source)

    def files(self) -> list[Migration]:
        """Read and check the migration files, in version order."""
        folder = self._folder()
        if not folder.is_dir():
            raise MigrationError(
                f"migrations folder {str(self.source)!r} does not exist; set migrations to a "
                "directory (or package:folder) holding NNNN_name.sql files"
            )
        found: dict[int, Migration] = {}
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql"):
                continue
            match = FILE_NAME.match(entry.name)
            if match is None:
                raise MigrationError(
                    f"migration file {entry.name!r} is not named NNNN_name.sql (four digits, "
                    "an underscore, lower-case words: 0003_add_tags.sql); rename it"
                )
            data = entry.read_bytes()
            version = int(match["version"])
            if version in found:
                raise MigrationError(
                    f"migrations {found[version].name} and {entry.name} share the number "
                    f"{match['version']}; renumber one"
                )
            sql = data.decode("utf-8")
            head = "\n".join(sql.splitlines()[:5])
            found[version] = Migration(
                version=version,
                name=entry.name,
                sql=sql,
                checksum=hashlib.sha256(data).hexdigest(),
                transactional=NO_TRANSACTION.search(head) is None,
            )
        return [found[v] for v in sorted(found)]

    def new(self, title: str) -> Path:
        """Create the next ``NNNN_title.sql`` file in a directory source; return its path."""
        folder = self._folder()
        if not isinstance(folder, Path):
            raise MigrationError("new migrations are created in a directory, not a package")
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
        if not slug:
            raise MigrationError(f"migration name {title!r} has no letters or digits")
        folder.mkdir(parents=True, exist_ok=True)
        existing = self.files()
        version = existing[-1].version + 1 if existing else 1
        path = folder / f"{version:04d}_{slug}.sql"
        path.write_text(f"-- {path.name}\n\n", encoding="utf-8")
        return path

    async def _lock(self, tx: Connection) -> None:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.05
        while not await tx.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):
            if time.monotonic() > deadline:
                raise MigrationError(
                    f"another process held the migration lock for {self.lock_timeout:g}s "
                    "(lock_timeout); is a migration stuck? see pg_locks (locktype advisory)"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    @staticmethod
    async def _history(tx: Connection) -> dict[int, tuple[str, str, datetime]]:
        await tx.execute(
            f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} ("
            " version integer PRIMARY KEY,"
            " name text NOT NULL,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(),"
            " duration_ms integer NOT NULL DEFAULT 0)"
        )
        rows = await tx.fetch(
            f"SELECT version, name, checksum, applied_at FROM {HISTORY_TABLE}"  # noqa: S608
        )
        return {r["version"]: (r["name"], r["checksum"], r["applied_at"]) for r in rows}

    @staticmethod
    def _check(files: list[Migration], history: dict[int, tuple[str, str, datetime]]) -> None:
        for migration in files:
            recorded = history.get(migration.version)
            if recorded is not None and recorded[1] != migration.checksum:
                raise MigrationChecksumError(
                    f"migration {migration.name} was changed after it was applied (as "
                    f"{recorded[0]}, checksum {recorded[1][:12]}..., now "
                    f"{migration.checksum[:12]}...): applied migrations are history; "
                    "restore the file and put the change in a new migration",
                    name=migration.name,
                )

    async def apply(self, db: Database) -> list[str]:
        """Apply the pending migrations in order; return the names of those applied.

        Raises:
            MigrationChecksumError: An applied file was edited (nothing is applied).
            MigrationError: A file failed (its message and SQLSTATE; earlier files stay
                applied), or the lock was not free within ``lock_timeout``.
        """
        files = self.files()
        applied: list[str] = []
        async with db.acquire() as conn:
            await self._lock(conn)
            try:
                history = await self._history(conn)
                self._check(files, history)
                for migration in files:
                    if migration.version not in history:
                        await self._apply_one(conn, migration)
                        applied.append(migration.name)
            finally:
                try:
                    await conn.fetchval("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
                except NewsDBError:  # the connection is gone: so is its lock
                    log.warning("could not release the migration lock (connection lost)")
        if applied:
            log.info("migrations applied", applied=applied, source=str(self.source))
        return applied

    async def _apply_one(self, conn: Connection, migration: Migration) -> None:
        started = time.perf_counter()
        timeout = self.statement_timeout
        record = (
            f"INSERT INTO {HISTORY_TABLE} (version, name, checksum, duration_ms) "  # noqa: S608
            "VALUES ($1, $2, $3, $4)"
        )
        try:
            if migration.transactional:
                async with conn.raw.transaction():
                    await conn.execute(migration.sql, timeout=timeout, operation=migration.name)
                    millis = int((time.perf_counter() - started) * 1000)
                    await conn.execute(
                        record, migration.version, migration.name, migration.checksum, millis
                    )
            else:
                for statement in split_statements(migration.sql):
                    await conn.execute(statement, timeout=timeout, operation=migration.name)
                millis = int((time.perf_counter() - started) * 1000)
                await conn.execute(
                    record, migration.version, migration.name, migration.checksum, millis
                )
        except NewsDBError as exc:
            sqlstate = getattr(exc, "sqlstate", None)
            raise MigrationError(
                f"migration {migration.name} failed"
                + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
                + f": {exc}"
                + (
                    ""
                    if migration.transactional
                    else "; it ran outside a transaction: "
                    "statements before the failing one stay applied"
                )
            ) from exc
        log.info("migration applied", migration=migration.name, duration_ms=millis)

    async def status(self, db: Database) -> list[MigrationState]:
        """Every migration, applied or pending, with changed and missing files flagged."""
        files = {m.version: m for m in self.files()}
        async with db.acquire() as conn:
            history = await self._history(conn)
        states: list[MigrationState] = []
        for version in sorted(files.keys() | history.keys()):
            migration = files.get(version)
            recorded = history.get(version)
            if migration is None:
                assert recorded is not None
                states.append(MigrationState(version, recorded[0], recorded[2], "missing"))
            elif recorded is None:
                states.append(MigrationState(version, migration.name, None, "pending"))
            else:
                state = "applied" if recorded[1] == migration.checksum else "changed"
                states.append(MigrationState(version, migration.name, recorded[2], state))
        return states
