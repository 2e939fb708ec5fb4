r"""The ``.env`` file and the secrets directory: python-decouple repositories with its traps fixed.

The classes here subclass python-decouple's ``RepositoryEnv`` and ``RepositorySecret`` (so they also
plug into ``decouple.Config``), but replace their readers.

The ``.env`` dialect is python-dotenv's (what docker compose users, pydantic-settings and most
tooling expect), checked against python-dotenv's own parser test vectors
(tests/news_config/test_dotenv.py holds them as a table):

- ``KEY=value``, ``export KEY=value``, spaces around ``=``; a key may be single-quoted
  (``'KEY'=value``); a line without ``=`` (``KEY``) sets nothing.
- Unquoted values end at the end of the line, lose trailing whitespace and a ``#`` comment that
  follows whitespace (``x # c`` is ``x``; ``http://h/#frag`` and ``=#x`` keep their ``#``).
- Single-quoted values are literal except ``\'`` and ``\\``; double-quoted values understand
  ``\n``, ``\t``, ``\r``, ``\"``, ``\'``, ``\\``, ``\a``, ``\b``, ``\f``, ``\v`` (any other
  backslash is kept). **Quoted values may span lines** (a PEM key or certificate). A quoted value
  may be followed by whitespace and a comment.
- A line that cannot be parsed (``a: b``, a quote never closed, text after a closing quote) sets
  nothing and is reported (`DotEnvFile.errors`); the next line is read normally.
- A UTF-8 byte order mark is dropped; ``\r\n``, ``\n`` and ``\r`` all end lines.

Deliberate difference: no ``${VAR}`` expansion (python-dotenv's ``dotenv_values`` expands by
default): a value is what the file says, so a password containing ``$`` is never mangled.

python-decouple 3.8's own readers have these traps, each covered by a test: ``B=x # c`` keeps the
comment; ``export A=1`` gives a key named ``'export A'``; quotes are only stripped when the value
ends with them; a byte order mark is glued to the first key; ``key in repository`` is True for
any name in ``os.environ``; ``RepositorySecret`` keeps the trailing newline of
``echo pw > file``, reads every entry of the directory and crashes with ``IsADirectoryError`` on
a Kubernetes secret volume (its ``..data`` entry is a directory). Here secret files are read on
demand, exactly one trailing newline is stripped, and directories and dot-entries are skipped.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, NamedTuple

from decouple import RepositoryEnv, RepositorySecret

from news_config._errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["DotEnvEntry", "DotEnvFile", "SecretsDir", "parse_dotenv"]

_HSPACE = r"[^\S\r\n]*"
_LEADING = re.compile(r"\s*")
_EXPORT = re.compile(r"export[^\S\r\n]+")
_QUOTED_KEY = re.compile(r"'([^']+)'")
_BARE_KEY = re.compile(r"[^=#\s]+")
_EQUALS = re.compile(r"=" + _HSPACE)
_SINGLE = re.compile(r"'((?:\\'|[^'])*)'")
_DOUBLE = re.compile(r'"((?:\\"|[^"])*)"')
_LINE = re.compile(r"[^\r\n]*")
_SPACE = re.compile(_HSPACE)
_END = re.compile(r"(?:" + _HSPACE + r"#[^\r\n]*)?" + _HSPACE + r"(?:\r\n|\n|\r|$)")
_SKIP = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")
_NEWLINE = re.compile(r"\r\n|\n|\r")
_INLINE_COMMENT = re.compile(r"\s+#.*", re.DOTALL)
_DOUBLE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_SINGLE_ESCAPES = re.compile(r"\\[\\']")
_ESCAPED = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


class DotEnvEntry(NamedTuple):
    """One statement of a ``.env`` file.

    Attributes:
        key: The variable name, or None for a line that could not be parsed.
        value: Its value; None for a bare ``KEY`` (which sets nothing) and for errors.
        line: The line number (from 1) where the key, or the unparsable text, starts.
        error: True when the statement could not be parsed (it sets nothing).
    """

    key: str | None
    value: str | None
    line: int
    error: bool = False


class _UnparsableError(Exception):
    pass


def _unescape(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(lambda m: _ESCAPED[m.group(0)[1]], text)


class _Scanner:
    """Reads statements off the text of a ``.env`` file, one at a time."""

    def __init__(self, text: str) -> None:
        self.text = text.removeprefix("\ufeff")
        self.pos = 0
        self.line = 1
        self._counted = 0  # newlines counted up to this offset

    def _line_at(self, pos: int) -> int:
        self.line += len(_NEWLINE.findall(self.text, self._counted, pos))
        self._counted = pos
        return self.line

    def take(self, pattern: re.Pattern[str]) -> re.Match[str]:
        match = pattern.match(self.text, self.pos)
        if match is None:
            raise _UnparsableError
        self.pos = match.end()
        return match

    def _value(self, spaced: bool) -> str:
        first = self.text[self.pos : self.pos + 1]
        if first == "'":
            return _unescape(_SINGLE_ESCAPES, self.take(_SINGLE).group(1))
        if first == '"':
            return _unescape(_DOUBLE_ESCAPES, self.take(_DOUBLE).group(1))
        if first in {"", "\n", "\r"}:
            return ""
        raw = self.take(_LINE).group(0)
        if spaced and raw.startswith("#"):  # ``KEY=  # comment``: only a comment, no value
            return ""
        return _INLINE_COMMENT.sub("", raw).rstrip()

    def entries(self) -> Iterator[DotEnvEntry]:
        while True:
            self.take(_LEADING)
            if self.pos >= len(self.text):
                return
            start = self.pos
            line = self._line_at(start)
            try:
                yield self._statement(line)
            except _UnparsableError:
                self.pos = start
                self.take(_SKIP)
                yield DotEnvEntry(None, None, line, error=True)

    def _statement(self, line: int) -> DotEnvEntry:
        if self.text.startswith("#", self.pos):
            self.take(_END)  # a comment line (the END pattern eats the comment)
            return DotEnvEntry(None, None, line)
        export = _EXPORT.match(self.text, self.pos)
        if export is not None:
            self.pos = export.end()
            if self.text.startswith("#", self.pos):  # ``export # ...``: a comment, as dotenv has it
                self.take(_END)
                return DotEnvEntry(None, None, line)
        if self.text.startswith("'", self.pos):
            key = self.take(_QUOTED_KEY).group(1)
        else:
            key = self.take(_BARE_KEY).group(0)
        self.take(_SPACE)
        value: str | None = None
        if self.text.startswith("=", self.pos):
            spaced = len(self.take(_EQUALS).group(0)) > 1
            value = self._value(spaced)
        self.take(_END)
        return DotEnvEntry(key, value, line)


def parse_dotenv(text: str) -> list[DotEnvEntry]:
    """Parse the text of a ``.env`` file into its statements (see the module doc for the rules).

    Blank and comment lines give entries with ``key`` None; so do unparsable statements, with
    ``error`` True.
    """
    return list(_Scanner(text).entries())


class DotEnvFile(RepositoryEnv):  # type: ignore[misc]  # decouple ships no type hints
    """A ``.env`` file read with the dialect described in this module; a missing file is empty.

    Attributes:
        path: The file's path as given.
        data: Variable name to value; the last assignment of a name wins.
        lines: Variable name to the line number of that last assignment.
        errors: Line numbers of statements that could not be parsed (they set nothing).
    """

    def __init__(self, source: str | os.PathLike[str], encoding: str = "utf-8") -> None:
        self.path = os.fspath(source)
        self.data: dict[str, str] = {}
        self.lines: dict[str, int] = {}
        self.errors: list[int] = []
        # utf-8-sig drops a byte order mark; any other encoding is used as asked. newline=""
        # keeps \r\n and lone \r as written: the parser treats each as a line end.
        codec = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
        try:
            with open(self.path, encoding=codec, newline="") as handle:
                text = handle.read()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read the .env file {self.path!r}: {exc}") from exc
        for entry in parse_dotenv(text):
            if entry.error:
                self.errors.append(entry.line)
            elif entry.key is not None and entry.value is not None:
                self.data[entry.key] = entry.value
                self.lines[entry.key] = entry.line

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __getitem__(self, key: str) -> str:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)


class SecretsDir(RepositorySecret):  # type: ignore[misc]  # decouple ships no type hints
    """A directory of secret files named after their variable (Docker/Kubernetes mounts).

    A variable ``NEWSROOM_DB__PASSWORD`` is read from the file ``NEWSROOM_DB__PASSWORD`` or, if
    that does not exist, from ``newsroom_db__password``. A missing directory is empty.

    Attributes:
        path: The directory's path as given.
        files: File name to full path, for every regular file (dot-entries and directories skipped).
    """

    def __init__(self, source: str | os.PathLike[str]) -> None:
        self.path = os.fspath(source)
        self.files: dict[str, str] = {}
        self.data: dict[str, str] = {}
        try:
            names = sorted(os.listdir(self.path))
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise SourceError(f"cannot list the secrets directory {self.path!r}: {exc}") from exc
        for name in names:
            full = os.path.join(self.path, name)
            if not name.startswith(".") and os.path.isfile(full):
                self.files[name] = full

    def find(self, key: str) -> str | None:
        """Return the path of the file holding *key* (exact name, else lower-case), or None."""
        return self.files.get(key) or self.files.get(key.lower())

    def read(self, path: str) -> str:
        """Return the content of the secret file at *path* minus one trailing newline."""
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read the secret file {path!r}: {exc}") from exc
        if text.endswith("\r\n"):
            return text[:-2]
        if text.endswith("\n"):
            return text[:-1]
        return text

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.find(key) is not None

    def __getitem__(self, key: str) -> str:
        path = self.find(key)
        if path is None:
            raise KeyError(key)
        return self.read(path)

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)
