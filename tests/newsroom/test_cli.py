"""`python -m newsroom` subcommands that need no running service: usage and clear refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from newsroom.service import state_file


def run(args: list[str], cwd, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m newsroom ARGS`` with only the given NEWSROOM_ variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
    return subprocess.run(
        [sys.executable, "-m", "newsroom", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env={**environ, **env},
        timeout=60,
    )


class TestCli:
    def test_help_names_the_subcommands(self, tmp_path):
        """--help lists serve, dlq and send-malformed."""
        proc = run(["--help"], tmp_path)
        assert proc.returncode == 0
        for command in ("serve", "dlq", "send-malformed"):
            assert command in proc.stdout

    def test_dlq_without_a_running_newsroom_says_what_to_do(self, tmp_path):
        """With no bootstrap set and no newsroom on the port, dlq names the port and the fix."""
        port = "1"  # no newsroom records a state file for port 1
        state_file(1).unlink(missing_ok=True)
        proc = run(["dlq"], tmp_path, NEWSROOM_HTTP__PORT=port)
        assert proc.returncode == 1
        assert "no newsroom with an embedded broker is running on port 1" in proc.stderr
        assert "NEWSROOM_KAFKA__BOOTSTRAP_SERVERS" in proc.stderr

    def test_a_stale_state_file_is_named(self, tmp_path):
        """A state file left by a killed newsroom is reported as such, not as a Kafka timeout."""
        path = state_file(2)
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        path.write_text(json.dumps({"bootstrap": "127.0.0.1:9", "pid": gone.pid}))
        try:
            proc = run(["send-malformed"], tmp_path, NEWSROOM_HTTP__PORT="2")
        finally:
            path.unlink(missing_ok=True)
        assert proc.returncode == 1
        assert "is gone" in proc.stderr

    def test_short_cursor_secret_stops_serve_before_the_broker(self, tmp_path):
        """A 5-character cursor secret: exit 2 naming the variable, no traceback, no broker."""
        proc = run(
            ["serve"],
            tmp_path,
            NEWSROOM_NEWSROOM__CURSOR_SECRET="abcde",
            NEWSROOM_HTTP__PORT="1",
            NEWSROOM_LOG__FORMAT="json",
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 2, output
        assert "NEWSROOM_NEWSROOM__CURSOR_SECRET" in proc.stderr
        assert "cursor_secret must be at least 16 bytes" in proc.stderr
        assert "<secret, 5 chars>" in proc.stderr
        assert "abcde" not in output
        assert "Traceback" not in output
        assert "broker" not in output.replace("newsroom: ", "").lower()

    def test_bad_settings_exit_2_naming_the_variable(self, tmp_path):
        """An invalid NEWSROOM_ variable stops the command before anything starts."""
        proc = run(["dlq"], tmp_path, NEWSROOM_HTTP__PORT="eighty")
        assert proc.returncode == 2
        assert "NEWSROOM_HTTP__PORT" in proc.stderr
