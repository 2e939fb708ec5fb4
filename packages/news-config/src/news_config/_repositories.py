"""The ``.env`` file and the secrets directory: python-decouple repositories with its traps fixed.

The classes here subclass python-decouple's ``RepositoryEnv`` and ``RepositorySecret`` (so they also
plug into ``decouple.Config``), but replace their readers, because python-decouple 3.8's have these
traps (each verified, each covered by a test):

1. ``B=x # c`` gives ``'x # c'``: inline comments are kept.
   Here a ``#`` preceded by whitespace starts a comment in an unquoted value.
2. ``export A=1`` gives a key named ``'export A'``. Here the ``export`` prefix is accepted.
3. ``A="x" # c`` is not unquoted (the value does not *end* with the quote), and a quoted value
   cannot contain its own quote. Here quotes are parsed properly (see `parse_dotenv_value`).
4. A UTF-8 byte order mark is glued to the first key. Here it is dropped.
5. ``key in repository`` is True for any name in ``os.environ`` even when the file lacks it, and
   then ``repository[key]`` raises. Here membership means "in this file".
6. ``RepositorySecret`` keeps the trailing newline of ``echo pw > file``, reads every entry of the
   directory, and crashes with ``IsADirectoryError`` on a Kubernetes secret volume (its ``..data``
   entry is a directory). Here files are read on demand, exactly one trailing newline is
   stripped, and directories and dot-entries are skipped.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from decouple import RepositoryEnv, RepositorySecret

from news_config._errors import SourceError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["DotEnvFile", "SecretsDir", "parse_dotenv_line", "parse_dotenv_value"]

_EXPORT = re.compile(r"export\s+")
_COMMENT = re.compile(r"\s#")
_TAIL = re.compile(r"\s*(?:#.*)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def parse_dotenv_value(rest: str) -> str:
    r"""Return the value of a ``.env`` entry from the text after its ``=``.

    Unquoted values are stripped and lose a ``#`` comment that follows whitespace (``x # c`` is
    ``x``; ``http://h/#frag`` keeps its ``#``). Single-quoted values are literal. Double-quoted
    values understand ``\"``, ``\\``, ``\n``, ``\t`` and ``\r``; any other backslash is kept
    as written. A quoted value may be followed by whitespace and a comment. A value whose quote is
    never closed, or that has text after its closing quote, is taken literally as unquoted.
    """
    value = rest.lstrip()
    if value[:1] in {'"', "'"}:
        quoted = _parse_quoted(value)
        if quoted is not None:
            return quoted
    match = _COMMENT.search(rest)
    if match is not None:
        rest = rest[: match.start()]
    return rest.strip()


def _parse_quoted(value: str) -> str | None:
    quote = value[0]
    out: list[str] = []
    index = 1
    while index < len(value):
        char = value[index]
        if char == quote:
            if _TAIL.fullmatch(value, index + 1) is None:
                return None
            return "".join(out)
        if char == "\\" and quote == '"' and index + 1 < len(value):
            nxt = value[index + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                index += 2
                continue
        out.append(char)
        index += 1
    return None


def parse_dotenv_line(line: str) -> tuple[str, str] | None:
    """Return ``(key, value)`` for one ``.env`` line, or None for blanks, comments and junk."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or "=" not in stripped:
        return None
    key, _, rest = stripped.partition("=")
    key = key.strip()
    export = _EXPORT.match(key)
    if export is not None:
        key = key[export.end() :]
    if not key:
        return None
    return key, parse_dotenv_value(rest)


class DotEnvFile(RepositoryEnv):  # type: ignore[misc]  # decouple ships no type hints
    """A ``.env`` file read with the dialect described in this module; a missing file is empty.

    Attributes:
        path: The file's path as given.
        data: Variable name to value; the last assignment of a name wins.
        lines: Variable name to the line number of that last assignment.
    """

    def __init__(self, source: str | os.PathLike[str], encoding: str = "utf-8") -> None:
        self.path = os.fspath(source)
        self.data: dict[str, str] = {}
        self.lines: dict[str, int] = {}
        # utf-8-sig drops a byte order mark; any other encoding is used as asked.
        codec = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
        try:
            with open(self.path, encoding=codec) as handle:
                for number, line in enumerate(handle, start=1):
                    entry = parse_dotenv_line(line)
                    if entry is not None:
                        self.data[entry[0]] = entry[1]
                        self.lines[entry[0]] = number
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read the .env file {self.path!r}: {exc}") from exc

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
