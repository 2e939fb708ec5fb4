"""Benchmark: news-redis's rate limiter against raw redis-py, limits, and an unlimited route.

One run measures the limiter against raw redis-py and the limits library, and a news-http route
behind the limiter against the same route without it.

Checks (throughput, ``--checks`` per contender and run, ``--concurrency`` tasks on one event
loop, one private ``redis-server`` on loopback, 100 keys, a limit no check reaches):

- **raw redis-py EVALSHA**: ``redis.asyncio.Redis.evalsha`` of news-redis's own sliding-window
  script with the same arguments (the floor: one round trip, nothing else);
- **news-redis RateLimiter.check**: the same script through ``RateLimiter`` (key, rate
  parsing, the verdict as a ``RateLimitResult``, failure handling), metrics off;
- **limits moving window**: the ``limits`` library's ``MovingWindowRateLimiter.hit`` on its
  async Redis storage with the redis-py implementation (``limits`` installed without extras,
  on the same redis-py and a pool of the same size).

HTTP (wrk, ``--connections`` connections for ``--duration`` s, server pinned to one core,
wrk and redis-server to the other): ``POST /`` of a news-http app whose route is behind
``news_redis.http.rate_limit`` (keyed by client address, a limit no request reaches), vs the
same app without the middleware. Both apps are checked first (status, the RateLimit headers).

Targets (ratios of medians, per run): limiter >= 0.9x raw EVALSHA; the limited route >= 0.7x
the bare route; limiter >= 1.0x limits' moving window.

    hatch run bench:redis [--checks 20000] [--concurrency 16] [--runs 3] [--duration 5]
                          [--json docs/benchmarks/redis.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from _meta import load_now, run_info
from bench_http import ensure_wrk, free_port, parse_wrk, pin, stop

KEYS = 100
LIMIT = 100_000_000  # never reached: every check is admitted and counted


async def _run_checks(check: Any, checks: int, concurrency: int) -> float:
    """Run ``checks`` calls of ``check(i)`` over ``concurrency`` tasks; return seconds."""
    counter = iter(range(checks))

    async def worker() -> None:
        for i in counter:
            await check(i)

    for i in range(200):  # warm up: connections open, scripts loaded
        await check(i)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def raw_evalsha(url: str, checks: int, concurrency: int) -> float:
    """redis-py's evalsha of news-redis's script, same arguments."""
    from redis.asyncio import BlockingConnectionPool, Redis

    from news_redis._limiter import SLIDING_WINDOW_LUA

    pool = BlockingConnectionPool.from_url(url, max_connections=concurrency, timeout=5)
    client = Redis(connection_pool=pool)
    sha = await client.script_load(SLIDING_WINDOW_LUA)
    prefix = f"raw-{uuid.uuid4().hex[:8]}"
    member = f"{os.getpid()}:"

    async def check(i: int) -> Any:
        key = f"{prefix}:{i % KEYS}"
        return await client.evalsha(sha, 1, key, LIMIT, 60_000_000, 1, f"{member}{i}")

    try:
        return await _run_checks(check, checks, concurrency)
    finally:
        await client.aclose()
        await pool.aclose()


async def news_limiter(url: str, checks: int, concurrency: int) -> float:
    """news-redis's RateLimiter.check (metrics off)."""
    import news_redis

    settings = news_redis.RedisSettings(url=url, pool_size=concurrency, metrics="off")
    rate = news_redis.Rate(LIMIT, 60.0)
    prefix = f"news-{uuid.uuid4().hex[:8]}"
    async with news_redis.Redis(settings) as client:
        limiter = news_redis.RateLimiter(client, prefix=prefix)
        keys = [f"k{n}" for n in range(KEYS)]

        async def check(i: int) -> Any:
            return await limiter.check(keys[i % KEYS], rate)

        return await _run_checks(check, checks, concurrency)


async def limits_moving_window(url: str, checks: int, concurrency: int) -> float:
    """The limits library: MovingWindowRateLimiter.hit on redis-py."""
    from limits import RateLimitItemPerMinute
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import MovingWindowRateLimiter
    from redis.asyncio import BlockingConnectionPool

    pool = BlockingConnectionPool.from_url(url, max_connections=concurrency, timeout=5)
    storage = RedisStorage(
        "async+" + url, implementation="redispy", connection_pool=pool, key_prefix=uuid.uuid4().hex
    )
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(LIMIT)
    keys = [f"k{n}" for n in range(KEYS)]

    async def check(i: int) -> Any:
        return await limiter.hit(item, keys[i % KEYS])

    try:
        return await _run_checks(check, checks, concurrency)
    finally:
        await pool.aclose()


CHECKS = {
    "raw redis-py EVALSHA": raw_evalsha,
    "news-redis RateLimiter.check": news_limiter,
    "limits moving window": limits_moving_window,
}

