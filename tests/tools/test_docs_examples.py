"""The runnable examples of docs/*.md run, as written, in the test environment.

Every ```python block after a ``<!-- runnable -->`` or ``<!-- runnable: needs-server -->`` line
runs in a fresh interpreter, in an empty directory, and must exit 0. None is skipped.

A ``needs-server`` example gets real servers, described to it through the environment the way
a service's settings are (news-config variables, prefixes ``KAFKA_`` and ``HTTP_``):

- ``KAFKA_BOOTSTRAP_SERVERS``: the session's Kafka broker (news-testing's ``kafka_broker``
  fixture: Tansu, or the cluster named by ``NEWS_TEST_KAFKA_BOOTSTRAP``), plus the other
  ``KAFKA_*`` variables of ``news_testing.kafka_test_settings`` (idempotence off for Tansu,
  short session timeouts), so that ``news_config.load(news_kafka.KafkaSettings,
  prefix="KAFKA_")`` in the example gives exactly those test settings;
- ``NEWS_TEST_KAFKA_BOOTSTRAP``: the same broker, for examples that run news-testing's
  fixtures (they then use it instead of starting their own);
- ``HTTP_HOST=127.0.0.1`` and a free ``HTTP_PORT``: an HTTP example starts its own server on
  them (in a child process), calls it, stops it, and exits;
- ``DB_DSN``: a fresh PostgreSQL database of the example's own (news-testing's ``postgres``
  fixture), so that ``news_config.load(news_db.DatabaseSettings, prefix="DB_")`` reaches it;
- ``REDIS_URL``: the session's Redis server (news-testing's ``redis_server`` fixture: a private
  ``redis-server``, or ``NEWS_TEST_REDIS_URL``), for ``news_config.load(news_redis.RedisSettings,
  prefix="REDIS_")``;
- ``MONGO_URI`` and ``MONGO_DATABASE``: a fresh database of the example's own on the session's
  MongoDB server (news-testing's ``mongo`` fixture: SecantusDB, or ``NEWS_TEST_MONGO_URI``), for
  ``news_config.load(news_mongo.MongoSettings, prefix="MONGO_")``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import news_config
import news_kafka
from news_testing import BOOTSTRAP_ENV, free_port, kafka_env, kafka_test_settings, settings_env

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from _workspace import Example, runnable_examples  # noqa: E402

EXAMPLES = [
    example for page in sorted(ROOT.glob("docs/*.md")) for example in runnable_examples(page)
]


def _example_id(example: Example) -> str:
    return f"{example.path.name}:{example.line}"


def run_example(example: Example, cwd: Path, env: dict[str, str], timeout: float) -> None:
    """Run ``example`` as ``example.py`` in ``cwd``; fail with its output unless it exits 0."""
    script = cwd / "example.py"
    script.write_text(example.code, encoding="utf-8")
    try:
        result = subprocess.run(
            [sys.executable, str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = (exc.stderr or b"").decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        pytest.fail(f"{example.path}:{example.line} did not exit within {timeout}s\n{out}{err}")
    assert result.returncode == 0, f"{example.path}:{example.line}\n{result.stdout}{result.stderr}"


class TestDocsExamples:
    def test_every_page_is_parsed_and_has_examples(self):
        """Each package page of docs/ holds at least one runnable example."""
        pages = {p.name for p in ROOT.glob("docs/news-*.md")}
        with_examples = {e.path.name for e in EXAMPLES}
        assert pages, "no docs/news-*.md pages"
        assert pages <= with_examples, f"pages without a runnable example: {pages - with_examples}"

    @pytest.mark.parametrize(
        "example", [e for e in EXAMPLES if not e.needs_server], ids=_example_id
    )
    def test_standalone_example_runs(self, example, tmp_path):
        """A runnable example exits 0 in a fresh interpreter, in an empty directory."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "HTTP_", "DB_"))}
        run_example(example, tmp_path, env, timeout=120)

    @pytest.mark.parametrize("example", [e for e in EXAMPLES if e.needs_server], ids=_example_id)
    def test_server_example_runs(self, example, tmp_path, kafka_broker, postgres, request):
        """A needs-server example exits 0 with real servers and an HTTP address in its env."""
        redis_server = request.getfixturevalue("redis")  # running (a test may have stopped it)
        mongo = request.getfixturevalue("mongo")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("KAFKA_", "HTTP_", "DB_", "REDIS_", "MONGO_"))
        }
        env["DB_DSN"] = postgres.dsn
        env["REDIS_URL"] = redis_server.url
        env["MONGO_URI"] = mongo.uri
        env["MONGO_DATABASE"] = mongo.name
        env.update(kafka_env(kafka_broker.bootstrap, prefix="KAFKA_"))
        env[BOOTSTRAP_ENV] = kafka_broker.bootstrap
        env["HTTP_HOST"] = "127.0.0.1"
        env["HTTP_PORT"] = str(free_port())
        run_example(example, tmp_path, env, timeout=180)


class TestSettingsEnv:
    def test_kafka_test_settings_round_trip_through_the_environment(self):
        """The KAFKA_* variables given to examples load back as kafka_test_settings exactly."""
        settings = kafka_test_settings("127.0.0.1:19092,127.0.0.1:19093")
        env = kafka_env("127.0.0.1:19092,127.0.0.1:19093", prefix="KAFKA_")
        loaded = news_config.load(
            news_kafka.KafkaSettings, prefix="KAFKA_", env_file=None, environ=env
        )
        assert loaded == settings
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092,127.0.0.1:19093"
        assert env["KAFKA_PRODUCER__IDEMPOTENCE"] == "false"
        assert env["KAFKA_CONSUMER__SESSION_TIMEOUT_MS"] == "1500"
        assert "KAFKA_PRODUCER__ACKS" not in env  # left at its default

    def test_defaults_need_no_variables(self):
        """Settings equal to the defaults give an empty environment."""
        assert settings_env(news_kafka.KafkaSettings(), prefix="KAFKA_") == {}
