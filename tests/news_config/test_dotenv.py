r"""The .env dialect is python-dotenv's: its parser's test vectors, as a table of our own.

Each row is a .env text and what it sets, in order: ``(key, value)`` for an assignment,
``(key, None)`` for a bare ``KEY`` line (python-dotenv's None value: it sets nothing), and
``ERROR`` for a statement python-dotenv rejects (it sets nothing; parsing goes on at the next
line). Blank lines and comments set nothing and are left out. The one deliberate difference
(no ``${VAR}`` expansion) is listed in docs/news-config.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from news_config import ConfigError, Secret, load
from news_config._repositories import DotEnvFile, parse_dotenv

if TYPE_CHECKING:
    from pathlib import Path

ERROR = ("<error>", None)

VECTORS: list[tuple[str, list[tuple[str, str | None]]]] = [
    ("", []),
    ("a=b", [("a", "b")]),
    ("'a'=b", [("a", "b")]),
    ("[=b", [("[", "b")]),
    (" a = b ", [("a", "b")]),
    ("export a=b", [("a", "b")]),
    (" export 'a'=b", [("a", "b")]),
    ("# a=b", []),
    ("a=b#c", [("a", "b#c")]),
    ("a=b #c", [("a", "b")]),
    ("a= #c", [("a", "")]),
    ("a=  # comment", [("a", "")]),
    ("a=#b", [("a", "#b")]),
    ("a=b\t#c", [("a", "b")]),
    ("a=b c", [("a", "b c")]),
    ("a=b\tc", [("a", "b\tc")]),
    ("a=b  c", [("a", "b  c")]),
    ("a=b\u00a0 c", [("a", "b\u00a0 c")]),
    ("a=b c ", [("a", "b c")]),
    ("a='b c '", [("a", "b c ")]),
    ('a="b c "', [("a", "b c ")]),
    ("export export_a=1", [("export_a", "1")]),
    ("export port=8000", [("port", "8000")]),
    ('a="b\nc"', [("a", "b\nc")]),
    ("a='b\nc'", [("a", "b\nc")]),
    ('a="b\\nc"', [("a", "b\nc")]),
    ("a='b\\nc'", [("a", "b\\nc")]),
    ('a="b\\"c"', [("a", 'b"c')]),
    ("a='b\\'c'", [("a", "b'c")]),
    ("a=à", [("a", "à")]),
    ('a="à"', [("a", "à")]),
    ("no_value_var", [("no_value_var", None)]),
    ("a: b", [ERROR]),
    ("a=b\nc=d", [("a", "b"), ("c", "d")]),
    ("a=b\rc=d", [("a", "b"), ("c", "d")]),
    ("a=b\r\nc=d", [("a", "b"), ("c", "d")]),
    ("a=\nb=c", [("a", ""), ("b", "c")]),
    ("\n\n", []),
    ("a=b\n\n", [("a", "b")]),
    ("a=b\n\nc=d", [("a", "b"), ("c", "d")]),
    ('a="\nb=c', [ERROR, ("b", "c")]),
    ('# comment\na="b\nc"\nd=e\n', [("a", "b\nc"), ("d", "e")]),
    ("a=b\n# comment 1", [("a", "b")]),
    ("# comment 1\n# comment 2", []),
    ('uglyKey[%$="S3cr3t_P4ssw#rD" #\na=b', [("uglyKey[%$", "S3cr3t_P4ssw#rD"), ("a", "b")]),
    ("\ufeffa=b", [("a", "b")]),
    ("\ufeffa=b\nc=d", [("a", "b"), ("c", "d")]),
    # beyond python-dotenv's table, the same rules:
    ('a="b"c', [ERROR]),
    ("a='b'  # note", [("a", "b")]),
    ('a="\\a\\b\\f\\v\\t\\r\\\\\\\'"', [("a", "\a\b\f\v\t\r\\'")]),
    ('a="C:\\path"', [("a", "C:\\path")]),
    ("export # comment", []),
]

PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----"
)


def _sets(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for entry in parse_dotenv(text):
        if entry.error:
            out.append(ERROR)
        elif entry.key is not None:
            out.append((entry.key, entry.value))
    return out


class TestPythonDotenvVectors:
    @pytest.mark.parametrize(("text", "expected"), VECTORS, ids=[repr(t) for t, _ in VECTORS])
    def test_reads_as_python_dotenv_does(self, text: str, expected: list[tuple[str, str]]) -> None:
        """Each vector gives python-dotenv's keys and values, and rejects what it rejects."""
        assert _sets(text) == expected

    def test_line_numbers_point_at_the_key(self) -> None:
        """Entries carry the line their key is on, counting every kind of line end."""
        entries = [e for e in parse_dotenv('\n\na=1\r\nb="x\ny"\rc=3\n') if e.key]
        assert [(e.key, e.line) for e in entries] == [("a", 3), ("b", 4), ("c", 6)]


