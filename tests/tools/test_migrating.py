"""docs/migrating.md: the "after" service is as shown and passes; every setting named exists.

The migrated service and its tests live in docs/examples/alerts/ and are shown in full in the
guide. These tests check the listings against the files, run the service's own tests with
pytest in that folder (against this session's broker), check that every environment variable
the guide names for the packages (`…HTTP__PORT`, `ALERTS_KAFKA__BOOTSTRAP_SERVERS`) is a real
setting (the guide must not invent names), and run the guide's "before" (FastAPI on uvicorn)
and "after" services side by side with the same calls: the statuses are the same, the bodies
differ as the guide says.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import news_config
import news_db
import news_http
import news_kafka
import news_log
import news_redis
from news_testing import free_port, kafka_env, serve_app

if TYPE_CHECKING:
    import msgspec

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "migrating.md").read_text(encoding="utf-8")
EXAMPLE = ROOT / "docs" / "examples" / "alerts"
LISTING = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```(?:python|toml)\n(?P<code>.*?)```", re.S)
SECTIONS: dict[str, type[msgspec.Struct]] = {
    "HTTP": news_http.HTTPSettings,
    "KAFKA": news_kafka.KafkaSettings,
    "LOG": news_log.LogSettings,
    "DB": news_db.DatabaseSettings,
    "REDIS": news_redis.RedisSettings,
}
# The names of the service *before* the move, which the guide shows as the old ones.
BEFORE_ONLY = {"ALERTS_KAFKA_BOOTSTRAP_SERVERS"}


def variables(schema: type[msgspec.Struct], prefix: str) -> set[str]:
    """Every environment variable news-config reads for ``schema`` under ``prefix``."""
    return {spec.env_name for spec in news_config.describe(schema, prefix=prefix)}


def named_in(names: set[str], mention: str) -> bool:
    """Whether ``mention`` (``X__Y``, ``X__Y*`` or ``X__*``) names at least one of ``names``."""
    if mention.endswith("*"):
        stem = mention.rstrip("*")
        return any(name.startswith(stem) for name in names)
    return mention in names


class TestListings:
    def test_every_listing_is_its_file(self):
        """Each `<!-- file: ... -->` block of the guide equals the file, byte for byte."""
        listings = {m["path"]: m["code"] for m in LISTING.finditer(GUIDE)}
        assert set(listings) == {"examples/alerts/alerts.py", "examples/alerts/test_alerts.py"}
        for path, code in listings.items():
            assert (ROOT / "docs" / path).read_text(encoding="utf-8") == code, path


class TestNamesAreReal:
    def test_the_go_table_names_only_real_settings(self):
        """Every `…SECTION__NAME` in the guide is a setting of that package's settings Struct."""
        mentions = re.findall(r"…([A-Z]+)__([A-Z0-9_*]+)", GUIDE)
        assert len(mentions) > 20, mentions
        for section, rest in mentions:
            assert section in SECTIONS, f"…{section}__{rest}: no such settings section"
            names = variables(SECTIONS[section], f"{section}__")
            assert named_in(names, f"{section}__{rest}"), f"…{section}__{rest} is not a setting"

    def test_the_alerts_variables_are_the_services(self, monkeypatch):
        """Every `ALERTS_*` the guide names is a setting of the service (or a name before it)."""
        monkeypatch.setenv("ALERTS_TOKEN", "x")
        spec = importlib.util.spec_from_file_location("alerts_guide", EXAMPLE / "alerts.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        names = variables(module.Settings, "ALERTS_")
        mentions = set(re.findall(r"\bALERTS_[A-Z0-9_]*[A-Z0-9]\b", GUIDE)) - BEFORE_ONLY
        assert mentions, "no ALERTS_ variables in the guide"
        assert mentions <= names, sorted(mentions - names)
        assert not BEFORE_ONLY & names


@pytest.mark.slow
class TestTheServiceRuns:
    def test_its_own_tests_pass_with_pytest_in_its_folder(self, kafka_broker):
        """`pytest` in docs/examples/alerts passes (its fixtures use this session's broker)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTS_")}
        env["NEWS_TEST_KAFKA_BOOTSTRAP"] = kafka_broker.bootstrap
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
            cwd=EXAMPLE,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert re.search(r"\b2 passed\b", proc.stdout), proc.stdout[-2000:]


def before_code() -> str:
    """The Python block under "### Before"."""
    match = re.search(r"### Before\n\n```python\n(?P<code>.*?)```", GUIDE, re.S)
    assert match, "no Before block"
    return match["code"]


def the_calls(client: httpx.Client) -> list[tuple[int, Any]]:
    """The guide's calls: an alert, a bad section, no token; then the list once it is delivered."""
    token = {"authorization": "Bearer test-token"}
    alert = {"headline": "Summit opens", "section": "world"}
    bad = {"headline": "x", "section": "World!"}
    answers = [
        client.post("/v1/alerts", json=alert, headers=token),
        client.post("/v1/alerts", json=bad, headers=token),
        client.post("/v1/alerts", json=alert),
    ]
    deadline = time.monotonic() + 60
    while not (listed := client.get("/v1/alerts")).json() or listed.json() == {"data": []}:
        assert time.monotonic() < deadline, "the alert was not delivered within 60 s"
        time.sleep(0.1)
    return [(answer.status_code, answer.json()) for answer in [*answers, listed]]


@pytest.mark.slow
class TestBeforeAndAfter:
    def test_the_same_calls_get_the_same_statuses_and_the_bodies_the_guide_says(
        self, tmp_path, kafka_broker, kafka_topic
    ):
        """The FastAPI service and the migrated one answer alike; bodies enveloped, problems."""
        (tmp_path / "alerts.py").write_text(before_code(), encoding="utf-8")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTS_")}
        env |= {
            "ALERTS_TOKEN": "test-token",
            "ALERTS_TOPIC": kafka_topic(),
            "ALERTS_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        }
        uvicorn = [sys.executable, "-m", "uvicorn", "alerts:app", "--port", str(port)]
        before = subprocess.Popen(
            uvicorn, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                deadline = time.monotonic() + 60
                while True:
                    assert before.poll() is None, before.communicate()[0].decode()[-3000:]
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, "the before service did not start"
                    time.sleep(0.2)
                old = the_calls(client)
        finally:
            before.send_signal(signal.SIGTERM)
            before.wait(30)

        after_env = kafka_env(kafka_broker.bootstrap, prefix="ALERTS_KAFKA__")
        after_env |= {"ALERTS_TOKEN": "test-token", "ALERTS_TOPIC": kafka_topic()}
        with serve_app("alerts:app", env=after_env, pythonpath=[EXAMPLE]) as server:
            new = the_calls(server.client())
        assert server.result is not None
        assert server.result.exit_code == 0

        assert (
            [status for status, _ in old]
            == [status for status, _ in new]
            == [
                202,
                422,
                401,
                200,
            ]
        )
        alert = {"headline": "Summit opens", "section": "world"}
        assert old[0][1] == {"status": "accepted"}
        assert new[0][1] == {"data": {"status": "accepted"}}  # news-api's envelope
        assert old[1][1]["detail"][0]["loc"] == ["body", "section"]  # FastAPI's 422
        assert new[1][1]["errors"][0]["field"] == "section"  # RFC 9457 problem
        assert old[3][1] == [alert]
        assert new[3][1] == {"data": [alert]}
