"""``python -m news_config``: the table, --check and --env-example, run as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from news_config import load

if TYPE_CHECKING:
    from pathlib import Path

PASSWORD = "hunter2-s3cr3t"
SCHEMA = '''
import datetime as dt
from typing import Annotated

import msgspec
import news_config


class Db(msgspec.Struct, frozen=True, kw_only=True):
    """Database connection."""

    host: str = "localhost"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535, description="PostgreSQL port.")] = 5432
    password: news_config.Secret


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(description="Service name shown in logs.")] = "ingest"
    motto: str = "  news # first  "
    tags: tuple[str, ...] = ("a", "b")
    timeout: dt.timedelta = dt.timedelta(seconds=2.5)
    markup: str = "[bold]not markup[/bold]"
    db: Db


NOT_A_STRUCT = 42
'''


class Run:
    """A helper running the CLI in a directory holding the schema module `svc`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "svc.py").write_text(SCHEMA)

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, no_rich: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m news_config *args` with *env* added (NEWSROOM_* from outside removed)."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
        paths = [str(self.root)]
        if no_rich:  # a `rich` that cannot be imported, ahead of the real one
            stub = self.root / "no_rich" / "rich"
            stub.mkdir(parents=True, exist_ok=True)
            (stub / "__init__.py").write_text(
                "raise ModuleNotFoundError(\"No module named 'rich'\", name='rich')\n"
            )
            paths.insert(0, str(self.root / "no_rich"))
        environ["PYTHONPATH"] = os.pathsep.join(paths)
        environ.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "news_config", *args],
            cwd=self.root,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """The CLI runner, with svc.py in a fresh directory."""
    return Run(tmp_path)


def table_rows(stdout: str) -> dict[str, str]:
    """Map each NEWSROOM_ variable to its whole table line."""
    rows = {}
    for line in stdout.splitlines():
        words = line.replace("│", " ").split()
        if words and words[0].startswith("NEWSROOM_"):
            rows[words[0]] = line
    return rows


class TestTable:
    def test_shows_values_and_sources(self, run: Run, tmp_path: Path) -> None:
        """Each variable is listed with its value (secrets masked) and where it came from."""
        (tmp_path / ".env").write_text("NEWSROOM_DB__HOST=db.internal # from the file\n")
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "NEWSROOM_DB__PASSWORD").write_text(PASSWORD + "\n")
        result = run(
            "svc:Settings",
            "--prefix",
            "NEWSROOM_",
            "--secrets-dir",
            str(secrets),
            env={"NEWSROOM_DB__PORT": "6543"},
        )
        assert result.returncode == 0, result.stderr
        rows = table_rows(result.stdout)
        assert "default" in rows["NEWSROOM_NAME"]
        assert "ingest" in rows["NEWSROOM_NAME"]
        assert "6543" in rows["NEWSROOM_DB__PORT"]
        assert " env" in rows["NEWSROOM_DB__PORT"]
        assert ".env file .env:1" in rows["NEWSROOM_DB__HOST"]
        assert "db.internal" in rows["NEWSROOM_DB__HOST"]
        assert "**********" in rows["NEWSROOM_DB__PASSWORD"]
        assert "secret file" in rows["NEWSROOM_DB__PASSWORD"]
        assert "[bold]not markup[/bold]" in rows["NEWSROOM_MARKUP"]
        assert PASSWORD not in result.stdout + result.stderr

    def test_plain_table_without_rich(self, run: Run) -> None:
        """Without rich an aligned plain table is printed, plus the install hint on stderr."""
        result = run(
            "svc:Settings",
            "--prefix",
            "NEWSROOM_",
            env={"NEWSROOM_DB__PASSWORD": PASSWORD},
            no_rich=True,
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["VARIABLE", "VALUE", "SOURCE"]
        value_column = lines[0].index("VALUE")
        source_column = lines[0].index("SOURCE")
        rows = table_rows(result.stdout)
        assert len(rows) == 8
        for line in rows.values():
            assert line[value_column - 2 : value_column] == "  "
            assert line[source_column - 2 : source_column] == "  "
        assert rows["NEWSROOM_DB__PASSWORD"][value_column:].startswith("**********")
        assert rows["NEWSROOM_TAGS"][value_column:].startswith("a,b ")
        assert rows["NEWSROOM_MOTTO"][value_column:].startswith('"  news # first  " ')
        assert "pip install 'news-config[cli]'" in result.stderr
        assert PASSWORD not in result.stdout + result.stderr

    def test_invalid_settings_exit_1(self, run: Run) -> None:
        """Invalid settings print the error list on stderr and exit 1."""
        result = run("svc:Settings", "--prefix", "NEWSROOM_", env={"NEWSROOM_DB__PORT": "0"})
        assert result.returncode == 1
        assert "NEWSROOM_DB__PORT: expected an integer >= 1 and <= 65535" in result.stderr
        assert "NEWSROOM_DB__PASSWORD: required but not set" in result.stderr

    def test_no_env_file(self, run: Run, tmp_path: Path) -> None:
        """--no-env-file ignores ./.env."""
        (tmp_path / ".env").write_text("NEWSROOM_DB__HOST=from-file\n")
        result = run(
            "svc:Settings",
            "--prefix",
            "NEWSROOM_",
            "--no-env-file",
            env={"NEWSROOM_DB__PASSWORD": "x"},
        )
        assert result.returncode == 0, result.stderr
        assert "from-file" not in result.stdout

    def test_unknown_variables_are_warned(self, run: Run) -> None:
        """A prefixed variable the schema lacks is warned about on stderr; the table shows."""
        result = run(
            "svc:Settings",
            "--prefix",
            "NEWSROOM_",
            env={"NEWSROOM_DB__PASSWORD": "x", "NEWSROOM_DB__PROT": "1"},
        )
        assert result.returncode == 0
        assert (
            "warning: NEWSROOM_DB__PROT is not a setting; did you mean NEWSROOM_DB__PORT?"
            in result.stderr
        )


class TestCheck:
    def test_unknown_variables_fail_the_check(self, run: Run, tmp_path: Path) -> None:
        """--check exits 1 on a typo in the environment, a .env file or a secrets directory."""
        env_file = tmp_path / "check.env"
        env_file.write_text("NEWSROOM_MOTO=typo\nNEWSROOM_DB__HOST: bad line\n")
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "newsroom_db__pasword").write_text("x")
        result = run(
            "svc:Settings",
            "--prefix",
            "NEWSROOM_",
            "--check",
            "--env-file",
            str(env_file),
            "--secrets-dir",
            str(secrets),
            env={"NEWSROOM_DB__PASSWORD": "x", "NEWSROOM_DB__PROT": "1"},
        )
        assert result.returncode == 1, result.stdout
        out = result.stdout
        assert "4 invalid, missing or unknown settings for Settings:" in out
        assert "NEWSROOM_DB__PROT is not a setting; did you mean NEWSROOM_DB__PORT?" in out
        assert (
            f"NEWSROOM_MOTO is not a setting; did you mean NEWSROOM_MOTTO? "
            f"(from .env file {env_file}:1)"
        ) in out
        assert (
            "NEWSROOM_DB__PASWORD is not a setting; did you mean NEWSROOM_DB__PASSWORD? "
            f"(from secret file {secrets / 'newsroom_db__pasword'})"
        ) in out
        assert f"{env_file}:2 cannot be parsed as NAME=value; the line is ignored" in out

    def test_ok(self, run: Run) -> None:
        """Valid settings print one ok line and exit 0."""
        result = run(
            "svc:Settings", "--prefix", "NEWSROOM_", "--check", env={"NEWSROOM_DB__PASSWORD": "x"}
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok: svc:Settings is valid (8 settings, 1 set explicitly)")

    def test_errors(self, run: Run, tmp_path: Path) -> None:
        """Invalid settings list every problem, secrets masked, and exit 1."""
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        (secrets / "NEWSROOM_DB__PORT").write_text(PASSWORD)
        result = run(
            "svc:Settings",
            "--prefix",
            "NEWSROOM_",
            "--check",
            "--secrets-dir",
            str(secrets),
            env={"NEWSROOM_TIMEOUT": "soon"},
        )
        assert result.returncode == 1
        assert result.stdout.splitlines() == [
            "3 invalid or missing settings for Settings:",
            (
                "  - NEWSROOM_TIMEOUT: expected a duration: seconds (30, 0.5) or ISO 8601 "
                "(PT5M, P1DT2H), found 'soon' (from env)"
            ),
            (
                "  - NEWSROOM_DB__PORT: expected an integer >= 1 and <= 65535, found "
                f"<secret, 14 chars> (from secret file {secrets}/NEWSROOM_DB__PORT)"
            ),
            "  - NEWSROOM_DB__PASSWORD: required but not set (expected a secret string)",
        ]
        assert PASSWORD not in result.stdout + result.stderr


class TestEnvExample:
    def test_template_content(self, run: Run) -> None:
        """The template has descriptions, types, commented defaults and bare required vars."""
        result = run("svc:Settings", "--prefix", "NEWSROOM_", "--env-example")
        assert result.returncode == 0, result.stderr
        text = result.stdout
        assert "# Service name shown in logs.\n# type: a string\n# default: ingest\n" in text
        assert "# NEWSROOM_NAME=ingest\n" in text
        assert "# ==== NEWSROOM_DB__* (Db): Database connection." in text
        assert "# PostgreSQL port.\n# type: an integer >= 1 and <= 65535\n" in text
        assert "# NEWSROOM_DB__PORT=5432\n" in text
        assert "# type: a secret string\n# required\nNEWSROOM_DB__PASSWORD=\n" in text

    def test_template_loads_back_to_the_defaults(self, run: Run, tmp_path: Path) -> None:
        """Uncommenting every variable of the template reproduces the defaults exactly."""
        result = run("svc:Settings", "--prefix", "NEWSROOM_", "--env-example")
        assert result.returncode == 0, result.stderr
        lines = [
            line.removeprefix("# ") if line.startswith("# NEWSROOM_") else line
            for line in result.stdout.splitlines()
        ]
        env_file = tmp_path / "example.env"
        env_file.write_text("\n".join(lines).replace("PASSWORD=", "PASSWORD=pw"))
        sys.path.insert(0, str(tmp_path))
        try:
            import svc  # type: ignore[import-not-found]
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("svc", None)
        loaded = load(svc.Settings, prefix="NEWSROOM_", env_file=env_file, environ={})
        expected = svc.Settings(db=svc.Db(password=loaded.db.password))
        assert loaded == expected
        assert loaded.motto == "  news # first  "
        assert loaded.db.password.reveal() == "pw"


class TestBadReference:
    @pytest.mark.parametrize(
        ("target", "message"),
        [
            ("svc", "'svc' is not a MODULE:Struct reference"),
            ("svc:Nope", "'svc' has no attribute 'Nope'"),
            ("nosuchmodule:Settings", "cannot import module 'nosuchmodule'"),
            ("svc:NOT_A_STRUCT", "svc:NOT_A_STRUCT is not a msgspec.Struct class"),
        ],
    )
    def test_exit_2_with_a_message(self, run: Run, target: str, message: str) -> None:
        """A reference that does not lead to a Struct is a one-line error and exit 2."""
        result = run(target, "--check")
        assert result.returncode == 2
        assert message in result.stderr
        assert "Traceback" not in result.stderr

    def test_module_that_fails_to_import(self, run: Run, tmp_path: Path) -> None:
        """A module raising on import is reported with its error, exit 2, no traceback."""
        (tmp_path / "broken.py").write_text(
            textwrap.dedent("""\
                raise RuntimeError("boom")
            """)
        )
        result = run("broken:Settings")
        assert result.returncode == 2
        assert "importing 'broken' failed: RuntimeError: boom" in result.stderr
        assert "Traceback" not in result.stderr

    def test_usage_error(self, run: Run) -> None:
        """--check and --env-example together are a usage error (exit 2)."""
        assert run("svc:Settings", "--check", "--env-example").returncode == 2
