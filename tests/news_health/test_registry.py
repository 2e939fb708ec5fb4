import asyncio
import re
import threading
import time

import pytest

import news_health
from news_health import CheckResult, HealthRegistry, HealthSettings, Status


def _registry(**kwargs):
    kwargs.setdefault("loop_lag_threshold", None)
    registry = HealthRegistry(HealthSettings(**kwargs))
    registry.mark_started()
    return registry


class Counter:
    """An async check that counts its runs and can be slowed down or made to fail."""

    def __init__(self, delay=0.0, result=None, error=None):
        self.calls = 0
        self.delay = delay
        self.result = result
        self.error = error
        self.cancelled = False

    async def __call__(self):
        """Run the fake check."""
        self.calls += 1
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.error is not None:
            raise self.error
        return self.result


class TestRegistration:
    def test_add_and_decorator(self):
        """Checks added by method and by decorator are listed in registration order."""
        registry = _registry()
        registry.add("postgres", Counter())

        @registry.check("kafka", probe="both")
        async def kafka():
            return None

        @registry.check("consumer", probe="liveness")
        async def consumer():
            return None

        assert registry.names("readiness") == ["postgres", "kafka"]
        assert registry.names("liveness") == ["kafka", "consumer"]
        assert kafka.__name__ == "kafka"  # the decorator returns the function itself

    def test_builtin_loop_check_is_listed(self):
        """With a lag threshold, liveness starts with the built-in event_loop check."""
        assert HealthRegistry().names("liveness") == ["event_loop"]
        assert HealthRegistry(HealthSettings(loop_lag_threshold=None)).names("liveness") == []

    def test_duplicate_name_refused(self):
        """A second check with the same name in the same probe is refused."""
        registry = _registry()
        registry.add("db", Counter())
        with pytest.raises(news_health.CheckConfigError, match="already registered"):
            registry.add("db", Counter())
        registry.add("db", Counter(), probe="liveness")  # another probe is fine

    @pytest.mark.parametrize("name", ["event_loop", "lifecycle"])
    def test_builtin_names_reserved(self, name):
        """The built-in names cannot be registered."""
        with pytest.raises(news_health.CheckConfigError):
            _registry().add(name, Counter())

    @pytest.mark.parametrize(
        "kwargs",
        [{"timeout": 0}, {"timeout": -1}, {"cache_ttl": -1}, {"probe": "startup"}],
    )
    def test_bad_options_refused(self, kwargs):
        """Non-positive timeouts, negative TTLs and unknown probes are refused."""
        with pytest.raises(news_health.CheckConfigError):
            _registry().add("x", Counter(), **kwargs)

    def test_bad_name_or_callable_refused(self):
        """Empty names and non-callables are refused; CheckConfigError is a ValueError."""
        with pytest.raises(ValueError, match="name"):
            _registry().add(" ", Counter())
        with pytest.raises(news_health.CheckConfigError, match="not callable"):
            _registry().add("x", 42)  # type: ignore[arg-type]
        assert issubclass(news_health.CheckConfigError, news_health.NewsHealthError)

    async def test_remove(self):
        """remove() takes a check out of every probe."""
        registry = _registry()
        registry.add("db", Counter(error=OSError("down")), probe="both")
        registry.remove("db")
        assert registry.names("readiness") == []
        assert (await registry.check_readiness()).status is Status.PASS


