"""Repeated lines at a bounded rate: RateLimit, RateLimitFilter, Logger.limited, limit_repeats."""

from __future__ import annotations

import logging
import threading

import pytest

import news_log
from news_log.testing import capture_logs


class FakeClock:
    """Monotonic seconds that tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        """The current fake time."""
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing still until the test moves it."""
    return FakeClock()


@pytest.fixture
def aiokafka_limited(log_path):
    """news-log writing JSON to a file, limiting aiokafka's loggers every 10 s (the default)."""
    news_log.setup(
        news_log.LogSettings(
            format="json", output=str(log_path), level="debug", repeat_limited=("aiokafka",)
        )
    )
    return log_path


class TestRateLimit:
    def test_first_of_a_key_then_once_per_interval_with_the_count(self, clock):
        """A key is admitted at once, repeats within the interval are counted, then reported."""
        limit = news_log.RateLimit(10.0, clock=clock)
        assert limit.admit("timeout") == 0
        assert [limit.admit("timeout") for _ in range(5)] == [None] * 5
        assert limit.admit("refused") == 0  # another key has its own interval
        assert limit.suppressed("timeout") == 5
        clock.now += 9.99
        assert limit.admit("timeout") is None
        clock.now += 0.01
        assert limit.admit("timeout") == 6
        assert limit.admit("timeout") is None

    def test_zero_interval_admits_everything(self, clock):
        """interval=0 turns the limit off."""
        limit = news_log.RateLimit(0.0, clock=clock)
        assert [limit.admit("k") for _ in range(3)] == [0, 0, 0]

    def test_none_follows_the_settings(self, log_path, clock):
        """interval=None reads LogSettings.repeat_interval at each call (a later setup applies)."""
        limit = news_log.RateLimit(None, clock=clock)
        assert limit.interval == 10.0
        news_log.setup(news_log.LogSettings(format="json", output=str(log_path), repeat_interval=0))
        assert limit.interval == 0.0
        assert [limit.admit("k") for _ in range(2)] == [0, 0]

    def test_many_distinct_keys_stay_bounded(self, clock):
        """Past max_keys the quiet keys are forgotten: memory stays bounded, new keys still log."""
        limit = news_log.RateLimit(10.0, max_keys=3, clock=clock)
        for key in "abc":
            assert limit.admit(key) == 0
        clock.now += 10
        assert limit.admit("d") == 0  # a, b, c were quiet for an interval: forgotten
        assert limit.admit("a") == 0
        assert limit.admit("e") == 0
        assert limit.admit("f") == 0  # full of recent keys: all forgotten, f admitted
        assert limit.admit("d") == 0

    def test_bad_arguments_are_refused(self):
        """A negative interval or max_keys below 1 is a ValueError naming the argument."""
        with pytest.raises(ValueError, match="repeat interval"):
            news_log.RateLimit(-1.0)
        with pytest.raises(ValueError, match="max_keys"):
            news_log.RateLimit(1.0, max_keys=0)

    def test_threads_count_every_repeat(self, clock):
        """Concurrent callers: one admitted, every other one counted."""
        limit = news_log.RateLimit(10.0, clock=clock)
        results: list[int | None] = []
        lock = threading.Lock()

        def hammer() -> None:
            for _ in range(1000):
                got = limit.admit("k")
                with lock:
                    results.append(got)

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(0) == 1
        assert limit.suppressed("k") == 7999


