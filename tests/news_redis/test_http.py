"""Rate limits on news-http routes, served by real processes against real Redis servers.

Exactness: two server processes with 64 concurrent clients each share one Redis window, and
exactly the limit is admitted; the same with the two processes' clocks an hour apart (time
comes from Redis). Faults: Redis restarted under traffic, and slower than the socket timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from news_testing.http import serve_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess
    from news_testing.redis import RedisServer

APPS_DIR = Path(__file__).parent
pytestmark = pytest.mark.slow


@contextlib.contextmanager
def limited_servers(
    redis_url: str, *, skews: tuple[float, ...] = (0.0, 0.0), rate: str = "100/minute"
) -> Iterator[list[ServerProcess]]:
    """Serve ``news_redis_test_apps:make_app`` in one process per skew, all on one Redis."""
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(
                serve_app(
                    "news_redis_test_apps:make_app",
                    pythonpath=[APPS_DIR],
                    env={
                        "TEST_REDIS_URL": redis_url,
                        "TEST_RATE": rate,
                        "TEST_CLOCK_SKEW": str(skew),
                    },
                )
            )
            for skew in skews
        ]
        yield servers


async def burst(
    servers: list[ServerProcess], path: str, *, clients: int = 64, each: int = 3
) -> list[httpx.Response]:
    """``clients`` concurrent clients per server, each sending ``each`` POSTs to ``path``."""
    responses: list[httpx.Response] = []

    async def client(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            responses.extend([await http.post(path) for _ in range(each)])

    await asyncio.gather(*(client(s.url) for s in servers for _ in range(clients)))
    return responses


def redis_now_us(server: RedisServer) -> int:
    """The Redis server's clock, in microseconds."""
    import redis as redispy

    with redispy.Redis.from_url(server.url) as client:
        seconds, micros = client.time()
    return int(seconds) * 1_000_000 + int(micros)


def oldest_admitted_us(server: RedisServer, policy: str) -> int:
    """The Redis time of the oldest admitted request still in the policy's window."""
    import redis as redispy

    with redispy.Redis.from_url(server.url) as client:
        [(_member, score)] = client.zrange(
            f"ratelimit:{policy}:ip:127.0.0.1", 0, 0, withscores=True
        )
    return int(score)


def check_exact(responses: list[httpx.Response], redis: RedisServer, *, limit: int) -> None:
    """Exactly ``limit`` admitted; every other one a 429 problem with a correct Retry-After."""
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == limit, sorted(set(statuses))
    assert statuses.count(429) == len(responses) - limit
    refused = [r for r in responses if r.status_code == 429]
    for response in refused:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "too_many_requests"
        assert response.headers["ratelimit-policy"] == '"open";q=100;w=60'
        assert response.headers["ratelimit"].startswith('"open";r=0;t=')
        assert 1 <= int(response.headers["retry-after"]) <= 60
    admitted = [r for r in responses if r.status_code == 200]
    remaining = sorted(int(r.headers["ratelimit"].split(";r=")[1].split(";")[0]) for r in admitted)
    assert remaining == list(range(limit)), "each admitted request saw its own remaining count"
    # The next request's Retry-After is when the oldest admission leaves the window, by
    # Redis's clock (the window is exact: a request then fits, not before).
    before = redis_now_us(redis)
    response = httpx.post(f"{admitted_server_url[0]}/open", timeout=10)
    after = redis_now_us(redis)
    leaves = oldest_admitted_us(redis, "open") + 60_000_000
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert math.ceil((leaves - after) / 1e6) <= retry_after <= math.ceil((leaves - before) / 1e6)


admitted_server_url: list[str] = []


class TestExactness:
    async def test_two_processes_128_clients_admit_exactly_the_limit(self, redis):
        """2 processes x 64 clients, 384 requests against 100/minute: exactly 100 admitted."""
        with limited_servers(redis.url) as servers:
            admitted_server_url[:] = [servers[0].url]
            responses = await burst(servers, "/open")
            await asyncio.to_thread(check_exact, responses, redis, limit=100)

    async def test_skewed_client_clocks_change_nothing(self, redis):
        """The same with the processes' clocks an hour apart: time comes from Redis."""
        with limited_servers(redis.url, skews=(3600.0, -3600.0)) as servers:
            skews = {httpx.get(f"{s.url}/state").json()["time"] - time.time() for s in servers}
            assert max(skews) > 3500, skews  # the clocks do lie
            assert min(skews) < -3500, skews
            admitted_server_url[:] = [servers[1].url]
            responses = await burst(servers, "/open")
            await asyncio.to_thread(check_exact, responses, redis, limit=100)

    async def test_sync_routes_share_the_window(self, redis):
        """Sync handlers check through the client's loop: the same exact window."""
        with limited_servers(redis.url, skews=(0.0,), rate="10/minute") as [server]:
            responses = await burst([server], "/sync-open", clients=8, each=3)
            assert [r.status_code for r in responses].count(200) == 10
            assert [r.status_code for r in responses].count(429) == 14


