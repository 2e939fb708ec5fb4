"""Benchmark: news-client's HTTPClient against raw aiohttp and httpx, and a breaker decision.

One GET of a small JSON document (about 200 bytes) on loopback, over and over, from
``--concurrency`` tasks on one event loop, against an aiohttp.web server in a child process
(uvloop, one core's worth). Contenders, run in rotated order each round:

- ``aiohttp``: a raw ``aiohttp.ClientSession``, ``async with session.get(url) as r``, body read,
  decoded with ``msgspec.json.decode`` (the peer: news-client's target is >= 0.9x of it);
- ``news-client``: ``await client.get("/doc")`` then ``.json()``: the same decode, plus the
  deadline, the retry loop, the breaker, the bulkhead, request-id headers; metrics off;
- ``news-client + metrics``: the same with ``ClientMetrics`` (prometheus-client);
- ``httpx``: ``httpx.AsyncClient.get`` then ``msgspec.json.decode`` (news-client's target is
  >= 2x of it).

Every contender keeps its connections alive (pool of ``--concurrency``). Each round every
contender makes ``--requests`` requests; per-round ratios are taken, and their medians
reported. Then a breaker decision (``acquire()`` on a closed breaker) and a full breaker
accounting (``acquire()`` + ``success()``) are timed with ``timeit``: the target is < 2 us.

    hatch run bench:client [--requests 5000] [--rounds 5] [--concurrency 8] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import statistics
import sys
import time
import timeit
from pathlib import Path
from typing import Any

import msgspec
from _meta import load_now, run_info

DOC = {
    "id": 7,
    "title": "Summit opens in Oslo",
    "section": "world",
    "tags": ["politics", "europe", "summit"],
    "author": "Ada Lovelace",
    "published_at": "2026-12-05T10:00:00Z",
    "words": 812,
}


def serve(port_queue: Any) -> None:
    """The dependency: aiohttp.web on uvloop serving /doc, in a child process."""
    import uvloop
    from aiohttp import web

    body = msgspec.json.encode(DOC)

    async def doc(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/doc", doc)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_queue.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    uvloop.run(main())


async def _drive(n: int, concurrency: int, one: Any) -> tuple[float, float]:
    """Make ``n`` calls of ``one()`` from ``concurrency`` tasks.

    Returns calls per second (wall clock) and this process's CPU microseconds per call: the
    client's own cost, which other work on the machine disturbs far less than the wall clock.
    """
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    started = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu_us = (time.process_time() - cpu) / n * 1e6
    return n / (time.perf_counter() - started), cpu_us


async def run_aiohttp(url: str, n: int, concurrency: int) -> tuple[float, float]:
    """Raw aiohttp.ClientSession."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        target = url + "/doc"

        async def one() -> None:
            async with session.get(target) as response:
                msgspec.json.decode(await response.read())

        await _drive(concurrency * 4, concurrency, one)  # warm the pool
        return await _drive(n, concurrency, one)


async def run_news_client(
    url: str, n: int, concurrency: int, *, metrics: bool
) -> tuple[float, float]:
    """news-client's HTTPClient (defaults: breaker, retries, bulkhead, deadline)."""
    import news_client

    settings = news_client.ClientSettings(
        base_url=url, pool_size=concurrency, metrics="on" if metrics else "off"
    )
    async with news_client.HTTPClient(settings, name="bench") as client:

        async def one() -> None:
            (await client.get("/doc")).json()

        await _drive(concurrency * 4, concurrency, one)
        return await _drive(n, concurrency, one)


