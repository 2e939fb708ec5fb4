"""ConfigError: every failing variable at once, by full env name, with no secret echoed."""

from __future__ import annotations

import enum
import pickle
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec
import pytest

from news_config import (
    ConfigError,
    ConfigErrorItem,
    NewsConfigError,
    SchemaError,
    Secret,
    Source,
    SourceError,
    load,
)

if TYPE_CHECKING:
    from pathlib import Path


class Level(enum.Enum):
    DEBUG = "debug"
    INFO = "info"


class Http(msgspec.Struct, frozen=True, kw_only=True):
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8080
    level: Level = Level.INFO


class Db(msgspec.Struct, frozen=True, kw_only=True):
    dsn: str
    password: Secret


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    debug: bool = False
    mode: Literal["fast", "safe"] = "safe"
    http: Http = Http()
    db: Db


def failure(**environ: str) -> ConfigError:
    """Load Settings (prefix NEWSROOM_) from *environ* and return the ConfigError."""
    with pytest.raises(ConfigError) as info:
        load(Settings, prefix="NEWSROOM_", environ=environ, env_file=None)
    return info.value


class TestConfigError:
    def test_every_problem_at_once(self) -> None:
        """Bad and missing variables are all reported together, in schema order."""
        exc = failure(
            NEWSROOM_DEBUG="perhaps",
            NEWSROOM_MODE="turbo",
            NEWSROOM_HTTP__PORT="0",
            NEWSROOM_HTTP__LEVEL="loud",
        )
        assert [item.env_name for item in exc.errors] == [
            "NEWSROOM_DEBUG",
            "NEWSROOM_MODE",
            "NEWSROOM_HTTP__PORT",
            "NEWSROOM_HTTP__LEVEL",
            "NEWSROOM_DB__DSN",
            "NEWSROOM_DB__PASSWORD",
        ]
        for item in exc.errors:
            assert item.env_name in str(exc)

    def test_expected_and_found(self) -> None:
        """Each item says what was expected (type and constraints) and quotes what was found."""
        exc = failure(NEWSROOM_HTTP__PORT="0", NEWSROOM_HTTP__LEVEL="loud")
        by_name = {item.env_name: item for item in exc.errors}
        assert by_name["NEWSROOM_HTTP__PORT"].expected == "an integer >= 1 and <= 65535"
        assert by_name["NEWSROOM_HTTP__PORT"].found == "'0'"
        assert by_name["NEWSROOM_HTTP__LEVEL"].expected == "one of: debug, info"
        assert by_name["NEWSROOM_HTTP__LEVEL"].source is Source.ENV

    def test_missing_is_named_required(self) -> None:
        """A required variable set nowhere is reported as required, with no found value."""
        exc = failure(NEWSROOM_DB__DSN="pg://")
        (item,) = exc.errors
        assert item == ConfigErrorItem(
            env_name="NEWSROOM_DB__PASSWORD", expected="a secret string", missing=True
        )
        assert "NEWSROOM_DB__PASSWORD: required but not set" in str(exc)

    def test_message_format(self) -> None:
        """The message is a header and one line per problem."""
        exc = failure(NEWSROOM_HTTP__PORT="70000", NEWSROOM_DB__PASSWORD="x")
        assert str(exc) == (
            "2 invalid or missing settings for Settings:\n"
            "  - NEWSROOM_HTTP__PORT: expected an integer >= 1 and <= 65535, found '70000'"
            " (from env)\n"
            "  - NEWSROOM_DB__DSN: required but not set (expected a string)"
        )

    def test_secret_values_are_not_echoed(self) -> None:
        """A failing secret shows its length, never its value, and no detail that could quote it."""

        class Password:
            __news_secret__ = True

            def __init__(self, raw: str) -> None:
                if len(raw) < 12:
                    raise ValueError(f"password {raw!r} is too short")
                self.raw = raw

        schema = msgspec.defstruct("Login", [("password", Password)])
        with pytest.raises(ConfigError) as info:
            load(schema, environ={"PASSWORD": "hunter2"}, env_file=None)
        (item,) = info.value.errors
        assert item.found == "<secret, 7 chars>"
        assert item.detail is None
        assert "hunter2" not in str(info.value)
        assert "hunter2" not in repr(info.value.errors)

    def test_long_values_are_shortened(self) -> None:
        """A very long bad value is cut in the message."""
        exc = failure(NEWSROOM_MODE="x" * 500, NEWSROOM_DB__DSN="d", NEWSROOM_DB__PASSWORD="p")
        (item,) = exc.errors
        assert item.found is not None
        assert len(item.found) < 100
        assert item.found.endswith("...'")

    def test_hierarchy(self) -> None:
        """ConfigError is a ValueError under the package's one root; so are the others."""
        exc = failure()
        assert isinstance(exc, ValueError)
        assert isinstance(exc, NewsConfigError)
        assert issubclass(SchemaError, NewsConfigError)
        assert issubclass(SourceError, NewsConfigError)

    def test_pickles(self) -> None:
        """A ConfigError survives pickling (e.g. across processes) with its items."""
        exc = failure(NEWSROOM_DEBUG="perhaps")
        clone = pickle.loads(pickle.dumps(exc))
        assert clone.errors == exc.errors
        assert str(clone) == str(exc)

    def test_secret_file_location_in_message(self, tmp_path: Path) -> None:
        """A bad value from a secret file names the file and still hides the value."""
        (tmp_path / "NEWSROOM_HTTP__PORT").write_text("top-secret-port\n")
        with pytest.raises(ConfigError) as info:
            load(
                Settings,
                prefix="NEWSROOM_",
                environ={"NEWSROOM_DB__DSN": "d", "NEWSROOM_DB__PASSWORD": "p"},
                env_file=None,
                secrets_dir=tmp_path,
            )
        message = str(info.value)
        assert f"found <secret, 15 chars> (from secret file {tmp_path}/NEWSROOM_HTTP__PORT)" in (
            message
        )
        assert "top-secret" not in message


class TestConfigErrorItem:
    def test_message_of_invalid_item(self) -> None:
        """An item's message reads: name, expected, found, source, detail."""
        item = ConfigErrorItem(
            "A", "an integer", found="'x'", source=Source.DOTENV, location="f:1", detail="why"
        )
        assert item.message == "A: expected an integer, found 'x' (from .env file f:1): why"

    def test_errors_can_be_built_by_hand(self) -> None:
        """A ConfigError can be raised by services with their own items (e.g. cross-checks)."""
        exc = ConfigError([ConfigErrorItem("B", "a URL", missing=True)])
        assert (
            str(exc)
            == "1 invalid or missing setting:\n  - B: required but not set (expected a URL)"
        )