class PemSettings(msgspec.Struct, frozen=True, kw_only=True):
    tls_key: Secret
    name: str = "svc"


class TestMultiLineValues:
    def test_pem_key_in_double_quotes(self, tmp_path: Path) -> None:
        """A PEM key spanning lines in double quotes loads whole, and the next line still counts."""
        env_file = tmp_path / ".env"
        env_file.write_text(f'APP_TLS_KEY="{PEM}"\nAPP_NAME=after\n', "utf-8")
        settings = load(PemSettings, prefix="APP_", environ={}, env_file=env_file)
        assert settings.tls_key.reveal() == PEM
        assert settings.name == "after"

    def test_pem_key_in_single_quotes_with_crlf(self, tmp_path: Path) -> None:
        """Single quotes work the same, and Windows line ends inside the value are kept."""
        env_file = tmp_path / ".env"
        pem = PEM.replace("\n", "\r\n")
        env_file.write_bytes(f"APP_TLS_KEY='{pem}'\r\nAPP_NAME=x\r\n".encode())
        settings = load(PemSettings, prefix="APP_", environ={}, env_file=env_file)
        assert settings.tls_key.reveal() == pem

    def test_value_line_is_where_the_key_is(self, tmp_path: Path) -> None:
        """After a multi-line value, errors still name the right line of the file."""

        class Port(msgspec.Struct, frozen=True, kw_only=True):
            tls_key: str = ""
            port: int = 80

        env_file = tmp_path / ".env"
        env_file.write_text(f'APP_TLS_KEY="{PEM}"\nAPP_PORT=eighty\n', "utf-8")
        with pytest.raises(ConfigError) as info:
            load(Port, prefix="APP_", environ={}, env_file=env_file)
        (item,) = info.value.errors
        assert item.location == f"{env_file}:4"


class TestUnparsableLines:
    def test_reported_and_skipped(self, tmp_path: Path) -> None:
        """A broken statement is listed in DotEnvFile.errors by line and sets nothing."""
        env_file = tmp_path / ".env"
        env_file.write_text('A=1\nB: 2\nC="open\nD=4\n', "utf-8")
        parsed = DotEnvFile(env_file)
        assert parsed.data == {"A": "1", "D": "4"}
        assert parsed.errors == [2, 3]

    def test_warned_by_load(self, tmp_path: Path, config_log: Any) -> None:
        """load() warns about each unparsable line of the .env file, naming file and line."""

        class One(msgspec.Struct, frozen=True, kw_only=True):
            a: int = 0

        env_file = tmp_path / ".env"
        env_file.write_text("APP_A=1\nAPP_B: 2\n", "utf-8")
        assert load(One, prefix="APP_", environ={}, env_file=env_file).a == 1
        assert config_log.messages == [
            f"{env_file}:2 cannot be parsed as NAME=value; the line is ignored"
        ]
