"""``python -m news_db migrate|status|new NAME``: migrations from a shell.

The connection comes from the environment, as a service loads it (news-config):
``--prefix`` names the variables (default ``DB_``: ``DB_HOST``, ``DB_PASSWORD``, ``DB_DSN``,
``DB_MIGRATIONS``...); ``--migrations`` overrides the folder. Exit status: 0 done, 1 a
migration or connection error (message on stderr), 2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from news_db._settings import DatabaseSettings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m news_db", description="Apply, list or create news-db SQL migrations."
    )
    parser.add_argument(
        "--prefix", default="DB_", help="environment prefix of the DatabaseSettings (DB_)"
    )
    parser.add_argument(
        "--migrations", help="migrations folder or package:folder (default: <prefix>MIGRATIONS)"
    )
    parser.add_argument("--env-file", default=".env", help="a .env file to read (.env)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the pending migrations, in order")
    commands.add_parser("status", help="list every migration: applied, pending, changed")
    new = commands.add_parser("new", help="create the next NNNN_name.sql file")
    new.add_argument("name", help="what the migration does, e.g. add_tags")
    return parser


def _settings(args: argparse.Namespace) -> DatabaseSettings:
    import news_config
    from news_db._settings import DatabaseSettings

    settings = news_config.load(DatabaseSettings, prefix=args.prefix, env_file=args.env_file)
    if args.migrations:
        import msgspec

        settings = msgspec.structs.replace(settings, migrations=args.migrations)
    return settings


async def _run(args: argparse.Namespace, settings: DatabaseSettings) -> int:
    import msgspec

    from news_db._database import Database
    from news_db._migrations import Migrations

    assert settings.migrations is not None
    migrations = Migrations(settings.migrations)
    quiet = msgspec.structs.replace(
        settings, min_size=1, max_size=1, migrate_on_start=False, metrics="off"
    )
    async with Database(quiet, name="news-db-migrate") as db:
        if args.command == "migrate":
            applied = await migrations.apply(db)
            for name in applied:
                print(f"applied {name}")
            print(f"{len(applied)} migration(s) applied" if applied else "up to date")
            return 0
        states = await migrations.status(db)
    for state in states:
        when = state.applied_at.isoformat(timespec="seconds") if state.applied_at else "-"
        print(f"{state.state:<8} {state.name:<48} {when}")
    pending = sum(s.state == "pending" for s in states)
    print(f"{len(states)} migration(s), {pending} pending")
    return 1 if any(s.state in {"changed", "missing"} for s in states) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    import news_config
    from news_db._errors import NewsDBError
    from news_db._migrations import Migrations

    try:
        settings = _settings(args)
    except (news_config.NewsConfigError, NewsDBError) as exc:
        print(f"news_db: bad settings: {exc}", file=sys.stderr)
        return 2
    if not settings.migrations:
        print(
            f"news_db: no migrations folder: set {args.prefix}MIGRATIONS or pass --migrations",
            file=sys.stderr,
        )
        return 2
    try:
        if args.command == "new":
            print(Migrations(settings.migrations).new(args.name))
            return 0
        return asyncio.run(_run(args, settings))
    except NewsDBError as exc:
        print(f"news_db: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
