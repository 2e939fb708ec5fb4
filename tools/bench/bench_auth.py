"""Benchmark: news-auth's token verification, route guards, and password hashing off the loop.

Three measurements, each a ratio of two figures taken side by side in one run:

1. **Verification with cached keys**: ``JWTVerifier.verify_sync`` (its verified-token cache
   off, so every call checks the signature and the claims) against PyJWT's ``jwt.decode`` with
   the same key, algorithm, issuer, audience, leeway and required claims, on the same RS256 and
   ES256 tokens. Median µs per call over ``--runs`` rounds of ``--number`` calls. Target: PyJWT's
   time ÷ ours >= 1.0.
2. **A route behind ``requires()``**: one news-http process (full default stack, access log
   to a file) with the same sync handler twice, ``/open`` and ``/guarded``
   (``HTTPAuth(jwt=...).requires("articles:read")``), both called by wrk with the same bearer
   token. Median requests/s of ``--runs`` alternating rounds. Target: guarded ÷ open >= 0.8 with
   the default settings (a client reuses its token, so it is verified once and then remembered);
   the ratio with the cache off (every request verified) is reported too.
3. **Password hashing in flight**: one news-http process with an async ``GET /`` and an async
   ``POST /login`` that verifies a password with news-security's `PasswordHasher` (OWASP
   parameters); wrk measures ``GET /`` alone, then while a client sends 4 logins a second.
   Target: with logins ÷ without >= 0.9 (the event loop is never blocked).

    hatch run bench:auth [--runs 3] [--number 2000] [--duration 5] [--json PATH]

Server and wrk are pinned to different cores when taskset exists (``--server-core``,
``--load-core``). The JWKS is served from this process on a loopback port.
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import jwt as pyjwt
from _meta import load_now, run_info
from bench_http import ensure_wrk, free_port, parse_wrk, pin, stop, wait_until_serving
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

import news_auth

ISSUER = "https://id.bench.test"
AUDIENCE = "https://api.bench.test"

SERVER_GUARD = """
import sys
import news_auth, news_auth.http, news_http, news_log

port, jwks_url, log_path, cache = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
news_log.setup(news_log.LogSettings(format="json", output=log_path))
settings = news_auth.JWTSettings(issuer="%(issuer)s", jwks_url=jwks_url,
                                 audiences=("%(audience)s",), cache_size=cache)
verifier = news_auth.JWTVerifier(settings)
auth = news_auth.http.HTTPAuth(jwt=verifier)
app = news_http.create_app(news_http.HTTPSettings(host="127.0.0.1", port=port, metrics="off",
                                                  health="off"), name="bench-auth")
app.manage(verifier)

@app.get("/")
def root():
    return {"ok": True}

@app.get("/open")
def open_route():
    return {"hello": "world"}

@app.get("/guarded")
@auth.requires("articles:read")
def guarded_route():
    return {"hello": "world"}

news_http.run(app)
""".replace("%(issuer)s", ISSUER).replace("%(audience)s", AUDIENCE)

SERVER_LOGIN = """
import sys
import news_http, news_log, news_security

port, log_path = int(sys.argv[1]), sys.argv[2]
news_log.setup(news_log.LogSettings(format="json", output=log_path))
hasher = news_security.PasswordHasher()
STORED = hasher.hash_sync("correct horse battery staple")
app = news_http.create_app(news_http.HTTPSettings(host="127.0.0.1", port=port, metrics="off",
                                                  health="off"), name="bench-login")
app.manage(hasher)

@app.get("/")
async def root():
    return {"hello": "world"}

@app.post("/login")
async def login(body: bytes):
    ok = await hasher.verify(STORED, body.decode() if isinstance(body, bytes) else body)
    return {"ok": ok}

news_http.run(app)
"""


class _JWKS(http.server.BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def serve_jwks(keys: KeySet) -> str:
    """Serve ``keys`` (public parts) on a loopback port; return the URL."""
    _JWKS.body = json.dumps(keys.as_dict(private=False)).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JWKS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/jwks"


def make_token(key: Any, alg: str) -> str:
    """A valid access token for the benchmark's issuer and audience."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "svc:bench",
        "client_id": "svc:bench",
        "scope": "articles:read articles:write",
        "iat": now,
        "exp": now + 3600,
        "jti": "bench-1",
    }
    return jose_jwt.encode({"alg": alg, "typ": "at+jwt", "kid": key.kid}, claims, key)


def time_calls(func: Any, number: int) -> float:
    """Seconds per call of ``func`` over ``number`` calls."""
    started = time.perf_counter()
    for _ in range(number):
        func()
    return (time.perf_counter() - started) / number