class TestResults:
    @pytest.mark.parametrize(
        ("value", "status", "output"),
        [
            (None, "pass", None),
            (True, "pass", None),
            ("3 nodes", "pass", "3 nodes"),
            (False, "fail", "check returned False"),
            (CheckResult("warn", "replica lag 4s"), "warn", "replica lag 4s"),
            (42, "fail", "check returned an unsupported int (expected None, bool, str or "),
        ],
    )
    async def test_return_values(self, value, status, output):
        """None/True pass, str passes with output, False fails, CheckResult is taken as is."""
        registry = _registry()
        registry.add("x", Counter(result=value))
        outcome = (await registry.check_readiness()).checks["x"]
        assert outcome.status == status
        if output is None:
            assert outcome.output is None
        else:
            assert outcome.output.startswith(output)

    async def test_exception_fails_with_type_and_message(self):
        """A raising check fails with "Type: message" as output."""
        registry = _registry()
        registry.add("db", Counter(error=ConnectionRefusedError("connection refused")))
        outcome = (await registry.check_readiness()).checks["db"]
        assert outcome.status is Status.FAIL
        assert outcome.output == "ConnectionRefusedError: connection refused"

    async def test_check_cancelled_from_inside_is_a_failure(self):
        """A check that raises CancelledError on its own fails instead of breaking the probe."""
        registry = _registry()

        async def cancelled_inside():
            raise asyncio.CancelledError

        registry.add("x", cancelled_inside)
        report = await registry.check_readiness()
        assert report.checks["x"].status is Status.FAIL
        assert report.checks["x"].output == "CancelledError: the check was cancelled"

    async def test_exception_without_message(self):
        """An exception without a message is reported by its type name."""
        registry = _registry()
        registry.add("db", Counter(error=RuntimeError()))
        assert (await registry.check_readiness()).checks["db"].output == "RuntimeError"

    async def test_observed_values_kept(self):
        """observed_value/unit and component_type from a CheckResult reach the outcome."""
        registry = _registry()
        registry.add(
            "kafka",
            Counter(result=CheckResult("pass", None, 3, "brokers", component_type="datastore")),
        )
        outcome = (await registry.check_readiness()).checks["kafka"]
        assert (outcome.observed_value, outcome.observed_unit, outcome.component_type) == (
            3,
            "brokers",
            "datastore",
        )

    async def test_lambda_returning_coroutine(self):
        """A plain callable returning an awaitable (a lambda) is awaited."""
        registry = _registry()
        counter = Counter(result="ok")
        registry.add("x", lambda: counter())  # noqa: PLW0108 - the lambda is the point
        assert (await registry.check_readiness()).checks["x"].output == "ok"

    async def test_blocking_check_runs_in_a_thread(self):
        """blocking=True runs a sync check in a worker thread, off the event loop."""
        registry = _registry()
        seen = {}

        def blocking():
            seen["thread"] = threading.current_thread()
            time.sleep(0.3)
            return "done"

        registry.add("sync", blocking, blocking=True)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        task = asyncio.create_task(ticker())
        report = await registry.check_readiness()
        task.cancel()
        assert report.checks["sync"].output == "done"
        assert seen["thread"] is not threading.main_thread()
        assert ticks >= 5  # the loop kept running while the check slept

    def test_check_result_status_coerced(self):
        """CheckResult accepts a status string and stores a Status."""
        assert CheckResult("fail").status is Status.FAIL
        with pytest.raises(ValueError, match="loud"):
            CheckResult("loud")


class TestTimeouts:
    async def test_slow_check_times_out_and_is_cancelled(self):
        """A check slower than its timeout fails at the timeout and is cancelled."""
        registry = _registry()
        slow = Counter(delay=5)
        registry.add("slow", slow, timeout=0.2)
        started = time.perf_counter()
        report = await registry.check_readiness()
        elapsed = time.perf_counter() - started
        outcome = report.checks["slow"]
        assert outcome.status is Status.FAIL
        assert outcome.output == "timed out after 0.2s"
        assert 0.19 <= elapsed < 1.5
        assert 0.19 <= outcome.duration < 1.5
        assert slow.cancelled
        assert report.http_status == 503

    async def test_default_timeout_applies(self):
        """Without its own timeout a check gets the registry's default."""
        registry = _registry(default_timeout=0.1)
        registry.add("slow", Counter(delay=5))
        assert (await registry.check_readiness()).checks["slow"].output == "timed out after 0.1s"

    async def test_own_timeout_error_is_not_our_timeout(self):
        """A TimeoutError raised by the check itself is reported as that error."""
        registry = _registry()
        registry.add("x", Counter(error=TimeoutError("upstream slow")), timeout=5)
        assert (await registry.check_readiness()).checks["x"].output == (
            "TimeoutError: upstream slow"
        )


