"""Benchmark: news-http (sync and async handlers) vs bare Robyn, FastAPI+uvicorn, Litestar+Granian.

Seven servers answer ``GET /`` with ``{"hello": "world"}``, one after the other, each in its own
process pinned to one core while wrk runs pinned to another (``taskset``), on loopback:

- **bare Robyn**: a sync handler, no middleware (the ceiling);
- **news-http**: ``create_app`` with its full default stack (request id, access log, recovery,
  compression, body limit, timeout, security headers) plus CORS for one origin, the access log
  written as JSON to a file by news-log; ``metrics="off"``;
- **news-http + metrics**: the same with ``metrics="on"``: news-metrics' ``HTTPMetrics`` records
  every request (counter, duration and size histograms, in-flight gauge); after the run its own
  ``/metrics`` must count every request wrk completed;
- **FastAPI** on uvicorn (httptools, uvloop, one worker, no uvicorn access log) with an
  equivalent pure-ASGI stack: request id (accept/generate, contextvar, echo), access log
  (structlog, orjson JSON lines to a file), recovery (500 problem+json), CORS (Starlette's
  middleware, same origin), security headers; an ``async def`` handler (FastAPI's fast path).

Async handlers (``async def hello()``), where the handler runs on the event loop:

- **bare Robyn async**: the same as bare Robyn with an ``async def`` handler;
- **news-http async**: news-http's full stack as above (metrics off) around an ``async def``
  handler;
- **Litestar+Granian**: Litestar on Granian (one worker, one runtime thread, uvloop, no Granian
  access log) with the same pure-ASGI stack as FastAPI's (request id, structlog access log,
  recovery, security headers) and Litestar's own CORS for the same origin.

Every contender is checked before it is timed (status, body, and the stack's headers), and the
access-log files must hold at least one line per request wrk completed (a lossy logger fails
instead of winning). Each round starts the servers afresh, warms them up, then measures; the
rounds interleave the contenders and the report shows medians. Next to requests/s it reports
the server's CPU time per request (its process group's user + system time over the requests
wrk completed, Linux /proc): steadier than requests/s while other work shares the cores.

    hatch run bench:http [--runs 3] [--duration 5] [--connections 32] [--json results.json]

Needs wrk (Debian/Ubuntu: ``apt-get install wrk``; the script installs it when run as root).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

from _meta import run_info

HELLO = b'{"hello":"world"}'
ORIGIN = "https://app.news.example"

BARE_ROBYN = """
import logging, sys
from robyn import Robyn
app = Robyn("bench")
logging.getLogger().setLevel(logging.WARNING)

@app.get("/")
def hello():
    return {"hello": "world"}

app.start(host="127.0.0.1", port=int(sys.argv[1]), _check_port=False)
"""

BARE_ROBYN_ASYNC = BARE_ROBYN.replace("def hello():", "async def hello():")

NEWS_HTTP = """
import sys
import news_http, news_log
news_log.setup(news_log.LogSettings(format="json", output=sys.argv[2]))
settings = news_http.HTTPSettings(
    host="127.0.0.1",
    port=int(sys.argv[1]),
    cors=news_http.CORSSettings(origins=(ORIGIN,)),
    metrics=METRICS,
)
app = news_http.create_app(settings, name="bench")

@app.get("/")
def hello():
    return {"hello": "world"}

news_http.run(app)
""".replace("ORIGIN", repr(ORIGIN))

FASTAPI = """
import contextvars, logging, re, sys, time, uuid
import orjson, structlog, uvicorn
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

LOG = open(sys.argv[2], "ab")
structlog.configure(
    cache_logger_on_first_use=True,
    wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(serializer=orjson.dumps),
    ],
    logger_factory=structlog.BytesLoggerFactory(file=LOG),
)
access = structlog.get_logger("access")
errors = structlog.get_logger("errors")
RID = re.compile(r"[A-Za-z0-9\\-_.:+/=@]{1,128}")
SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


class RequestId:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                rid = value.decode("latin-1")
                break
        if rid is None or RID.fullmatch(rid) is None:
            rid = str(uuid.uuid4())
        encoded = rid.encode()

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", encoded)]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            await self.app(scope, receive, send_with_id)


class AccessLog:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500
        size = 0

        async def send_counting(message):
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            route = scope.get("route")
            client = scope.get("client")
            access.info(
                "request",
                method=scope["method"],
                route=getattr(route, "path", scope["path"]),
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000.0, 3),
                bytes=size,
                client_ip=client[0] if client else None,
            )


