"""MongoSettings: validation, the environment, secrets, and the client options they make."""

from __future__ import annotations

import msgspec
import pytest

import news_config
import news_mongo
from news_config import Secret
from news_mongo._mongo import client_options


class TestSettings:
    def test_from_the_environment(self) -> None:
        """news-config fills the settings; the URI stays a secret."""
        settings = news_config.load(
            news_mongo.MongoSettings,
            prefix="APP_MONGO__",
            env_file=None,
            environ={
                "APP_MONGO__URI": "mongodb://u:pw@db-0:27017,db-1/?replicaSet=rs0",
                "APP_MONGO__DATABASE": "newsroom",
                "APP_MONGO__MAX_POOL_SIZE": "20",
                "APP_MONGO__WRITE_CONCERN": "majority",
                "APP_MONGO__READ_CONCERN": "majority",
                "APP_MONGO__TLS__ENABLED": "true",
                "APP_MONGO__SOCKET_TIMEOUT": "",
            },
        )
        assert settings.max_pool_size == 20
        assert settings.hosts == "db-0:27017,db-1"
        assert settings.tls.enabled is True
        assert settings.socket_timeout is None
        assert "pw" not in repr(settings)
        options = client_options(settings, "svc")
        assert options["w"] == "majority"
        assert options["readConcernLevel"] == "majority"
        assert options["tls"] is True
        assert options["socketTimeoutMS"] is None
        assert options["appname"] == "svc"
        assert options["waitQueueTimeoutMS"] == 5000

    def test_numeric_write_concern_and_defaults(self) -> None:
        """A number of members is sent as an int; the socket timeout is bounded by default."""
        settings = news_mongo.MongoSettings(write_concern="2", journal=True)
        options = client_options(settings, "svc")
        assert options["w"] == 2
        assert options["journal"] is True
        assert options["socketTimeoutMS"] == 30_000
        assert options["tz_aware"] is True

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"min_pool_size": 5, "max_pool_size": 2}, "min_pool_size"),
            ({"uri": Secret("postgresql://x")}, "mongodb://"),
            ({"write_concern": "0", "journal": True}, "journal"),
        ],
    )
    def test_inconsistent_values_are_refused(self, fields: dict[str, object], message: str) -> None:
        """Inconsistent settings raise MongoConfigError naming the field."""
        with pytest.raises(news_mongo.MongoConfigError, match=message):
            news_mongo.MongoSettings(**fields)  # type: ignore[arg-type]

    def test_tls_files_without_tls(self) -> None:
        """TLS files with TLS turned off are refused."""
        with pytest.raises(news_mongo.MongoConfigError, match="tls"):
            news_mongo.MongoTLSSettings(enabled=False, ca_file="/ca.pem")

    def test_bad_database_name(self) -> None:
        """A database name MongoDB would refuse is refused when the settings are built."""
        with pytest.raises(msgspec.ValidationError, match="database"):
            msgspec.convert({"database": "a.b"}, news_mongo.MongoSettings)
        with pytest.raises(news_mongo.MongoConfigError, match="63"):
            news_mongo.MongoSettings(database="x" * 64)