class TestCache:
    async def test_result_reused_within_ttl(self):
        """Within the TTL, probes reuse the result: the check runs once."""
        registry = _registry()
        counter = Counter(result="fine")
        registry.add("db", counter, cache_ttl=60)
        first = await registry.check_readiness()
        for _ in range(5):
            again = await registry.check_readiness()
        assert counter.calls == 1
        assert registry.get("db").runs == 1
        assert first.checks["db"].cached is False
        assert again.checks["db"].cached is True
        assert again.checks["db"].time == first.checks["db"].time

    async def test_result_refreshed_after_ttl(self):
        """After the TTL the check runs again."""
        registry = _registry()
        counter = Counter()
        registry.add("db", counter, cache_ttl=0.15)
        await registry.check_readiness()
        await asyncio.sleep(0.25)
        await registry.check_readiness()
        assert counter.calls == 2

    async def test_zero_ttl_runs_every_time(self):
        """cache_ttl=0 runs the check on every probe."""
        registry = _registry()
        counter = Counter()
        registry.add("db", counter, cache_ttl=0)
        for _ in range(3):
            await registry.check_readiness()
        assert counter.calls == 3

    async def test_failures_are_cached_too(self):
        """A failing dependency is not hammered either: failures are cached for the TTL."""
        registry = _registry()
        counter = Counter(error=OSError("down"))
        registry.add("db", counter, cache_ttl=60)
        for _ in range(4):
            report = await registry.check_readiness()
        assert counter.calls == 1
        assert report.status is Status.FAIL

    async def test_timeouts_are_cached(self):
        """A timed-out run is cached: the next probe does not wait again."""
        registry = _registry()
        counter = Counter(delay=5)
        registry.add("db", counter, timeout=0.1, cache_ttl=60)
        await registry.check_readiness()
        started = time.perf_counter()
        report = await registry.check_readiness()
        assert time.perf_counter() - started < 0.05
        assert report.checks["db"].output == "timed out after 0.1s"
        assert counter.calls == 1

    async def test_clear_cache(self):
        """clear_cache() forces the next probe to run the check."""
        registry = _registry()
        counter = Counter()
        registry.add("db", counter, cache_ttl=60)
        await registry.check_readiness()
        registry.get("db").clear_cache()
        await registry.check_readiness()
        assert counter.calls == 2


class TestSingleFlight:
    async def test_concurrent_probes_share_one_run(self):
        """Probes arriving while a check runs await that run instead of starting their own."""
        registry = _registry()
        counter = Counter(delay=0.3, result="ok")
        registry.add("db", counter, cache_ttl=0)
        reports = await asyncio.gather(*(registry.check_readiness() for _ in range(10)))
        assert counter.calls == 1
        assert {r.checks["db"].output for r in reports} == {"ok"}

    async def test_liveness_and_readiness_share_a_both_check(self):
        """A check in both probes runs once for a concurrent liveness and readiness probe."""
        registry = _registry()
        counter = Counter(delay=0.2)
        registry.add("consumer", counter, probe="both", cache_ttl=0)
        await asyncio.gather(registry.check_liveness(), registry.check_readiness())
        assert counter.calls == 1

    async def test_cancelled_probe_does_not_cancel_the_shared_run(self):
        """A probe that is cancelled (client went away) leaves the run going for the others."""
        registry = _registry()
        counter = Counter(delay=0.3, result="ok")
        registry.add("db", counter, cache_ttl=0)
        impatient = asyncio.create_task(registry.check_readiness())
        patient = asyncio.create_task(registry.check_readiness())
        await asyncio.sleep(0.05)
        impatient.cancel()
        report = await patient
        assert report.checks["db"].output == "ok"
        assert not counter.cancelled
        assert counter.calls == 1


class TestConcurrency:
    async def test_checks_run_in_parallel(self):
        """Three 0.4 s checks take about 0.4 s together, not 1.2 s."""
        registry = _registry()
        for name in ("a", "b", "c"):
            registry.add(name, Counter(delay=0.4))
        started = time.perf_counter()
        report = await registry.check_readiness()
        elapsed = time.perf_counter() - started
        assert report.status is Status.PASS
        assert 0.39 <= elapsed < 0.8

    async def test_one_slow_check_does_not_delay_the_others_results(self):
        """A timed-out check and fast checks are all reported after about the timeout."""
        registry = _registry()
        registry.add("slow", Counter(delay=10), timeout=0.3)
        registry.add("fast", Counter(result="quick"))
        started = time.perf_counter()
        report = await registry.check_readiness()
        assert time.perf_counter() - started < 1.0
        assert report.checks["fast"].output == "quick"
        assert report.checks["fast"].duration < 0.25