class TestRateLimitFilter:
    def test_a_stdlib_handler_sees_one_record_per_kind_per_interval(self, clock):
        """On a plain handler: kinds are logger, level, template and error type; count attached."""
        seen: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                seen.append(record)

        handler = Keep()
        handler.addFilter(news_log.RateLimitFilter(10.0, clock=clock))
        logger = logging.getLogger("test_repeats.plain")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            for node in range(50):  # the arguments differ, the template is the same
                logger.error("cannot reach node %s: %s", node, ConnectionRefusedError(111, "no"))
            logger.error("cannot reach node %s: %s", 1, TimeoutError("slow"))  # another error
            logger.warning("cannot reach node %s: %s", 1, TimeoutError("slow"))  # another level
            clock.now += 10
            logger.error("cannot reach node %s: %s", 7, ConnectionRefusedError(111, "no"))
        finally:
            logger.removeHandler(handler)
            logger.propagate = True
        assert [(r.getMessage(), r.levelname, r.suppressed) for r in seen] == [  # type: ignore[attr-defined]
            ("cannot reach node 0: [Errno 111] no", "ERROR", 0),
            ("cannot reach node 1: slow", "ERROR", 0),
            ("cannot reach node 1: slow", "WARNING", 0),
            ("cannot reach node 7: [Errno 111] no", "ERROR", 49),
        ]

    def test_loggers_limits_only_those_and_their_children(self, clock):
        """loggers=("aiokafka",) limits aiokafka.conn, not aiokafkax nor others."""
        limit = news_log.RateLimitFilter(10.0, loggers=("aiokafka",), clock=clock)

        def record(name: str) -> logging.LogRecord:
            return logging.LogRecord(name, logging.ERROR, __file__, 1, "boom", None, None)

        assert [limit.filter(record("aiokafka.conn")) for _ in range(3)] == [True, False, False]
        assert [limit.filter(record("aiokafka")) for _ in range(2)] == [True, False]
        assert [limit.filter(record("aiokafkax")) for _ in range(2)] == [True, True]
        assert [limit.filter(record("redis")) for _ in range(2)] == [True, True]
        assert limit.loggers == ("aiokafka",)
        assert news_log.RateLimitFilter(1.0).loggers is None

    def test_news_log_output_limits_the_configured_loggers(self, aiokafka_limited, read_lines):
        """LogSettings.repeat_limited: 100 identical aiokafka errors give one line; others all."""
        for _ in range(100):
            logging.getLogger("aiokafka.client").error("Unable to update metadata from [%s]", 1)
        for _ in range(3):
            logging.getLogger("thirdparty").error("not limited")
        lines = read_lines()
        limited = [line for line in lines if line["logger"] == "aiokafka.client"]
        assert limited == [
            {
                "ts": limited[0]["ts"],
                "level": "error",
                "logger": "aiokafka.client",
                "msg": "Unable to update metadata from [1]",
                "suppressed": 0,
            }
        ]
        assert sum(line["logger"] == "thirdparty" for line in lines) == 3

    def test_limit_repeats_adds_loggers_at_run_time(self, log_path, read_lines):
        """limit_repeats(name) applies at once, beside the settings' loggers, and survives setup."""
        news_log.limit_repeats("test_repeats.registered")
        news_log.setup(news_log.LogSettings(format="json", output=str(log_path), level="debug"))
        for _ in range(20):
            logging.getLogger("test_repeats.registered.child").warning("again")
        lines = [line for line in read_lines() if line["logger"].startswith("test_repeats")]
        assert [(line["msg"], line["suppressed"]) for line in lines] == [("again", 0)]

    def test_zero_interval_in_settings_turns_it_off(self, log_path, read_lines):
        """repeat_interval=0: every record of a limited logger is written."""
        news_log.setup(
            news_log.LogSettings(
                format="json",
                output=str(log_path),
                repeat_interval=0,
                repeat_limited=("aiokafka",),
            )
        )
        for _ in range(5):
            logging.getLogger("aiokafka.conn").error("refused")
        assert sum(line["logger"] == "aiokafka.conn" for line in read_lines()) == 5


class TestLimitedLogger:
    def test_one_line_per_kind_per_interval_with_the_count(self, clock):
        """Kinds are level, message and repeat_key; the next line written says how many left."""
        failures = news_log.get_logger("test_repeats.own").limited(10.0, clock=clock)
        with capture_logs() as lines:
            written = [
                failures.warning("publish failed", repeat_key="Timeout", topic="t", attempt=n)
                for n in range(20)
            ]
            failures.warning("publish failed", repeat_key="Refused", topic="t")
            failures.error("publish failed", repeat_key="Timeout", topic="t")
            clock.now += 10
            failures.warning("publish failed", repeat_key="Timeout", topic="t", attempt=99)
        assert written == [True] + [False] * 19
        assert [(x["level"], x.get("attempt"), x["suppressed"]) for x in lines] == [
            ("warning", 0, 0),
            ("warning", None, 0),
            ("error", None, 0),
            ("warning", 99, 19),
        ]
        assert all(x["logger"] == "test_repeats.own" and x["topic"] == "t" for x in lines)

    def test_context_bound_fields_and_exceptions_ride_along(self, clock):
        """Lines of a limited logger carry bind() fields, the logger's bound fields, exc_info."""
        failures = news_log.get_logger("test_repeats.ctx").bind(dependency="kafka").limited(1.0)
        with capture_logs() as lines, news_log.bind(request_id="r-9"):
            try:
                raise TimeoutError("no answer")
            except TimeoutError as exc:
                failures.error("call failed", repeat_key=type(exc).__name__, exc_info=True)
        (line,) = lines
        assert line["request_id"] == "r-9"
        assert line["dependency"] == "kafka"
        assert line["exception"]["type"] == "TimeoutError"

    def test_lines_below_the_level_are_neither_written_nor_counted(self, log_path, read_lines):
        """A disabled level returns False and does not use up the interval."""
        news_log.setup(news_log.LogSettings(format="json", output=str(log_path), level="warning"))
        quiet = news_log.get_logger("test_repeats.level").limited(10.0)
        assert quiet.info("hidden") is False
        assert quiet.limit.suppressed(("info", "hidden", None)) == 0
        assert quiet.warning("shown") is True
        assert [line["msg"] for line in read_lines()] == ["shown"]

    def test_default_interval_is_the_settings(self, log_path, read_lines):
        """limited() without an interval follows LogSettings.repeat_interval."""
        news_log.setup(news_log.LogSettings(format="json", output=str(log_path), repeat_interval=0))
        every = news_log.get_logger("test_repeats.settings").limited()
        assert [every.warning("w") for _ in range(3)] == [True, True, True]
        assert repr(every) == "<LimitedLogger 'test_repeats.settings' interval=0s>"
