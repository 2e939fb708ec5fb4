from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

import news_config


class Tls(msgspec.Struct, frozen=True, kw_only=True):
    cert: str


class Db(msgspec.Struct, frozen=True, kw_only=True):
    url: Annotated[str, msgspec.Meta(description="PostgreSQL DSN")]
    password: news_config.Secret = news_config.Secret("default-secret")
    pool: Annotated[int, msgspec.Meta(ge=1, le=100, description="Pool size")] = 10


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    db: Db
    timeout: dt.timedelta = dt.timedelta(minutes=5)
    tags: tuple[str, ...] = ("a", "b")
    tls: Tls | None = None
    note: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, description="Most items")] | None = 5


class TestDescribe:
    def test_every_variable_in_schema_order(self):
        """describe() lists each variable by full env name, nested sections included."""
        names = [spec.env_name for spec in news_config.describe(Settings, prefix="APP_")]
        assert names == [
            "APP_DB__URL",
            "APP_DB__PASSWORD",
            "APP_DB__POOL",
            "APP_TIMEOUT",
            "APP_TAGS",
            "APP_TLS__CERT",
            "APP_NOTE",
            "APP_LIMIT",
        ]

    def test_defaults_are_env_strings_and_required_ones_are_marked(self):
        """Defaults render as they would be written in env; required variables have none."""
        specs = {s.env_name: s for s in news_config.describe(Settings, prefix="APP_")}
        assert specs["APP_DB__URL"].required
        assert specs["APP_DB__URL"].default is None
        assert specs["APP_DB__URL"].description == "PostgreSQL DSN"
        assert specs["APP_DB__POOL"].default == "10"
        assert specs["APP_DB__POOL"].expected == "an integer >= 1 and <= 100"
        assert specs["APP_TAGS"].default == "a,b"
        assert specs["APP_NOTE"].default == ""
        assert not specs["APP_NOTE"].required
        assert specs["APP_TLS__CERT"].required  # once the optional section is switched on

    def test_description_inside_an_optional_is_found(self):
        """A description on the non-None member of `Annotated[int, Meta(...)] | None` is kept."""
        specs = {s.env_name: s for s in news_config.describe(Settings, prefix="APP_")}
        assert specs["APP_LIMIT"].description == "Most items"
        assert specs["APP_LIMIT"].default == "5"

    def test_secret_defaults_are_never_shown(self):
        """A secret's default is withheld and the variable is flagged secret."""
        spec = next(s for s in news_config.describe(Settings) if s.env_name == "DB__PASSWORD")
        assert spec.secret
        assert spec.default is None
        assert "default-secret" not in repr(news_config.describe(Settings))
