import asyncio
import concurrent.futures
import contextlib
import socket
import threading
import time

import pytest

import news_health
from news_health import CheckResult, HealthRegistry, HealthSettings, Status


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        """Return the fake time."""
        return self.now


class TestEventLoopLag:
    async def test_responsive_loop_passes(self):
        """An idle loop passes with a small observed lag in ms."""
        async with HealthRegistry(
            HealthSettings(loop_lag_threshold=0.5, loop_interval=0.02)
        ) as registry:
            await asyncio.sleep(0.1)
            outcome = (await registry.check_liveness()).checks["event_loop"]
        assert outcome.status is Status.PASS
        assert outcome.observed_unit == "ms"
        assert outcome.observed_value < 500

    async def test_blocked_loop_is_detected(self):
        """A loop blocked for 0.8 s fails liveness (threshold 0.3 s) with the lag observed."""
        async with HealthRegistry(
            HealthSettings(loop_lag_threshold=0.3, loop_interval=0.02, loop_window=5)
        ) as registry:
            await asyncio.sleep(0.1)
            time.sleep(0.8)  # a handler doing blocking I/O on the loop
            await asyncio.sleep(0.05)
            report = await registry.check_liveness()
        outcome = report.checks["event_loop"]
        assert report.status is Status.FAIL
        assert report.http_status == 503
        assert outcome.observed_value >= 700
        assert outcome.output.startswith("event loop lag ")
        assert "exceeds 300 ms" in outcome.output

    async def test_lag_ages_out_of_the_window(self):
        """Once the window has passed without lag, liveness passes again."""
        async with HealthRegistry(
            HealthSettings(loop_lag_threshold=0.2, loop_interval=0.02, loop_window=0.4)
        ) as registry:
            await asyncio.sleep(0.05)
            time.sleep(0.4)
            await asyncio.sleep(0.02)
            assert (await registry.check_liveness()).status is Status.FAIL
            await asyncio.sleep(0.6)
            assert (await registry.check_liveness()).status is Status.PASS

    async def test_monitor_starts_lazily(self):
        """Without start(), the first liveness probe starts the monitor."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=0.5))
        assert not registry.loop_monitor.running
        assert (await registry.check_liveness()).status is Status.PASS
        assert registry.loop_monitor.running
        await registry.stop()

    async def test_wedged_loop_seen_from_another_thread(self):
        """check_liveness_sync from another thread fails fast while the loop is blocked."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=0.2, loop_interval=0.02))
        await registry.start()
        await asyncio.sleep(0.05)
        pool = concurrent.futures.ThreadPoolExecutor(1)

        def probe_later():
            time.sleep(0.5)  # the loop is blocked by then
            started = time.perf_counter()
            report = registry.check_liveness_sync(timeout=5)
            return report, time.perf_counter() - started

        future = pool.submit(probe_later)
        time.sleep(1.0)  # wedge the loop
        report, elapsed = future.result(timeout=5)
        pool.shutdown()
        await registry.stop()
        assert report.status is Status.FAIL
        assert report.checks["event_loop"].output.startswith("event loop unresponsive")
        assert elapsed < 0.3  # answered from the monitor, not by waiting for the loop

    def test_monitor_config_validated(self):
        """Non-positive settings and a window shorter than the interval are refused."""
        with pytest.raises(news_health.CheckConfigError):
            news_health.LoopMonitor(threshold=0)
        with pytest.raises(news_health.CheckConfigError):
            news_health.LoopMonitor(interval=1, window=0.5)


