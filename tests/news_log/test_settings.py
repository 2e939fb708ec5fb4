import msgspec
import pytest

import news_log


class TestSettings:
    def test_log_level_override_through_news_config(self):
        """LOG_LEVEL / LOG_LEVELS / LOG_FORMAT environment variables fill LogSettings."""
        import news_config

        settings = news_config.load(
            news_log.LogSettings,
            prefix="LOG_",
            env_file=None,
            environ={
                "LOG_LEVEL": "debug",
                "LOG_FORMAT": "json",
                "LOG_LEVELS": '{"aiokafka": "warning"}',
                "LOG_FIELDS": '{"service": "newsroom"}',
            },
        )
        assert settings.level == "debug"
        assert settings.format == "json"
        assert settings.levels == {"aiokafka": "warning"}
        assert settings.fields == {"service": "newsroom"}

    def test_nested_in_a_service_settings_struct(self):
        """A service composes LogSettings under its own prefix: NEWSROOM_LOG__LEVEL."""
        import news_config

        class Settings(msgspec.Struct, frozen=True, kw_only=True):
            log: news_log.LogSettings = news_log.LogSettings()

        settings = news_config.load(
            Settings, prefix="NEWSROOM_", env_file=None, environ={"NEWSROOM_LOG__LEVEL": "error"}
        )
        assert settings.log.level == "error"

    def test_bad_level_is_rejected(self):
        """An unknown level name is a validation error naming the field."""
        with pytest.raises(msgspec.ValidationError, match="level"):
            msgspec.convert({"level": "loud"}, news_log.LogSettings)
