"""Typos are caught and cross-field checks are reported with everything else, before start-up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import pytest

from news_config import ConfigError, Secret, Source, load

if TYPE_CHECKING:
    from pathlib import Path


class Kafka(msgspec.Struct, frozen=True, kw_only=True):
    bootstrap_servers: tuple[str, ...] = ("localhost:9092",)
    linger_ms: int = 0


class Http(msgspec.Struct, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8080


class Service(msgspec.Struct, frozen=True, kw_only=True):
    http: Http = Http()
    kafka: Kafka = Kafka()
    motto: str = ""


class Cursors(msgspec.Struct, frozen=True, kw_only=True):
    cursor_secret: Secret = Secret("a-default-secret-long-enough")
    page_size: int = 20

    def __post_init__(self) -> None:
        if len(self.cursor_secret.reveal()) < 16:
            raise ValueError("cursor_secret must be at least 16 characters")


class Window(msgspec.Struct, frozen=True, kw_only=True):
    start: int = 0
    end: int = 10

    def __post_init__(self) -> None:
        if self.start > self.end:
            err = ValueError("the window is empty")
            err.fields = ("start",)  # type: ignore[attr-defined]
            raise err


class Vague(msgspec.Struct, frozen=True, kw_only=True):
    a: int = 0

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("nope")


class App(msgspec.Struct, frozen=True, kw_only=True):
    cursors: Cursors = Cursors()
    window: Window = Window()
    vague: Vague = Vague()
    http: Http = Http()


class TestUnknownVariables:
    def test_typo_is_warned_with_the_closest_name(self, config_log: Any) -> None:
        """A prefixed name that is no setting is logged once, naming the closest real one."""
        env = {"SVC_HTTP__PROT": "8081", "SVC_KAFKA__BOOTSTRAP_SERVER": "kafka:9092"}
        loaded = load(Service, prefix="SVC_", environ=env, env_file=None)
        assert loaded.http.port == 8080  # the typo changed nothing, but it was said
        assert config_log.messages == [
            "SVC_HTTP__PROT is not a setting; did you mean SVC_HTTP__PORT?",
            (
                "SVC_KAFKA__BOOTSTRAP_SERVER is not a setting; "
                "did you mean SVC_KAFKA__BOOTSTRAP_SERVERS?"
            ),
        ]
        assert {r.levelname for r in config_log.records} == {"WARNING"}

    def test_nothing_close_names_no_suggestion(self, config_log: Any) -> None:
        """A name like no setting at all is still reported, without a guess."""
        load(Service, prefix="SVC_", environ={"SVC_ZZZZZZZZZZZZ": "1"}, env_file=None)
        assert config_log.messages == ["SVC_ZZZZZZZZZZZZ is not a setting"]

    def test_strict_makes_them_errors_with_the_others(self, config_log: Any) -> None:
        """strict=True lists unknown names in the one ConfigError, next to invalid values."""
        env = {"SVC_HTTP__PROT": "8081", "SVC_HTTP__PORT": "0"}
        with pytest.raises(ConfigError) as info:
            load(Service, prefix="SVC_", environ=env, env_file=None, strict=True)
        assert [(e.env_name, e.unknown) for e in info.value.errors] == [
            ("SVC_HTTP__PORT", False),
            ("SVC_HTTP__PROT", True),
        ]
        assert info.value.errors[1].suggestion == "SVC_HTTP__PORT"
        assert "  - SVC_HTTP__PROT is not a setting; did you mean SVC_HTTP__PORT?" in str(
            info.value
        )
        assert config_log.messages == []

    @pytest.mark.parametrize("word", ["1", "true", "YES", "on"])
    def test_strict_from_the_environment(self, word: str) -> None:
        """NEWS_CONFIG_STRICT turns strict on for a load() that does not pass strict."""
        env = {"SVC_HTTP__PROT": "8081", "NEWS_CONFIG_STRICT": word}
        with pytest.raises(ConfigError, match="SVC_HTTP__PROT is not a setting"):
            load(Service, prefix="SVC_", environ=env, env_file=None)
        assert load(Service, prefix="SVC_", environ=env, env_file=None, strict=False)

    def test_strict_switch_must_be_a_boolean(self) -> None:
        """A NEWS_CONFIG_STRICT that is no boolean is itself a ConfigError."""
        with pytest.raises(ConfigError, match="NEWS_CONFIG_STRICT: expected a boolean"):
            load(Service, prefix="SVC_", environ={"NEWS_CONFIG_STRICT": "maybe"}, env_file=None)

    def test_the_switch_is_not_a_typo_under_its_own_prefix(self) -> None:
        """With prefix NEWS_, NEWS_CONFIG_STRICT is the switch, not an unknown setting."""
        assert load(Service, prefix="NEWS_", environ={"NEWS_CONFIG_STRICT": "1"}, env_file=None)

    def test_dotenv_and_secret_files_are_checked_too(self, tmp_path: Path) -> None:
        """Typos in a .env file and a secrets directory are reported with where they are."""
        env_file = tmp_path / ".env"
        env_file.write_text("# settings\nSVC_MOTO=hello\n")
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "svc_http__hots").write_text("0.0.0.0\n")
        with pytest.raises(ConfigError) as info:
            load(
                Service,
                prefix="SVC_",
                environ={},
                env_file=env_file,
                secrets_dir=secrets,
                strict=True,
            )
        found = {e.env_name: (e.suggestion, e.source, e.location) for e in info.value.errors}
        assert found == {
            "SVC_HTTP__HOTS": (
                "SVC_HTTP__HOST",
                Source.SECRET_FILE,
                str(secrets / "svc_http__hots"),
            ),
            "SVC_MOTO": ("SVC_MOTTO", Source.DOTENV, f"{env_file}:2"),
        }
        assert f"(from .env file {env_file}:2)" in str(info.value)

    def test_no_prefix_no_check(self, config_log: Any) -> None:
        """Without a prefix every variable of the process would match: nothing is reported."""
        load(Http, environ={"PATH": "/bin", "PROT": "1"}, env_file=None)
        assert config_log.messages == []


class TestCrossFieldChecks:
    def test_post_init_check_names_its_variable_and_masks_secrets(self) -> None:
        """A __post_init__ check is reported by the variable it names; secrets stay masked."""
        env = {"APP_CURSORS__CURSOR_SECRET": "short"}
        with pytest.raises(ConfigError) as info:
            load(App, prefix="APP_", environ=env, env_file=None)
        (item,) = info.value.errors
        assert item.env_name == "APP_CURSORS__CURSOR_SECRET"
        assert item.found == "<secret, 5 chars>"
        assert item.detail == "cursor_secret must be at least 16 characters"
        assert "short" not in str(info.value)

    def test_a_check_quoting_a_secret_value_is_redacted(self, tmp_path: Path) -> None:
        """A check that quotes a value read from a secret file (or a Secret) shows <secret>."""
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "APP_RATE").write_text("lots-per-minute")

        class Limited(msgspec.Struct, frozen=True, kw_only=True):
            rate: str = "1/s"

            def __post_init__(self) -> None:
                if "/" not in self.rate:
                    raise ValueError(f"rate {self.rate!r} is not LIMIT/PERIOD")

        with pytest.raises(ConfigError) as info:
            load(Limited, prefix="APP_", environ={}, env_file=None, secrets_dir=secrets)
        (item,) = info.value.errors
        assert item.detail == "rate '<secret>' is not LIMIT/PERIOD"
        assert "lots-per-minute" not in str(info.value)
        # from the environment, the value is no secret: shown as it is
        with pytest.raises(ConfigError, match="rate 'lots' is not LIMIT/PERIOD"):
            load(Limited, prefix="APP_", environ={"APP_RATE": "lots"}, env_file=None)

    def test_reported_with_every_other_error(self) -> None:
        """Cross-field failures and plain invalid values come out in one ConfigError."""
        env = {
            "APP_CURSORS__CURSOR_SECRET": "short",
            "APP_WINDOW__START": "50",
            "APP_VAGUE__A": "-1",
            "APP_HTTP__PORT": "http",
        }
        with pytest.raises(ConfigError) as info:
            load(App, prefix="APP_", environ=env, env_file=None)
        assert [e.env_name for e in info.value.errors] == [
            "APP_CURSORS__CURSOR_SECRET",
            "APP_WINDOW__START",  # named by the exception's `fields`
            "APP_VAGUE__*",  # a message that names no field: the section
            "APP_HTTP__PORT",
        ]

    def test_check_on_a_secret_file_value_is_masked(self, tmp_path: Path) -> None:
        """A value read from a secret file is shown as <secret, N chars> in a check's error."""
        (tmp_path / "APP_CURSORS__CURSOR_SECRET").write_text("tiny\n")
        with pytest.raises(ConfigError) as info:
            load(App, prefix="APP_", environ={}, env_file=None, secrets_dir=tmp_path)
        (item,) = info.value.errors
        assert (item.found, item.source) == ("<secret, 4 chars>", Source.SECRET_FILE)
