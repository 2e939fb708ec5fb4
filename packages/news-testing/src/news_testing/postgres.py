"""PostgreSQL test utilities: fresh databases per test, a private server, PgBouncer.

- `PostgresServer` is the server the suite uses: the local one (``127.0.0.1:5432``, user
  ``postgres``) or the one named by ``NEWS_TEST_POSTGRES_DSN``. ``new_database()`` makes a
  uniquely named database, cloned from a template database that holds the migrations
  (migrated once per distinct set of files, then reused: cloning is fast).
- `TestDatabase` is one such database: ``dsn``, ``settings()`` (a ``news_db.DatabaseSettings``),
  ``load(*files)`` for fixture data (``.sql`` files, or ``.json`` files of
  ``{"table": [{"column": value}, ...]}``), ``execute(sql)``, ``drop()``.
- `PrivatePostgres` is a PostgreSQL cluster of a test's own (``initdb`` in a temp dir, a free
  port; as root it runs as the ``postgres`` user, since PostgreSQL refuses root): for fault
  tests that stop, restart or kill the server. Never the shared one.
- `PgBouncer` runs Debian's ``pgbouncer`` in front of a server on a free port.

The pytest fixtures built on them (``postgres``, ``postgres_server``, ``postgres_private``,
``postgres_migrations``) are registered by the news-testing plugin. asyncpg is imported only
when used (``pip install 'news-testing[db]'``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlsplit, urlunsplit

from news_testing._errors import NewsTestingError
from news_testing._net import free_port

if TYPE_CHECKING:
    from collections.abc import Coroutine, Sequence
    from types import TracebackType

__all__ = [
    "POSTGRES_DSN_ENV",
    "PgBouncer",
    "PostgresServer",
    "PostgresStartError",
    "PrivatePostgres",
    "TestDatabase",
    "postgres_bin",
]

POSTGRES_DSN_ENV: Final = "NEWS_TEST_POSTGRES_DSN"
"""Set it (``postgresql://user:pw@host:port/db``) to run the suite against that server."""

DEFAULT_DSN: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
_TEMPLATE_PREFIX: Final = "news_testing_tpl_"
_LOCK_KEY: Final = 0x6E657773_74706C  # serialises template creation across processes


def _run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on a fresh event loop in a helper thread (works inside async tests)."""
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="news-testing-pg") as pool:
        return pool.submit(asyncio.run, coro).result()


def _asyncpg() -> Any:
    try:
        import asyncpg
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "the PostgreSQL fixtures need: pip install 'news-testing[db]'", name="asyncpg"
        ) from exc
    return asyncpg


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + quote(database)))


def _unique_name(hint: str) -> str:
    clean = re.sub(r"[^a-z0-9]+", "_", hint.lower()).strip("_")[:30] or "db"
    return f"t_{clean}_{uuid.uuid4().hex[:10]}"


def _quote(name: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


async def _insert_rows(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert JSON rows; columns a row leaves out get their defaults (rows grouped by keys)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    ident = _quote(table)
    for keys, group in groups.items():
        columns = ", ".join(_quote(k) for k in keys)
        await conn.execute(
            f"INSERT INTO {ident} ({columns}) SELECT {columns} FROM "  # noqa: S608
            f"json_populate_recordset(NULL::{ident}, $1::json)",
            json.dumps(group),
        )


class TestDatabase:
    """One database of a test: made by `PostgresServer.new_database`, dropped afterwards.

    Attributes:
        name: The database's name (unique: ``t_<test name>_<random>``).
        dsn: A ``postgresql://`` URI to it.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, server: PostgresServer, name: str) -> None:
        self.server = server
        self.name = name
        self.dsn = _with_database(server.dsn, name)

    def __repr__(self) -> str:
        return f"TestDatabase({self.name!r})"

    def settings(self, **overrides: Any) -> Any:
        """A ``news_db.DatabaseSettings`` for this database (``overrides`` replace fields)."""
        import news_db
        from news_config import Secret

        fields: dict[str, Any] = {"dsn": Secret(self.dsn), "min_size": 1, "max_size": 5}
        fields.update(overrides)
        return news_db.DatabaseSettings(**fields)

    def execute(self, sql: str, *args: Any) -> str:
        """Run SQL in this database (outside any test's event loop); return its status."""

        async def run() -> str:
            conn = await _asyncpg().connect(self.dsn)
            try:
                status: str = await conn.execute(sql, *args)
                return status
            finally:
                await conn.close()

        result: str = _run_sync(run())
        return result

    def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Run a query in this database; return its rows as dicts."""

        async def run() -> list[dict[str, Any]]:
            conn = await _asyncpg().connect(self.dsn)
            try:
                return [dict(row.items()) for row in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        rows: list[dict[str, Any]] = _run_sync(run())
        return rows

    def load(self, *files: str | os.PathLike[str]) -> None:
        """Load fixture data: ``.sql`` files as they are, ``.json`` files as table rows.

        A JSON file is ``{"table": [{"column": value, ...}, ...], ...}``; rows are inserted
        with ``json_populate_recordset`` (PostgreSQL converts the values to the column types;
        a column a row leaves out gets its default), tables in the file's order, all files in
        one transaction.
        """

        async def run() -> None:
            conn = await _asyncpg().connect(self.dsn)
            try:
                async with conn.transaction():
                    for file in files:
                        path = Path(file)
                        text = path.read_text(encoding="utf-8")
                        if path.suffix == ".json":
                            tables = json.loads(text)
                            if not isinstance(tables, dict):
                                raise ValueError(f"{path}: expected {{table: [rows...]}}")
                            for table, rows in tables.items():
                                await _insert_rows(conn, table, rows)
                        elif path.suffix == ".sql":
                            await conn.execute(text)
                        else:
                            raise ValueError(f"{path}: fixture files are .sql or .json")
            finally:
                await conn.close()

        _run_sync(run())

    def drop(self) -> None:
        """Drop the database (its connections are terminated first)."""
        self.server.drop_database(self.name)


class PostgresServer:
    """The PostgreSQL server the tests use, through an administrative DSN.

    Args:
        dsn: A superuser (or CREATEDB) connection URI; default ``NEWS_TEST_POSTGRES_DSN`` or
            the local server (``postgresql://postgres@127.0.0.1:5432/postgres``).
    """

    def __init__(self, dsn: str | None = None) -> None:
        self.dsn = dsn or os.environ.get(POSTGRES_DSN_ENV, "").strip() or DEFAULT_DSN
        self._templates: dict[str, str] = {}

    def __repr__(self) -> str:
        parts = urlsplit(self.dsn)
        return f"PostgresServer({parts.hostname}:{parts.port or 5432})"

    @property
    def host(self) -> str:
        """The server's host."""
        return urlsplit(self.dsn).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """The server's port."""
        return urlsplit(self.dsn).port or 5432

    def new_database(self, hint: str = "db", *, migrations: Any = None) -> TestDatabase:
        """Create a uniquely named database, cloned from the migrated template if any.

        Args:
            hint: Goes into the name (the test's name), for ``pg_stat_activity`` readers.
            migrations: A news-db migrations source (directory or ``package:folder``) or a
                ``news_db.Migrations``: the database starts with them applied.
        """
        name = _unique_name(hint)
        template = self._template(migrations) if migrations is not None else None
        _run_sync(self._create(name, template))
        return TestDatabase(self, name)

    def drop_database(self, name: str) -> None:
        """Drop a database made by `new_database` (terminating its connections)."""

        async def run() -> None:
            conn = await _asyncpg().connect(self.dsn)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        _run_sync(run())

    async def _create(self, name: str, template: str | None) -> None:
        asyncpg = _asyncpg()
        conn = await asyncpg.connect(self.dsn)
        try:
            clause = f' TEMPLATE "{template}"' if template else ""
            for attempt in range(50):
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"{clause}')
                except asyncpg.ObjectInUseError:  # another session is cloning the template
                    await asyncio.sleep(0.05 * (attempt + 1))
                else:
                    return
            await conn.execute(f'CREATE DATABASE "{name}"{clause}')
        finally:
            await conn.close()

    def _template(self, migrations: Any) -> str:
        """The template database holding ``migrations`` (made once per distinct file set)."""
        import news_db

        source = migrations if isinstance(migrations, news_db.Migrations) else None
        if source is None:
            source = news_db.Migrations(migrations)
        digest = hashlib.sha256()
        for migration in source.files():
            digest.update(f"{migration.name}:{migration.checksum};".encode())
        key = digest.hexdigest()[:16]
        cached = self._templates.get(key)
        if cached is not None:
            return cached
        name = _TEMPLATE_PREFIX + key
        _run_sync(self._make_template(name, source))
        self._templates[key] = name
        return name

    async def _make_template(self, name: str, source: Any) -> None:
        import news_db
        from news_config import Secret

        asyncpg = _asyncpg()
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
            try:
                exists = await conn.fetchval(
                    "SELECT datistemplate FROM pg_database WHERE datname = $1", name
                )
                if exists:
                    return
                if exists is not None:  # a half-made template of a crashed run
                    await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
                settings = news_db.DatabaseSettings(
                    dsn=Secret(_with_database(self.dsn, name)),
                    min_size=1,
                    max_size=1,
                    metrics="off",
                )
                async with news_db.Database(settings, name="news-testing") as db:
                    await source.apply(db)
                await conn.execute(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true')
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        finally:
            await conn.close()


class PostgresStartError(NewsTestingError, RuntimeError):
    """A private PostgreSQL or PgBouncer did not start; the message has its log's tail."""


def postgres_bin(program: str) -> str:
    """Find a PostgreSQL server program (``initdb``, ``pg_ctl``, ``postgres``).

    Looks on PATH, then in Debian's ``/usr/lib/postgresql/<version>/bin`` (newest first).
    """
    found = shutil.which(program)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{program}"),
        key=lambda p: int(re.sub(r"\D", "", p.split("/")[4]) or 0),
        reverse=True,
    )
    if candidates:
        return candidates[0]
    raise PostgresStartError(
        f"{program} not found: install PostgreSQL's server package (Debian: postgresql)"
    )


def _as_postgres_user(cmd: Sequence[str]) -> list[str]:
    """Run as ``postgres`` when we are root: initdb, postgres and pgbouncer refuse root."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return list(cmd)


def _own_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    path.chmod(0o700)
    return path


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivatePostgres:
    """A PostgreSQL cluster of one test's own, on a free loopback port (fault tests).

    ``initdb`` into a new temp dir (trust auth, user ``postgres``), started with ``pg_ctl``;
    as root both run as the ``postgres`` user. `stop`, `start`, `restart` (same port, data
    kept), `kill` (SIGKILL the postmaster: a crash). `close` stops it and removes the dir.
    Usable as a context manager.

    Attributes:
        host: ``127.0.0.1``.
        port: The port it listens on.
        dsn: ``postgresql://postgres@127.0.0.1:PORT/postgres``.
        data_dir: The cluster's directory.
        log_path: The server's log file.
    """

    def __init__(self, *, settings: dict[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@{self.host}:{self.port}/postgres"
        self.root = _own_dir("news-pg-")
        self.data_dir = self.root / "data"
        self.log_path = self.root / "server.log"
        self._settings = {"fsync": "off", "full_page_writes": "off", "max_connections": "200"}
        self._settings.update(settings or {})
        self._initialised = False

    def __repr__(self) -> str:
        return f"PrivatePostgres({self.host}:{self.port}, {self.data_dir})"

    def _run(self, cmd: Sequence[str], what: str, timeout: float = 60.0) -> None:
        proc = subprocess.run(  # noqa: S603 - PostgreSQL's own programs, our arguments
            _as_postgres_user(cmd), capture_output=True, text=True, timeout=timeout, check=False
        )
        if proc.returncode != 0:
            raise PostgresStartError(
                f"{what} failed (exit {proc.returncode}): {proc.stdout}{proc.stderr}\n"
                f"log tail:\n{_tail(self.log_path)}"
            )

    def start(self, timeout: float = 60.0) -> PrivatePostgres:
        """Initialise (first time) and start the cluster; return when it accepts connections."""
        if not self._initialised:
            self._run(
                [
                    postgres_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
                "initdb",
                timeout=120,
            )
            self._initialised = True
        options = " ".join(
            [
                f"-c listen_addresses={self.host}",
                f"-p {self.port}",
                f"-c unix_socket_directories={self.root}",
                *(f"-c {key}={value}" for key, value in self._settings.items()),
            ]
        )
        self._run(
            [
                postgres_bin("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-o",
                options,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            "pg_ctl start",
            timeout=timeout + 10,
        )
        return self

    def stop(self, mode: str = "fast", timeout: float = 60.0) -> None:
        """Stop the server (``fast``: disconnect clients, roll back; ``immediate``: abort)."""
        if not self.running:
            return
        self._run(
            [postgres_bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"],
            "pg_ctl stop",
            timeout=timeout,
        )

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again on the same port (data kept)."""
        self.stop(mode)
        self.start()

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs."""
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def running(self) -> bool:
        """True while the postmaster runs."""
        pid = self.pid
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - not root and not its user
            return True
        return True

    def close(self) -> None:
        """Stop the server (immediately) and remove its directory."""
        with contextlib.suppress(PostgresStartError, subprocess.TimeoutExpired):
            self.stop("immediate")
        pid = self.pid
        if pid is not None:  # pg_ctl failed: do not leave a server behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def log_tail(self, lines: int = 100) -> str:
        """The last lines of the server's log."""
        return _tail(self.log_path, lines)


class PgBouncer:
    """Debian's ``pgbouncer`` in front of a PostgreSQL server, on a free loopback port.

    Args:
        server_host: The server's host.
        server_port: The server's port.
        pool_mode: ``transaction`` (the mode that breaks prepared statements), ``session``...
        databases: Database names to route (``*`` routes any name to the same one).
        pool_size: Server connections per database/user pair.

    Attributes:
        port: Where pgbouncer listens (``127.0.0.1``).
    """

    def __init__(
        self,
        server_host: str,
        server_port: int,
        *,
        pool_mode: str = "transaction",
        pool_size: int = 5,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.root = _own_dir("news-pgbouncer-")
        self.log_path = self.root / "pgbouncer.log"
        self._process: subprocess.Popen[bytes] | None = None
        userlist = self.root / "userlist.txt"
        userlist.write_text('"postgres" ""\n', encoding="utf-8")
        settings = {
            "listen_addr": self.host,
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": str(userlist),
            "pool_mode": pool_mode,
            "default_pool_size": str(pool_size),
            "max_client_conn": "500",
            "logfile": str(self.log_path),
            "pidfile": str(self.root / "pgbouncer.pid"),
            "ignore_startup_parameters": "extra_float_digits",
            "server_reset_query": "DISCARD ALL" if pool_mode == "session" else "",
        }
        settings.update(extra or {})
        lines = ["[databases]", f"* = host={server_host} port={server_port}", "", "[pgbouncer]"]
        lines += [f"{key} = {value}" for key, value in settings.items()]
        self.config = self.root / "pgbouncer.ini"
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            for path in (userlist, self.config):
                shutil.chown(path, "postgres", "postgres")

    def dsn(self, database: str, user: str = "postgres") -> str:
        """A URI to ``database`` through pgbouncer."""
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    def start(self, timeout: float = 30.0) -> PgBouncer:
        """Start pgbouncer; return when it accepts connections."""
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise PostgresStartError(
                "pgbouncer not found: install it (Debian: apt-get install pgbouncer)"
            )
        self._process = subprocess.Popen(  # noqa: S603 - a fixed program and our own config
            _as_postgres_user([binary, str(self.config)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not _port_open(self.host, self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise PostgresStartError(f"pgbouncer did not start:\n{_tail(self.log_path)}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop pgbouncer (SIGTERM, then SIGKILL after 10 s) and remove its directory."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


for _public in (PgBouncer, PostgresServer, PostgresStartError, PrivatePostgres, TestDatabase):
    _public.__module__ = "news_testing"  # their public home (also importable from here)
del _public
