"""Benchmark: the cost per request of news-metrics' hooks, against naive prometheus-client use.

Each contender runs in its own fresh interpreter and records N simulated requests (or Kafka
messages) with a rotation of 3 routes and 3 statuses, timed with perf_counter; the median of
--runs runs is reported in microseconds per request, with the ratio to the naive baseline and the
share of a request budget at a given rate (--rps, default 14,000: bare Robyn here).

    naive        what a middleware usually does: .labels(...) on every call for the in-flight
                 gauge (inc and dec), the counter and both histograms
    hook         news_metrics.HTTPMetrics (cached children, direct value recorders)
    hook-public  HTTPMetrics with the public prometheus-client methods (the fallback path)
    hook-mp      HTTPMetrics in multi-process mode (values in mmap files, as forked workers do)
    kafka        KafkaMetrics: consumed + handler_duration per message
    kafka-mp     the same in multi-process mode

    hatch run bench:metrics [--requests 300000] [--runs 5] [--rps 14000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

from _meta import load_now, run_info

PROLOGUE = """
import time
ROUTES = ("/v1/articles/:id", "/v1/articles", "/v1/sections/:name/articles")
STATUSES = (200, 200, 404)
"""

CONTENDERS: dict[str, str] = {
    "naive": """
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from news_metrics import DEFAULT_HTTP_DURATION_BUCKETS as DB, DEFAULT_HTTP_SIZE_BUCKETS as SB
r = CollectorRegistry()
requests = Counter("http_requests_total", "x", ("method", "route", "status"), registry=r)
labels = ("method", "route")
duration = Histogram("http_request_duration_seconds", "x", labels, registry=r, buckets=DB)
size = Histogram("http_response_size_bytes", "x", labels, registry=r, buckets=SB)
flight = Gauge("http_requests_in_flight", "x", ("method", "route"), registry=r)
def run():
    for i in range(N):
        route = ROUTES[i % 3]
        flight.labels("GET", route).inc()
        requests.labels("GET", route, str(STATUSES[i % 3])).inc()
        duration.labels("GET", route).observe(0.004)
        size.labels("GET", route).observe(512)
        flight.labels("GET", route).dec()
""",
    "hook": """
import news_metrics
hook = news_metrics.HTTPMetrics()
def run():
    for i in range(N):
        route = ROUTES[i % 3]
        hook.request_started("GET", route)
        hook.request_finished("GET", route, STATUSES[i % 3], 0.004, 512)
""",
    "hook-public": """
import news_metrics
from news_metrics import _prometheus
_prometheus.use_fast_path(False)
hook = news_metrics.HTTPMetrics()
def run():
    for i in range(N):
        route = ROUTES[i % 3]
        hook.request_started("GET", route)
        hook.request_finished("GET", route, STATUSES[i % 3], 0.004, 512)
""",
    "hook-mp": """
import news_metrics
news_metrics.multiprocess.prepare(MPDIR)
hook = news_metrics.HTTPMetrics()
def run():
    for i in range(N):
        route = ROUTES[i % 3]
        hook.request_started("GET", route)
        hook.request_finished("GET", route, STATUSES[i % 3], 0.004, 512)
""",
    "kafka": """
import news_metrics
hook = news_metrics.KafkaMetrics()
def run():
    for i in range(N):
        hook.consumed("articles", "indexer")
        hook.handler_duration("articles", "indexer", 0.003)
""",
    "kafka-mp": """
import news_metrics
news_metrics.multiprocess.prepare(MPDIR)
hook = news_metrics.KafkaMetrics()
def run():
    for i in range(N):
        hook.consumed("articles", "indexer")
        hook.handler_duration("articles", "indexer", 0.003)
""",
}

EPILOGUE = """
N = 2000
run()  # warm up: label sets resolved, caches filled
N = {n}
start = time.perf_counter()
run()
print((time.perf_counter() - start) / N * 1e6)
"""


def measure(name: str, n: int, mpdir: str) -> float:
    """Microseconds per request of one contender, in a fresh interpreter."""
    code = PROLOGUE + f"MPDIR = {mpdir!r}\nN = 0\n" + CONTENDERS[name] + EPILOGUE.format(n=n)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr}")
    return float(proc.stdout.strip())


def main() -> int:
    """Run every contender --runs times; print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rps", type=float, default=14_000.0)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    load = load_now()
    results: dict[str, dict[str, float | list[float]]] = {}
    for name in CONTENDERS:
        samples = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench-metrics-") as mpdir:
                samples.append(measure(name, args.requests, mpdir))
        results[name] = {"median_us": statistics.median(samples), "runs_us": samples}
    budget_us = 1e6 / args.rps
    base = float(results["naive"]["median_us"])  # type: ignore[arg-type]
    print(
        f"{args.requests} requests x {args.runs} runs; request budget at {args.rps:.0f} req/s: "
        f"{budget_us:.1f} us"
    )
    print(f"{'contender':<12} {'median us':>10} {'vs naive':>9} {'of budget':>10}   runs")
    for name, result in results.items():
        median = float(result["median_us"])  # type: ignore[arg-type]
        runs = ", ".join(f"{v:.2f}" for v in result["runs_us"])  # type: ignore[union-attr]
        print(
            f"{name:<12} {median:>10.2f} {median / base:>8.2f}x {median / budget_us:>9.1%}   {runs}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            meta = run_info("metrics", load)
            json.dump({"meta": meta, "rps": args.rps, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