def bench_verification(args: argparse.Namespace, keys: KeySet, jwks_url: str) -> dict[str, Any]:
    """Part 1: news-auth vs PyJWT per verification, RS256 and ES256."""
    settings = news_auth.JWTSettings(
        issuer=ISSUER, jwks_url=jwks_url, audiences=(AUDIENCE,), cache_size=0
    )
    verifier = news_auth.JWTVerifier(settings)
    results: dict[str, Any] = {}
    for alg, key in (("RS256", keys.keys[0]), ("ES256", keys.keys[1])):
        token = make_token(key, alg)
        verifier.verify_sync(token)  # fetches the keys once
        peer_key = pyjwt.PyJWK(key.as_dict(private=False))

        def ours(token: str = token) -> None:
            verifier.verify_sync(token)

        def peer(token: str = token, peer_key: Any = peer_key, alg: str = alg) -> None:
            pyjwt.decode(
                token,
                peer_key,
                algorithms=[alg],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=10,
                options={"require": ["exp", "iat", "sub"]},
            )

        ours_runs, peer_runs = [], []
        for _ in range(args.runs):
            ours_runs.append(time_calls(ours, args.number) * 1e6)
            peer_runs.append(time_calls(peer, args.number) * 1e6)
        ratios = [p / o for p, o in zip(peer_runs, ours_runs, strict=True)]
        results[alg] = {
            "news_auth_us": statistics.median(ours_runs),
            "pyjwt_us": statistics.median(peer_runs),
            "ratio": statistics.median(ratios),
            "ratio_per_run": ratios,
        }
        print(
            f"{alg}: news-auth {results[alg]['news_auth_us']:.1f} us, PyJWT "
            f"{results[alg]['pyjwt_us']:.1f} us per verification -> PyJWT/news-auth "
            f"{results[alg]['ratio']:.2f}x",
            flush=True,
        )
    return results