async def run_httpx(url: str, n: int, concurrency: int) -> tuple[float, float]:
    """httpx.AsyncClient."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:

        async def one() -> None:
            response = await client.get("/doc")
            msgspec.json.decode(response.content)

        await _drive(concurrency * 4, concurrency, one)
        return await _drive(n, concurrency, one)


def breaker_costs() -> dict[str, float]:
    """Microseconds per breaker decision and per decision + recorded outcome (best of 5)."""
    import news_client

    breaker = news_client.CircuitBreaker(news_client.BreakerSettings(), name="bench")
    acquire = breaker.acquire
    success = breaker.success
    number = 200_000

    def decision() -> None:
        acquire()

    def accounting() -> None:
        success(acquire(), 0.001)

    costs = {}
    for name, fn in (("decision", decision), ("decision_and_outcome", accounting)):
        best = min(timeit.repeat(fn, number=number, repeat=5))
        costs[name] = best / number * 1e6
    open_breaker = news_client.CircuitBreaker(news_client.BreakerSettings(), name="open")
    open_breaker.force_open(3600)

    def refused() -> None:
        with contextlib.suppress(news_client.BreakerOpenError):
            open_breaker.acquire()

    best = min(timeit.repeat(refused, number=50_000, repeat=5))
    costs["refusal_when_open"] = best / 50_000 * 1e6
    return costs


CONTENDERS = ("aiohttp", "news-client", "news-client + metrics", "httpx")


async def round_once(
    url: str, n: int, concurrency: int, order: list[str]
) -> dict[str, tuple[float, float]]:
    """One round: every contender once, in ``order``: (requests per second, CPU us each)."""
    result = {}
    for name in order:
        if name == "aiohttp":
            result[name] = await run_aiohttp(url, n, concurrency)
        elif name == "news-client":
            result[name] = await run_news_client(url, n, concurrency, metrics=False)
        elif name == "news-client + metrics":
            result[name] = await run_news_client(url, n, concurrency, metrics=True)
        else:
            result[name] = await run_httpx(url, n, concurrency)
    return result


def main() -> int:
    """Run the benchmark, print the table, write ``--json``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per contender/round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    load_before = load_now()

    ports: Any = multiprocessing.get_context("spawn").Queue()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(ports,), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{ports.get(timeout=30)}"
        rounds: list[dict[str, tuple[float, float]]] = []
        order = list(CONTENDERS)
        for i in range(args.rounds):
            figures = asyncio.run(round_once(url, args.requests, args.concurrency, order))
            rounds.append(figures)
            print(
                f"round {i + 1}: "
                + ", ".join(f"{k} {v[0]:,.0f} req/s {v[1]:.0f} us CPU" for k, v in figures.items())
            )
            order = order[1:] + order[:1]
    finally:
        server.terminate()
        server.join(5)

    def ratios(ours: str, peer: str) -> list[float]:
        """Per round: our req/s over the peer's."""
        return [r[ours][0] / r[peer][0] for r in rounds]

    def cpu_ratios(ours: str, peer: str) -> list[float]:
        """Per round: the peer's client CPU per request over ours (higher is better)."""
        return [r[peer][1] / r[ours][1] for r in rounds]

    per_run = {
        "news_client_vs_aiohttp": ratios("news-client", "aiohttp"),
        "news_client_vs_httpx": ratios("news-client", "httpx"),
        "news_client_metrics_vs_aiohttp": ratios("news-client + metrics", "aiohttp"),
    }
    per_run_cpu = {
        "news_client_vs_aiohttp": cpu_ratios("news-client", "aiohttp"),
        "news_client_vs_httpx": cpu_ratios("news-client", "httpx"),
        "news_client_metrics_vs_aiohttp": cpu_ratios("news-client + metrics", "aiohttp"),
    }
    costs = breaker_costs()
    result: dict[str, Any] = {
        "meta": run_info("client", load_before),
        "requests": args.requests,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "median_req_per_s": {c: statistics.median(r[c][0] for r in rounds) for c in CONTENDERS},
        "median_cpu_us_per_request": {
            c: round(statistics.median(r[c][1] for r in rounds), 1) for c in CONTENDERS
        },
        "ratios": {k: round(statistics.median(v), 3) for k, v in per_run_cpu.items()},
        "ratios_per_run": {k: [round(x, 3) for x in v] for k, v in per_run_cpu.items()},
        "ratios_basis": "client CPU time per request (peer's / ours), per round",
        "wall_clock_ratios": {k: round(statistics.median(v), 3) for k, v in per_run.items()},
        "wall_clock_ratios_per_run": {k: [round(x, 3) for x in v] for k, v in per_run.items()},
        "targets": {"news_client_vs_aiohttp": 0.9, "news_client_vs_httpx": 2.0},
        "breaker_us": {k: round(v, 4) for k, v in costs.items()},
        "breaker_target_us": 2.0,
    }
    print()
    print("| contender | req/s (median) | client CPU us per request (median) |")
    print("| --- | ---: | ---: |")
    for name, value in result["median_req_per_s"].items():
        cpu = result["median_cpu_us_per_request"][name]
        print(f"| {name} | {value:,.0f} | {cpu:.0f} |")
    print()
    for key, value in result["ratios"].items():
        print(f"{key}: CPU {value:.3f} (per round {result['ratios_per_run'][key]})")
        wall = result["wall_clock_ratios"][key]
        print(
            f"{key}: wall clock {wall:.3f} (per round {result['wall_clock_ratios_per_run'][key]})"
        )
    for key, value in result["breaker_us"].items():
        print(f"breaker {key}: {value:.3f} us")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
