"""The newsroom's settings: NEWSROOM_ variables, nested with __, shown by news-config's CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import news_config
from newsroom import settings as newsroom_settings
from newsroom.service import state_file


class TestSettings:
    def test_defaults_suit_a_developer_machine(self, tmp_path, monkeypatch):
        """With nothing set: loopback on 8080, one process, JSON or console logs tagged newsroom."""
        monkeypatch.chdir(tmp_path)  # no .env file
        settings = newsroom_settings.load(environ={})
        assert (settings.http.host, settings.http.port, settings.http.processes) == (
            "127.0.0.1",
            8080,
            1,
        )
        assert settings.log.fields == {"service": "newsroom"}
        assert settings.kafka.client_id == "newsroom"
        assert settings.newsroom.embedded_broker == "auto"
        assert settings.newsroom.topics.submitted == "newsroom.article-submitted"

    def test_nested_variables(self, tmp_path, monkeypatch):
        """NEWSROOM_HTTP__PORT, NEWSROOM_KAFKA__BOOTSTRAP_SERVERS... fill the nested Structs."""
        monkeypatch.chdir(tmp_path)
        settings = newsroom_settings.load(
            environ={
                "NEWSROOM_HTTP__PORT": "9001",
                "NEWSROOM_KAFKA__BOOTSTRAP_SERVERS": "k1:9092,k2:9092",
                "NEWSROOM_NEWSROOM__TOPICS__PARTITIONS": "6",
                "NEWSROOM_LOG__LEVEL": "debug",
            }
        )
        assert settings.http.port == 9001
        assert settings.kafka.bootstrap_servers == ("k1:9092", "k2:9092")
        assert settings.newsroom.topics.partitions == 6
        assert settings.log.level == "debug"

    def test_every_bad_variable_is_named(self, tmp_path, monkeypatch):
        """Bad values fail together, each by its full variable name."""
        monkeypatch.chdir(tmp_path)
        with pytest.raises(news_config.ConfigError) as info:
            newsroom_settings.load(
                environ={"NEWSROOM_HTTP__PORT": "http", "NEWSROOM_NEWSROOM__PAGE_SIZE": "0"}
            )
        message = str(info.value)
        assert "NEWSROOM_HTTP__PORT" in message
        assert "NEWSROOM_NEWSROOM__PAGE_SIZE" in message

    def test_the_outage_budget_must_be_below_the_request_timeout(self, tmp_path, monkeypatch):
        """A publish budget the HTTP timeout would cut (504) is refused, naming the variable."""
        monkeypatch.chdir(tmp_path)
        settings = newsroom_settings.load(environ={"NEWSROOM_NEWSROOM__PUBLISH_TIMEOUT": "12.5"})
        assert settings.newsroom.publish_timeout == 12.5
        assert newsroom_settings.load(environ={}).newsroom.publish_timeout == 5.0
        with pytest.raises(news_config.ConfigError) as info:
            newsroom_settings.load(
                environ={
                    "NEWSROOM_NEWSROOM__PUBLISH_TIMEOUT": "10",
                    "NEWSROOM_HTTP__REQUEST_TIMEOUT": "10",
                }
            )
        assert "NEWSROOM_NEWSROOM__PUBLISH_TIMEOUT" in str(info.value)
        assert "not 504" in str(info.value)

    def test_embedded_broker_follows_the_bootstrap_variable(self, tmp_path, monkeypatch):
        """A bootstrap in the env or in .env counts as configured; the default does not."""
        monkeypatch.chdir(tmp_path)
        assert not newsroom_settings.kafka_is_configured(environ={})
        assert newsroom_settings.kafka_is_configured(
            environ={"NEWSROOM_KAFKA__BOOTSTRAP_SERVERS": "k1:9092"}
        )
        (tmp_path / ".env").write_text("NEWSROOM_KAFKA__BOOTSTRAP_SERVERS=k1:9092\n")
        assert newsroom_settings.kafka_is_configured(environ={})

    def test_cursor_secret_is_not_shown(self, tmp_path, monkeypatch):
        """The cursor secret prints masked, like every news-config Secret."""
        monkeypatch.chdir(tmp_path)
        settings = newsroom_settings.load(environ={})
        assert "newsroom-demo" not in repr(settings.newsroom.cursor_secret)

    def test_news_config_cli_lists_them(self, tmp_path):
        """`python -m news_config newsroom.settings:Settings --prefix NEWSROOM_` shows each one."""
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "news_config",
                "newsroom.settings:Settings",
                "--prefix",
                "NEWSROOM_",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env={"NEWSROOM_HTTP__PORT": "9002", "COLUMNS": "250", "PATH": ""},
        )
        assert proc.returncode == 0, proc.stderr
        for name in (
            "NEWSROOM_HTTP__PORT",
            "NEWSROOM_KAFKA__BOOTSTRAP_SERVERS",
            "NEWSROOM_LOG__LEVEL",
            "NEWSROOM_NEWSROOM__EMBEDDED_BROKER",
        ):
            assert name in proc.stdout
        assert "9002" in proc.stdout
        assert "newsroom-demo-cursor-secret" not in proc.stdout


TYPOS = {
    "NEWSROOM_HTTP__PROT": ("8081", "NEWSROOM_HTTP__PORT"),
    "NEWSROOM_KAFKA__BOOTSTRAP_SERVER": ("kafka:9092", "NEWSROOM_KAFKA__BOOTSTRAP_SERVERS"),
    "NEWSROOM_KAFKA__SECURITY_PROTOCOL": ("SASL_PLAINTEXT", "NEWSROOM_KAFKA__SECURITY__PROTOCOL"),
}


class TestTypos:
    def test_check_fails_on_each_typo_naming_the_real_variable(self, tmp_path):
        """`python -m news_config ... --check` exits 1 with a did-you-mean line per typo."""
        env = {name: value for name, (value, _) in TYPOS.items()}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "news_config",
                "newsroom.settings:Settings",
                "--prefix",
                "NEWSROOM_",
                "--check",
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env={**env, "PATH": ""},
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr
        for name, (_, real) in TYPOS.items():
            assert f"{name} is not a setting; did you mean {real}?" in proc.stdout

    def test_the_service_warns_about_each_typo(self, tmp_path):
        """A newsroom command started with typos says so on stderr before doing anything."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
        env.update({name: value for name, (value, _) in TYPOS.items()})
        env["NEWSROOM_HTTP__PORT"] = "1"  # dlq finds no newsroom there and stops at once
        state_file(1).unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "newsroom", "dlq"],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
        for name, (_, real) in TYPOS.items():
            assert f"{name} is not a setting; did you mean {real}?" in proc.stderr

    def test_strict_refuses_to_start(self, tmp_path):
        """With NEWS_CONFIG_STRICT=1 the typos stop the command (exit 2), naming each."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
        env.update({name: value for name, (value, _) in TYPOS.items()})
        env["NEWS_CONFIG_STRICT"] = "1"
        proc = subprocess.run(
            [sys.executable, "-m", "newsroom", "dlq"],
            capture_output=True,
            text=True,
            check=False,
            cwd=tmp_path,
            env=env,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert "3 invalid, missing or unknown settings" in proc.stderr
