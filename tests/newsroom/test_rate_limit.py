"""POST /v1/articles is limited per caller: in this process by default, in Redis when set."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from news_testing import free_port
from newsroom import settings as newsroom_settings
from newsroom.service import key_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow
ARTICLE = {"title": "Summit opens", "body": "Leaders meet.", "section": "world", "author": "Ada"}


@contextlib.contextmanager
def newsroom(workdir: Path, **env: str) -> Iterator[tuple[str, str]]:
    """Run ``python -m newsroom`` (embedded broker) with ``env``; yield its URL and API key."""
    port = free_port()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
    child_env.update(NEWSROOM_HTTP__PORT=str(port), NEWSROOM_LOG__FORMAT="json", **env)
    log = (workdir / "newsroom.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "newsroom"], cwd=workdir, env=child_env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (workdir / "newsroom.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, (workdir / "newsroom.log").read_text()
            time.sleep(0.1)
        yield url, key_file(port).read_text().strip()  # the development key
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        log.close()


def post_four(url: str, key: str) -> list[httpx.Response]:
    """Four submissions from one caller (the development key's subject)."""
    with httpx.Client(base_url=url, timeout=30, headers={"x-api-key": key}) as client:
        return [client.post("/v1/articles", json=ARTICLE) for _ in range(4)]


class TestSubmitRateLimit:
    def test_in_process_by_default(self, tmp_path):
        """Without NEWSROOM_REDIS__*: the caller's fourth of 3/minute is a 429 with Retry-After."""
        with newsroom(tmp_path, NEWSROOM_NEWSROOM__SUBMIT_RATE="3/minute") as (url, key):
            responses = post_four(url, key)
            anonymous = httpx.post(f"{url}/v1/articles", json=ARTICLE)
        assert [r.status_code for r in responses] == [202, 202, 202, 429]
        refused = responses[3]
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["ratelimit-policy"] == '"submit";q=3;w=60'
        assert responses[0].headers["ratelimit"].startswith('"submit";r=2;t=')
        assert "counted_in" in (tmp_path / "newsroom.log").read_text()
        assert anonymous.status_code == 401  # the guard runs first: no key, no count

    def test_in_redis_when_configured(self, tmp_path, redis):
        """With NEWSROOM_REDIS__URL: counted in Redis (shared by every instance)."""
        with newsroom(
            tmp_path, NEWSROOM_NEWSROOM__SUBMIT_RATE="3/minute", NEWSROOM_REDIS__URL=redis.url
        ) as (url, key):
            responses = post_four(url, key)
            ready = httpx.get(f"{url}/health/ready").json()
        assert [r.status_code for r in responses] == [202, 202, 202, 429]
        # keyed by the authenticated caller (the development key's subject)
        assert redis.command("ZCARD", "newsroom:ratelimit:submit:sub:dev:newsroom") == b":3"
        assert ready["checks"]["redis"][0]["status"] == "pass"

    def test_redis_is_configured_by_any_redis_variable(self):
        """redis_is_configured: any NEWSROOM_REDIS__* variable, not the defaults."""
        assert not newsroom_settings.redis_is_configured(environ={})
        environ = {"NEWSROOM_REDIS__URL": "redis://cache:6379/0"}
        assert newsroom_settings.redis_is_configured(environ=environ)

    def test_a_malformed_rate_is_refused_at_load(self):
        """NEWSROOM_NEWSROOM__SUBMIT_RATE must be LIMIT/PERIOD."""
        import news_config

        with pytest.raises(news_config.ConfigError, match=r"SUBMIT_RATE|100/minute"):
            newsroom_settings.load(environ={"NEWSROOM_NEWSROOM__SUBMIT_RATE": "lots"})