class TestSyncEntryPoints:
    def test_without_a_loop_runs_in_a_temporary_loop(self):
        """Called with no loop anywhere, the sync entry point runs the checks itself."""
        registry = HealthRegistry()
        registry.mark_started()
        calls = []

        async def check():
            calls.append(asyncio.get_running_loop())

        registry.add("x", check)
        assert registry.check_readiness_sync().status is Status.PASS
        assert registry.check_liveness_sync().status is Status.PASS
        assert len(calls) == 1

    def test_repeated_sync_probes_without_a_loop(self):
        """Sync liveness probes in temporary loops do not count the gap between them as lag."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=0.2))
        assert registry.check_liveness_sync().status is Status.PASS
        time.sleep(0.5)  # longer than the threshold, with no loop running at all
        report = registry.check_liveness_sync()
        assert report.status is Status.PASS
        assert report.checks["event_loop"].observed_value < 200

    async def test_from_a_thread_runs_on_the_registry_loop(self):
        """From a worker thread, checks run on the loop the registry was started on."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
        registry.mark_started()
        loops = []

        async def check():
            loops.append(asyncio.get_running_loop())
            return "on loop"

        registry.add("x", check)
        await registry.start()
        report = await asyncio.to_thread(registry.check_readiness_sync)
        await registry.stop()
        assert report.checks["x"].output == "on loop"
        assert loops == [asyncio.get_running_loop()]

    async def test_from_the_loop_thread_is_refused(self):
        """Calling the sync entry point on the loop itself raises LoopError (no deadlock)."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
        await registry.start()
        with pytest.raises(news_health.LoopError, match="await"):
            registry.check_readiness_sync()
        await registry.stop()
        with pytest.raises(news_health.LoopError, match="await"):
            registry.check_readiness_sync()  # still inside a running loop

    async def test_unanswered_probe_fails_after_timeout(self):
        """If the loop does not run the probe within timeout, the sync report fails."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
        registry.mark_started()
        await registry.start()
        pool = concurrent.futures.ThreadPoolExecutor(1)
        future = pool.submit(registry.check_readiness_sync, 0.2)
        time.sleep(0.6)  # the loop cannot serve the probe
        report = future.result(timeout=5)
        pool.shutdown()
        await registry.stop()
        assert report.status is Status.FAIL
        assert report.checks["lifecycle"].output == "event loop did not answer within 0.2s"

    def test_shutdown_answered_without_the_loop(self):
        """A shutting-down registry answers readiness at once, from any thread."""
        registry = HealthRegistry()
        registry.mark_started()
        registry.mark_shutting_down()
        assert registry.check_readiness_sync().checks["lifecycle"].output == "shutting down"


class TestTcpCheck:
    async def test_reachable_port_passes(self):
        """A listening port passes with the connect time in ms."""
        accepted = asyncio.Event()

        async def on_connect(reader, writer):
            accepted.set()
            writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
        registry.mark_started()
        registry.add("db", news_health.tcp_check("127.0.0.1", port, component_type="datastore"))
        async with server:
            report = await registry.check_readiness()
            await asyncio.wait_for(accepted.wait(), 2)
        outcome = report.checks["db"]
        assert outcome.status is Status.PASS
        assert outcome.observed_unit == "ms"
        assert outcome.component_type == "datastore"

    async def test_closed_port_fails(self):
        """A port nobody listens on fails with the connection error."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
        registry.mark_started()
        registry.add("db", news_health.tcp_check("127.0.0.1", port))
        outcome = (await registry.check_readiness()).checks["db"]
        assert outcome.status is Status.FAIL
        assert outcome.output.startswith("ConnectionRefusedError: ")

    async def test_silent_peer_times_out(self):
        """A peer that never completes the handshake fails at the registry timeout."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            # Fill the accept backlog so further SYNs are dropped (Linux), then probe.
            for _ in range(8):
                filler = socket.socket()
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
                fillers.append(filler)
            registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
            registry.mark_started()
            registry.add("db", news_health.tcp_check("127.0.0.1", port), timeout=0.3)
            started = time.perf_counter()
            outcome = (await registry.check_readiness()).checks["db"]
            elapsed = time.perf_counter() - started
        finally:
            for filler in fillers:
                filler.close()
            listener.close()
        assert outcome.status is Status.FAIL
        assert outcome.output == "timed out after 0.3s"
        assert elapsed < 1.5

    @pytest.mark.parametrize(("host", "port"), [("", 5432), ("db", 0), ("db", 70000)])
    def test_bad_arguments(self, host, port):
        """An empty host or a port outside 1-65535 is refused."""
        with pytest.raises(news_health.CheckConfigError):
            news_health.tcp_check(host, port)


class TestHeartbeatCheck:
    async def test_recent_progress_passes(self):
        """Progress within stale_after passes with the age in seconds."""
        clock = FakeClock()
        last = {"t": 995.0}
        check = news_health.heartbeat_check(lambda: last["t"], stale_after=30, clock=clock)
        result = await check()
        assert result.status is Status.PASS
        assert (result.observed_value, result.observed_unit) == (5.0, "s")

    async def test_stale_progress_fails(self):
        """No progress for longer than stale_after fails, saying for how long."""
        clock = FakeClock()
        check = news_health.heartbeat_check(lambda: 900.0, stale_after=30, clock=clock)
        result = await check()
        assert result.status is Status.FAIL
        assert result.output == "no progress for 100.0s (stale after 30s)"

    async def test_warn_after(self):
        """Between warn_after and stale_after the check warns."""
        clock = FakeClock()
        check = news_health.heartbeat_check(
            lambda: 980.0, stale_after=30, warn_after=10, clock=clock
        )
        result = await check()
        assert result.status is Status.WARN
        assert result.output == "no progress for 20.0s (warn after 10s)"

    async def test_no_progress_yet_has_a_grace_period(self):
        """Before any progress, time since creation counts: pass first, fail once stale."""
        clock = FakeClock()
        check = news_health.heartbeat_check(lambda: None, stale_after=30, clock=clock)
        clock.now += 10
        early = await check()
        assert (early.status, early.output) == (Status.PASS, "waiting for first progress")
        clock.now += 25
        late = await check()
        assert late.status is Status.FAIL
        assert late.output == "no progress since start 35.0s (stale after 30s)"

    async def test_inactive_passes(self):
        """When active() is False the check passes with output "inactive"."""
        check = news_health.heartbeat_check(
            lambda: 0.0, stale_after=1, active=lambda: False, clock=FakeClock()
        )
        assert (await check()).output == "inactive"

    async def test_in_a_registry_as_liveness(self):
        """A stale heartbeat registered for liveness fails the liveness report (503)."""
        clock = FakeClock()
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
        registry.add(
            "consumer",
            news_health.heartbeat_check(lambda: 0.0, stale_after=60, clock=clock),
            probe="liveness",
        )
        report = await registry.check_liveness()
        assert report.http_status == 503
        assert report.checks["consumer"].output.startswith("no progress for 1000.0s")

    @pytest.mark.parametrize("kwargs", [{"stale_after": 0}, {"stale_after": 10, "warn_after": 10}])
    def test_bad_arguments(self, kwargs):
        """stale_after must be positive and warn_after below it."""
        with pytest.raises(news_health.CheckConfigError):
            news_health.heartbeat_check(lambda: None, **kwargs)