APP = """
import sys
import news_http, news_log, news_redis
from news_redis.http import by_client_address, rate_limit

news_log.setup(news_log.LogSettings(level="warning"))
settings = news_http.HTTPSettings(host="127.0.0.1", port=int(sys.argv[1]), access_log=False,
                                  metrics="off", health="off")
app = news_http.create_app(settings, name="bench")
redis = news_redis.Redis(news_redis.RedisSettings(url=sys.argv[2], metrics="off"))
app.on_startup(redis.start)
app.on_shutdown(redis.stop)
limited = LIMITED
if limited:
    limiter = news_redis.RateLimiter(redis, prefix="bench-http-" + sys.argv[1])
    middleware = [rate_limit(limiter, "100000000/1s", key=by_client_address(app), name="bench")]
else:
    middleware = []

@app.post("/")
@news_http.with_middleware(*middleware)
async def hello():
    return {"hello": "world"}

news_http.run(app)
"""

HTTP = {"news-http route": False, "news-http route + rate limit": True}


def wait_serving(port: int, server: subprocess.Popen[bytes], limited: bool) -> None:
    """Poll POST / until it answers 200 (with the RateLimit headers when limited)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode} before serving")
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=b"", method="POST")
            with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310
                has_headers = "ratelimit-policy" in {k.lower() for k in response.headers}
                if response.status == 200 and has_headers == limited:
                    return
                raise RuntimeError(f"unexpected answer: {response.status} {response.headers}")
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer within 60 s")


def run_http(name: str, args: argparse.Namespace, wrk: str, url: str, workdir: Path) -> float:
    """Serve one app, load it with wrk, return requests/s."""
    port = free_port()
    script = workdir / f"app_{port}.py"
    script.write_text(textwrap.dedent(APP.replace("LIMITED", repr(HTTP[name]))))
    post = workdir / "post.lua"
    post.write_text('wrk.method = "POST"\n')
    server = subprocess.Popen(
        [*pin(0), sys.executable, str(script), str(port), url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_serving(port, server, HTTP[name])
        base = [*pin(1), wrk, "-t1", f"-c{args.connections}", "-s", str(post)]
        target = f"http://127.0.0.1:{port}/"
        subprocess.run([*base, "-d1s", target], capture_output=True, check=True)
        out = subprocess.run(
            [*base, f"-d{args.duration}s", "--latency", target],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        figures = parse_wrk(out)
        if figures["non_2xx"] or figures["socket_errors"]:
            raise RuntimeError(f"{name}: errors under load:\n{out}")
        return figures["rps"]
    finally:
        stop(server)


def main() -> int:
    """Start redis-server, run every contender ``--runs`` times (rotated), report ratios."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk per HTTP run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load = load_now()

    import news_log
    from news_testing import RedisServer

    news_log.setup(news_log.LogSettings(level="warning"))
    wrk = ensure_wrk()
    figures: dict[str, list[float]] = {name: [] for name in [*CHECKS, *HTTP]}
    with RedisServer() as server, tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["taskset", "-pc", "1", str(server.pid)], capture_output=True, check=False)
        print(f"redis-server {server.url} (pid {server.pid})")
        for run in range(args.runs):
            names = list(CHECKS)
            names = names[run % len(names) :] + names[: run % len(names)]
            for name in names:
                seconds = asyncio.run(CHECKS[name](server.url, args.checks, args.concurrency))
                rate = args.checks / seconds
                figures[name].append(rate)
                print(f"  run {run + 1}: {name:<32} {rate:>10,.0f} checks/s", flush=True)
            for name in list(HTTP)[:: 1 if run % 2 == 0 else -1]:
                rps = run_http(name, args, wrk, server.url, Path(tmp))
                figures[name].append(rps)
                print(f"  run {run + 1}: {name:<32} {rps:>10,.0f} req/s", flush=True)
            server.flush()

    pairs = {
        "limiter_vs_raw_evalsha": ("news-redis RateLimiter.check", "raw redis-py EVALSHA"),
        "limited_route_vs_route": ("news-http route + rate limit", "news-http route"),
        "limiter_vs_limits_moving_window": (
            "news-redis RateLimiter.check",
            "limits moving window",
        ),
    }
    targets = {
        "limiter_vs_raw_evalsha": 0.9,
        "limited_route_vs_route": 0.7,
        "limiter_vs_limits_moving_window": 1.0,
    }
    per_run = {
        key: [a / b for a, b in zip(figures[x], figures[y], strict=True)]
        for key, (x, y) in pairs.items()
    }
    ratios = {key: statistics.median(values) for key, values in per_run.items()}
    medians = {name: statistics.median(values) for name, values in figures.items()}
    print("\nmedians:")
    for name, value in medians.items():
        unit = "req/s" if name in HTTP else "checks/s"
        print(f"  {name:<32} {value:>10,.0f} {unit}")
    print("\nratios, median of per-run ratios (target):")
    for key, ratio in ratios.items():
        mark = "ok" if ratio >= targets[key] else "BELOW TARGET"
        runs = ", ".join(f"{r:.2f}" for r in per_run[key])
        print(f"  {key:<34} {ratio:>5.2f}x (>= {targets[key]}x) {mark}   runs: {runs}")
    result = {
        "checks": args.checks,
        "concurrency": args.concurrency,
        "keys": KEYS,
        "wrk": {"connections": args.connections, "duration_s": args.duration},
        "runs": figures,
        "medians": medians,
        "ratios": ratios,
        "ratios_per_run": per_run,
        "targets": targets,
        "python": sys.version.split()[0],
        "meta": run_info("redis", load),
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
