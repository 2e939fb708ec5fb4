"""Writing values back as variable strings: the CLI's value column and the ``.env`` template."""

from __future__ import annotations

import base64
import datetime as dt
import enum
import re
from typing import Any, NamedTuple

import msgspec

from news_config._schema import NODEFAULT, Leaf, Section, plan
from news_config._secret import MASK, is_secret_type

__all__ = ["SettingSpec", "describe", "dotenv_quote", "env_example", "to_env_string"]

_NEEDS_QUOTES = r"^\s|\s$|\s#|[\n\r]|^[\"']"


def _is_scalar(value: Any) -> bool:
    import decimal
    import uuid
    from pathlib import PurePath

    scalars = (str, int, float, decimal.Decimal, enum.Enum, dt.date, dt.time, PurePath, uuid.UUID)
    return isinstance(value, scalars)


def _enc_hook(obj: Any) -> Any:
    return str(obj)  # secrets give their mask, paths their text


def _format_timedelta(value: dt.timedelta) -> str:
    micros = (value.days * 86_400 + value.seconds) * 10**6 + value.microseconds
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), 10**6)
    return f"{sign}{whole}" + (f".{frac:06d}".rstrip("0") if frac else "")


def _simple_item(text: str) -> bool:
    return bool(text) and "," not in text and text == text.strip() and not text.startswith("[")


def to_env_string(value: Any) -> str:  # noqa: PLR0911, PLR0912 - one branch per kind of value
    """Write *value* the way news-config reads it back from a variable; secrets give the mask."""
    if value is None:
        return ""
    if is_secret_type(type(value)):
        return MASK
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return to_env_string(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _format_timedelta(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if isinstance(value, set | frozenset):
            items.sort(key=to_env_string)
        if all(_is_scalar(item) and not isinstance(item, bool) for item in items) or all(
            isinstance(item, bool) for item in items
        ):
            texts = [to_env_string(item) for item in items]
            if all(_simple_item(text) for text in texts):
                return ",".join(texts)
        return msgspec.json.encode(items, enc_hook=_enc_hook).decode()
    if isinstance(value, dict | msgspec.Struct):
        return msgspec.json.encode(value, enc_hook=_enc_hook).decode()
    return str(value)


def dotenv_quote(text: str) -> str:
    """Return *text* as a ``.env`` value that reads back as *text* (double-quoted when needed)."""
    if not re.search(_NEEDS_QUOTES, text):
        return text
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def env_example(schema: type[msgspec.Struct], *, prefix: str = "") -> str:
    """Return a commented ``.env`` template for *schema*: every variable, its type and default.

    Each variable gets its description (from ``Annotated[..., msgspec.Meta(description=...)]``),
    its expected form and its default. Variables with a default are commented out; required
    ones are left uncommented with an empty value and marked ``required``.

    Raises:
        SchemaError: *schema* is not a Struct or has a field type that cannot be loaded.
    """
    tree = plan(schema, prefix)
    lines = [
        f"# Settings for {schema.__qualname__}, written by news-config.",
        "# Precedence: process environment > secret files > this file > defaults.",
        "# Variables left commented out keep their default; required ones must be set.",
    ]
    _section(tree, NODEFAULT, lines, switched_off=False)
    return "\n".join(lines) + "\n"


class SettingSpec(NamedTuple):
    """One variable a schema reads, as `describe` reports it (for docs and reviews).

    Attributes:
        env_name: The full variable name (``NEWSROOM_HTTP__PORT``).
        expected: What a valid value looks like, in words (``an integer >= 1 and <= 65535``).
        default: The default as an env string; None when required or when it is a secret.
        description: The field's ``msgspec.Meta(description=...)``, if any.
        required: True when the variable has no default (inside an optional section: required
            only once that section is switched on).
        secret: True for secret types, whose defaults are never shown.
    """

    env_name: str
    expected: str
    default: str | None
    description: str | None
    required: bool
    secret: bool


def describe(schema: type[msgspec.Struct], *, prefix: str = "") -> list[SettingSpec]:
    """Return every variable *schema* reads under *prefix*, in schema order.

    The same walk as `env_example`, as data: settings tables in documentation are generated
    from it, so they cannot drift from the Structs.

    Raises:
        SchemaError: *schema* is not a Struct or has a field type that cannot be loaded.
    """
    out: list[SettingSpec] = []

    def walk(section: Section, base: Any) -> None:
        for child in section.children:
            if base not in (NODEFAULT, None):
                inherited = getattr(base, child.name)
            else:
                inherited = child.default()
            if isinstance(child, Section):
                walk(child, inherited if isinstance(inherited, child.cls) else NODEFAULT)
                continue
            required = inherited is NODEFAULT
            if required or (child.sensitive and inherited is not None):
                default = None
            else:
                default = "" if inherited is None else to_env_string(inherited)
            out.append(
                SettingSpec(
                    env_name=child.env_name,
                    expected=child.expected,
                    default=default,
                    description=child.description,
                    required=required,
                    secret=child.sensitive,
                )
            )

    walk(plan(schema, prefix), NODEFAULT)
    return out


def _first_line(doc: str | None) -> str | None:
    if not doc:
        return None
    stripped = doc.strip().splitlines()
    return stripped[0].strip() if stripped else None


def _section(section: Section, base: Any, lines: list[str], *, switched_off: bool) -> None:
    for child in section.children:
        inherited = getattr(base, child.name) if base not in (NODEFAULT, None) else child.default()
        if isinstance(child, Section):
            lines.append("")
            about = child.description or _first_line(child.cls.__doc__)
            title = f"# ==== {child.env_prefix}* ({child.cls.__qualname__})"
            lines.append(f"{title}: {about}" if about else title)
            off = switched_off or (child.optional and not isinstance(inherited, child.cls))
            if off and not switched_off:
                lines.append("# Optional section: setting any of its variables turns it on.")
            inner = inherited if isinstance(inherited, child.cls) else NODEFAULT
            _section(child, inner, lines, switched_off=off)
        else:
            _leaf(child, inherited, lines, switched_off=switched_off)


def _leaf(leaf: Leaf, default: Any, lines: list[str], *, switched_off: bool) -> None:
    lines.append("")
    if leaf.description:
        lines.extend(f"# {line}".rstrip() for line in leaf.description.splitlines())
    lines.append(f"# type: {leaf.expected}")
    if default is NODEFAULT and switched_off:  # setting it would switch its section on
        lines.append("# required when this section is on")
        lines.append(f"# {leaf.env_name}=")
    elif default is NODEFAULT:
        lines.append("# required")
        lines.append(f"{leaf.env_name}=")
    elif leaf.sensitive and default is not None:
        lines.append("# default: a secret (not shown)")
        lines.append(f"# {leaf.env_name}=")
    elif default is None:
        lines.append("# default: none (leave unset)")
        lines.append(f"# {leaf.env_name}=")
    else:
        text = to_env_string(default)
        lines.append(f"# default: {text}" if text else "# default: empty")
        lines.append(f"# {leaf.env_name}={dotenv_quote(text)}")
