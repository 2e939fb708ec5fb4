"""The CORS policy changed while a real server process runs: `NewsApp.set_cors` via news-config."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from news_testing import ConfigVolume
from news_testing.http import serve_app

if TYPE_CHECKING:
    import httpx

APPS_DIR = Path(__file__).parent
pytestmark = pytest.mark.slow
A, B = "https://a.example", "https://b.example"


def allowed(client: httpx.Client, origin: str) -> str | None:
    """The Access-Control-Allow-Origin a GET from *origin* gets."""
    response = client.get("/hello", headers={"origin": origin})
    assert response.status_code == 200
    return response.headers.get("access-control-allow-origin")


def changed_live(line: dict[str, Any]) -> bool:
    """The watcher applied a change of the CORS origins."""
    msg = line.get("msg", "")
    return "settings changed live" in msg and "LIVE_HTTP__CORS__ORIGINS" in msg


class TestLiveCORS:
    def test_origins_follow_the_volume(self, tmp_path: Path) -> None:
        """A new origin is allowed after the swap; a malformed one is rolled back; empty: off."""
        volume = ConfigVolume(tmp_path / "config")
        volume.write({"LIVE_HTTP__CORS__ORIGINS": A})
        with serve_app(
            "news_http_test_apps:live_cors",
            pythonpath=[APPS_DIR],
            env={"LIVE_DIR": str(volume.path)},
        ) as server:
            client = server.client()
            assert allowed(client, A) == A
            assert allowed(client, B) is None

            volume.update(LIVE_HTTP__CORS__ORIGINS=f"{A},{B}")
            server.wait_for_log(changed_live, within=20)
            assert allowed(client, B) == B
            preflight = client.options(
                "/hello", headers={"origin": B, "access-control-request-method": "GET"}
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == B

            # valid for news-config (a tuple of strings), refused by news-http: rolled back
            volume.update(LIVE_HTTP__CORS__ORIGINS="b.example")
            failed = server.wait_for_log(
                lambda line: "applying the settings change failed" in line.get("msg", ""),
                within=20,
            )
            assert "must look like 'https://news.example'" in str(failed)
            assert allowed(client, B) == B

            volume.update(LIVE_HTTP__CORS__ORIGINS="")
            server.wait_for_log(changed_live, within=20, nth=2)
            assert allowed(client, A) is None  # CORS off

    def test_sighup_to_the_supervisor_reloads_every_worker(self, tmp_path: Path) -> None:
        """processes=2: SIGHUP to the supervisor reaches both workers, which reload; it runs on."""
        volume = ConfigVolume(tmp_path / "config")
        volume.write({"LIVE_HTTP__CORS__ORIGINS": A, "LIVE_HTTP__PROCESSES": "2"})
        with serve_app(
            "news_http_test_apps:live_cors",
            pythonpath=[APPS_DIR],
            env={
                "LIVE_DIR": str(volume.path),
                "LIVE_BACKEND": "poll",
                "LIVE_POLL_INTERVAL": "3600",  # only SIGHUP can make them reload
            },
        ) as server:
            server.wait_for_log(lambda line: "SIGHUP reloads" in line.get("msg", ""), nth=2)
            volume.update(LIVE_HTTP__CORS__ORIGINS=B)
            os.kill(server.process.pid, signal.SIGHUP)
            # one change, no polling: two such lines are one reload in each worker
            server.wait_for_log(changed_live, within=20, nth=2)
            client = server.client()
            assert all(allowed(client, B) == B for _ in range(8))  # whichever worker answers
        assert server.result is not None
        assert server.result.exit_code == 0
