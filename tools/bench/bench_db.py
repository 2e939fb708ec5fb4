"""Benchmark: news-db's Database against a raw asyncpg pool and psycopg 3's pool, in one run.

Contenders (one PostgreSQL, a fresh database, pools of ``--pool`` connections driven by as many
concurrent callers; every call borrows a connection for one statement and gives it back):

- ``fetchrow``: one row by primary key, ``SELECT ... FROM bench_articles WHERE id = $1``:
  ``Database.fetchrow`` vs asyncpg's ``Pool.fetchrow`` vs psycopg's
  ``AsyncConnectionPool.connection()`` + ``execute(..., prepare=True)`` + ``fetchone()``;
- ``insert``: one row, ``INSERT ... VALUES ($1, $2, $3)``: ``Database.execute`` vs
  ``Pool.execute`` vs psycopg. Each commit waits for the server's WAL flush (fsync), which no
  client can shorten; ``insert-nosync`` runs the same with ``synchronous_commit=off`` on all
  three connections' sessions, which leaves the clients' own cost;
- ``rows1000``: 1,000 rows of an article table (id, section, title, 1 KiB body, created_at)
  from one connection: ``Database.fetch(..., into=Article)`` (msgspec Structs) vs asyncpg's
  ``Pool.fetch`` (Records).

news-db runs with ``metrics="off"`` like the others (``... + metrics`` shows the default hook's
cost). Each contender runs ``--runs`` times, its place among the same kind of calls rotated
every run; the figure is the median
of the per-run ratios. Targets: news-db >= 0.9x asyncpg (fetchrow, insert, rows1000) and
>= 1.5x psycopg (fetchrow, insert).

    hatch run bench:db [--ops 20000] [--runs 5] [--pool 4] [--dsn postgresql://...] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from _meta import load_now, run_info

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ROWS = 10_000


class Article(msgspec.Struct):
    """One row of the 1,000-row result."""

    id: int
    section: str
    title: str
    body: str
    created_at: dt.datetime


def with_database(dsn: str, name: str) -> str:
    """The DSN with another database name."""
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


async def prepare(dsn: str) -> None:
    """Create and fill the benchmark's tables."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "CREATE TABLE bench_articles (id bigint PRIMARY KEY, section text NOT NULL,"
            " title text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL"
            " DEFAULT now());"
            "CREATE TABLE bench_inserts (id bigserial PRIMARY KEY, section text NOT NULL,"
            " title text NOT NULL, n int NOT NULL)"
        )
        body = "x" * 1024
        await conn.copy_records_to_table(
            "bench_articles",
            records=[(i, "world", f"article {i}", body) for i in range(ROWS)],
            columns=["id", "section", "title", "body"],
        )
        await conn.execute("VACUUM ANALYZE bench_articles")
    finally:
        await conn.close()


Runner = Callable[[int], Awaitable[float]]


async def drive(call: Callable[[int], Awaitable[Any]], ops: int, callers: int) -> float:
    """Run ``ops`` calls from ``callers`` concurrent tasks; return calls per second."""
    counter = iter(range(ops))

    async def caller() -> None:
        for i in counter:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return ops / (time.perf_counter() - started)


FETCHROW = "SELECT id, section, title FROM bench_articles WHERE id = $1"
INSERT = "INSERT INTO bench_inserts (section, title, n) VALUES ($1, $2, $3)"
ROWS_SQL = "SELECT id, section, title, body, created_at FROM bench_articles ORDER BY id LIMIT 1000"


