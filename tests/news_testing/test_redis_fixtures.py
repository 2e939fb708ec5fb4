"""news-testing's Redis fixtures: a private server per session, flushed per test, restartable."""

from __future__ import annotations

import pytest

from news_testing import ExternalClusterError, RedisServer

_seen: dict[str, object] = {}


class TestRedisFixture:
    def test_a_test_writes_a_key_and_stops_the_server(self, redis):
        """A test may leave keys behind and the server stopped."""
        assert redis.command("SET", "left-behind", "1") == b"+OK"
        _seen["url"] = redis.url
        redis.stop()
        assert not redis.running
        assert not redis.ping()

    def test_the_next_test_gets_it_running_and_empty(self, redis):
        """Same server (same URL), running again, flushed."""
        assert redis.url == _seen.get("url", redis.url)
        assert redis.ping()
        assert redis.command("EXISTS", "left-behind") == b":0"

    def test_restart_keeps_the_port_and_empties_it(self, redis):
        """restart(): same port, nothing kept."""
        redis.command("SET", "k", "v")
        port = redis.port
        redis.restart()
        assert redis.port == port
        assert redis.command("EXISTS", "k") == b":0"

    def test_private_servers_are_separate(self, redis, redis_private_server):
        """redis_private_server() starts servers of the test's own."""
        first, second = redis_private_server(), redis_private_server()
        assert len({first.port, second.port, redis.port}) == 3
        first.command("SET", "k", "1")
        assert second.command("EXISTS", "k") == b":0"

    def test_redis_settings_point_at_the_server(self, redis, redis_settings):
        """redis_settings: news_redis.RedisSettings with short timeouts."""
        assert redis_settings.url == redis.url
        assert redis_settings.socket_timeout == 0.5

    def test_external_server_refuses_database_0(self):
        """NEWS_TEST_REDIS_URL must name a database of its own (tests flush it)."""
        with pytest.raises(ValueError, match="database 0"):
            RedisServer.external("redis://127.0.0.1:6379/0")
        server = RedisServer.external("redis://127.0.0.1:6379/15")
        assert server.is_external
        assert server.db == 15
        with pytest.raises(ExternalClusterError, match="redis_private_server"):
            server.restart()

    def test_missing_binary_says_what_to_install(self):
        """A server without redis-server on the PATH names the apt package."""
        with pytest.raises(FileNotFoundError, match="apt-get install redis-server"):
            RedisServer(binary="no-such-redis-server").start()
