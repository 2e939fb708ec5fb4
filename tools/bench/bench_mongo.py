"""Benchmark: news-mongo's Mongo against a raw pymongo AsyncMongoClient, in one run.

Contenders (one MongoDB server, a fresh database, a pool of ``--pool`` connections driven by as
many concurrent callers):

- ``insert``: one document (slug, section, title, words, tags, published_at) per call:
  ``Collection.insert_one(Article Struct)`` (encoded with msgspec.to_builtins) vs raw
  ``AsyncCollection.insert_one(dict)``;
- ``get``: one document by ``_id``: ``Collection.get(id)`` **decoded into the Article Struct**
  vs raw ``find_one({"_id": id})`` returning **a dict** (news-mongo does more work here);
  ``get dict`` is news-mongo without a Struct (dicts, like raw), isolating the wrapper;
- ``get + metrics``: news-mongo's ``get`` with the Prometheus hook (pymongo command and pool
  monitoring) on.

Two figures per contender: calls/s (wall clock; bound by the server, which runs on the same
machine) and the client's CPU time per call (``time.process_time`` of this process: the server
is another process), which is what news-mongo adds. Ratios are news-mongo ÷ raw for calls/s
and raw ÷ news-mongo for CPU per call, so higher is better for both; the figure is the median
of per-run ratios, each contender's place rotated every run. Target: >= 0.9x.

The server is a private SecantusDB (news-testing's MongoServer; a MongoDB wire-protocol server in
Python: slow, so absolute numbers measure it more than the clients) unless ``--uri`` names one.

    hatch run bench:mongo [--ops 3000] [--runs 5] [--pool 4] [--uri mongodb://...] [--json PATH]
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from _meta import load_now, run_info
from bson import ObjectId

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class Article(msgspec.Struct, kw_only=True):
    """The benchmark's document."""

    slug: str
    section: str
    title: str
    words: int
    tags: list[str]
    published_at: dt.datetime
    id: ObjectId = msgspec.field(default_factory=ObjectId, name="_id")


def article(i: int) -> Article:
    """The i-th benchmark article."""
    return Article(
        slug=f"article-{i}",
        section=("world", "politics", "sport")[i % 3],
        title=f"Headline number {i} of the benchmark",
        words=300 + i % 700,
        tags=["bench", f"t{i % 10}"],
        published_at=dt.datetime(2026, 12, 5, 9, i % 60, tzinfo=dt.UTC),
    )


def as_dict(a: Article) -> dict[str, Any]:
    """The raw driver's document for the same article."""
    return {
        "_id": ObjectId(),
        "slug": a.slug,
        "section": a.section,
        "title": a.title,
        "words": a.words,
        "tags": a.tags,
        "published_at": a.published_at,
    }


async def drive(
    call: Callable[[int], Awaitable[Any]], ops: int, callers: int
) -> tuple[float, float]:
    """Run ``ops`` calls from ``callers`` tasks; return (calls/s, client CPU µs per call)."""
    counter = iter(range(ops))

    async def caller() -> None:
        for i in counter:
            await call(i)

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    wall = time.perf_counter() - started
    return ops / wall, (time.process_time() - cpu) / ops * 1e6