class Traffic:
    """Requests in a loop from a thread, recording (time, path, status) until stopped."""

    def __init__(self, url: str, paths: tuple[str, ...]) -> None:
        self.url = url
        self.paths = paths
        self.seen: list[tuple[float, str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self._stop.is_set():
                for path in self.paths:
                    status = http.post(path).status_code
                    self.seen.append((time.monotonic(), path, status))
                time.sleep(0.005)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def statuses(self, path: str, since: float) -> list[int]:
        """Statuses of ``path`` seen since ``since`` (monotonic)."""
        return [status for at, p, status in list(self.seen) if p == path and at >= since]

    def wait_for(self, path: str, status: int, since: float, timeout: float = 20.0) -> None:
        """Wait until ``path`` answered ``status`` at least 3 times since ``since``."""
        deadline = time.monotonic() + timeout
        while self.statuses(path, since).count(status) < 3:
            assert time.monotonic() < deadline, (path, status, self.statuses(path, since)[-10:])
            time.sleep(0.02)


class TestRedisFaults:
    def test_restart_under_traffic_open_serves_closed_503_both_recover(self, redis_private_server):
        """Redis down: fail-open routes serve, fail-closed answer 503; back: both recover."""
        server = redis_private_server()
        paths = ("/open", "/closed", "/sync-open", "/sync-closed")
        with limited_servers(server.url, skews=(0.0,), rate="100000/minute") as [app]:
            with Traffic(app.url, paths) as traffic:
                start = time.monotonic()
                for path in paths:
                    traffic.wait_for(path, 200, start)
                ready = httpx.get(f"{app.url}/health/ready")
                assert ready.status_code == 200, ready.text
                assert ready.json()["checks"]["redis"][0]["output"].startswith("PONG in ")
                server.stop()
                down = time.monotonic()
                traffic.wait_for("/closed", 503, down)
                traffic.wait_for("/sync-closed", 503, down)
                # app.manage made Redis a readiness check (results are cached for 2 s)
                deadline = time.monotonic() + 15
                while httpx.get(f"{app.url}/health/ready").status_code != 503:
                    assert time.monotonic() < deadline, "readiness never failed"
                    time.sleep(0.1)
                time.sleep(1.0)  # a second of outage under traffic
                outage_end = time.monotonic()
                for path in ("/open", "/sync-open"):
                    assert set(traffic.statuses(path, down + 0.5)) == {200}, path
                for path in ("/closed", "/sync-closed"):
                    assert set(traffic.statuses(path, down + 0.5)) <= {200, 503}
                server.start()
                back = time.monotonic()
                for path in paths:
                    traffic.wait_for(path, 200, back)
                assert outage_end > down
            state = httpx.get(f"{app.url}/state").json()
            assert state["in_use"] == 0, state
            assert state["outcomes"]["fallback_allowed"] > 0
            assert state["outcomes"]["failed_closed"] > 0
            problem = list(app.find_logs(msg="rate limit backend unavailable; failing open"))
            # bounded: one line per kind of failure per 30 s, however many checks failed
            assert 1 <= len(problem) <= 3, problem
            assert state["outcomes"]["fallback_allowed"] > len(problem)

    def test_slow_redis_fails_fast(self, redis_private_server):
        """Redis slower than the socket timeout: 503 / fallback in about the timeout, no hang."""
        server = redis_private_server()
        with limited_servers(server.url, skews=(0.0,), rate="100000/minute") as [app]:
            with httpx.Client(base_url=app.url, timeout=10) as http:
                assert http.post("/closed").status_code == 200
                sleeper = threading.Thread(target=server.command, args=("DEBUG", "SLEEP", "3"))
                sleeper.start()
                time.sleep(0.2)
                started = time.monotonic()
                closed = http.post("/closed")
                elapsed = time.monotonic() - started
                opened = http.post("/open")
                sleeper.join()
            assert closed.status_code == 503
            assert closed.headers["retry-after"] == "1"
            assert closed.headers["content-type"] == "application/problem+json"
            assert elapsed < 2.5  # socket_timeout 0.5 s (+ scheduling), not the 3 s sleep
            assert opened.status_code == 200
            lines = app.find_logs(msg="rate limit backend unavailable; failing closed")
            assert lines
            assert "RedisTimeoutError" in lines[0]["error"]
            assert "socket_timeout" in lines[0]["error"]