async def run_all(dsn: str, ops: int, runs: int, pool: int) -> dict[str, list[float]]:
    """Run every contender ``runs`` times; return calls/s (or result sets/s) per contender."""
    import asyncpg
    import psycopg_pool

    import news_config
    import news_db

    settings = news_db.DatabaseSettings(
        dsn=news_config.Secret(dsn), min_size=pool, max_size=pool, metrics="off"
    )
    db = news_db.Database(settings, name="bench")
    db_metrics = news_db.Database(
        news_db.DatabaseSettings(
            dsn=news_config.Secret(dsn), min_size=pool, max_size=pool, metrics="auto"
        ),
        name="bench-metrics",
    )
    raw = await asyncpg.create_pool(dsn, min_size=pool, max_size=pool)
    nosync = dsn + "?synchronous_commit=off"  # asyncpg: unknown parameters are server settings
    db_nosync = news_db.Database(
        news_db.DatabaseSettings(
            dsn=news_config.Secret(nosync), min_size=pool, max_size=pool, metrics="off"
        ),
        name="bench-nosync",
    )
    raw_nosync = await asyncpg.create_pool(nosync, min_size=pool, max_size=pool)
    psy_nosync = psycopg_pool.AsyncConnectionPool(
        dsn + "?options=-c%20synchronous_commit%3Doff", min_size=pool, max_size=pool, open=False
    )
    await psy_nosync.open()
    await psy_nosync.wait()
    await db_nosync.start()
    psy = psycopg_pool.AsyncConnectionPool(dsn, min_size=pool, max_size=pool, open=False)
    await psy.open()
    await psy.wait()
    await db.start()
    await db_metrics.start()
    psy_fetch = FETCHROW.replace("$1", "%s")
    psy_insert = INSERT.replace("$1", "%s").replace("$2", "%s").replace("$3", "%s")

    async def psy_fetchrow(i: int) -> Any:
        async with psy.connection() as conn:
            cursor = await conn.execute(psy_fetch, (i % ROWS,), prepare=True)
            return await cursor.fetchone()

    async def psy_insert_one(i: int) -> None:
        async with psy.connection() as conn:
            await conn.execute(psy_insert, ("world", "t", i), prepare=True)

    async def psy_insert_nosync(i: int) -> None:
        async with psy_nosync.connection() as conn:
            await conn.execute(psy_insert, ("world", "t", i), prepare=True)

    rows_ops = max(20, ops // 40)  # result sets per run: ~1 s of a single caller
    contenders: dict[str, Runner] = {
        "fetchrow news-db": lambda n: drive(lambda i: db.fetchrow(FETCHROW, i % ROWS), n, pool),
        "fetchrow news-db + metrics": lambda n: drive(
            lambda i: db_metrics.fetchrow(FETCHROW, i % ROWS, operation="articles.get"), n, pool
        ),
        "fetchrow asyncpg": lambda n: drive(lambda i: raw.fetchrow(FETCHROW, i % ROWS), n, pool),
        "fetchrow psycopg": lambda n: drive(psy_fetchrow, n, pool),
        "insert news-db": lambda n: drive(lambda i: db.execute(INSERT, "world", "t", i), n, pool),
        "insert asyncpg": lambda n: drive(lambda i: raw.execute(INSERT, "world", "t", i), n, pool),
        "insert psycopg": lambda n: drive(psy_insert_one, n, pool),
        "insert-nosync news-db": lambda n: drive(
            lambda i: db_nosync.execute(INSERT, "world", "t", i), n, pool
        ),
        "insert-nosync asyncpg": lambda n: drive(
            lambda i: raw_nosync.execute(INSERT, "world", "t", i), n, pool
        ),
        "insert-nosync psycopg": lambda n: drive(psy_insert_nosync, n, pool),
        "rows1000 news-db Structs": lambda _: drive(
            lambda _i: db.fetch(ROWS_SQL, into=Article), rows_ops, 1
        ),
        "rows1000 asyncpg Records": lambda _: drive(lambda _i: raw.fetch(ROWS_SQL), rows_ops, 1),
    }
    results: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    try:
        for name in names:  # warm-up: statement caches, connections, codecs
            await contenders[name](max(100, ops // 20))
        groups: dict[str, list[str]] = {}
        for name in names:
            groups.setdefault(name.split()[0], []).append(name)
        for run in range(runs):
            # Each contender takes every place within its group in turn (same-kind calls
            # follow each other, so no one always runs first on a freshly grown table).
            order = [
                name
                for group in groups.values()
                for name in group[run % len(group) :] + group[: run % len(group)]
            ]
            for name in order:
                results[name].append(await contenders[name](ops))
            print(f"run {run + 1}/{runs} done", flush=True)
    finally:
        await db.stop()
        await db_metrics.stop()
        await db_nosync.stop()
        await raw.close()
        await raw_nosync.close()
        await psy.close()
        await psy_nosync.close()
    return results


PAIRS = {
    "fetchrow_vs_asyncpg": ("fetchrow news-db", "fetchrow asyncpg"),
    "fetchrow_vs_psycopg": ("fetchrow news-db", "fetchrow psycopg"),
    "insert_vs_asyncpg": ("insert news-db", "insert asyncpg"),
    "insert_vs_psycopg": ("insert news-db", "insert psycopg"),
    "insert_nosync_vs_asyncpg": ("insert-nosync news-db", "insert-nosync asyncpg"),
    "insert_nosync_vs_psycopg": ("insert-nosync news-db", "insert-nosync psycopg"),
    "rows1000_structs_vs_asyncpg_records": ("rows1000 news-db Structs", "rows1000 asyncpg Records"),
    "fetchrow_with_metrics_vs_asyncpg": ("fetchrow news-db + metrics", "fetchrow asyncpg"),
}
TARGETS = {
    "fetchrow_vs_asyncpg": 0.9,
    "fetchrow_vs_psycopg": 1.5,
    "insert_vs_asyncpg": 0.9,
    "insert_vs_psycopg": 1.5,
    "rows1000_structs_vs_asyncpg_records": 0.9,
}


def report(results: dict[str, list[float]]) -> dict[str, Any]:
    """Print medians and ratios; return them as a dict."""
    print("\ncalls/s (result sets/s for rows1000), median of runs:")
    for name, values in results.items():
        print(f"  {name:<28} {statistics.median(values):>10,.0f}")
    per_run = {
        key: [round(a / b, 3) for a, b in zip(results[ours], results[peer], strict=True)]
        for key, (ours, peer) in PAIRS.items()
    }
    ratios = {key: round(statistics.median(values), 3) for key, values in per_run.items()}
    print("\nratios, median of per-run ratios (target):")
    for key, ratio in ratios.items():
        goal = TARGETS.get(key)
        mark = "" if goal is None else ("ok" if ratio >= goal else "BELOW TARGET")
        target = f"(>= {goal}x)" if goal is not None else ""
        print(f"  {key:<38} {ratio:>6.2f}x {target:<10} {mark}  runs: {per_run[key]}")
    return {
        "results": {k: {"median": statistics.median(v), "runs": v} for k, v in results.items()},
        "ratios": ratios,
        "ratios_per_run": per_run,
        "targets": TARGETS,
    }


def main() -> int:
    """Create a database, run the contenders, drop it, print (and write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20_000, help="calls per contender and run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pool", type=int, default=4, help="pool size = concurrent callers")
    parser.add_argument("--dsn", default=ADMIN_DSN, help="a superuser DSN (a database is made)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    import asyncpg

    load = load_now()
    name = f"bench_db_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(args.dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        dsn = with_database(args.dsn, name)
        asyncio.run(prepare(dsn))
        results = asyncio.run(run_all(dsn, args.ops, args.runs, args.pool))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    figures = report(results)
    figures["setup"] = {"ops": args.ops, "runs": args.runs, "pool": args.pool}
    figures["meta"] = run_info("db", load)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
