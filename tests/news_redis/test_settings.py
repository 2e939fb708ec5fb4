"""RedisSettings: defaults, URLs, secrets, refusals; loaded from the environment."""

from __future__ import annotations

import pytest

import news_config
import news_redis
from news_redis import RedisSettings


class TestSettings:
    def test_defaults_set_timeouts(self):
        """redis-py has no socket timeouts by default; news-redis always sets them."""
        settings = RedisSettings()
        assert settings.socket_timeout == 1.0
        assert settings.connect_timeout == 1.0
        assert (settings.address, settings.database, settings.uses_tls) == (
            "127.0.0.1:6379",
            0,
            False,
        )

    def test_url_overrides_host_port_db(self):
        """A rediss:// URL means TLS; user, host, port and database come from it."""
        settings = RedisSettings(url="rediss://app@cache.internal:6380/3", host="ignored")
        assert (settings.server_host, settings.server_port, settings.database) == (
            "cache.internal",
            6380,
            3,
        )
        assert settings.uses_tls
        assert settings.user == "app"

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"url": "redis://:pw@cache:6379/0"}, "password"),
            ({"url": "http://cache"}, "scheme"),
            ({"url": "redis:///0"}, "no host"),
            ({"url": "redis://cache/abc"}, "not a number"),
            ({"tls_ca_file": "/ca.pem"}, "TLS is off"),
            ({"tls": True, "tls_key_file": "/k.pem"}, "mutual TLS"),
        ],
    )
    def test_refusals_name_the_field_and_the_fix(self, fields, message):
        """Inconsistent settings raise RedisConfigError (a ValueError) when built."""
        with pytest.raises(news_redis.RedisConfigError, match=message) as info:
            RedisSettings(**fields)
        assert isinstance(info.value, ValueError)

    def test_loaded_from_the_environment_with_a_secret_password(self):
        """news-config fills it; the password is a news_config.Secret, never printed."""
        settings = news_config.load(
            RedisSettings,
            prefix="NEWSROOM_REDIS__",
            env_file=None,
            environ={
                "NEWSROOM_REDIS__URL": "redis://cache:6379/2",
                "NEWSROOM_REDIS__PASSWORD": "hunter2",
                "NEWSROOM_REDIS__POOL_SIZE": "20",
            },
        )
        assert isinstance(settings.password, news_config.Secret)
        assert settings.password.reveal() == "hunter2"
        assert "hunter2" not in repr(settings)
        assert (settings.database, settings.pool_size) == (2, 20)

    def test_import_is_cheap(self):
        """Import news_redis does not import redis-py (a subprocess checks)."""
        import subprocess
        import sys

        code = "import sys, news_redis; print('redis' in sys.modules)"
        output = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert output.strip() == "False"
