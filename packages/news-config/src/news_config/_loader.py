"""`load` and `explain`: fill a Struct tree from the environment, secret files and a ``.env`` file.

Every field is converted on its own, every failure is collected, and only then is the Struct built,
so one `ConfigError` names every bad or missing variable (``msgspec.convert`` would stop at the
first).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import msgspec

from news_config._convert import InvalidValueError, convert
from news_config._errors import ConfigError, ConfigErrorItem, Source
from news_config._schema import NODEFAULT, Leaf, Section, plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from news_config._repositories import DotEnvFile, SecretsDir

__all__ = ["SettingInfo", "explain", "load", "resolve"]

T = TypeVar("T", bound=msgspec.Struct)

_FAILED: Any = object()
_SHOWN_CHARS = 80


class SettingInfo(NamedTuple):
    """One effective setting, as `explain` reports it.

    Attributes:
        env_name: The full variable name (``NEWSROOM_HTTP__PORT``); an optional section that is
            not set shows as one row ``NEWSROOM_TLS__*`` with the value None.
        value: The loaded value (a `Secret` stays a `Secret`, so it prints masked).
        source: Where the value came from.
        location: The secret file path or ``.env`` ``path:line``; None otherwise.
        secret: True when the value must not be shown: a secret type, or read from a secret file.
    """

    env_name: str
    value: Any
    source: Source
    location: str | None = None
    secret: bool = False


class _Hit(NamedTuple):
    raw: str
    source: Source
    location: str | None


class _Sources:
    """The three places a variable can be set, asked in precedence order."""

    def __init__(
        self, environ: Mapping[str, str], dotenv: DotEnvFile | None, secrets: SecretsDir | None
    ) -> None:
        self.environ = environ
        self.dotenv = dotenv
        self.secrets = secrets

    def get(self, name: str) -> _Hit | None:
        if name in self.environ:
            return _Hit(self.environ[name], Source.ENV, None)
        if self.secrets is not None:
            path = self.secrets.find(name)
            if path is not None:
                return _Hit(self.secrets.read(path), Source.SECRET_FILE, path)
        if self.dotenv is not None and name in self.dotenv:
            line = self.dotenv.lines[name]
            return _Hit(self.dotenv[name], Source.DOTENV, f"{self.dotenv.path}:{line}")
        return None

    def is_set(self, name: str) -> bool:
        return (
            name in self.environ
            or (self.secrets is not None and self.secrets.find(name) is not None)
            or (self.dotenv is not None and name in self.dotenv)
        )

    def names(self) -> set[str]:
        found = set(self.environ)
        if self.dotenv is not None:
            found.update(self.dotenv.data)
        if self.secrets is not None:
            found.update(name.upper() for name in self.secrets.files)
        return found


def _show(raw: str, secret: bool) -> str:
    if secret:
        return f"<secret, {len(raw)} char{'s' if len(raw) != 1 else ''}>"
    if len(raw) > _SHOWN_CHARS:
        raw = raw[: _SHOWN_CHARS - 3] + "..."
    return repr(raw)


class _Resolver:
    """One pass over a schema plan: values, rows for `explain`, and every error."""

    def __init__(self, sources: _Sources) -> None:
        self.sources = sources
        self.errors: list[ConfigErrorItem] = []
        self.rows: list[SettingInfo] = []

    def section(self, section: Section, base: Any) -> Any:
        kwargs: dict[str, Any] = {}
        failed = False
        for child in section.children:
            inherited = getattr(base, child.name) if base is not None else child.default()
            if isinstance(child, Section):
                value = self._nested(child, inherited)
            else:
                value = self._leaf(child, inherited)
            if value is _FAILED:
                failed = True
            else:
                kwargs[child.name] = value
        if failed:
            return _FAILED
        try:
            return section.cls(**kwargs)
        except (TypeError, ValueError) as exc:  # the Struct's own __post_init__ checks
            self.errors.append(
                ConfigErrorItem(
                    env_name=f"{section.env_prefix}*",
                    expected=f"settings that {section.cls.__qualname__} accepts",
                    detail=str(exc) or type(exc).__name__,
                )
            )
            return _FAILED

    def _nested(self, section: Section, inherited: Any) -> Any:
        if any(self.sources.is_set(leaf.env_name) for leaf in section.leaves()):
            return self.section(section, inherited if isinstance(inherited, section.cls) else None)
        if inherited is NODEFAULT:
            if not section.optional:  # a required section: its fields' defaults, or "required"
                return self.section(section, None)
            inherited = None  # `tls: TLS | None` without a default and nothing set: None
        self._default_rows(section, inherited)
        return inherited

    def _default_rows(self, section: Section, value: Any) -> None:
        if value is None:
            self.rows.append(SettingInfo(f"{section.env_prefix}*", None, Source.DEFAULT))
            return
        for child in section.children:
            inner = getattr(value, child.name)
            if isinstance(child, Section):
                self._default_rows(child, inner)
            else:
                self.rows.append(
                    SettingInfo(child.env_name, inner, Source.DEFAULT, None, child.sensitive)
                )

    def _leaf(self, leaf: Leaf, inherited: Any) -> Any:
        hit = self.sources.get(leaf.env_name)
        if hit is None:
            if inherited is NODEFAULT:
                self.errors.append(ConfigErrorItem(leaf.env_name, leaf.expected, missing=True))
                return _FAILED
            self.rows.append(
                SettingInfo(leaf.env_name, inherited, Source.DEFAULT, None, leaf.sensitive)
            )
            return inherited
        secret = leaf.sensitive or hit.source is Source.SECRET_FILE
        try:
            value = convert(hit.raw, leaf.type, leaf.annotation)
        except InvalidValueError as exc:
            self.errors.append(
                ConfigErrorItem(
                    env_name=leaf.env_name,
                    expected=leaf.expected,
                    found=_show(hit.raw, secret),
                    source=hit.source,
                    location=hit.location,
                    detail=None if secret else exc.detail,
                )
            )
            return _FAILED
        self.rows.append(SettingInfo(leaf.env_name, value, hit.source, hit.location, secret))
        return value


class Resolution(NamedTuple):
    """Everything one pass found: the value (None if invalid), rows, errors, unknown names."""

    value: Any
    rows: list[SettingInfo]
    errors: list[ConfigErrorItem]
    unknown: list[str]


def resolve(
    schema: type[Any],
    *,
    prefix: str = "",
    env_file: str | os.PathLike[str] | None = ".env",
    secrets_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Resolution:
    """Run one full pass over *schema* and report everything, raising nothing for bad values."""
    tree = plan(schema, prefix)
    from news_config._repositories import DotEnvFile, SecretsDir  # python-decouple, lazily

    sources = _Sources(
        os.environ if environ is None else environ,
        None if env_file is None else DotEnvFile(env_file),
        None if secrets_dir is None else SecretsDir(secrets_dir),
    )
    resolver = _Resolver(sources)
    value = resolver.section(tree, None)
    unknown: list[str] = []
    if prefix:
        known = {leaf.env_name for leaf in tree.leaves()}
        unknown = sorted(n for n in sources.names() if n.startswith(prefix) and n not in known)
    return Resolution(None if value is _FAILED else value, resolver.rows, resolver.errors, unknown)


def load(
    schema: type[T],
    *,
    prefix: str = "",
    env_file: str | os.PathLike[str] | None = ".env",
    secrets_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> T:
    """Build *schema* (any `msgspec.Struct` tree) from the environment, secret files and ``.env``.

    Precedence, highest first: the process environment (or *environ*), files in *secrets_dir*,
    the *env_file*, the Struct's defaults. Variable names are *prefix* plus the field name
    upper-cased; nested Structs add ``__`` (``NEWSROOM_KAFKA__BOOTSTRAP_SERVERS``). Variables with
    the prefix that the schema does not know are ignored.

    Args:
        schema: The settings Struct class to fill.
        prefix: Put before every variable name, used as given (``"NEWSROOM_"``).
        env_file: A ``.env`` file; a missing file gives no values, None skips it.
        secrets_dir: A directory of files named after variables (``/run/secrets``); a missing
            directory gives no values, None (the default) skips it.
        environ: The environment to read; None means ``os.environ``.

    Returns:
        The filled, validated Struct.

    Raises:
        ConfigError: Listing every invalid or missing variable at once.
        SchemaError: *schema* is not a Struct or has a field type that cannot be loaded.
        SourceError: A ``.env`` or secret file exists but cannot be read.
    """
    result = resolve(
        schema, prefix=prefix, env_file=env_file, secrets_dir=secrets_dir, environ=environ
    )
    if result.errors:
        raise ConfigError(result.errors, schema_name=schema.__qualname__)
    loaded: T = result.value
    return loaded


def explain(
    schema: type[msgspec.Struct],
    *,
    prefix: str = "",
    env_file: str | os.PathLike[str] | None = ".env",
    secrets_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[SettingInfo]:
    """Return where each setting of *schema* comes from: one `SettingInfo` per variable.

    Takes the same arguments as `load` and applies the same rules; the CLI's table is built
    from it.

    Raises:
        ConfigError: Listing every invalid or missing variable at once.
        SchemaError: *schema* is not a Struct or has a field type that cannot be loaded.
        SourceError: A ``.env`` or secret file exists but cannot be read.
    """
    result = resolve(
        schema, prefix=prefix, env_file=env_file, secrets_dir=secrets_dir, environ=environ
    )
    if result.errors:
        raise ConfigError(result.errors, schema_name=schema.__qualname__)
    return result.rows
