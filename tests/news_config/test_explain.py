"""explain() and env_example(): the helpers behind the CLI, used directly."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated

import msgspec
import pytest

from news_config import ConfigError, Secret, SettingInfo, Source, env_example, explain, load

if TYPE_CHECKING:
    from pathlib import Path


class Mode(enum.Enum):
    FAST = "fast"
    SAFE = "safe"


class Tls(msgspec.Struct, frozen=True, kw_only=True):
    """Client certificates."""

    cert: str
    key: Secret | None = None


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    burst: int = 10


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    greeting: Annotated[str, msgspec.Meta(description="First line.\nSecond line.")] = 'say "hi"'
    mode: Mode = Mode.SAFE
    retries: Annotated[int, msgspec.Meta(ge=0)] = 3
    hosts: tuple[str, ...] = ("a:1", "b,2")
    wait: dt.timedelta = dt.timedelta(minutes=1, microseconds=5)
    limit: float | None = None
    token: Secret = Secret("default-token")
    limits: Limits = Limits(burst=20)
    tls: Tls | None = None
    after: str = "a field after a section"


class TestExplain:
    def test_rows_in_schema_order(self) -> None:
        """explain() gives one row per variable, in schema order, with value and source."""
        rows = explain(Settings, prefix="S_", environ={"S_RETRIES": "5"}, env_file=None)
        assert [row.env_name for row in rows] == [
            "S_GREETING",
            "S_MODE",
            "S_RETRIES",
            "S_HOSTS",
            "S_WAIT",
            "S_LIMIT",
            "S_TOKEN",
            "S_LIMITS__BURST",
            "S_TLS__*",
            "S_AFTER",
        ]
        assert rows[2] == SettingInfo("S_RETRIES", 5, Source.ENV)
        assert rows[1] == SettingInfo("S_MODE", Mode.SAFE, Source.DEFAULT)

    def test_unset_optional_section_is_one_row(self) -> None:
        """An optional section that is off is one row NAME__* with the value None."""
        rows = explain(Settings, environ={}, env_file=None)
        assert rows[-2] == SettingInfo("TLS__*", None, Source.DEFAULT)

    def test_set_section_rows(self) -> None:
        """A section that is on lists its own variables."""
        rows = explain(Settings, environ={"TLS__CERT": "c.pem"}, env_file=None)
        assert [(r.env_name, r.source) for r in rows[-3:-1]] == [
            ("TLS__CERT", Source.ENV),
            ("TLS__KEY", Source.DEFAULT),
        ]
        assert rows[-2].secret

    def test_raises_like_load(self) -> None:
        """explain() raises the same ConfigError as load() for invalid settings."""
        with pytest.raises(ConfigError) as info:
            explain(Settings, environ={"RETRIES": "-1", "MODE": "slow"}, env_file=None)
        assert [e.env_name for e in info.value.errors] == ["MODE", "RETRIES"]


class TestEnvExample:
    def test_leaf_block(self) -> None:
        """Each variable gets its description, its type, its default and a commented line."""
        text = env_example(Settings, prefix="S_")
        assert "# First line.\n# Second line.\n# type: a string\n" in text
        assert '# S_GREETING=say "hi"\n' in text
        assert "# type: an integer >= 0\n# default: 3\n# S_RETRIES=3\n" in text
        assert "# S_MODE=safe\n" in text

    def test_section_defaults_come_from_the_parent_default(self) -> None:
        """A section's defaults come from the parent's default instance; later fields follow."""
        text = env_example(Settings)
        assert "# default: 20\n# LIMITS__BURST=20\n" in text
        assert "# AFTER=a field after a section\n" in text

    def test_values_needing_json_or_quotes(self) -> None:
        """Items with commas are written as JSON; durations as seconds."""
        text = env_example(Settings)
        assert '# HOSTS=["a:1","b,2"]\n' in text
        assert "# WAIT=60.000005\n" in text

    def test_none_and_secret_defaults(self) -> None:
        """None defaults are left empty; secret defaults are never written out."""
        text = env_example(Settings)
        assert "# default: none (leave unset)\n# LIMIT=\n" in text
        assert "# default: a secret (not shown)\n# TOKEN=\n" in text
        assert "default-token" not in text

    def test_optional_section(self) -> None:
        """An optional section is headed and explained; its required fields stay commented."""
        text = env_example(Settings)
        assert "# ==== TLS__* (Tls): Client certificates.\n" in text
        assert "# Optional section: setting any of its variables turns it on.\n" in text
        assert "# required when this section is on\n# TLS__CERT=\n" in text
        assert text.endswith(
            "# default: a field after a section\n# AFTER=a field after a section\n"
        )

    def test_uncommented_template_gives_the_defaults(self, tmp_path: Path) -> None:
        """Uncommenting the defaults (not the secret/None ones) loads back the defaults."""
        lines = [
            line[2:] if line.startswith("# ") and "=" in line and not line.endswith("=") else line
            for line in env_example(Settings).splitlines()
        ]
        env_file = tmp_path / ".env"
        env_file.write_text("\n".join(lines) + "\n")
        assert load(Settings, environ={}, env_file=env_file) == Settings()
