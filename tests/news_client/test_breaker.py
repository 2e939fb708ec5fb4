"""The circuit breaker: rates over count and time windows, slow calls, bounded half-open trials."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import news_client
from news_client import BreakerOpenError, BreakerSettings, CircuitBreaker, CircuitBreakers
from news_log.testing import capture_logs


class Clock:
    """A manual monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        """Now."""
        return self.now


def breaker(clock: Clock | None = None, **overrides: object) -> CircuitBreaker:
    """A breaker with small test settings (overridable)."""
    values: dict[str, object] = {
        "window_size": 10,
        "minimum_calls": 5,
        "failure_rate_threshold": 50.0,
        "open_duration": 30.0,
        "half_open_calls": 3,
        "slow_call_duration": 1.0,
    }
    values.update(overrides)
    return CircuitBreaker(
        BreakerSettings(**values),  # type: ignore[arg-type]
        name="dep",
        clock=clock or Clock(),
    )


def record(b: CircuitBreaker, *, failed: bool, seconds: float = 0.01) -> None:
    """Make one call through the protocol and record its outcome."""
    permit = b.acquire()
    if failed:
        b.failure(permit, seconds)
    else:
        b.success(permit, seconds)


class TestClosed:
    def test_stays_closed_below_the_minimum_number_of_calls(self) -> None:
        """Four failures of four calls do not open a breaker that needs five calls."""
        b = breaker()
        for _ in range(4):
            record(b, failed=True)
        assert b.state == "closed"
        record(b, failed=True)
        assert b.state == "open"

    def test_opens_at_the_configured_failure_rate(self) -> None:
        """With a 50% threshold, 4 failures in 10 calls keep it closed; the 5th opens it."""
        b = breaker()
        for failed in [False] * 6 + [True] * 4:
            record(b, failed=failed)
        assert b.state == "closed"
        assert b.metrics()["failure_rate"] == 40.0
        record(b, failed=True)  # window of 10: drops one success, 5 failures of 10
        assert b.state == "open"

    def test_count_window_forgets_old_outcomes(self) -> None:
        """Failures older than the last window_size calls no longer count."""
        b = breaker(minimum_calls=10, failure_rate_threshold=60.0)
        for failed in [True] * 5 + [False] * 10:
            record(b, failed=failed)
        assert b.metrics()["failures"] == 0
        assert b.state == "closed"

    def test_time_window_forgets_calls_older_than_its_seconds(self) -> None:
        """In a 10-second window, failures from 11 seconds ago do not count."""
        clock = Clock()
        b = breaker(clock, window="time", window_size=10, minimum_calls=5)
        for _ in range(4):
            record(b, failed=True)
        clock.now += 11
        for _ in range(4):
            record(b, failed=False)
        assert b.metrics()["calls"] == 4
        record(b, failed=True)
        assert b.state == "closed"  # 1 failure of 5 calls

    def test_time_window_opens_on_the_rate_within_it(self) -> None:
        """Calls spread over a few seconds of the window all count."""
        clock = Clock()
        b = breaker(clock, window="time", window_size=10, minimum_calls=4)
        for _ in range(4):
            record(b, failed=True)
            clock.now += 2
        assert b.state == "open"

    def test_slow_calls_open_it_at_their_rate(self) -> None:
        """Successful calls slower than slow_call_duration open it at the slow-call rate."""
        b = breaker(slow_call_rate_threshold=80.0)
        for _ in range(2):
            record(b, failed=False, seconds=0.01)
        for _ in range(3):
            record(b, failed=False, seconds=2.0)
        assert b.state == "closed"  # 3 slow of 5: 60%
        for _ in range(4):
            record(b, failed=False, seconds=2.0)
        assert b.state == "closed"  # 7 of 9: 77.8%
        record(b, failed=False, seconds=2.0)
        assert b.state == "open"  # 8 of 10: 80%

    def test_failure_predicate_decides_what_counts(self) -> None:
        """An error the predicate rejects (a 404, say) counts as a success."""

        class NotFoundError(Exception):
            pass

        b = CircuitBreaker(
            BreakerSettings(window_size=5, minimum_calls=5),
            name="dep",
            is_failure=lambda exc: not isinstance(exc, NotFoundError),
        )

        async def missing() -> None:
            raise NotFoundError

        async def run() -> None:
            for _ in range(10):
                with pytest.raises(NotFoundError):
                    await b.call(missing)

        asyncio.run(run())
        assert b.state == "closed"
        assert b.metrics()["failures"] == 0