def start_server(code: str, argv: list[str], core: int | None, workdir: Path) -> tuple[Any, int]:
    """Start a server script on a free port; return it and the port once it serves."""
    port = free_port()
    script = workdir / f"server_{port}.py"
    script.write_text(textwrap.dedent(code))
    stderr = (workdir / f"server_{port}.stderr").open("wb")
    server = subprocess.Popen(
        [*pin(core), sys.executable, str(script), str(port), *argv],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    try:
        wait_until_serving(port, server)
    except RuntimeError as exc:
        stop(server)
        tail = (workdir / f"server_{port}.stderr").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{exc}; stderr ends with:\n{tail}") from None
    return server, port


def wrk(
    args: argparse.Namespace, wrk_bin: str, url: str, headers: list[str], duration: int
) -> dict[str, float]:
    """One wrk round against ``url``."""
    cmd = [
        *pin(args.load_core),
        wrk_bin,
        "-t1",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--latency",
    ]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    figures = parse_wrk(out)
    if figures["non_2xx"]:
        raise RuntimeError(f"{url}: {figures['non_2xx']:.0f} non-2xx responses")
    return figures


def bench_guard(
    args: argparse.Namespace, wrk_bin: str, keys: KeySet, jwks_url: str, workdir: Path
) -> dict[str, Any]:
    """Part 2: the same route with and without requires(), cache on (default) and off."""
    token = make_token(keys.keys[0], "RS256")
    header = [f"Authorization: Bearer {token}"]
    results: dict[str, Any] = {}
    for label, cache in (("default", 4096), ("cache_off", 0)):
        server, port = start_server(
            SERVER_GUARD,
            [jwks_url, str(workdir / "guard.log"), str(cache)],
            args.server_core,
            workdir,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            request = urllib.request.Request(  # noqa: S310 - http on loopback
                f"{base}/guarded", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http
                assert response.status == 200
            wrk(args, wrk_bin, f"{base}/guarded", header, args.warmup)
            wrk(args, wrk_bin, f"{base}/open", header, args.warmup)
            open_rps, guarded_rps = [], []
            for _ in range(args.runs):
                open_rps.append(wrk(args, wrk_bin, f"{base}/open", header, args.duration)["rps"])
                guarded_rps.append(
                    wrk(args, wrk_bin, f"{base}/guarded", header, args.duration)["rps"]
                )
        finally:
            stop(server)
        ratios = [g / o for g, o in zip(guarded_rps, open_rps, strict=True)]
        results[label] = {
            "open_rps": statistics.median(open_rps),
            "guarded_rps": statistics.median(guarded_rps),
            "ratio": statistics.median(ratios),
            "ratio_per_run": ratios,
        }
        print(
            f"requires() ({label}): open {results[label]['open_rps']:.0f} req/s, guarded "
            f"{results[label]['guarded_rps']:.0f} req/s -> {results[label]['ratio']:.2f}x",
            flush=True,
        )
    return results


def bench_logins(args: argparse.Namespace, wrk_bin: str, workdir: Path) -> dict[str, Any]:
    """Part 3: GET throughput alone and with 4 password verifications a second."""
    server, port = start_server(
        SERVER_LOGIN, [str(workdir / "login.log")], args.server_core, workdir
    )
    base = f"http://127.0.0.1:{port}"
    done: list[float] = []
    stop_logins = threading.Event()

    def logins() -> None:
        period = 1.0 / args.logins_per_second
        next_at = time.monotonic()
        while not stop_logins.is_set():
            request = urllib.request.Request(  # noqa: S310 - http on loopback
                f"{base}/login", data=b"correct horse battery staple", method="POST"
            )
            started = time.monotonic()
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http
                if json.loads(response.read())["ok"] is True:
                    done.append(time.monotonic() - started)
            next_at += period
            stop_logins.wait(max(0.0, next_at - time.monotonic()))

    try:
        wrk(args, wrk_bin, f"{base}/", [], args.warmup)
        alone, loaded, verified = [], [], []
        for _ in range(args.runs):
            alone.append(wrk(args, wrk_bin, f"{base}/", [], args.duration)["rps"])
            done.clear()
            stop_logins.clear()
            thread = threading.Thread(target=logins, daemon=True)
            thread.start()
            time.sleep(0.5)
            loaded.append(wrk(args, wrk_bin, f"{base}/", [], args.duration)["rps"])
            stop_logins.set()
            thread.join(30)
            verified.append(len(done))
    finally:
        stop(server)
    ratios = [w / a for w, a in zip(loaded, alone, strict=True)]
    result = {
        "alone_rps": statistics.median(alone),
        "with_logins_rps": statistics.median(loaded),
        "ratio": statistics.median(ratios),
        "ratio_per_run": ratios,
        "logins_per_run": verified,
        "logins_per_second": args.logins_per_second,
    }
    print(
        f"GET / alone {result['alone_rps']:.0f} req/s, with {args.logins_per_second} "
        f"logins/s {result['with_logins_rps']:.0f} req/s -> {result['ratio']:.2f}x "
        f"(logins verified per run: {verified})",
        flush=True,
    )
    return result


def main() -> int:
    """Run the three parts and print (and optionally write) the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--number", type=int, default=2000, help="verifications per round")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk round")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--logins-per-second", type=float, default=4.0)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument("--skip-http", action="store_true", help="part 1 only (no wrk)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    load = load_now()
    keys = KeySet(
        [
            RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "alg": "RS256"}),
            ECKey.generate_key("P-256", parameters={"kid": "ec-1", "alg": "ES256"}),
        ]
    )
    jwks_url = serve_jwks(keys)
    verification = bench_verification(args, keys, jwks_url)
    ratios = {
        "PyJWT / news-auth RS256 verify time": verification["RS256"]["ratio"],
        "PyJWT / news-auth ES256 verify time": verification["ES256"]["ratio"],
    }
    guard: dict[str, Any] = {}
    logins: dict[str, Any] = {}
    if not args.skip_http:
        wrk_bin = ensure_wrk()
        with tempfile.TemporaryDirectory(prefix="bench-auth-") as tmp:
            guard = bench_guard(args, wrk_bin, keys, jwks_url, Path(tmp))
            logins = bench_logins(args, wrk_bin, Path(tmp))
        ratios["requires() / open route req/s"] = guard["default"]["ratio"]
        ratios["requires(), every request verified / open req/s"] = guard["cache_off"]["ratio"]
        ratios["GET req/s with 4 logins/s / without"] = logins["ratio"]
    targets = {
        "PyJWT / news-auth RS256 verify time": (">=", 1.0),
        "PyJWT / news-auth ES256 verify time": (">=", 1.0),
        "requires() / open route req/s": (">=", 0.8),
        "GET req/s with 4 logins/s / without": (">=", 0.9),
    }
    print()
    for label, value in ratios.items():
        target = targets.get(label)
        verdict = ""
        if target is not None:
            op, goal = target
            met = value >= goal if op == ">=" else value <= goal
            verdict = f"  (target {op} {goal}x: {'met' if met else 'MISSED'})"
        print(f"{label:>52}: {value:5.2f}x{verdict}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "meta": run_info("auth", load),
                    "ratios": ratios,
                    "targets": {k: list(v) for k, v in targets.items()},
                    "verification": verification,
                    "guard": guard,
                    "logins": logins,
                    "settings": {
                        "runs": args.runs,
                        "number": args.number,
                        "duration_s": args.duration,
                        "connections": args.connections,
                    },
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
