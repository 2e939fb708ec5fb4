import os
import pty
import subprocess
import sys
import textwrap

import news_log

SCRIPT = textwrap.dedent(
    """
    import news_log
    news_log.setup(news_log.LogSettings(format="auto"))
    news_log.get_logger("newsroom").info("article published", article_id=7)
    """
)


class TestConsole:
    def test_console_format_renders_level_message_and_fields(self, tmp_path):
        """format=console writes readable lines: time, level, logger, message, key=value."""
        path = tmp_path / "console.log"
        news_log.setup(news_log.LogSettings(format="console", output=str(path)))
        try:
            log = news_log.get_logger("newsroom.api")
            log.info("article published", article_id=7, section="world", password="pw")
            try:
                raise ValueError("bad input")
            except ValueError:
                log.exception("failed")
            assert news_log.flush(10.0)
            text = path.read_text("utf-8")
        finally:
            news_log.setup(news_log.LogSettings(format="json"))
        first = text.splitlines()[0]
        assert "INFO" in first
        assert "newsroom.api" in first
        assert "article published" in first
        assert "article_id=7" in first
        assert "section=world" in first
        assert "password=***" in first
        assert "pw" not in text.replace("password", "")
        assert "ValueError: bad input" in text
        assert not text.lstrip().startswith("{")

    def test_auto_picks_json_when_output_is_not_a_terminal(self):
        """format=auto writes JSON to a pipe."""
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30, check=True
        )
        line = result.stderr.strip()
        assert line.startswith("{")
        assert '"article_id":7' in line

    def test_auto_picks_console_on_a_terminal(self):
        """format=auto renders for humans (with colour) when stderr is a TTY."""
        leader, follower = pty.openpty()
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}
        env.pop("NO_COLOR", None)
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT], stderr=follower, stdout=follower, env=env
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=30)
        os.close(leader)
        out = b"".join(chunks).decode("utf-8", "replace")
        assert "article published" in out
        assert "\x1b[" in out  # ANSI colour codes: rich rendered it
        assert '"msg"' not in out


def test_capture_logs_collects_lines_as_dicts():
    """news_log.testing.capture_logs() gives the lines as the JSON output would hold them."""
    import logging

    from news_log.testing import capture_logs

    with capture_logs() as lines, news_log.bind(request_id="r-cap"):
        news_log.get_logger("svc").debug("hello", token="t", n=1)
        logging.getLogger("lib").info("from stdlib")
    assert [x["msg"] for x in lines] == ["hello", "from stdlib"]
    assert lines[0]["token"] == "***"
    assert lines[0]["request_id"] == "r-cap"
    assert lines[0]["level"] == "debug"