class TestOpen:
    def test_refuses_calls_with_the_time_left(self) -> None:
        """Open, acquire raises BreakerOpenError saying when trials start."""
        clock = Clock()
        b = breaker(clock)
        b.force_open(30.0)
        clock.now += 10
        with pytest.raises(BreakerOpenError) as caught:
            b.acquire()
        assert caught.value.state == "open"
        assert caught.value.retry_after == pytest.approx(20.0)
        assert caught.value.breaker == "dep"

    def test_becomes_half_open_after_open_duration(self) -> None:
        """After open_duration the next call is a trial."""
        clock = Clock()
        b = breaker(clock)
        b.force_open()
        clock.now += 30
        b.acquire()
        assert b.state == "half_open"

    def test_a_call_admitted_before_opening_does_not_count_after(self) -> None:
        """An outcome recorded with a permit of an earlier state changes nothing."""
        clock = Clock()
        b = breaker(clock)
        old = b.acquire()
        b.force_open()
        clock.now += 30
        assert b.state == "half_open"
        b.failure(old, 0.1)
        b.success(old, 0.1)
        assert b.state == "half_open"
        assert b.metrics()["half_open_trials_taken"] == 0


class TestHalfOpen:
    def test_closes_when_the_trials_succeed(self) -> None:
        """Every trial call succeeding closes the breaker with an empty window."""
        clock = Clock()
        b = breaker(clock)
        b.force_open()
        clock.now += 30
        for _ in range(3):
            record(b, failed=False)
        assert b.state == "closed"
        assert b.metrics()["calls"] == 0

    def test_opens_again_when_the_trials_fail(self) -> None:
        """Two failed trials of three (over 50%) open it again for open_duration."""
        clock = Clock()
        b = breaker(clock)
        b.force_open()
        clock.now += 30
        permits = [b.acquire() for _ in range(3)]
        b.failure(permits[0], 0.1)
        b.failure(permits[1], 0.1)
        assert b.state == "half_open"
        b.success(permits[2], 0.1)
        assert b.state == "open"

    def test_never_admits_more_than_the_trial_calls(self) -> None:
        """Past half_open_calls permits, acquire refuses until outcomes come in."""
        clock = Clock()
        b = breaker(clock)
        b.force_open()
        clock.now += 30
        permits = [b.acquire() for _ in range(3)]
        with pytest.raises(BreakerOpenError) as caught:
            b.acquire()
        assert caught.value.state == "half_open"
        b.release(permits[0])  # cancelled: its slot goes back
        b.acquire()

    async def test_a_hundred_concurrent_callers_send_at_most_the_trials(self) -> None:
        """100 callers at once in half-open: 3 reach the dependency, 97 are refused."""
        clock = Clock()
        b = breaker(clock)
        b.force_open()
        clock.now += 30
        reached = 0
        gate = asyncio.Event()

        async def dependency() -> str:
            nonlocal reached
            reached += 1
            await gate.wait()
            return "ok"

        async def caller() -> str:
            try:
                return await b.call(dependency)
            except BreakerOpenError:
                return "refused"

        tasks = [asyncio.create_task(caller()) for _ in range(100)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert reached == 3
        gate.set()
        results = await asyncio.gather(*tasks)
        assert results.count("ok") == 3
        assert results.count("refused") == 97
        assert b.state == "closed"

    async def test_cancelled_trials_give_their_slot_back(self) -> None:
        """A trial cancelled by its caller frees its slot for another caller."""
        clock = Clock()
        b = breaker(clock, half_open_calls=1)
        b.force_open()
        clock.now += 30
        gate = asyncio.Event()
        task = asyncio.create_task(b.call(gate.wait))
        await asyncio.sleep(0)
        with pytest.raises(BreakerOpenError):
            b.acquire()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert b.acquire() is not None


class TestEvents:
    def test_state_changes_are_logged_and_reported(self) -> None:
        """Opening logs a warning with the rates; listeners see every transition."""
        clock = Clock()
        seen: list[tuple[str, str, str]] = []
        b = CircuitBreaker(
            BreakerSettings(window_size=4, minimum_calls=4, half_open_calls=1),
            name="geo",
            clock=clock,
            listeners=(lambda *args: seen.append(args),),
        )
        with capture_logs() as lines:
            for _ in range(4):
                record(b, failed=True)
            clock.now += 30
            record(b, failed=False)
        assert seen == [
            ("geo", "closed", "open"),
            ("geo", "open", "half_open"),
            ("geo", "half_open", "closed"),
        ]
        opened = next(line for line in lines if line["msg"] == "circuit breaker opened")
        assert opened["level"] == "warning"
        assert opened["breaker"] == "geo"
        assert opened["failure_rate"] == 100.0
        assert {line["msg"] for line in lines} >= {
            "circuit breaker half-open",
            "circuit breaker closed",
        }

    def test_a_failing_listener_does_not_break_the_breaker(self) -> None:
        """A listener that raises is logged; the transition still happens."""

        def broken(*_: object) -> None:
            raise RuntimeError("boom")

        b = CircuitBreaker(BreakerSettings(), name="x", listeners=(broken,))
        with capture_logs() as lines:
            b.force_open()
        assert b.state == "open"
        assert any(line["msg"] == "breaker state listener failed" for line in lines)


class TestRegistry:
    def test_one_breaker_per_key(self) -> None:
        """get(key) makes a breaker once and returns the same one after."""
        breakers = CircuitBreakers(BreakerSettings())
        assert breakers.get("a") is breakers.get("a")
        assert breakers.get("a") is not breakers.get("b")
        breakers.get("a").force_open()
        assert breakers.states() == {"a": "open", "b": "closed"}
        assert len(breakers) == 2

    def test_keys_are_bounded(self) -> None:
        """More keys than max_keys is refused (keys must not come from request data)."""
        breakers = CircuitBreakers(max_keys=2)
        breakers.get("a")
        breakers.get("b")
        with pytest.raises(news_client.ClientConfigError):
            breakers.get("c")


class TestSettings:
    def test_minimum_calls_above_the_count_window_is_refused(self) -> None:
        """A count window smaller than minimum_calls could never open: refused."""
        with pytest.raises(news_client.ClientConfigError, match="minimum_calls"):
            BreakerSettings(window_size=10, minimum_calls=20)


# -- the state machine against a model ---------------------------------------------------------


class BreakerMachine(RuleBasedStateMachine):
    """Random sequences of calls, outcomes, cancellations and time against a plain model."""

    @initialize(
        window=st.sampled_from(["count", "time"]),
        size=st.integers(1, 8),
        minimum=st.integers(1, 8),
        threshold=st.sampled_from([25.0, 50.0, 100.0]),
        slow_threshold=st.sampled_from([50.0, 100.0]),
        trials=st.integers(1, 4),
    )
    def setup(  # noqa: PLR0917 - hypothesis passes the drawn values by keyword
        self,
        window: str,
        size: int,
        minimum: int,
        threshold: float,
        slow_threshold: float,
        trials: int,
    ) -> None:
        """Pick the settings; the model starts closed."""
        if window == "count":
            minimum = min(minimum, size)
        self.clock = Clock()
        self.settings = BreakerSettings(
            window=window,  # type: ignore[arg-type]
            window_size=size,
            minimum_calls=minimum,
            failure_rate_threshold=threshold,
            slow_call_rate_threshold=slow_threshold,
            slow_call_duration=1.0,
            open_duration=10.0,
            half_open_calls=trials,
        )
        self.breaker = CircuitBreaker(self.settings, name="m", clock=self.clock)
        # the model
        self.state = "closed"
        self.outcomes: list[tuple[float, bool, bool]] = []  # (time, failed, slow)
        self.open_until = 0.0
        self.trials: list[tuple[bool, bool]] = []
        self.taken = 0
        self.permits: list[tuple[int, int]] = []  # (permit, model generation)
        self.generation = 0

    def _model_state(self) -> str:
        if self.state == "open" and self.clock.now >= self.open_until:
            self._move("half_open")
        return self.state

    def _move(self, state: str) -> None:
        self.state = state
        self.generation += 1
        self.trials = []
        self.taken = 0
        if state == "open":
            self.open_until = self.clock.now + self.settings.open_duration
        if state == "closed":
            self.outcomes = []

    def _window(self) -> list[tuple[float, bool, bool]]:
        s = self.settings
        if s.window == "count":
            return self.outcomes[-s.window_size :]
        now = int(self.clock.now)
        return [o for o in self.outcomes if int(o[0]) > now - s.window_size]

    def _trips(self, calls: int, failures: int, slow: int) -> bool:
        s = self.settings
        return (
            failures * 100.0 >= s.failure_rate_threshold * calls
            or slow * 100.0 >= s.slow_call_rate_threshold * calls
        )

    @rule()
    def acquire(self) -> None:
        """A caller asks for a permit."""
        state = self._model_state()
        if state == "open" or (
            state == "half_open" and self.taken >= self.settings.half_open_calls
        ):
            with pytest.raises(BreakerOpenError):
                self.breaker.acquire()
            return
        permit = self.breaker.acquire()
        if state == "half_open":
            self.taken += 1
        self.permits.append((permit, self.generation))

    @precondition(lambda self: self.permits)
    @rule(data=st.data(), failed=st.booleans(), slow=st.booleans(), release=st.booleans())
    def finish(self, data: st.DataObject, failed: bool, slow: bool, release: bool) -> None:
        """A permit's call ends: failure, success (maybe slow) or released."""
        index = data.draw(st.integers(0, len(self.permits) - 1))
        permit, generation = self.permits.pop(index)
        self._model_state()
        current = generation == self.generation
        if release:
            self.breaker.release(permit)
            if current and self.state == "half_open" and self.taken:
                self.taken -= 1
            return
        seconds = 2.0 if slow else 0.1
        if failed:
            self.breaker.failure(permit, seconds)
        else:
            self.breaker.success(permit, seconds)
        if not current:
            return
        if self.state == "closed":
            self.outcomes.append((self.clock.now, failed, slow))
            window = self._window()
            calls = len(window)
            if calls >= self.settings.minimum_calls and self._trips(
                calls, sum(o[1] for o in window), sum(o[2] for o in window)
            ):
                self._move("open")
        elif self.state == "half_open":
            self.trials.append((failed, slow))
            if len(self.trials) >= self.settings.half_open_calls:
                trips = self._trips(
                    len(self.trials), sum(t[0] for t in self.trials), sum(t[1] for t in self.trials)
                )
                self._move("open" if trips else "closed")

    @rule(seconds=st.sampled_from([0.2, 1.0, 3.0, 10.0, 25.0]))
    def advance(self, seconds: float) -> None:
        """Time passes."""
        self.clock.now += seconds

    @invariant()
    def same_state_as_the_model(self) -> None:
        """The breaker's state is the model's."""
        if not hasattr(self, "breaker"):
            return
        assert self.breaker.state == self._model_state()

    @invariant()
    def trials_never_exceed_the_limit(self) -> None:
        """Half-open never admits more than half_open_calls."""
        if not hasattr(self, "breaker"):
            return
        assert self.breaker.metrics()["half_open_trials_taken"] <= self.settings.half_open_calls

    @invariant()
    def window_totals_match(self) -> None:
        """The closed window holds what the model's holds."""
        if not hasattr(self, "breaker") or self._model_state() != "closed":
            return
        window = self._window()
        figures = self.breaker.metrics()
        assert figures["calls"] == len(window)
        assert figures["failures"] == sum(o[1] for o in window)
        assert figures["slow_calls"] == sum(o[2] for o in window)


TestBreakerStateMachine = BreakerMachine.TestCase
TestBreakerStateMachine.settings = hsettings(
    max_examples=150, stateful_step_count=60, deadline=None
)