async def run_all(uri: str, database: str, ops: int, runs: int, pool: int) -> dict[str, Any]:
    """Run every contender ``runs`` times; return calls/s and CPU µs per call per contender."""
    from pymongo import AsyncMongoClient

    import news_config
    import news_mongo
    from news_mongo.metrics import MongoMetrics

    def settings(metrics: str) -> news_mongo.MongoSettings:
        return news_mongo.MongoSettings(
            uri=news_config.Secret(uri),
            database=database,
            min_pool_size=pool,
            max_pool_size=pool,
            metrics=metrics,  # type: ignore[arg-type]
        )

    ours = news_mongo.Mongo(settings("off"), name="bench")
    with_metrics = news_mongo.Mongo(settings("on"), name="bench-metrics", metrics=MongoMetrics())
    await ours.start()
    await with_metrics.start()
    raw_client: AsyncMongoClient[Any] = AsyncMongoClient(
        uri, minPoolSize=pool, maxPoolSize=pool, tz_aware=True, uuidRepresentation="standard"
    )
    raw = raw_client[database]["articles"]
    typed = ours.collection("articles", Article)
    plain = ours.collection("articles")
    metered = with_metrics.collection("articles", Article)

    seed = [article(i) for i in range(1000)]
    await typed.insert_many(seed)
    ids = [a.id for a in seed]

    contenders: dict[str, Callable[[int], Awaitable[tuple[float, float]]]] = {
        "insert news-mongo Struct": lambda n: drive(
            lambda i: typed.insert_one(article(i)), n, pool
        ),
        "insert raw dict": lambda n: drive(lambda i: raw.insert_one(as_dict(article(i))), n, pool),
        "get news-mongo Struct": lambda n: drive(lambda i: typed.get(ids[i % 1000]), n, pool),
        "get news-mongo dict": lambda n: drive(lambda i: plain.get(ids[i % 1000]), n, pool),
        "get raw dict": lambda n: drive(lambda i: raw.find_one({"_id": ids[i % 1000]}), n, pool),
        "get news-mongo Struct + metrics": lambda n: drive(
            lambda i: metered.get(ids[i % 1000]), n, pool
        ),
    }
    rate: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    try:
        for name in names:  # warm-up: connections, caches
            await contenders[name](max(100, ops // 10))
        groups: dict[str, list[str]] = {}
        for name in names:
            groups.setdefault(name.split()[0], []).append(name)
        for run in range(runs):
            order = [
                name
                for group in groups.values()
                for name in group[run % len(group) :] + group[: run % len(group)]
            ]
            for name in order:
                calls, micros = await contenders[name](ops)
                rate[name].append(calls)
                cpu[name].append(micros)
            print(f"run {run + 1}/{runs} done", flush=True)
    finally:
        await ours.stop()
        await with_metrics.stop()
        await raw_client.close()
    return {"rate": rate, "cpu": cpu}


PAIRS = {
    "insert_struct_vs_raw_dict": ("insert news-mongo Struct", "insert raw dict"),
    "get_struct_vs_raw_dict": ("get news-mongo Struct", "get raw dict"),
    "get_dict_vs_raw_dict": ("get news-mongo dict", "get raw dict"),
    "get_struct_metrics_vs_raw_dict": ("get news-mongo Struct + metrics", "get raw dict"),
}
TARGETS = {
    "insert_struct_vs_raw_dict": 0.9,
    "get_struct_vs_raw_dict": 0.9,
    "insert_struct_vs_raw_dict_cpu": 0.9,
    "get_struct_vs_raw_dict_cpu": 0.9,
}


def report(measured: dict[str, Any]) -> dict[str, Any]:
    """Print medians and ratios; return them as a dict."""
    rate, cpu = measured["rate"], measured["cpu"]
    print("\nmedian of runs:                        calls/s   client CPU µs/call")
    for name in rate:
        print(
            f"  {name:<34} {statistics.median(rate[name]):>9,.0f}"
            f"   {statistics.median(cpu[name]):>9,.1f}"
        )
    per_run: dict[str, list[float]] = {}
    for key, (ours, peer) in PAIRS.items():
        per_run[key] = [round(a / b, 3) for a, b in zip(rate[ours], rate[peer], strict=True)]
        per_run[f"{key}_cpu"] = [round(b / a, 3) for a, b in zip(cpu[ours], cpu[peer], strict=True)]
    ratios = {key: round(statistics.median(values), 3) for key, values in per_run.items()}
    print("\nratios (calls/s: ours ÷ raw; _cpu: raw CPU ÷ ours), median of per-run ratios:")
    for key, ratio in ratios.items():
        goal = TARGETS.get(key)
        mark = "" if goal is None else ("ok" if ratio >= goal else "BELOW TARGET")
        target = f"(>= {goal}x)" if goal is not None else ""
        print(f"  {key:<40} {ratio:>6.2f}x {target:<10} {mark}  runs: {per_run[key]}")
    return {
        "results": {
            name: {
                "calls_per_s": statistics.median(rate[name]),
                "cpu_us_per_call": round(statistics.median(cpu[name]), 2),
                "runs": rate[name],
            }
            for name in rate
        },
        "ratios": ratios,
        "ratios_per_run": per_run,
        "targets": TARGETS,
    }


def main() -> int:
    """Start a server (or use --uri), run the contenders, print (and write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=3000, help="calls per contender and run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pool", type=int, default=4, help="pool size = concurrent callers")
    parser.add_argument("--uri", help="a MongoDB to use (default: a private SecantusDB)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    from pymongo import MongoClient

    from news_testing import MongoServer

    load = load_now()
    database = f"bench_mongo_{uuid.uuid4().hex[:8]}"
    server = None if args.uri else MongoServer().start()
    uri = args.uri or (server.uri if server else "")
    try:
        measured = asyncio.run(run_all(uri, database, args.ops, args.runs, args.pool))
    finally:
        client: MongoClient[Any] = MongoClient(uri)
        client.drop_database(database)
        client.close()
        if server is not None:
            server.close()
    figures = report(measured)
    figures["setup"] = {
        "ops": args.ops,
        "runs": args.runs,
        "pool": args.pool,
        "server": "external" if args.uri else "SecantusDB 0.7.0b3 (Python server, same machine)",
    }
    figures["meta"] = run_info("mongo", load)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