class Recovery:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def send_tracking(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            errors.exception("unhandled exception")
            if started:
                raise
            body = orjson.dumps({"type": "about:blank", "title": "Internal Server Error",
                                 "status": 500, "detail": "internal error"})
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/problem+json")]})
            await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_secure(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY]
            await send(message)

        await self.app(scope, receive, send_secure)


# --- FastAPI ---
api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@api.get("/")
async def hello():
    return {"hello": "world"}


stack = RequestId(AccessLog(Recovery(CORSMiddleware(
    SecurityHeaders(api),
    allow_origins=[ORIGIN],
    allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
    expose_headers=["X-Request-ID"],
    max_age=600,
))))

uvicorn.run(stack, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
            access_log=False, log_level="warning", workers=1)
""".replace("ORIGIN", repr(ORIGIN))

_ASGI_STACK = (
    FASTAPI[: FASTAPI.index("# --- FastAPI ---")]
    .replace(
        "from fastapi import FastAPI\nfrom starlette.middleware.cors import CORSMiddleware\n", ""
    )
    .replace("import orjson, structlog, uvicorn", "import orjson, structlog")
)

LITESTAR = (
    _ASGI_STACK
    + """
from granian import Granian
from litestar import Litestar, get
from litestar.config.cors import CORSConfig


@get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


api = Litestar(
    route_handlers=[hello],
    openapi_config=None,
    cors_config=CORSConfig(
        allow_origins=[ORIGIN],
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID"],
        max_age=600,
    ),
)
stack = RequestId(AccessLog(Recovery(SecurityHeaders(api))))

if __name__ == "__main__":
    Granian(
        f"{__name__ if __name__ != '__main__' else __file__.rsplit('/', 1)[-1][:-3]}:stack",
        address="127.0.0.1",
        port=int(sys.argv[1]),
        interface="asgi",
        workers=1,
        runtime_threads=1,
        loop="uvloop",
        log_access=False,
        log_level="warning",
    ).serve()
"""
).replace("ORIGIN", repr(ORIGIN))

CONTENDERS: dict[str, dict[str, Any]] = {
    "bare Robyn": {"code": BARE_ROBYN, "log": False, "headers": ()},
    "news-http": {
        "code": NEWS_HTTP.replace("METRICS", repr("off")),
        "log": True,
        "headers": ("x-request-id", "x-frame-options"),
    },
    "news-http + metrics": {
        "code": NEWS_HTTP.replace("METRICS", repr("on")),
        "log": True,
        "headers": ("x-request-id", "x-frame-options"),
        "metrics": True,
    },
    "FastAPI+uvicorn": {
        "code": FASTAPI,
        "log": True,
        "headers": ("x-request-id", "x-frame-options"),
    },
    "bare Robyn async": {"code": BARE_ROBYN_ASYNC, "log": False, "headers": ()},
    "news-http async": {
        "code": NEWS_HTTP.replace("METRICS", repr("off")).replace(
            "def hello():", "async def hello():"
        ),
        "log": True,
        "headers": ("x-request-id", "x-frame-options"),
    },
    "Litestar+Granian": {
        "code": LITESTAR,
        "log": True,
        "headers": ("x-request-id", "x-frame-options"),
    },
}

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def ensure_wrk() -> str:
    """Return the wrk binary, installing Debian's package when running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: installing it with apt-get (Debian package 'wrk')...", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            subprocess.run(install, env=env, check=False)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit(
        "bench_http needs wrk: install it (Debian/Ubuntu: sudo apt-get install wrk; "
        "macOS: brew install wrk) and run again"
    )


