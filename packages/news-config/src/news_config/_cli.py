"""``python -m news_config MODULE:Struct``: show, check or template a service's settings.

Exit codes: 0 fine, 1 the settings are invalid (or a source file is unreadable; with ``--check``,
also when a prefixed variable names no setting or a ``.env`` line cannot be parsed), 2 bad usage
(a MODULE:Struct reference that does not resolve, an unloadable schema). The table uses rich when
it is installed (``pip install 'news-config[cli]'``) and a plain aligned table otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING, Any, TextIO

import msgspec

from news_config._errors import ConfigError, SchemaError, Source, SourceError
from news_config._loader import SettingInfo, resolve
from news_config._render import dotenv_quote, env_example, to_env_string
from news_config._secret import MASK, is_secret_type

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["BadReferenceError", "import_schema", "main", "render_rows"]

_HEADERS = ("VARIABLE", "VALUE", "SOURCE")
RICH_HINT = "(for a nicer table: pip install 'news-config[cli]')"


class BadReferenceError(Exception):
    """A ``MODULE:Struct`` reference that does not lead to a Struct class."""


def import_schema(reference: str) -> type[msgspec.Struct]:
    """Import the Struct class named by ``package.module:Class`` (``Class`` may be dotted)."""
    module_name, sep, attr_path = reference.partition(":")
    if not sep or not module_name or not attr_path:
        raise BadReferenceError(
            f"{reference!r} is not a MODULE:Struct reference (e.g. myservice.settings:Settings)"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise BadReferenceError(
                f"cannot import module {module_name!r}: no such module on sys.path "
                "(run from the project directory or set PYTHONPATH)"
            ) from exc
        raise BadReferenceError(f"importing {module_name!r} failed: {exc}") from exc
    except Exception as exc:  # the module's own code failed; say so instead of a traceback
        raise BadReferenceError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    target: Any = module
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise BadReferenceError(f"{module_name!r} has no attribute {attr_path!r}") from None
    if not (isinstance(target, type) and issubclass(target, msgspec.Struct)):
        raise BadReferenceError(f"{reference} is not a msgspec.Struct class (got {target!r})")
    return target


def _value_text(row: SettingInfo) -> str:
    if row.secret or is_secret_type(type(row.value)):
        return MASK
    if row.value is None:
        return "(none)"
    text = to_env_string(row.value)
    return dotenv_quote(text) if text else '""'  # written as it would be in a .env file


def render_rows(rows: Sequence[SettingInfo]) -> list[tuple[str, str, str]]:
    """Return the table cells (variable, value with secrets masked, source) for *rows*."""
    return [(row.env_name, _value_text(row), row.source.where(row.location)) for row in rows]


def _plain_table(cells: list[tuple[str, str, str]], out: TextIO) -> None:
    widths = [max(len(line[i]) for line in [_HEADERS, *cells]) for i in range(3)]
    for line in [_HEADERS, tuple("-" * w for w in widths), *cells]:
        out.write("  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip())
        out.write("\n")


def _print_table(cells: list[tuple[str, str, str]], title: str) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ModuleNotFoundError:
        _plain_table(cells, sys.stdout)
        print(RICH_HINT, file=sys.stderr)
        return
    table = Table(title=title, title_justify="left")
    table.add_column("Variable", style="cyan", no_wrap=True)
    table.add_column("Value")
    table.add_column("Source", style="dim")
    for cell in cells:
        table.add_row(*(Text(text) for text in cell))  # Text: values are not rich markup
    width = None
    if not sys.stdout.isatty():  # piped: never wrap, so every line stays greppable
        width = max(80, sum(max(len(c[i]) for c in [_HEADERS, *cells]) for i in range(3)) + 12)
    Console(width=width).print(table)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m news_config",
        description="Show where each setting comes from, check them, or write a .env template.",
    )
    parser.add_argument("target", metavar="MODULE:Struct", help="e.g. myservice.settings:Settings")
    parser.add_argument("--prefix", default="", help="variable name prefix, e.g. NEWSROOM_")
    files = parser.add_mutually_exclusive_group()
    files.add_argument("--env-file", default=".env", help=".env file to read (default: .env)")
    files.add_argument(
        "--no-env-file", dest="env_file", action="store_const", const=None, help="read no .env"
    )
    parser.add_argument("--secrets-dir", default=None, help="directory of secret files")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="exit 1 listing every problem (unknown variables included), 0 if all is valid",
    )
    mode.add_argument("--env-example", action="store_true", help="print a commented .env template")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 1 invalid settings, 2 usage error)."""
    args = _parser().parse_args(argv)
    try:
        schema = import_schema(args.target)
        if args.env_example:
            sys.stdout.write(env_example(schema, prefix=args.prefix))
            return 0
        result = resolve(
            schema, prefix=args.prefix, env_file=args.env_file, secrets_dir=args.secrets_dir
        )
    except (BadReferenceError, SchemaError) as exc:
        print(f"news-config: error: {exc}", file=sys.stderr)
        return 2
    except SourceError as exc:
        print(f"news-config: error: {exc}", file=sys.stderr)
        return 1
    errors = result.errors
    if args.check:
        errors = errors + result.unknown
    else:
        for item in result.unknown:
            print(f"warning: {item.message}", file=sys.stderr)
    if errors:
        message = str(ConfigError(errors, schema_name=schema.__qualname__))
        print(message, file=sys.stdout if args.check else sys.stderr)
        return 1
    if args.check:
        given = sum(row.source is not Source.DEFAULT for row in result.rows)
        print(f"ok: {args.target} is valid ({len(result.rows)} settings, {given} set explicitly)")
        return 0
    _print_table(render_rows(result.rows), title=f"{args.target} (prefix {args.prefix!r})")
    return 0