class TestNoSecretsInOutput:
    @pytest.mark.parametrize(
        ("message", "expected"),
        [
            (
                "could not connect to postgres://news:hunter2@db:5432/news",
                "could not connect to postgres://***@db:5432/news",
            ),
            ("redis://:s3cr3t@cache:6379/0 refused", "redis://***@cache:6379/0 refused"),
            ("login failed: password=hunter2 user=bob", "login failed: password=*** user=bob"),
            ("bad api_key=AKIA123XYZ&x=1", "bad api_key=***&x=1"),
            ('config {"db_password": "hunter2"}', 'config {"db_password": "***"}'),
            ("upstream said 401 for Bearer eyJhbGciOi.abc.def", "upstream said 401 for Bearer ***"),
            ("token: abcdef123456 expired", "token: *** expired"),
        ],
    )
    def test_credentials_masked(self, message, expected):
        """URL user info, password/token/api key values and bearer tokens are masked."""
        assert news_health.safe_output(message) == expected

    def test_one_line_and_bounded(self):
        """Only the first line is kept and long messages are clipped to 200 characters."""
        text = "first line\nTraceback (most recent call last):\n  File x.py, line 1"
        assert news_health.safe_output(text) == "first line"
        clipped = news_health.safe_output("x" * 1000)
        assert len(clipped) == 200
        assert clipped.endswith("...")

    async def test_exception_in_report_is_sanitised(self):
        """A check raising with a DSN in its message reports no password and no traceback."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
        registry.mark_started()

        async def db():
            try:
                raise KeyError("inner")
            except KeyError as exc:
                raise ConnectionError(
                    "postgresql://admin:Sup3rS3cret@db.internal/news unreachable\nstack..."
                ) from exc

        registry.add("db", db)
        registry.add("cache", lambda: _returns("redis://:pw123456@cache/0 is slow"))
        raw = (await registry.check_readiness()).to_json().decode()
        assert "Sup3rS3cret" not in raw
        assert "pw123456" not in raw
        assert "Traceback" not in raw
        assert "stack" not in raw
        assert "inner" not in raw
        assert "ConnectionError: postgresql://***@db.internal/news unreachable" in raw
        assert "redis://***@cache/0 is slow" in raw

    def test_describe_exception(self):
        """describe_exception gives "Type: message", sanitised, or the type alone."""
        error = OSError("mysql://root:toor@h/db down")
        assert news_health.describe_exception(error) == "OSError: mysql://***@h/db down"
        assert news_health.describe_exception(ValueError()) == "ValueError"


async def _returns(value):
    return value


class TestThreadSafety:
    def test_probes_from_many_threads(self):
        """Sync probes from several threads against one running loop all get answers."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=0.5))
        registry.mark_started()
        counter = {"n": 0}

        async def check():
            counter["n"] += 1
            await asyncio.sleep(0.1)

        registry.add("db", check, cache_ttl=0)
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        def serve():
            asyncio.set_event_loop(loop)
            loop.run_until_complete(registry.start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        ready.wait(5)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            reports = list(pool.map(lambda _: registry.check_readiness_sync(5), range(16)))
        asyncio.run_coroutine_threadsafe(registry.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        assert {r.status for r in reports} == {Status.PASS}
        assert counter["n"] < 16  # concurrent probes shared in-flight runs


def test_check_result_is_frozen():
    """CheckResult is immutable."""
    result = CheckResult()
    with pytest.raises(AttributeError):
        result.status = Status.FAIL  # type: ignore[misc]
