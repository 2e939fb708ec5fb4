"""The package surface: names, version, docstrings and a light import."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import pytest

import news_config
from news_config import __about__

PUBLIC = {
    "Change",
    "ConfigError",
    "ConfigErrorItem",
    "NewsConfigError",
    "SchemaError",
    "Secret",
    "Reload",
    "SettingInfo",
    "SettingSpec",
    "Source",
    "SourceError",
    "Watcher",
    "__version__",
    "describe",
    "enc_hook",
    "env_example",
    "explain",
    "is_secret",
    "is_secret_type",
    "load",
    "watch",
}


class TestSurface:
    def test_all_is_the_public_surface(self) -> None:
        """__all__ lists exactly the public names, and each exists."""
        assert set(news_config.__all__) == PUBLIC
        for name in PUBLIC:
            assert getattr(news_config, name) is not None

    def test_version_has_one_source(self) -> None:
        """__version__ is the one in __about__ and looks like a version."""
        assert news_config.__version__ == __about__.__version__
        assert re.fullmatch(r"\d+\.\d+\.\d+", news_config.__version__)

    def test_public_names_are_documented(self) -> None:
        """Every public class and function has a docstring, and so does the package."""
        assert news_config.__doc__
        assert "load(" in news_config.__doc__
        for name in PUBLIC - {"__version__"}:
            assert inspect.getdoc(getattr(news_config, name)), name

    def test_public_classes_live_in_the_package(self) -> None:
        """Public classes report `news_config` as their module (as tracebacks show them)."""
        assert f"{news_config.ConfigError.__module__}.ConfigError" == "news_config.ConfigError"
        assert repr(news_config.Source.ENV) == "<Source.ENV: 'env'>"

    def test_load_signature(self) -> None:
        """load() takes the schema positionally and everything else by keyword, as specified."""
        params = inspect.signature(news_config.load).parameters
        assert [(p.name, p.kind.name, p.default) for p in params.values()] == [
            ("schema", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
            ("prefix", "KEYWORD_ONLY", ""),
            ("env_file", "KEYWORD_ONLY", ".env"),
            ("secrets_dir", "KEYWORD_ONLY", None),
            ("environ", "KEYWORD_ONLY", None),
            ("strict", "KEYWORD_ONLY", None),
        ]


class TestImport:
    def test_import_is_light(self) -> None:
        """`import news_config` loads neither rich, python-decouple, asyncio nor watchfiles."""
        code = (
            "import sys, news_config; "
            "print(sorted(m for m in ('rich', 'decouple', 'asyncio', 'watchfiles') "
            "if m in sys.modules))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert result.stdout.strip() == "[]"

    def test_hot_reload_names_load_on_first_use(self) -> None:
        """news_config.watch and friends are there on first use and name news_config as home."""
        assert news_config.watch.__module__ == "news_config"
        assert news_config.Watcher.__module__ == "news_config"
        assert repr(news_config.Reload).startswith("<class 'news_config.Reload'")
        with pytest.raises(AttributeError, match="no attribute 'wach'"):
            news_config.wach  # noqa: B018 - the attribute access is the test
