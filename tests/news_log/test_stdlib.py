import json
import logging
import subprocess
import sys

import news_log


class TestStdlibLoggers:
    def test_third_party_stdlib_line_is_json_with_extra_and_context(self, read_lines):
        """A stdlib logger's record becomes a JSON line with %-args applied, extras and context."""
        with news_log.bind(request_id="r-std"):
            logging.getLogger("aiokafka.producer").warning(
                "retrying %s in %.1f s", "send", 0.5, extra={"attempt": 2}
            )
        (line,) = read_lines()
        assert line["logger"] == "aiokafka.producer"
        assert line["level"] == "warning"
        assert line["msg"] == "retrying send in 0.5 s"
        assert line["attempt"] == 2
        assert line["request_id"] == "r-std"

    def test_the_record_time_is_the_line_time(self, read_lines):
        """A stdlib record's creation time (not the time it is written) is the line's ts."""
        record = logging.LogRecord("third.party", logging.WARNING, __file__, 1, "late", None, None)
        record.created = 1_700_000_000.123
        logging.getLogger("third.party").handle(record)
        (line,) = read_lines()
        assert line["ts"] == "2023-11-14T22:13:20.123Z"
        assert line["msg"] == "late"

    def test_stdlib_exception_is_rendered(self, read_lines):
        """logging.exception() gives the same exception object as news-log loggers."""
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            logging.getLogger("lib").exception("failed")
        (line,) = read_lines()
        assert line["exception"]["type"] == "ZeroDivisionError"
        assert "Traceback" in line["exception"]["stack"]

    def test_broken_percent_args_do_not_raise(self, read_lines):
        """A record whose %-args do not match its message is still logged."""
        logging.getLogger("lib").error("needs %s and %s", "only one")  # noqa: PLE1206
        (line,) = read_lines()
        assert "needs %s and %s" in line["msg"]

    def test_handlers_installed_by_others_are_replaced(self, tmp_path, read_lines, capsys):
        """Root handlers others added (Robyn calls basicConfig) are removed on setup."""
        root = logging.getLogger()
        stray = logging.StreamHandler()
        root.addHandler(stray)
        news_log.setup(news_log.LogSettings(format="json", output=str(tmp_path / "other.log")))
        assert stray not in root.handlers
        assert len(root.handlers) == 1

    def test_warnings_are_captured(self):
        """warnings.warn goes through the pipeline as the py.warnings logger."""
        code = (
            "import warnings, news_log\n"
            "news_log.setup(news_log.LogSettings(format='json'))\n"
            "warnings.warn('old api', UserWarning, stacklevel=1)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
        )
        (line,) = [json.loads(x) for x in result.stderr.splitlines()]
        assert line["logger"] == "py.warnings"
        assert "old api" in line["msg"]


class TestLevels:
    def test_global_level_filters_both_kinds_of_logger(self, tmp_path):
        """level=warning drops info lines of news-log and stdlib loggers alike."""
        path = tmp_path / "lvl.log"
        news_log.setup(news_log.LogSettings(format="json", output=str(path), level="warning"))
        try:
            news_log.get_logger("a").info("dropped")
            news_log.get_logger("a").warning("kept")
            logging.getLogger("b").info("dropped")
            logging.getLogger("b").error("kept too")
            news_log.flush()
            msgs = path.read_text().splitlines()
        finally:
            news_log.setup(news_log.LogSettings(format="json"))
        assert len(msgs) == 2
        assert all("kept" in m for m in msgs)

    def test_per_logger_levels_apply_by_dotted_prefix(self, tmp_path):
        """levels={"aiokafka": "error", "newsroom.db": "debug"} applies to children too."""
        path = tmp_path / "per.log"
        news_log.setup(
            news_log.LogSettings(
                format="json",
                output=str(path),
                level="info",
                levels={"aiokafka": "error", "newsroom.db": "debug"},
            )
        )
        try:
            logging.getLogger("aiokafka.conn").warning("hidden")
            logging.getLogger("aiokafka.conn").error("shown-1")
            news_log.get_logger("newsroom.db.pool").debug("shown-2")
            news_log.get_logger("newsroom.api").debug("hidden")
            news_log.get_logger("newsroom.api").info("shown-3")
            news_log.flush()
            text = path.read_text()
        finally:
            news_log.setup(news_log.LogSettings(format="json"))
        assert "hidden" not in text
        assert all(f"shown-{i}" in text for i in (1, 2, 3))
        # Reconfiguring without levels resets the per-logger level set before.
        assert logging.getLogger("aiokafka").level == logging.NOTSET

    def test_is_enabled_reports_the_effective_level(self, log_path):
        """Logger.is_enabled tells whether a level would be written."""
        news_log.setup(news_log.LogSettings(format="json", output=str(log_path), level="warning"))
        log = news_log.get_logger("q")
        assert not log.is_enabled("info")
        assert log.is_enabled("error")

    def test_setup_is_idempotent(self, log_path):
        """Calling setup() again with equal settings keeps the same output and handler."""
        settings = news_log.LogSettings(format="json", output=str(log_path), level="debug")
        news_log.setup(settings)
        handlers = list(logging.getLogger().handlers)
        news_log.setup(news_log.LogSettings(format="json", output=str(log_path), level="debug"))
        assert logging.getLogger().handlers == handlers


class TestBeforeSetup:
    def test_a_line_logged_before_setup_is_written_with_the_defaults(self):
        """Logging before setup() configures the defaults: JSON on stderr when not a terminal."""
        code = (
            "import news_log; "
            "news_log.get_logger('early').info('before setup', password='p', n=1); "
            "news_log.flush()"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        line = json.loads(proc.stderr.splitlines()[-1])
        assert (line["logger"], line["msg"], line["n"]) == ("early", "before setup", 1)
        assert line["password"] == "***"
