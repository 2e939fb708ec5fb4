"""KafkaSettings validation, Secret masking, and clear errors for bad configuration."""

from __future__ import annotations

import typing

import msgspec
import pytest

import news_config
import news_kafka
from news_config import Secret
from news_kafka import (
    ConsumerSettings,
    KafkaConfigError,
    KafkaSettings,
    ProducerSettings,
    RetryPolicy,
    SecuritySettings,
)


class TestSettings:
    def test_defaults_are_valid_and_safe(self):
        """The default settings build, use acks=all with idempotence and never autocommit."""
        settings = KafkaSettings()
        assert settings.bootstrap_servers == ("localhost:9092",)
        assert settings.producer.acks == "all"
        assert settings.producer.idempotence is True
        assert settings.security.protocol == "PLAINTEXT"
        assert settings.consumer.dead_letter_suffix == ".dlq"

    def test_every_field_is_described(self):
        """Every settings field carries a description (news-config shows them)."""
        for struct in (
            KafkaSettings,
            SecuritySettings,
            ProducerSettings,
            ConsumerSettings,
            RetryPolicy,
        ):
            info = msgspec.inspect.type_info(struct)
            for field in info.fields:
                members = getattr(field.type, "types", (field.type,))
                described = [
                    m
                    for m in members
                    if isinstance(m, msgspec.inspect.Metadata)
                    and (m.extra_json_schema or {}).get("description")
                ]
                assert described, f"{struct.__name__}.{field.name} has no description"

    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"protocol": "SASL_SSL"}, "needs security.username"),
            ({"protocol": "SASL_PLAINTEXT", "username": "u"}, "needs security.password"),
            ({"username": "u", "password": Secret("p")}, "sends no credentials"),
            ({"ssl_cafile": "/ca.pem"}, "does not use TLS"),
            ({"protocol": "SSL", "ssl_keyfile": "/k.pem"}, "needs both"),
        ],
    )
    def test_inconsistent_security_is_rejected_at_construction(self, kwargs, fragment):
        """SASL without credentials, credentials without SASL, TLS files without TLS fail."""
        with pytest.raises(KafkaConfigError, match=fragment) as info:
            SecuritySettings(**kwargs)
        assert isinstance(info.value, ValueError)

    def test_producer_and_consumer_consistency(self):
        """Idempotence needs acks=all; heartbeat must be a third of the session timeout."""
        with pytest.raises(KafkaConfigError, match="idempotence needs acks=all"):
            ProducerSettings(acks="1")
        assert ProducerSettings(acks="1", idempotence=False).acks == "1"
        with pytest.raises(KafkaConfigError, match="heartbeat_interval_ms"):
            ConsumerSettings(session_timeout_ms=3000, heartbeat_interval_ms=2000)
        with pytest.raises(KafkaConfigError, match="backoff_max_ms"):
            RetryPolicy(backoff_base_ms=500, backoff_max_ms=100)

    def test_bootstrap_servers_must_be_host_port(self):
        """A broker without a port is named in the error."""
        with pytest.raises(KafkaConfigError, match="'kafka-1' is not host:port"):
            KafkaSettings(bootstrap_servers=("kafka-1",))

    def test_decoding_bad_settings_names_the_problem(self):
        """Settings decoded from data report the inconsistency as a validation error."""
        with pytest.raises(msgspec.ValidationError, match=r"needs security\.password"):
            msgspec.convert(
                {"security": {"protocol": "SASL_SSL", "username": "svc"}}, KafkaSettings
            )
        with pytest.raises(msgspec.ValidationError, match="acks"):
            msgspec.convert({"producer": {"acks": "2"}}, KafkaSettings)

    def test_retry_delays_grow_and_are_capped(self):
        """Backoff doubles per attempt, stays under the cap, and jitter only shortens it."""
        policy = RetryPolicy(backoff_base_ms=100, backoff_max_ms=1000, jitter=0.0)
        assert [policy.delay(n) for n in (1, 2, 3, 5, 30)] == [0.1, 0.2, 0.4, 1.0, 1.0]
        jittered = RetryPolicy(backoff_base_ms=100, backoff_max_ms=1000, jitter=0.5)
        delays = [jittered.delay(3) for _ in range(200)]
        assert all(0.2 <= d <= 0.4 for d in delays)
        assert len(set(delays)) > 1