class TestAggregation:
    async def _status(self, *outcomes):
        registry = _registry()
        for index, (result, critical) in enumerate(outcomes):
            registry.add(f"c{index}", Counter(result=result), critical=critical)
        report = await registry.check_readiness()
        return report.status, report.http_status

    async def test_all_pass(self):
        """All checks passing gives pass / 200."""
        assert await self._status((None, True), ("x", False)) == (Status.PASS, 200)

    async def test_critical_fail(self):
        """A critical failure gives fail / 503."""
        assert await self._status((None, True), (False, True)) == (Status.FAIL, 503)

    async def test_non_critical_fail_warns(self):
        """A non-critical failure only warns: 200."""
        assert await self._status((None, True), (False, False)) == (Status.WARN, 200)

    async def test_warn_result_warns(self):
        """A check returning warn makes the report warn."""
        assert await self._status(
            (CheckResult("warn"), True),
        ) == (Status.WARN, 200)

    async def test_critical_fail_beats_warn(self):
        """A critical failure wins over warnings and non-critical failures."""
        status = await self._status((CheckResult("warn"), True), (False, False), (False, True))
        assert status == (Status.FAIL, 503)

    async def test_no_checks_pass(self):
        """A started registry without checks is ready."""
        report = await _registry().check_readiness()
        assert report.status is Status.PASS
        assert list(report.checks) == ["lifecycle"]


