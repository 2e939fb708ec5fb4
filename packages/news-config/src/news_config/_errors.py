"""The errors news-config raises, all under one root.

The tree::

    Exception
     └── NewsConfigError               every error news-config raises
          ├── ConfigError (ValueError)  settings invalid or missing; lists *every* problem at once
          ├── SchemaError (TypeError)   not a Struct, or a field type that cannot be loaded
          └── SourceError (OSError)     a .env file or secret file exists but cannot be read

`ConfigError` is the one a running service meets: its message has one line per failing variable
(full env name, what was expected, what was found, where it came from; with ``strict``, also each
prefixed variable that names no setting, with the closest real one), and `ConfigError.errors`
keeps the same facts as `ConfigErrorItem` values for programs. Values of secret fields, and any
value read from a secret file, are never echoed: they appear as ``<secret, N chars>``.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "ConfigErrorItem",
    "NewsConfigError",
    "SchemaError",
    "Source",
    "SourceError",
]


class Source(enum.StrEnum):
    """Where a setting's value came from, in precedence order (highest first)."""

    ENV = "env"
    """The process environment (or the ``environ=`` mapping given to `load`)."""
    SECRET_FILE = "secret file"  # noqa: S105 - a source name, not a password
    """A file in the secrets directory, named after the variable."""
    DOTENV = ".env"
    """The ``.env`` file."""
    DEFAULT = "default"
    """The Struct field's default (nothing was set)."""

    def where(self, location: str | None = None) -> str:
        """Say where a value came from: ``env``, ``secret file /run/x``, ``.env file .env:3``."""
        name = ".env file" if self is Source.DOTENV else self.value
        return f"{name} {location}" if location else name


class ConfigErrorItem(NamedTuple):
    """One failing variable inside a `ConfigError`.

    Attributes:
        env_name: The full environment variable name, prefix included (``NEWSROOM_HTTP__PORT``).
        expected: What a valid value looks like (``an integer >= 1``, ``one of: debug, info``).
        found: The value as found, quoted (``'abc'``), or ``<secret, N chars>`` for secrets;
            None when the variable is missing.
        source: Where the bad value came from; None when the variable is missing.
        location: The file the value came from (a secret file path, or ``path:line`` of a ``.env``
            entry); None for the environment and for missing variables.
        missing: True when a required variable is set nowhere.
        detail: Extra explanation from the type's own check (never for secrets), or None.
        unknown: True when the variable carries the prefix but names no setting (a typo), or
            for a ``.env`` statement that cannot be parsed (then ``env_name`` is its
            ``path:line``).
        suggestion: For an unknown variable, the closest real one, or None.
    """

    env_name: str
    expected: str
    found: str | None = None
    source: Source | None = None
    location: str | None = None
    missing: bool = False
    detail: str | None = None
    unknown: bool = False
    suggestion: str | None = None

    @property
    def message(self) -> str:
        """One human line describing the problem, as shown in the `ConfigError` message."""
        if self.missing:
            return f"{self.env_name}: required but not set (expected {self.expected})"
        if self.unknown:
            if self.location is not None and self.env_name == self.location:
                return f"{self.location} cannot be parsed as NAME=value; the line is ignored"
            text = f"{self.env_name} is not a setting"
            if self.suggestion:
                text += f"; did you mean {self.suggestion}?"
            if self.source is not None and self.source is not Source.ENV:
                text += f" (from {self.source.where(self.location)})"
            return text
        text = f"{self.env_name}: expected {self.expected}"
        if self.found is not None:
            text += f", found {self.found}"
        if self.source is not None:
            text += f" (from {self.source.where(self.location)})"
        if self.detail:
            text += f": {self.detail}"
        return text


class NewsConfigError(Exception):
    """Root of every error raised by news-config."""


class ConfigError(NewsConfigError, ValueError):
    """The settings are invalid or incomplete; lists every failing variable at once.

    Attributes:
        errors: One `ConfigErrorItem` per failing variable, in schema order.
        schema_name: The name of the Struct that was being loaded, if known.
    """

    def __init__(
        self, errors: Iterable[ConfigErrorItem], *, schema_name: str | None = None
    ) -> None:
        self.errors: list[ConfigErrorItem] = list(errors)
        self.schema_name = schema_name
        super().__init__(self._render())

    def _render(self) -> str:
        count = len(self.errors)
        kinds = (
            "invalid, missing or unknown"
            if any(e.unknown for e in self.errors)
            else ("invalid or missing")
        )
        what = f"{count} {kinds} setting{'s' if count != 1 else ''}"
        head = f"{what} for {self.schema_name}:" if self.schema_name else f"{what}:"
        return "\n".join([head, *(f"  - {item.message}" for item in self.errors)])

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_config_error, (self.errors, self.schema_name))


def _rebuild_config_error(errors: list[ConfigErrorItem], schema_name: str | None) -> ConfigError:
    return ConfigError(errors, schema_name=schema_name)


class SchemaError(NewsConfigError, TypeError):
    """The schema cannot be loaded: not a `msgspec.Struct`, or a field type it cannot fill."""


class SourceError(NewsConfigError, OSError):
    """A ``.env`` file or a secret file exists but cannot be read or decoded as UTF-8."""
