"""Faults of a real dependency on loopback: slow, 503 + Retry-After, resets, silence, gone and back.

What each proves: the breaker opens at its configured rate; half-open trials stay bounded under
100 concurrent callers; the dependency sees no more calls than the retry budget allows; no call
outlives its deadline; a recovered dependency closes the breaker. Bounds on time are loose on
purpose (the faults last minutes, the limits are fractions of a second): they prove a deadline
cut the call, not how fast the machine is.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

import news_client
from news_client import BreakerSettings, RetrySettings

NO_RETRY = RetrySettings(attempts=1)


def breaker(**values: Any) -> BreakerSettings:
    """Breaker settings for the tests (a window of 10 calls, 3 trials)."""
    defaults: dict[str, Any] = {"window_size": 10, "minimum_calls": 10, "half_open_calls": 3}
    defaults.update(values)
    return BreakerSettings(**defaults)


class TestSlowDependency:
    async def test_a_delay_past_the_deadline_raises_in_time(
        self, server: Any, make_settings: Any
    ) -> None:
        """A 10-minute answer: the call fails with CallTimeoutError at its 0.3 s deadline."""
        server.fault = "delay"
        server.delay = 600.0
        loop = asyncio.get_running_loop()
        async with news_client.HTTPClient(
            make_settings(server.url, total_timeout=0.3), name="slow"
        ) as client:
            started = loop.time()
            with pytest.raises(news_client.CallTimeoutError) as caught:
                await client.get("/x")
            elapsed = loop.time() - started
        assert 0.3 <= elapsed < 60.0  # cut by the deadline, never by the answer
        assert caught.value.dependency == "slow"

    async def test_a_silent_server_is_cut_by_the_read_timeout_and_retried(
        self, silent: Any, make_settings: Any
    ) -> None:
        """Accept-and-never-answer: each attempt ends at read_timeout; GET is retried."""
        settings = make_settings(silent.url, read_timeout=0.1, total_timeout=600.0)
        async with news_client.HTTPClient(settings) as client:
            with pytest.raises(news_client.CallTimeoutError, match="read_timeout"):
                await client.get("/x")
        assert silent.connections == 3  # attempts=3, each on a fresh connection

    async def test_attempt_timeout_bounds_each_attempt(
        self, server: Any, make_settings: Any
    ) -> None:
        """With attempt_timeout, a slow attempt is abandoned and the next one succeeds."""
        server.fault = "script"
        server.script = ["delay", None]
        server.delay = 600.0
        settings = make_settings(server.url, attempt_timeout=0.2, total_timeout=600.0)
        async with news_client.HTTPClient(settings) as client:
            assert (await client.get("/x")).status == 200
        assert server.hits == 2

    async def test_no_call_outlives_its_deadline_under_concurrency(
        self, silent: Any, make_settings: Any
    ) -> None:
        """50 concurrent calls to a silent server all end with CallTimeoutError by the deadline."""
        settings = make_settings(silent.url, total_timeout=0.5, read_timeout=600.0)
        loop = asyncio.get_running_loop()
        async with news_client.HTTPClient(settings) as client:
            started = loop.time()
            results = await asyncio.wait_for(
                asyncio.gather(*(client.get("/x") for _ in range(50)), return_exceptions=True),
                timeout=60.0,
            )
            elapsed = loop.time() - started
        assert all(isinstance(r, news_client.CallTimeoutError) for r in results), results
        assert elapsed < 60.0

    async def test_slow_calls_open_the_breaker(self, server: Any, make_settings: Any) -> None:
        """Calls slower than slow_call_duration (answers, all 200) open the breaker."""
        server.fault = "delay"
        server.delay = 0.05
        settings = make_settings(
            server.url,
            retry=NO_RETRY,
            breaker=breaker(window_size=4, minimum_calls=4, slow_call_duration=0.05),
        )
        async with news_client.HTTPClient(settings) as client:
            for _ in range(4):
                await client.get("/x")
            with pytest.raises(news_client.BreakerOpenError):
                await client.get("/x")
        assert server.hits == 4


class TestUnavailable:
    async def test_retry_after_is_honoured(self, server: Any, make_settings: Any) -> None:
        """503 with Retry-After: 1, twice, then 200: the client waits at least 1 s each time."""
        server.fault = "script"
        server.script = [503, 503, None]
        server.retry_after = "1"
        loop = asyncio.get_running_loop()
        async with news_client.HTTPClient(make_settings(server.url)) as client:
            started = loop.time()
            response = await client.get("/x")
            elapsed = loop.time() - started
        assert response.status == 200
        assert server.hits == 3
        assert elapsed >= 2.0  # two waits of at least Retry-After each

    async def test_a_retry_after_past_the_deadline_fails_at_once(
        self, server: Any, make_settings: Any
    ) -> None:
        """Retry-After: 120 with a 5 s deadline: one call, the 503 raised with retry_after."""
        server.fault = "status"
        server.retry_after = "120"
        async with news_client.HTTPClient(make_settings(server.url, total_timeout=5.0)) as c:
            with pytest.raises(news_client.ServiceUnavailableError) as caught:
                await c.get("/x")
        assert server.hits == 1
        assert caught.value.retry_after == 120.0
        assert caught.value.detail == "injected 503"

    async def test_post_is_retried_only_with_an_idempotency_key(
        self, server: Any, make_settings: Any
    ) -> None:
        """A 503 to a POST is not retried; with an Idempotency-Key it is, with the same key."""
        server.fault = "status"
        async with news_client.HTTPClient(make_settings(server.url)) as client:
            with pytest.raises(news_client.ServiceUnavailableError):
                await client.post("/v1/tags", json={})
            assert server.hits == 1
            with pytest.raises(news_client.ServiceUnavailableError):
                await client.post("/v1/tags", json={}, idempotency_key="article-7")
        assert server.hits == 1 + 3
        assert {r.headers["idempotency-key"] for r in server.requests[1:]} == {"article-7"}

    async def test_the_dependency_sees_no_retry_storm(
        self, server: Any, make_settings: Any
    ) -> None:
        """100 concurrent callers against a dead dependency: calls stay within the budget."""
        server.fault = "status"
        settings = make_settings(
            server.url,
            retry=RetrySettings(
                attempts=3,
                backoff_base=0.001,
                backoff_max=0.001,
                budget_ratio=0.2,
                budget_min_retries=10,
            ),
            breaker=BreakerSettings(enabled=False),
        )
        async with news_client.HTTPClient(settings) as client:
            results = await asyncio.gather(
                *(client.get("/x") for _ in range(100)), return_exceptions=True
            )
        assert all(isinstance(r, news_client.ServiceUnavailableError) for r in results)
        assert 100 < server.hits <= 100 + 10 + 20  # not 300


class TestResets:
    async def test_a_reset_is_a_transport_error_retried_for_get_only(
        self, server: Any, make_settings: Any
    ) -> None:
        """Connection resets: GET is retried; POST is sent once: it may have run.

        aiohttp itself sends an idempotent request once more on a new connection when its
        connection breaks (a stale keep-alive connection, usually), so each of the 3 GET
        attempts reaches the server twice.
        """
        server.fault = "reset"
        async with news_client.HTTPClient(make_settings(server.url)) as client:
            with pytest.raises(news_client.TransportError) as caught:
                await client.get("/x")
            assert not isinstance(caught.value, news_client.ConnectError)
            assert server.hits == 3 * 2
            with pytest.raises(news_client.TransportError):
                await client.post("/x", data=b"article")
        assert server.hits == 6 + 1


class TestGoneAndBack:
    async def test_breaker_opens_then_recovery_closes_it(
        self, server: Any, make_settings: Any, recording: Any
    ) -> None:
        """Server gone: refused connections open the breaker; back: trials close it."""
        settings = make_settings(
            server.url,
            retry=NO_RETRY,
            breaker=breaker(window_size=5, minimum_calls=5, open_duration=0.2, half_open_calls=2),
        )
        async with news_client.HTTPClient(settings, name="dep", metrics=recording) as client:
            await client.get("/x")
            await server.stop()
            for _ in range(4):  # 4 failures of 5 calls: 80%, over the 50% threshold
                with pytest.raises(news_client.ConnectError):
                    await client.get("/x")
            with pytest.raises(news_client.BreakerOpenError) as caught:
                await client.get("/x")
            assert caught.value.state == "open"
            await server.start()
            hits = server.hits
            while client.breaker is not None and client.breaker.state == "open":
                await asyncio.sleep(0.05)
            for _ in range(2):
                await client.get("/x")
            assert client.breaker is not None
            assert client.breaker.state == "closed"
            assert server.hits == hits + 2
        assert [s[1:] for s in recording.states] == [
            ("closed", "closed"),
            ("closed", "open"),
            ("open", "half_open"),
            ("half_open", "closed"),
        ]
        assert ("dep", "breaker_open") in recording.rejections
        assert recording.requests.count(("dep", "GET", "/x", "connect_error")) == 4

    async def test_connect_errors_are_retried_even_for_post(
        self, unused_port: int, make_settings: Any
    ) -> None:
        """Nothing listens: ConnectError after every attempt, also for POST (nothing was sent)."""
        settings = make_settings(f"http://127.0.0.1:{unused_port}", breaker=breaker())
        async with news_client.HTTPClient(settings) as client:
            with pytest.raises(news_client.ConnectError) as caught:
                await client.post("/x", json={})
        assert "gave up after 3 attempts" in " ".join(caught.value.__notes__)


class TestBreakerRates:
    @pytest.mark.parametrize(("failures", "opens"), [(4, False), (5, True)])
    async def test_opens_at_the_configured_failure_rate(
        self, server: Any, make_settings: Any, failures: int, opens: bool
    ) -> None:
        """Of 10 calls, 4 answered 500 keep a 50% breaker closed; 5 open it."""
        server.fault = "script"
        server.script = [500] * failures + [None] * (10 - failures)
        settings = make_settings(
            server.url, retry=NO_RETRY, breaker=breaker(failure_rate_threshold=50.0)
        )
        async with news_client.HTTPClient(settings) as client:
            for _ in range(10):
                with contextlib.suppress(news_client.HTTPServerError):
                    await client.get("/x")
            assert client.breaker is not None
            assert client.breaker.state == ("open" if opens else "closed")

    async def test_4xx_answers_do_not_open_it(self, server: Any, make_settings: Any) -> None:
        """Twenty 404s leave the breaker closed: the dependency answered correctly."""
        server.fault = "status"
        server.status = 404
        settings = make_settings(server.url, retry=NO_RETRY, breaker=breaker())
        async with news_client.HTTPClient(settings) as client:
            for _ in range(20):
                with pytest.raises(news_client.NotFoundError):
                    await client.get("/x")
            assert client.breaker is not None
            assert client.breaker.state == "closed"

    async def test_half_open_trials_are_bounded_under_100_callers(
        self, server: Any, make_settings: Any
    ) -> None:
        """100 concurrent callers in half-open: the server sees exactly 3 trial calls."""
        settings = make_settings(
            server.url, retry=NO_RETRY, breaker=breaker(open_duration=0.05, half_open_calls=3)
        )
        async with news_client.HTTPClient(settings) as client:
            assert client.breaker is not None
            client.breaker.force_open()
            while client.breaker.state == "open":
                await asyncio.sleep(0.02)
            server.fault = "gate"
            calls = [asyncio.create_task(client.get("/x")) for _ in range(100)]
            while server.hits < 3:
                await asyncio.sleep(0.01)
            refused = [c for c in calls if c.done()]
            await asyncio.sleep(0.1)  # room for a fourth call to arrive, were one let through
            assert server.hits == 3
            server.gate.set()
            results = await asyncio.gather(*calls, return_exceptions=True)
        ok = [r for r in results if isinstance(r, news_client.Response)]
        open_errors = [r for r in results if isinstance(r, news_client.BreakerOpenError)]
        assert len(ok) == 3
        assert len(open_errors) == 97
        assert all(e.state == "half_open" for e in open_errors)
        assert len(refused) == 97
        assert client.breaker.state == "closed"

    async def test_an_open_breaker_sends_nothing(self, server: Any, make_settings: Any) -> None:
        """While open, calls fail at once with BreakerOpenError and nothing reaches the server."""
        settings = make_settings(server.url, breaker=breaker(open_duration=600.0))
        async with news_client.HTTPClient(settings) as client:
            assert client.breaker is not None
            client.breaker.force_open()
            for _ in range(20):
                with pytest.raises(news_client.BreakerOpenError):
                    await client.get("/x")
        assert server.hits == 0


class TestBulkhead:
    async def test_calls_past_the_limit_are_refused(self, server: Any, make_settings: Any) -> None:
        """With max_concurrent 5, the 6th concurrent call fails with BulkheadFullError."""
        server.fault = "gate"
        settings = make_settings(
            server.url, bulkhead=news_client.BulkheadSettings(max_concurrent=5)
        )
        async with news_client.HTTPClient(settings) as client:
            calls = [asyncio.create_task(client.get("/x")) for _ in range(5)]
            while server.hits < 5:
                await asyncio.sleep(0.01)
            with pytest.raises(news_client.BulkheadFullError):
                await client.get("/x")
            server.gate.set()
            await asyncio.gather(*calls)
            assert client.bulkhead.in_use == 0
        assert server.hits == 5