class TestSecret:
    def test_the_one_secret_type(self):
        """news-kafka's passwords are news_config.Secret; news_kafka has no Secret of its own."""
        assert not hasattr(news_kafka, "Secret")
        assert not hasattr(news_kafka, "_secret")
        hints = typing.get_type_hints(SecuritySettings)
        assert hints["password"] == hints["ssl_key_password"] == Secret | None
        settings = SecuritySettings(protocol="SASL_SSL", username="u", password=Secret("p"))
        assert settings.password == Secret("p")
        assert "news_kafka" not in type(settings.password).__module__

    def test_secret_is_masked_everywhere(self):
        """A password never shows in str, repr, f-strings or the settings' repr."""
        password = Secret("hunter2")
        settings = SecuritySettings(protocol="SASL_SSL", username="svc", password=password)
        for text in (str(password), repr(password), f"{password}", repr(settings)):
            assert "hunter2" not in text
        assert password.reveal() == "hunter2"
        assert Secret("a") == Secret("a")
        assert Secret("a") != Secret("b")
        assert Secret.__news_secret__ is True

    def test_secret_needs_a_string(self):
        """Building a Secret from a non-string is a TypeError."""
        with pytest.raises(TypeError, match="takes a str"):
            Secret(123)  # type: ignore[arg-type]


class TestNewsConfig:
    def test_news_config_fills_security_with_the_secret(self):
        """news-config loads KafkaSettings from env, SASL password as news_config.Secret."""
        settings = news_config.load(
            KafkaSettings,
            prefix="KAFKA_",
            env_file=None,
            environ={
                "KAFKA_BOOTSTRAP_SERVERS": "k1:9092,k2:9093",
                "KAFKA_SECURITY__PROTOCOL": "SASL_SSL",
                "KAFKA_SECURITY__SASL_MECHANISM": "SCRAM-SHA-512",
                "KAFKA_SECURITY__USERNAME": "newsroom",
                "KAFKA_SECURITY__PASSWORD": "s3cret",
                "KAFKA_PRODUCER__LINGER_MS": "5",
                "KAFKA_CONSUMER__GROUP_ID": "indexer",
            },
        )
        assert settings.bootstrap_servers == ("k1:9092", "k2:9093")
        assert settings.security.sasl_mechanism == "SCRAM-SHA-512"
        assert isinstance(settings.security.password, news_config.Secret)
        assert settings.security.password.reveal() == "s3cret"
        assert "s3cret" not in repr(settings)
        assert settings.producer.linger_ms == 5
        assert settings.consumer.group_id == "indexer"

    def test_news_config_reports_inconsistent_security(self):
        """A SASL protocol without a password fails loading with the reason."""
        with pytest.raises(news_config.ConfigError, match="password"):
            news_config.load(
                KafkaSettings,
                prefix="KAFKA_",
                env_file=None,
                environ={
                    "KAFKA_SECURITY__PROTOCOL": "SASL_SSL",
                    "KAFKA_SECURITY__USERNAME": "newsroom",
                },
            )


class TestConstructionErrors:
    def test_consumer_needs_a_group_and_one_subscription(self):
        """A consumer without group id, or with both topics and pattern, fails clearly."""

        async def handler(message):
            return None

        with pytest.raises(KafkaConfigError, match="group id"):
            news_kafka.Consumer(KafkaSettings(), topics="t", handler=handler)
        with pytest.raises(KafkaConfigError, match="exactly one of topics"):
            news_kafka.Consumer(
                KafkaSettings(), topics="t", pattern="t.*", group_id="g", handler=handler
            )
        with pytest.raises(KafkaConfigError, match="value_type"):
            news_kafka.Consumer(
                KafkaSettings(), topics="t", group_id="g", handler=handler, value_type="Article"
            )

    async def test_missing_tls_files_fail_at_start(self, tmp_path):
        """A CA file that does not exist is a KafkaConfigError when the publisher starts."""
        settings = KafkaSettings(
            security=SecuritySettings(protocol="SSL", ssl_cafile=str(tmp_path / "missing.pem"))
        )
        publisher = news_kafka.Publisher(settings)
        with pytest.raises(KafkaConfigError, match="cannot load the TLS files"):
            await publisher.start()

    async def test_unreachable_broker_fails_start_with_publish_error(self):
        """Starting against a port where nothing listens raises PublishError naming it."""
        from news_testing.kafka import free_port

        port = free_port()
        settings = KafkaSettings(
            bootstrap_servers=(f"127.0.0.1:{port}",),
            producer=ProducerSettings(idempotence=False, request_timeout_ms=1000),
        )
        with pytest.raises(news_kafka.PublishError, match=f"127.0.0.1:{port}"):
            await news_kafka.Publisher(settings).start()
