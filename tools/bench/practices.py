"""Measurements behind docs/best-practices.md that no package benchmark makes.

    hatch run bench:python tools/bench/practices.py [--seconds 4] [--rounds 3] [--requests 2000]
        [--only handlers|outbox] [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--json PATH]

1. **Handlers**: one news-http app (full default stack, access log, metrics and health off) with
   three routes: ``/sync-wait`` (a sync handler waiting 10 ms in ``time.sleep``, as a blocking
   driver call does), ``/async-wait`` (an async handler awaiting 10 ms) and ``/cpu`` (a sync
   handler computing ~2 ms of pure Python). Served with ``processes=1 workers=1``, ``processes=1
   workers=4`` and ``processes=2 workers=1``; 64 concurrent keep-alive clients (aiohttp, in this
   process) for ``--seconds`` per route, after a 1 s warm-up; ``--rounds`` rounds, configurations
   interleaved, medians of req/s.
2. **Outbox**: one Tansu broker (news-testing) and a fresh database on the local PostgreSQL
   (made and dropped here). ``--requests`` "requests" by 8 concurrent callers, each storing one
   article and its event, four ways: *insert only* (no event: the floor), *publish then
   commit* (``await publisher.publish(...)``, then the ``INSERT``), *outbox* (the ``INSERT``
   and an outbox row in one transaction block: four round trips) and *outbox, one statement*
   (both inserts in one statement, ``WITH article AS (INSERT ...) INSERT INTO outbox ...``:
   one round trip, atomic on its own); then the *relay* publishes the outbox rows with
   ``publish_many`` in batches of 500 and deletes them (rows/s). Medians of ``--rounds`` rounds,
   contenders rotated.

Not a `hatch run bench:<name>` benchmark with a results file and a chart panel: the figures go
into docs/best-practices.md, with the date, the load average and this command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _meta import load_now, run_info

APP = """
import asyncio, time
import news_api, news_config, news_http

settings = news_config.load(news_http.HTTPSettings, prefix="HTTP_", env_file=None)
app = news_http.create_app(settings, name="practices")


@app.get("/sync-wait")
def sync_wait() -> news_api.Response:
    time.sleep(0.01)  # a blocking call: a driver, a file, a sync HTTP client
    return news_api.ok({"waited_ms": 10})


@app.get("/async-wait")
async def async_wait() -> news_api.Response:
    await asyncio.sleep(0.01)  # an awaited call: asyncpg, aiokafka, aiohttp
    return news_api.ok({"waited_ms": 10})


@app.get("/cpu")
def cpu() -> news_api.Response:
    return news_api.ok({"sum": sum(i * i for i in range(CPU_N))})


if __name__ == "__main__":
    news_http.run(app)
"""
CPU_N = 20_000
CONFIGS = {"p1 w1": (1, 1), "p1 w4": (1, 4), "p2 w1": (2, 1)}
ROUTES = {"p1 w1": ("/sync-wait", "/async-wait", "/cpu"), "p1 w4": ("/sync-wait", "/cpu")}
ROUTES["p2 w1"] = ("/sync-wait", "/cpu")
CLIENTS = 64


def free_port() -> int:
    """A port the OS just handed out."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve(app_file: Path, processes: int, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    """Start the app with these settings; return it and its port once it answers."""
    import urllib.request

    port = free_port()
    env = dict(os.environ)
    env |= {
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "HTTP_PROCESSES": str(processes),
        "HTTP_WORKERS": str(workers),
        "HTTP_ACCESS_LOG": "false",
        "HTTP_METRICS": "off",
        "HTTP_HEALTH": "off",
        "LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [sys.executable, str(app_file)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"server exited: {server.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/cpu", timeout=2) as answer:
                if answer.status == 200:
                    return server, port
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("server did not answer within 60 s")
        time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then wait (kill after 60 s)."""
    server.terminate()
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def drive(url: str, seconds: float) -> float:
    """Requests/s answered 200 by ``CLIENTS`` concurrent keep-alive clients for ``seconds``."""
    import aiohttp

    done = 0
    failed = 0
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client(until: float, count: bool) -> None:
            nonlocal done, failed
            while time.monotonic() < until:
                async with session.get(url) as answer:
                    await answer.read()
                    if count:
                        if answer.status == 200:
                            done += 1
                        else:
                            failed += 1

        warm = time.monotonic() + 1.0
        await asyncio.gather(*(client(warm, False) for _ in range(CLIENTS)))
        start = time.monotonic()
        await asyncio.gather(*(client(start + seconds, True) for _ in range(CLIENTS)))
        elapsed = time.monotonic() - start
    if failed:
        raise RuntimeError(f"{url}: {failed} answers were not 200")
    return done / elapsed


def measure_handlers(seconds: float, rounds: int) -> dict[str, list[float]]:
    """Req/s per (configuration, route), one list entry per round."""
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        app_file = Path(folder) / "practices_app.py"
        app_file.write_text(APP.replace("CPU_N", str(CPU_N)))
        for round_ in range(rounds):
            names = list(CONFIGS)
            names = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in names:
                processes, workers = CONFIGS[name]
                server, port = serve(app_file, processes, workers)
                try:
                    for route in ROUTES[name]:
                        rps = asyncio.run(drive(f"http://127.0.0.1:{port}{route}", seconds))
                        figures.setdefault(f"{name} {route}", []).append(rps)
                        print(f"  round {round_ + 1}: {name} {route}: {rps:,.0f} req/s", flush=True)
                finally:
                    stop(server)
    return figures