class TestLifecycle:
    async def test_not_ready_until_started_and_checks_not_run(self):
        """Before mark_started readiness fails with "starting" and runs no checks."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None))
        counter = Counter()
        registry.add("db", counter)
        report = await registry.check_readiness()
        assert report.http_status == 503
        assert report.checks["lifecycle"].output == "starting"
        assert list(report.checks) == ["lifecycle"]
        assert counter.calls == 0
        registry.mark_started()
        assert registry.started
        assert (await registry.check_readiness()).http_status == 200

    async def test_require_startup_off(self):
        """require_startup=False makes readiness independent of mark_started."""
        registry = HealthRegistry(HealthSettings(loop_lag_threshold=None, require_startup=False))
        assert (await registry.check_readiness()).status is Status.PASS

    async def test_shutdown_flips_readiness_immediately(self):
        """mark_shutting_down makes the very next readiness probe fail without running checks."""
        registry = _registry()
        counter = Counter(delay=5)
        registry.add("db", counter, cache_ttl=0, timeout=10)
        in_flight = asyncio.create_task(registry.check_readiness())
        await asyncio.sleep(0.05)
        registry.mark_shutting_down()
        started = time.perf_counter()
        report = await registry.check_readiness()
        assert time.perf_counter() - started < 0.05
        assert report.http_status == 503
        assert report.checks["lifecycle"].output == "shutting down"
        assert registry.shutting_down
        assert counter.calls == 1  # the probe did not start another run
        in_flight.cancel()

    async def test_shutdown_beats_a_cached_pass(self):
        """A cached passing result does not keep a shutting-down service ready."""
        registry = _registry()
        registry.add("db", Counter(), cache_ttl=60)
        assert (await registry.check_readiness()).status is Status.PASS
        registry.mark_shutting_down()
        assert (await registry.check_readiness()).status is Status.FAIL

    async def test_liveness_unaffected_by_shutdown(self):
        """A draining process stays live."""
        registry = _registry()
        registry.add("consumer", Counter(), probe="liveness")
        registry.mark_shutting_down()
        assert (await registry.check_liveness()).status is Status.PASS

    async def test_mark_shutting_down_from_another_thread(self):
        """mark_shutting_down works from any thread (a signal handler's)."""
        registry = _registry()
        thread = threading.Thread(target=registry.mark_shutting_down)
        thread.start()
        thread.join()
        assert (await registry.check_readiness()).status is Status.FAIL

    async def test_stop_cancels_in_flight_runs(self):
        """stop() cancels check runs still in flight."""
        registry = _registry()
        counter = Counter(delay=10)
        registry.add("db", counter, timeout=30)
        await registry.start()
        probe = asyncio.create_task(registry.check_readiness())
        await asyncio.sleep(0.05)
        await registry.stop(timeout=1)
        assert counter.cancelled
        with pytest.raises(asyncio.CancelledError):
            await probe

    async def test_async_context_manager(self):
        """The async with block starts and stops the registry (the loop monitor runs inside)."""
        registry = HealthRegistry()
        async with registry as entered:
            assert entered is registry
            assert registry.loop_monitor.running
        assert not registry.loop_monitor.running


class TestReportJson:
    async def test_shape(self):
        """The JSON follows the health+json draft: status, ids, output, checks arrays."""
        registry = HealthRegistry(
            HealthSettings(loop_lag_threshold=None),
            service_id="newsroom-api",
            version="1.4.2",
            release_id="2026.11.24",
            description="newsroom API",
        )
        registry.mark_started()
        registry.add("db", Counter(error=OSError("down")))
        registry.add(
            "search",
            Counter(result=CheckResult("pass", observed_value=3.5, observed_unit="ms")),
            critical=False,
        )
        report = await registry.check_readiness()
        assert report.content_type == "application/health+json"
        assert report.failing == ["db"]
        body = report.to_dict()
        assert list(body) == [
            "status",
            "version",
            "releaseId",
            "serviceId",
            "description",
            "output",
            "checks",
        ]
        assert body["status"] == "fail"
        assert body["output"] == "failing: db"
        assert list(body["checks"]) == ["lifecycle", "db", "search"]
        db = body["checks"]["db"]
        assert isinstance(db, list)
        assert len(db) == 1
        assert set(db[0]) == {"status", "time", "durationMs", "output"}
        assert db[0]["status"] == "fail"
        assert db[0]["output"] == "OSError: down"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", db[0]["time"])
        assert isinstance(db[0]["durationMs"], float)
        search = body["checks"]["search"][0]
        assert search["observedValue"] == 3.5
        assert search["observedUnit"] == "ms"
        assert search["critical"] is False
        assert "output" not in search

    async def test_to_json_bytes(self):
        """to_json() gives compact UTF-8 JSON of to_dict()."""
        import json

        registry = _registry()
        registry.add("x", Counter(result="ünïcode"))
        report = await registry.check_readiness()
        raw = report.to_json()
        assert isinstance(raw, bytes)
        assert json.loads(raw) == report.to_dict()
        assert b" " not in raw.replace(b"\xc3\xbcn\xc3\xafcode", b"")
        assert "ünïcode".encode() in raw

    async def test_passing_report_has_no_output(self):
        """A passing report has no top-level output."""
        report = await _registry().check_readiness()
        assert report.to_dict() == {
            "status": "pass",
            "checks": {"lifecycle": [report.checks["lifecycle"].to_dict()]},
        }

    async def test_warn_output_names_warning_checks(self):
        """A warning report's output names the warning checks."""
        registry = _registry()
        registry.add("lag", Counter(result=CheckResult("warn", "lag 4s")))
        assert (await registry.check_readiness()).to_dict()["output"] == "warning: lag"


class TestHealthSettings:
    def test_one_struct_holds_the_options(self):
        """HealthRegistry(settings, *, identity): options in HealthSettings, identity by name."""
        settings = HealthSettings(default_timeout=0.5, loop_lag_threshold=None)
        registry = HealthRegistry(settings, service_id="svc", version="1")
        assert registry.settings is settings
        assert registry.default_timeout == 0.5
        assert registry.names("liveness") == []
        assert HealthRegistry().settings == HealthSettings()

    @pytest.mark.parametrize(
        ("options", "match"),
        [
            ({"default_timeout": 0}, "default_timeout"),
            ({"default_cache_ttl": -1}, "default_cache_ttl"),
            ({"loop_lag_threshold": 0}, "loop_lag_threshold"),
            ({"loop_interval": 0}, "loop_interval"),
            ({"loop_window": 0.1, "loop_interval": 0.5}, "loop_window"),
        ],
    )
    def test_values_are_checked_when_built(self, options, match):
        """A value out of range is a HealthConfigError (a ValueError) naming the field."""
        with pytest.raises(news_health.HealthConfigError, match=match):
            HealthSettings(**options)
        assert issubclass(news_health.HealthConfigError, ValueError)

    def test_news_config_fills_it(self):
        """HealthSettings loads from the environment like every settings Struct."""
        import news_config

        settings = news_config.load(
            HealthSettings,
            prefix="HEALTH_",
            env_file=None,
            environ={"HEALTH_DEFAULT_TIMEOUT": "1.5", "HEALTH_LOOP_LAG_THRESHOLD": ""},
        )
        assert settings == HealthSettings(default_timeout=1.5, loop_lag_threshold=None)
        with pytest.raises(news_config.ConfigError, match="HEALTH_LOOP_WINDOW"):
            news_config.load(
                HealthSettings,
                prefix="HEALTH_",
                env_file=None,
                environ={"HEALTH_LOOP_WINDOW": "0.1"},
            )

    async def test_durations_are_seconds(self):
        """A check's outcome reports its duration in seconds (durationMs in the JSON)."""

        async def slow() -> None:
            await asyncio.sleep(0.05)

        registry = _registry()
        registry.add("slow", slow)
        report = await registry.check_readiness()
        outcome = report.checks["slow"]
        assert 0.04 <= outcome.duration < 5
        shown = report.to_dict()["checks"]["slow"][0]["durationMs"]
        assert shown == round(outcome.duration * 1000, 3)
