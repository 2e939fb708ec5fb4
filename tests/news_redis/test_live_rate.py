"""A rate limit changed while a real server process runs, counted in a real Redis."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from news_testing import ConfigVolume
from news_testing.http import serve_app

if TYPE_CHECKING:
    import httpx

    from news_testing.redis import RedisServer

APPS_DIR = Path(__file__).parent
pytestmark = pytest.mark.slow


def statuses(client: httpx.Client, count: int) -> list[int]:
    """The statuses of *count* POSTs to the limited route."""
    return [client.post("/limited").status_code for _ in range(count)]


def changed_live(line: dict[str, Any]) -> bool:
    """The watcher applied a change of the rate."""
    msg = line.get("msg", "")
    return "settings changed live" in msg and "LIVE_RATE" in msg


class TestLiveRate:
    def test_limit_follows_the_volume(self, redis: RedisServer, tmp_path: Path) -> None:
        """3/minute, raised to 6 (3 more pass), lowered to 2 (refused at once); 'lots' kept out."""
        volume = ConfigVolume(tmp_path / "config")
        volume.write({"LIVE_RATE": "3/minute"})
        with serve_app(
            "news_redis_test_apps:live_rate",
            pythonpath=[APPS_DIR],
            env={"LIVE_DIR": str(volume.path), "TEST_REDIS_URL": redis.url},
        ) as server:
            client = server.client()
            assert statuses(client, 4) == [200, 200, 200, 429]

            volume.update(LIVE_RATE="6/minute")
            server.wait_for_log(changed_live, within=20)
            response = client.post("/limited")
            assert response.status_code == 200
            assert response.headers["ratelimit-policy"] == '"live";q=6;w=60'
            assert statuses(client, 3) == [200, 200, 429]  # 6 admitted in the window

            volume.update(LIVE_RATE="2/minute")
            server.wait_for_log(changed_live, within=20, nth=2)
            refused = client.post("/limited")
            assert refused.status_code == 429
            assert "more than 2 requests in 60 s" in refused.json()["detail"]

            volume.update(LIVE_RATE="lots/minute")
            line = server.wait_for_log(
                lambda line: "rejected" in line.get("msg", "") and "LIVE_RATE" in line["msg"],
                within=20,
            )
            assert "is not LIMIT/PERIOD" in line["msg"]
            assert "more than 2 requests" in client.post("/limited").json()["detail"]