async def measure_outbox(dsn: str, bootstrap: str, requests: int, rounds: int) -> dict[str, Any]:
    """Stored articles/s for each way of emitting their events, and the relay's rows/s."""
    import msgspec

    import news_config
    import news_db
    import news_kafka
    from news_testing import kafka_test_settings

    class Event(msgspec.Struct, frozen=True):
        event_id: str
        article_id: str
        title: str

    kafka = kafka_test_settings(bootstrap)
    topic = f"practices-{uuid.uuid4().hex[:8]}"
    await news_kafka.ensure_topics(kafka, [news_kafka.TopicSpec(topic, partitions=3)])
    settings = news_db.DatabaseSettings(
        dsn=news_config.Secret(dsn), min_size=8, max_size=8, metrics="off"
    )
    figures: dict[str, list[float]] = {}
    async with (
        news_db.Database(settings, name="practices") as db,
        news_kafka.Publisher(kafka) as publisher,
    ):
        await db.execute(
            "CREATE TABLE articles (id text PRIMARY KEY, title text NOT NULL);"
            "CREATE TABLE outbox (id bigserial PRIMARY KEY, topic text NOT NULL,"
            " key text NOT NULL, value jsonb NOT NULL)"
        )

        async def insert_only(article_id: str) -> None:
            await db.execute("INSERT INTO articles VALUES ($1, $2)", article_id, "A title")

        async def publish_then_commit(article_id: str) -> None:
            event = Event(uuid.uuid4().hex, article_id, "A title")
            await publisher.publish(topic, event, key=article_id, timeout=5.0)
            await db.execute("INSERT INTO articles VALUES ($1, $2)", article_id, "A title")

        async def outbox(article_id: str) -> None:
            event = Event(uuid.uuid4().hex, article_id, "A title")
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO articles VALUES ($1, $2)", article_id, "A title")
                await tx.execute(
                    "INSERT INTO outbox (topic, key, value) VALUES ($1, $2, $3)",
                    topic,
                    article_id,
                    event,
                )

        async def outbox_one_statement(article_id: str) -> None:
            event = Event(uuid.uuid4().hex, article_id, "A title")
            await db.execute(
                "WITH article AS (INSERT INTO articles VALUES ($1, $2))"
                " INSERT INTO outbox (topic, key, value) VALUES ($3, $1, $4)",
                article_id,
                "A title",
                topic,
                event,
            )

        async def relay() -> int:
            async with db.transaction() as tx:
                rows = await tx.fetch("SELECT id, key, value FROM outbox ORDER BY id LIMIT 500")
                records = [news_kafka.ProducerRecord(value=r["value"], key=r["key"]) for r in rows]
                if records:
                    await publisher.publish_many(topic, records, timeout=30.0)
                    await tx.execute(
                        "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
                    )
            return len(rows)

        contenders = {
            "insert only": insert_only,
            "publish then commit": publish_then_commit,
            "outbox": outbox,
            "outbox, one statement": outbox_one_statement,
        }
        for round_ in range(rounds):
            names = list(contenders)
            names = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in names:
                queue = [f"{name}-{round_}-{n}" for n in range(requests)]

                async def caller(work: list[str], fn: Any) -> None:
                    while work:
                        await fn(work.pop())

                start = time.perf_counter()
                await asyncio.gather(*(caller(queue, contenders[name]) for _ in range(8)))
                rate = requests / (time.perf_counter() - start)
                figures.setdefault(name, []).append(rate)
                print(f"  round {round_ + 1}: {name}: {rate:,.0f} articles/s", flush=True)
            start = time.perf_counter()
            relayed = 0
            while moved := await relay():
                relayed += moved
            rate = relayed / (time.perf_counter() - start)
            figures.setdefault("relay", []).append(rate)
            print(f"  round {round_ + 1}: relay: {relayed} rows, {rate:,.0f} rows/s", flush=True)
    return figures


async def with_fresh_database(admin_dsn: str, bootstrap: str, requests: int, rounds: int) -> Any:
    """Make a database, measure in it, drop it."""
    import asyncpg

    name = f"practices_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base, _, _ = admin_dsn.rpartition("/")
            return await measure_outbox(f"{base}/{name}", bootstrap, requests, rounds)
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def main() -> int:
    """Parse arguments, measure, print (and write) the medians."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--only", choices=("handlers", "outbox"))
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load = load_now()
    import news_log

    news_log.setup(news_log.LogSettings(level="warning"))
    figures: dict[str, list[float]] = {}
    if args.only in (None, "handlers"):
        print(f"handlers ({CLIENTS} clients, {args.seconds} s per route, {args.rounds} rounds):")
        figures |= measure_handlers(args.seconds, args.rounds)
    if args.only in (None, "outbox"):
        from news_testing import KafkaBroker

        broker = KafkaBroker().start()
        try:
            print(f"outbox ({args.requests} articles x {args.rounds} rounds, 8 callers):")
            figures |= asyncio.run(
                with_fresh_database(args.dsn, broker.bootstrap, args.requests, args.rounds)
            )
        finally:
            broker.stop()
    medians = {name: round(statistics.median(values), 1) for name, values in figures.items()}
    print("\nmedians:")
    for name, value in medians.items():
        print(f"  {name}: {value:,.1f}")
    if args.json:
        meta = run_info("practices", load)
        command = ["hatch run bench:python tools/bench/practices.py", *sys.argv[1:]]
        meta["command"] = " ".join(command)
        result = {"medians": medians, "runs": figures, "meta": meta}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
