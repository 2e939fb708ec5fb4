import msgspec

import news_log


class TestRedaction:
    def test_secret_looking_keys_are_masked_at_any_depth(self, read_lines):
        """password/token/authorization/api_key/cookie/secret values become *** however deep."""
        news_log.get_logger("r").info(
            "request",
            password="p",
            headers={"Authorization": "Bearer x", "X-Api-Key": "k", "Accept": "json"},
            nested={"level1": {"level2": [{"db_password": "p2", "keep": 1}]}},
            cookies=["a=b"],
            client_secret="s",
            refresh_token="t",
        )
        (line,) = read_lines()
        assert line["password"] == "***"
        assert line["headers"] == {"Authorization": "***", "X-Api-Key": "***", "Accept": "json"}
        assert line["nested"] == {"level1": {"level2": [{"db_password": "***", "keep": 1}]}}
        assert line["cookies"] == "***"
        assert line["client_secret"] == "***"
        assert line["refresh_token"] == "***"

    def test_bound_context_is_redacted_too(self, read_lines):
        """Secrets bound into the context are masked on every line."""
        with news_log.bind(request_id="r", session_token="abc"):
            news_log.get_logger("r").info("x")
        (line,) = read_lines()
        assert line["session_token"] == "***"
        assert line["request_id"] == "r"

    def test_redact_keys_are_configurable(self, tmp_path):
        """LogSettings.redact_keys replaces the default list."""
        path = tmp_path / "custom.log"
        news_log.setup(news_log.LogSettings(format="json", output=str(path), redact_keys=("ssn",)))
        try:
            news_log.get_logger("r").info("x", customer_ssn="123", password="visible-now")
            news_log.flush()
            line = msgspec.json.decode(path.read_bytes())
        finally:
            news_log.setup(news_log.LogSettings(format="json"))
        assert line["customer_ssn"] == "***"
        assert line["password"] == "visible-now"

    def test_news_config_secret_is_never_revealed(self, read_lines):
        """A news_config.Secret logged under any key, or inside a settings Struct, is masked."""
        from news_config import Secret

        class DbSettings(msgspec.Struct, frozen=True):
            dsn: str
            credential: Secret

        secret = Secret("hunter2")
        news_log.get_logger("r").info(
            "connecting", value=secret, settings=DbSettings(dsn="pg://x", credential=secret)
        )
        news_log.get_logger("r").info("plain text of %s" % secret)  # noqa: UP031
        lines = read_lines()
        assert "hunter2" not in repr(lines)
        assert lines[0]["settings"]["dsn"] == "pg://x"
