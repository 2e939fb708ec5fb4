"""Log levels changed while a real server process runs, through a ConfigMap-like volume."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from news_testing import ConfigVolume
from news_testing.http import serve_app

if TYPE_CHECKING:
    from news_testing.http import ServerProcess

APPS_DIR = Path(__file__).parent
pytestmark = pytest.mark.slow


def changed_live(name: str) -> Any:
    """A log-line predicate: the watcher applied a change of *name*."""
    return lambda line: "settings changed live" in line.get("msg", "") and name in line["msg"]


def work(server: ServerProcess, nth: int) -> None:
    """Call /work and wait for its nth "work done" line."""
    assert server.client().get("/work").status_code == 200
    server.wait_for_log(msg="work done", nth=nth)


class TestLiveLevels:
    def test_level_follows_the_volume_and_a_bad_value_is_kept_out(self, tmp_path: Path) -> None:
        """Info -> debug shows debug lines at once; 'loud' is rejected, logged, debug stays."""
        volume = ConfigVolume(tmp_path / "config")
        volume.write({"LIVE_LOG__LEVEL": "info"})
        with serve_app(
            "news_log_test_apps:live_levels",
            pythonpath=[APPS_DIR],
            env={"LIVE_DIR": str(volume.path)},
        ) as server:
            work(server, 1)
            assert server.find_logs(msg="debug detail") == []

            volume.update(LIVE_LOG__LEVEL="debug")
            server.wait_for_log(changed_live("LIVE_LOG__LEVEL"), within=20)
            work(server, 2)
            assert len(server.find_logs(msg="debug detail")) == 1

            volume.update(LIVE_LOG__LEVEL="loud")
            line = server.wait_for_log(lambda line: "rejected" in line.get("msg", ""), within=20)
            assert "LIVE_LOG__LEVEL" in line["msg"]
            # a value from the secrets directory is never echoed, only described
            assert "expected one of: critical, debug" in line["msg"]
            assert line["level"] == "error"
            work(server, 3)
            assert len(server.find_logs(msg="debug detail")) == 2  # the old level is kept

    def test_sighup_reloads_a_served_app(self, tmp_path: Path) -> None:
        """With polling an hour away and no file events, SIGHUP to the server reloads."""
        volume = ConfigVolume(tmp_path / "config")
        volume.write({"LIVE_LOG__LEVEL": "info"})
        with serve_app(
            "news_log_test_apps:live_levels",
            pythonpath=[APPS_DIR],
            env={
                "LIVE_DIR": str(volume.path),
                "LIVE_BACKEND": "poll",
                "LIVE_POLL_INTERVAL": "3600",
            },
        ) as server:
            started = server.wait_for_log(
                lambda line: "watching settings files" in line.get("msg", "")
            )
            assert "SIGHUP reloads" in started["msg"]
            volume.update(LIVE_LOG__LEVEL="debug")
            os.kill(server.process.pid, signal.SIGHUP)
            server.wait_for_log(changed_live("LIVE_LOG__LEVEL"), within=20)
            work(server, 1)
            server.wait_for_log(msg="debug detail")
        assert server.result is not None
        assert server.result.exit_code == 0  # SIGHUP did not end it; SIGTERM drained it
