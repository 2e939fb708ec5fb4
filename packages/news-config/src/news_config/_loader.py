"""`load` and `explain`: fill a Struct tree from the environment, secret files and a ``.env`` file.

Every field is converted on its own, every failure is collected, and only then is the Struct built,
so one `ConfigError` names every bad or missing variable (``msgspec.convert`` would stop at the
first). The Structs' own checks (``__post_init__``) run in the same pass and are reported in the
same error, by the variables they name. Prefixed variables that name no setting (typos) are
warned about, or with ``strict`` reported in the error, each with the closest real name.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

import msgspec

from news_config._convert import FALSE_WORDS, TRUE_WORDS, InvalidValueError, convert
from news_config._errors import ConfigError, ConfigErrorItem, Source
from news_config._schema import NODEFAULT, Leaf, Section, plan

if TYPE_CHECKING:
    from collections.abc import Mapping

    from news_config._repositories import DotEnvFile, SecretsDir

__all__ = ["STRICT_ENV", "SettingInfo", "explain", "load", "resolve"]

T = TypeVar("T", bound=msgspec.Struct)

STRICT_ENV: Final = "NEWS_CONFIG_STRICT"
"""The environment variable that turns ``strict`` on for every `load` that does not pass it."""

_FAILED: Any = object()
_SHOWN_CHARS = 80
_BARE_SECRET_CHARS = 4
_log = logging.getLogger("news_config")


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

    def origin(self, name: str) -> tuple[Source, str | None]:
        """Where a name is set (the highest-precedence place), without reading its value."""
        if name in self.environ:
            return Source.ENV, None
        if self.secrets is not None:
            path = self.secrets.find(name)
            if path is not None:
                return Source.SECRET_FILE, path
        if self.dotenv is not None and name in self.dotenv:
            return Source.DOTENV, f"{self.dotenv.path}:{self.dotenv.lines[name]}"
        return Source.ENV, None


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
            self.errors.extend(self._check_failed(section, exc))
            return _FAILED

    def _redacted(self, section: Section, detail: str) -> str:
        """*detail* without the value of any secret of *section* (a check may quote its value)."""
        for leaf in section.leaves():
            hit = self.sources.get(leaf.env_name)
            if hit is None or not (leaf.sensitive or hit.source is Source.SECRET_FILE):
                continue
            raw = hit.raw
            if not raw:
                continue
            for quoted in (repr(raw), f"'{raw}'", f'"{raw}"'):
                detail = detail.replace(quoted, "'<secret>'")
            if len(raw) >= _BARE_SECRET_CHARS:  # shorter ones would mangle ordinary words
                detail = detail.replace(raw, "<secret>")
        return detail

    def _check_failed(self, section: Section, exc: Exception) -> list[ConfigErrorItem]:
        """Items for a Struct's own check that failed: one per variable its message names.

        The check's message is the detail, with the value of every secret of the section (a
        secret type, or read from a secret file) replaced by ``<secret>``.
        """
        detail = self._redacted(section, str(exc) or type(exc).__name__)
        expected = f"settings that {section.cls.__qualname__} accepts"
        items = []
        for child in _blamed(section, exc):
            if isinstance(child, Section):
                items.append(ConfigErrorItem(f"{child.env_prefix}*", expected, detail=detail))
                continue
            hit = self.sources.get(child.env_name)
            secret = child.sensitive or (hit is not None and hit.source is Source.SECRET_FILE)
            items.append(
                ConfigErrorItem(
                    env_name=child.env_name,
                    expected=child.expected,
                    found=None if hit is None else _show(hit.raw, secret),
                    source=None if hit is None else hit.source,
                    location=None if hit is None else hit.location,
                    detail=detail,
                )
            )
        return items or [ConfigErrorItem(f"{section.env_prefix}*", expected, detail=detail)]

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


def _blamed(section: Section, exc: Exception) -> list[Leaf | Section]:
    """The fields of *section* that a failed check is about.

    An exception may say so itself with a ``field`` (str) or ``fields`` (names) attribute;
    otherwise each field whose name (or encoded name) appears as a word in its message counts.
    """
    by_name: dict[str, Leaf | Section] = {}
    for child in section.children:
        by_name[child.name] = child
        if child.info is not None:
            by_name.setdefault(child.info.encode_name, child)
    named = getattr(exc, "fields", None)
    if named is None and isinstance(getattr(exc, "field", None), str):
        named = (exc.field,)  # type: ignore[attr-defined]
    if isinstance(named, tuple | list | set | frozenset):
        return [by_name[n] for n in named if isinstance(n, str) and n in by_name]
    text = str(exc)
    seen: list[Leaf | Section] = []
    for name, child in by_name.items():
        word = rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])"
        if child not in seen and re.search(word, text):
            seen.append(child)
    return seen


def _suggest(name: str, known: list[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown(tree: Section, prefix: str, sources: _Sources) -> list[ConfigErrorItem]:
    """Items for every prefixed name that is set but names no setting, and for broken lines."""
    items: list[ConfigErrorItem] = []
    if prefix:
        known = [leaf.env_name for leaf in tree.leaves()]
        known_set = set(known)
        for name in sorted(sources.names()):
            if name.startswith(prefix) and name not in known_set and name != STRICT_ENV:
                source, location = sources.origin(name)
                items.append(
                    ConfigErrorItem(
                        env_name=name,
                        expected="the name of a setting",
                        source=source,
                        location=location,
                        unknown=True,
                        suggestion=_suggest(name, known),
                    )
                )
    if sources.dotenv is not None:
        for line in sources.dotenv.errors:
            where = f"{sources.dotenv.path}:{line}"
            items.append(
                ConfigErrorItem(
                    env_name=where,
                    expected="a NAME=value statement",
                    source=Source.DOTENV,
                    location=where,
                    unknown=True,
                )
            )
    return items


class Resolution(NamedTuple):
    """Everything one pass found: the value (None if invalid), rows, errors, unknown names.

    ``unknown`` holds one item per prefixed variable that names no setting and per ``.env``
    statement that cannot be parsed.
    """

    value: Any
    rows: list[SettingInfo]
    errors: list[ConfigErrorItem]
    unknown: list[ConfigErrorItem]


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
    unknown = _unknown(tree, prefix, sources)
    return Resolution(None if value is _FAILED else value, resolver.rows, resolver.errors, unknown)


def strict_from_env(environ: Mapping[str, str]) -> bool:
    """Read `STRICT_ENV` (``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``/unset).

    Raises:
        ConfigError: The variable holds anything else.
    """
    raw = environ.get(STRICT_ENV, "")
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if not word or word in FALSE_WORDS:
        return False
    expected = "a boolean (true/false, 1/0, yes/no, on/off)"
    raise ConfigError([ConfigErrorItem(STRICT_ENV, expected, repr(raw), Source.ENV)])


def load(
    schema: type[T],
    *,
    prefix: str = "",
    env_file: str | os.PathLike[str] | None = ".env",
    secrets_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    strict: bool | None = None,
) -> T:
    """Build *schema* (any `msgspec.Struct` tree) from the environment, secret files and ``.env``.

    Precedence, highest first: the process environment (or *environ*), files in *secrets_dir*,
    the *env_file*, the Struct's defaults. Variable names are *prefix* plus the field name
    upper-cased; nested Structs add ``__`` (``NEWSROOM_KAFKA__BOOTSTRAP_SERVERS``).

    The Structs' own checks (``__post_init__`` raising ``ValueError``/``TypeError``) run here,
    and their failures join the one `ConfigError`, named by the variables their message names.
    A variable that carries the (non-empty) prefix but names no setting, in any of the three
    sources, is a typo: it is logged as a warning on the ``news_config`` logger
    ("NEWSROOM_HTTP__PROT is not a setting; did you mean NEWSROOM_HTTP__PORT?"), as is each
    ``.env`` line that cannot be parsed; with *strict* they are errors in the `ConfigError`.

    Args:
        schema: The settings Struct class to fill.
        prefix: Put before every variable name, used as given (``"NEWSROOM_"``).
        env_file: A ``.env`` file; a missing file gives no values, None skips it.
        secrets_dir: A directory of files named after variables (``/run/secrets``); a missing
            directory gives no values, None (the default) skips it.
        environ: The environment to read; None means ``os.environ``.
        strict: Report unknown prefixed variables and unparsable ``.env`` lines as errors.
            None (the default) reads the environment variable ``NEWS_CONFIG_STRICT``
            (``1``/``true``/``yes``/``on``), so operators can turn it on without a code change.

    Returns:
        The filled, validated Struct.

    Raises:
        ConfigError: Listing every invalid or missing variable at once (and, strict, every
            unknown one).
        SchemaError: *schema* is not a Struct or has a field type that cannot be loaded.
        SourceError: A ``.env`` or secret file exists but cannot be read.
    """
    env = os.environ if environ is None else environ
    if strict is None:
        strict = strict_from_env(env)
    result = resolve(schema, prefix=prefix, env_file=env_file, secrets_dir=secrets_dir, environ=env)
    errors = result.errors
    if strict:
        errors = errors + result.unknown
    else:
        for item in result.unknown:
            _log.warning("%s", item.message)
    if errors:
        raise ConfigError(errors, schema_name=schema.__qualname__)
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

    Takes the same arguments as `load` and applies the same rules, except that unknown
    variables are neither warned about nor errors (`load` and ``--check`` report them); the
    CLI's table is built from it.

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
