"""The three sources (environment, secret files, .env) and their precedence."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import msgspec
import pytest

from news_config import ConfigError, Secret, Source, SourceError, explain, load

if TYPE_CHECKING:
    from pathlib import Path


class Four(msgspec.Struct, frozen=True, kw_only=True):
    a: str = "default-a"
    b: str = "default-b"
    c: str = "default-c"
    d: str = "default-d"


class One(msgspec.Struct, frozen=True, kw_only=True):
    value: str = "default"


class Port(msgspec.Struct, frozen=True, kw_only=True):
    port: int = 80


def write(path: Path, text: str) -> Path:
    """Write *text* as UTF-8 bytes exactly (no newline translation) and return *path*."""
    path.write_bytes(text.encode())
    return path


def dotenv_value(tmp_path: Path, line: str) -> str:
    """Load One.value from a .env file holding *line* (plus a decoy) and return it."""
    env_file = write(tmp_path / ".env", f"OTHER=1\n{line}\n")
    return load(One, env_file=env_file, environ={}).value


class TestPrecedence:
    @pytest.fixture
    def sources(self, tmp_path: Path) -> dict[str, object]:
        """Every variable A-D set in the sources ranked at or below its letter."""
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        for name in ("P_A", "P_B"):
            write(secrets / name, f"secret-{name[-1].lower()}\n")
        env_file = write(tmp_path / ".env", "P_A=dotenv-a\nP_B=dotenv-b\nP_C=dotenv-c\n")
        return {
            "prefix": "P_",
            "environ": {"P_A": "env-a"},
            "secrets_dir": secrets,
            "env_file": env_file,
        }

    def test_each_source_in_its_rank(self, sources: dict[str, object]) -> None:
        """Env > secret file > .env > default, each field resolved from its highest source."""
        loaded = load(Four, **sources)  # type: ignore[arg-type]
        assert (loaded.a, loaded.b, loaded.c, loaded.d) == (
            "env-a",
            "secret-b",
            "dotenv-c",
            "default-d",
        )

    def test_explain_names_the_sources(self, sources: dict[str, object], tmp_path: Path) -> None:
        """explain() reports which source won for each variable, with file locations."""
        rows = {row.env_name: row for row in explain(Four, **sources)}  # type: ignore[arg-type]
        assert [rows[n].source for n in ("P_A", "P_B", "P_C", "P_D")] == [
            Source.ENV,
            Source.SECRET_FILE,
            Source.DOTENV,
            Source.DEFAULT,
        ]
        assert rows["P_B"].location == str(tmp_path / "secrets" / "P_B")
        assert rows["P_C"].location == f"{tmp_path / '.env'}:3"

    def test_empty_env_value_still_wins(self, tmp_path: Path) -> None:
        """A variable set to '' in the environment overrides the .env file."""
        env_file = write(tmp_path / ".env", "VALUE=from-file\n")
        assert load(One, environ={"VALUE": ""}, env_file=env_file).value == ""

    def test_environ_none_reads_os_environ(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """environ=None (the default) reads os.environ at call time."""
        monkeypatch.setenv("NCTEST_VALUE", "from-os")
        assert load(One, prefix="NCTEST_", env_file=None).value == "from-os"

    def test_given_environ_replaces_os_environ(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An environ= mapping is the whole environment: os.environ is not consulted."""
        monkeypatch.setenv("NCTEST_VALUE", "from-os")
        assert load(One, prefix="NCTEST_", environ={}, env_file=None).value == "default"

    def test_os_environ_does_not_leak_into_dotenv(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A name in os.environ but not in the .env file is not taken as a .env value."""
        # python-decouple's RepositoryEnv answers `name in repo` from os.environ, then fails.
        monkeypatch.setenv("VALUE", "from-os")
        env_file = write(tmp_path / ".env", "OTHER=1\n")
        assert load(One, environ={}, env_file=env_file).value == "default"


class TestDotEnvFile:
    def test_missing_file_is_fine(self, tmp_path: Path) -> None:
        """A .env path that does not exist gives no values and no error."""
        assert load(One, environ={}, env_file=tmp_path / "absent.env").value == "default"

    def test_default_is_dotenv_in_cwd(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """By default ./.env is read; env_file=None switches it off."""
        write(tmp_path / ".env", "VALUE=from-cwd\n")
        monkeypatch.chdir(tmp_path)
        assert load(One, environ={}).value == "from-cwd"
        assert load(One, environ={}, env_file=None).value == "default"

    @pytest.mark.parametrize(
        ("line", "value"),
        [
            ("VALUE=x # comment", "x"),
            ("VALUE=x\t# tab comment", "x"),
            ("VALUE=http://host/#frag", "http://host/#frag"),
            ("VALUE=a#b", "a#b"),
            ("VALUE=#not-a-comment", "#not-a-comment"),
            ("VALUE= # only a comment", ""),
            ("VALUE=", ""),
        ],
    )
    def test_inline_comments(self, tmp_path: Path, line: str, value: str) -> None:
        """' #...' after an unquoted value is a comment; a '#' not after whitespace is kept."""
        assert dotenv_value(tmp_path, line) == value

    @pytest.mark.parametrize(
        ("line", "value"),
        [
            ("export VALUE=1", "1"),
            ("export   VALUE=1", "1"),
            ("  VALUE = spaced  ", "spaced"),
        ],
    )
    def test_export_and_spaces(self, tmp_path: Path, line: str, value: str) -> None:
        """The shell's 'export ' prefix is accepted and spaces around '=' are ignored."""
        assert dotenv_value(tmp_path, line) == value

    @pytest.mark.parametrize(
        ("line", "value"),
        [
            ('VALUE="x y"', "x y"),
            ("VALUE='x'", "x"),
            ('VALUE="  padded  "', "  padded  "),
            ('VALUE="x # not a comment"', "x # not a comment"),
            ('VALUE="v" # comment', "v"),
            ("VALUE='v'   # comment", "v"),
            ('VALUE=""', ""),
        ],
    )
    def test_quotes(self, tmp_path: Path, line: str, value: str) -> None:
        """Quotes are removed; inside them '#' and spaces are kept; a comment may follow."""
        assert dotenv_value(tmp_path, line) == value

    @pytest.mark.parametrize(
        ("line", "value"),
        [
            (r'VALUE="say \"hi\""', 'say "hi"'),
            (r'VALUE="a\nb\tc"', "a\nb\tc"),
            (r'VALUE="back\\slash"', "back\\slash"),
            (r'VALUE="C:\path"', "C:\\path"),
            (r"VALUE='a\nb'", "a\\nb"),
        ],
    )
    def test_escapes(self, tmp_path: Path, line: str, value: str) -> None:
        r"""Double quotes understand \" \\ \n \t \r; other backslashes and '...' are literal."""
        assert dotenv_value(tmp_path, line) == value

    @pytest.mark.parametrize("line", ['VALUE="unterminated', 'VALUE="a"b', "VALUE: x"])
    def test_broken_statements_set_nothing(self, tmp_path: Path, line: str) -> None:
        """An unclosed quote, text after the closing quote or no '=' sets nothing (as dotenv)."""
        assert dotenv_value(tmp_path, line) == "default"

    def test_comments_blanks_junk_and_duplicates(self, tmp_path: Path) -> None:
        """Comment, blank and '='-less lines are skipped; the last assignment wins."""
        text = "# VALUE=commented\n\nnot an assignment\nVALUE=first\nVALUE=last\n"
        env_file = write(tmp_path / ".env", text)
        assert load(One, environ={}, env_file=env_file).value == "last"

    def test_crlf_and_bom(self, tmp_path: Path) -> None:
        """Windows line endings and a UTF-8 byte order mark do not end up in names or values."""
        env_file = write(tmp_path / ".env", "\ufeffVALUE=crlf\r\nOTHER=2\r\n")
        assert load(One, environ={}, env_file=env_file).value == "crlf"

    def test_error_names_file_and_line(self, tmp_path: Path) -> None:
        """A bad .env value is reported with the file and line it came from."""
        env_file = write(tmp_path / "app.env", "# ports\nPORT=eighty\n")
        with pytest.raises(ConfigError) as info:
            load(Port, environ={}, env_file=env_file)
        (item,) = info.value.errors
        assert (item.source, item.location) == (Source.DOTENV, f"{env_file}:2")
        assert f"(from .env file {env_file}:2)" in str(info.value)

    def test_undecodable_file_is_a_source_error(self, tmp_path: Path) -> None:
        """A .env file that is not UTF-8 raises SourceError naming the file."""
        env_file = tmp_path / ".env"
        env_file.write_bytes(b"VALUE=\xff\xfe\n")
        with pytest.raises(SourceError, match=r"\.env"):
            load(One, environ={}, env_file=env_file)
        assert issubclass(SourceError, OSError)


class TestSecretsDir:
    @pytest.mark.parametrize(
        ("content", "value"),
        [
            ("pw\n", "pw"),
            ("pw\r\n", "pw"),
            ("pw", "pw"),
            ("pw\n\n", "pw\n"),
            ("pw \n", "pw "),
            ("  pw", "  pw"),
        ],
    )
    def test_one_trailing_newline_stripped(self, tmp_path: Path, content: str, value: str) -> None:
        r"""Exactly one trailing newline (\n or \r\n) is removed; other whitespace stays."""
        write(tmp_path / "VALUE", content)
        assert load(One, environ={}, env_file=None, secrets_dir=tmp_path).value == value

    def test_lower_case_file_name(self, tmp_path: Path) -> None:
        """A file named after the variable in lower case is accepted."""
        write(tmp_path / "p_value", "lower\n")
        loaded = load(One, prefix="P_", environ={}, env_file=None, secrets_dir=tmp_path)
        assert loaded.value == "lower"

    def test_exact_name_wins_over_lower_case(self, tmp_path: Path) -> None:
        """When both spellings exist the exact variable name is used."""
        write(tmp_path / "p_value", "lower\n")
        write(tmp_path / "P_VALUE", "exact\n")
        loaded = load(One, prefix="P_", environ={}, env_file=None, secrets_dir=tmp_path)
        assert loaded.value == "exact"

    def test_kubernetes_volume_layout(self, tmp_path: Path) -> None:
        """A Kubernetes secret volume (..data symlinks, timestamped dir) is read, not crashed on."""
        stamp = tmp_path / "..2024_05_01_12_00_00.123"
        stamp.mkdir()
        write(stamp / "VALUE", "from-k8s\n")
        os.symlink(stamp.name, tmp_path / "..data")
        os.symlink("..data/VALUE", tmp_path / "VALUE")
        assert load(One, environ={}, env_file=None, secrets_dir=tmp_path).value == "from-k8s"

    def test_directories_are_skipped(self, tmp_path: Path) -> None:
        """A sub-directory named like a variable is not a secret file."""
        (tmp_path / "VALUE").mkdir()
        assert load(One, environ={}, env_file=None, secrets_dir=tmp_path).value == "default"

    def test_missing_dir_is_fine(self, tmp_path: Path) -> None:
        """A secrets directory that does not exist gives no values."""
        loaded = load(One, environ={}, env_file=None, secrets_dir=tmp_path / "absent")
        assert loaded.value == "default"

    def test_secret_type_from_file(self, tmp_path: Path) -> None:
        """A Secret field read from a file reveals the file's content minus the newline."""

        class Db(msgspec.Struct):
            password: Secret

        write(tmp_path / "DB_PASSWORD", "hunter2\n")
        loaded = load(Db, prefix="DB_", environ={}, env_file=None, secrets_dir=tmp_path)
        assert loaded.password.reveal() == "hunter2"

    def test_values_from_files_are_never_echoed(self, tmp_path: Path) -> None:
        """A bad value read from a secret file is masked even when the field is not secret-typed."""
        write(tmp_path / "PORT", "s3cr3t-port\n")
        with pytest.raises(ConfigError) as info:
            load(Port, environ={}, env_file=None, secrets_dir=tmp_path)
        (item,) = info.value.errors
        assert item.found == "<secret, 11 chars>"
        assert (item.source, item.location) == (Source.SECRET_FILE, str(tmp_path / "PORT"))
        assert "s3cr3t" not in str(info.value)