def free_port() -> int:
    """A port the OS just handed out."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pin(core: int | None) -> list[str]:
    """The taskset prefix for ``core`` (empty when pinning is impossible)."""
    if core is None or not shutil.which("taskset"):
        return []
    return ["taskset", "-c", str(core)]


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p50 and p99 latency (ms) and request count from ``wrk --latency`` output."""

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if match is None:
            raise ValueError(f"no {label}% latency in wrk output:\n{output}")
        return float(match.group(1)) * _UNITS[match.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rps is None or total is None:
        raise ValueError(f"cannot read wrk output:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(rps.group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "requests": float(total.group(1)),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if sockets else 0.0,
    }


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid`` (Linux /proc).

    The server runs in a session of its own (a supervisor and its workers for news-http), so
    this is the server's whole CPU time, its threads included.
    """
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == pgid:  # fields: state ppid pgrp ... utime(11) stime(12)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_serving(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Poll GET / until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before serving")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer within {timeout} s")


def check(name: str, port: int, headers: tuple[str, ...]) -> None:
    """The contender answers the right body with its stack's headers (and CORS for ORIGIN)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", headers={"X-Request-ID": "bench-check-1", "Origin": ORIGIN}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        body = response.read()
        got = {k.lower(): v for k, v in response.headers.items()}
    if json.loads(body) != json.loads(HELLO):
        raise RuntimeError(f"{name}: unexpected body {body!r}")
    for header in headers:
        if header not in got:
            raise RuntimeError(f"{name}: response lacks {header}: {got}")
    if headers:
        if got.get("x-request-id") != "bench-check-1":
            raise RuntimeError(f"{name}: request id not echoed: {got}")
        if got.get("access-control-allow-origin") != ORIGIN:
            raise RuntimeError(f"{name}: no CORS reflection: {got}")


def counted_requests(port: int) -> float:
    """The ``http_requests_total`` of ``GET /`` in the contender's own /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    pattern = r'^http_requests_total\{method="GET",route="/",status="200"\} ([0-9.e+]+)$'
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def count_lines(path: Path) -> int:
    """Lines in ``path`` (0 if it does not exist)."""
    try:
        with path.open("rb") as handle:
            return sum(1 for _ in handle)
    except FileNotFoundError:
        return 0


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group; SIGKILL it if it lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(5)


def run_one(
    name: str, spec: dict[str, Any], wrk: str, args: argparse.Namespace, workdir: Path
) -> dict[str, float]:
    """Start one contender, check it, warm it up, measure it, stop it."""
    port = free_port()
    log_path = workdir / f"{name.replace(' ', '_').replace('+', '_')}-{port}.log"
    script = workdir / f"server_{port}.py"
    script.write_text(textwrap.dedent(spec["code"]))
    stderr_path = workdir / f"server_{port}.stderr"
    with stderr_path.open("wb") as stderr:
        server = subprocess.Popen(
            [*pin(args.server_core), sys.executable, str(script), str(port), str(log_path)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        try:
            wait_until_serving(port, server)
        except RuntimeError as exc:
            tail = stderr_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name}: {exc}; its stderr ends with:\n{tail}") from None
        check(name, port, spec["headers"])
        url = f"http://127.0.0.1:{port}/"
        base = [*pin(args.load_core), wrk, "-t1", f"-c{args.connections}"]
        subprocess.run([*base, f"-d{args.warmup}s", url], capture_output=True, check=True)
        before = count_lines(log_path)
        counted_before = counted_requests(port) if spec.get("metrics") else 0.0
        cpu_before = group_cpu_seconds(server.pid)
        out = subprocess.run(
            [*base, f"-d{args.duration}s", "--latency", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu = group_cpu_seconds(server.pid) - cpu_before
        figures = parse_wrk(out)
        # the server's CPU per request: steadier than req/s while other work shares the cores
        figures["cpu_us"] = cpu / figures["requests"] * 1e6 if figures["requests"] else 0.0
        if figures["non_2xx"]:
            raise RuntimeError(f"{name}: {figures['non_2xx']:.0f} non-2xx responses")
        if spec.get("metrics"):  # the metrics were really recorded, every request of them
            counted = counted_requests(port) - counted_before
            if counted < figures["requests"]:
                raise RuntimeError(
                    f"{name}: {figures['requests']:.0f} requests but /metrics counts {counted:.0f}"
                )
            figures["metrics_counted"] = counted
    finally:
        stop(server)
    if spec["log"]:
        logged = count_lines(log_path) - before
        if logged < figures["requests"]:
            raise RuntimeError(
                f"{name}: {figures['requests']:.0f} requests but only {logged} access-log lines"
            )
        figures["log_lines"] = float(logged)
    return figures


def main() -> int:
    """Run the rounds and print the table (and save JSON when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (median reported)")
    parser.add_argument("--duration", type=int, default=5, help="seconds measured per run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--server-core", type=int, default=0, help="CPU for the server")
    parser.add_argument("--load-core", type=int, default=1, help="CPU for wrk")
    parser.add_argument("--only", action="append", choices=list(CONTENDERS), help="subset")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        print("warning: one CPU only; server and wrk share it (no pinning)", file=sys.stderr)
        args.server_core = args.load_core = None
    wrk = ensure_wrk()
    names = args.only or list(CONTENDERS)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        for round_no in range(1, args.runs + 1):
            for name in names:
                figures = run_one(name, CONTENDERS[name], wrk, args, Path(tmp))
                results[name].append(figures)
                print(
                    f"round {round_no} {name:>19}: {figures['rps']:>9,.0f} req/s  "
                    f"p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  "
                    f"{figures['cpu_us']:6.1f} us CPU/request",
                    flush=True,
                )
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    medians = {
        name: {
            key: statistics.median(run[key] for run in runs)
            for key in ("rps", "p50_ms", "p99_ms", "cpu_us")
        }
        for name, runs in results.items()
    }
    print()
    print(
        f"GET / -> {HELLO.decode()} | wrk -t1 -c{args.connections} -d{args.duration}s | "
        f"medians of {args.runs} | load average {load_before:.2f} -> {load_after:.2f}"
    )
    print(f"{'server':>19} | {'req/s':>9} | {'p50 ms':>7} | {'p99 ms':>7} | {'CPU us/req':>10}")
    for name, figures in medians.items():
        print(
            f"{name:>19} | {figures['rps']:>9,.0f} | {figures['p50_ms']:>7.2f} | "
            f"{figures['p99_ms']:>7.2f} | {figures['cpu_us']:>10.1f}"
        )
    ratios: dict[str, float] = {}
    if {"news-http", "bare Robyn"} <= medians.keys():
        ratios["news-http / bare Robyn req/s"] = (
            medians["news-http"]["rps"] / medians["bare Robyn"]["rps"]
        )
        ratios["news-http / bare Robyn p99"] = (
            medians["news-http"]["p99_ms"] / medians["bare Robyn"]["p99_ms"]
        )
    if {"news-http", "news-http + metrics"} <= medians.keys():
        ratios["news-http + metrics / news-http req/s"] = (
            medians["news-http + metrics"]["rps"] / medians["news-http"]["rps"]
        )
    if {"news-http async", "bare Robyn async"} <= medians.keys():
        ratios["news-http async / bare Robyn async req/s"] = (
            medians["news-http async"]["rps"] / medians["bare Robyn async"]["rps"]
        )
    if {"news-http async", "Litestar+Granian"} <= medians.keys():
        ratios["news-http async / Litestar req/s"] = (
            medians["news-http async"]["rps"] / medians["Litestar+Granian"]["rps"]
        )
    if {"news-http", "FastAPI+uvicorn"} <= medians.keys():
        ratios["news-http / FastAPI req/s"] = (
            medians["news-http"]["rps"] / medians["FastAPI+uvicorn"]["rps"]
        )
    targets = {
        "news-http / bare Robyn req/s": (">=", 0.5),
        "news-http / bare Robyn p99": ("<=", 2.5),
        "news-http / FastAPI req/s": (">=", 2.0),
        "news-http + metrics / news-http req/s": (">=", 0.9),
        "news-http async / bare Robyn async req/s": (">=", 1.0),
        "news-http async / Litestar req/s": (">=", 1.0),
    }
    # The same pairs on the server's CPU per request, per round (peer's / ours: higher is
    # better, as for req/s), then the median: the contenders of a round ran back to back.
    cpu_pairs = {
        "news-http / bare Robyn": ("news-http", "bare Robyn"),
        "news-http + metrics / news-http": ("news-http + metrics", "news-http"),
        "news-http async / bare Robyn async": ("news-http async", "bare Robyn async"),
        "news-http async / Litestar": ("news-http async", "Litestar+Granian"),
        "news-http / FastAPI": ("news-http", "FastAPI+uvicorn"),
    }
    cpu_per_round = {
        label: [
            peer["cpu_us"] / ours["cpu_us"]
            for ours, peer in zip(results[a], results[b], strict=True)
            if ours["cpu_us"] > 0
        ]
        for label, (a, b) in cpu_pairs.items()
        if {a, b} <= results.keys()
    }
    cpu_ratios = {label: statistics.median(v) for label, v in cpu_per_round.items() if v}
    print()
    for label, value in ratios.items():
        op, target = targets[label]
        met = value >= target if op == ">=" else value <= target
        print(f"{label:>40}: {value:5.2f}x  (target {op} {target}x: {'met' if met else 'MISSED'})")
    print("\nserver CPU per request, peer's / ours (median of per-round ratios):")
    for label, value in cpu_ratios.items():
        rounds = ", ".join(f"{r:.2f}" for r in cpu_per_round[label])
        print(f"{label:>40}: {value:5.2f}x  (rounds: {rounds})")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "meta": run_info("http", load_before),
                    "runs": results,
                    "medians": medians,
                    "ratios": ratios,
                    "cpu_ratios": cpu_ratios,
                    "cpu_ratios_per_round": cpu_per_round,
                    "settings": {
                        "connections": args.connections,
                        "duration_s": args.duration,
                        "runs": args.runs,
                        "server_core": args.server_core,
                        "load_core": args.load_core,
                        "load_average": [load_before, load_after],
                    },
                },
                indent=2,
            )
        )
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
