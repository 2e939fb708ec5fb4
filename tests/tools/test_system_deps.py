"""tools/system-deps.toml and what `dev.py test` / `dev.py system-deps` / .ci/run do with it.

Each test runs the real tools/dev.py from a copy of tools/ whose system-deps.toml it writes, with
stand-ins for apt-get and hatch first on PATH (scripts that record how they were called), so no
package of this machine is installed or removed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ABSENT = """\
[apt.news-absent-tool]
commands = ["news-absent-tool"]
why = "tests/tools: an entry whose command is on no machine"
"""

PRESENT = """\
[apt.coreutils]
commands = ["chmod", "/usr/bin/t*"]
why = "tests/tools: an entry whose commands every machine has"
"""

# Stands in for apt-get: records its arguments and DEBIAN_FRONTEND; `install` "installs" each
# package by creating an executable of the same name in its own folder (which is on PATH).
FAKE_APT = """\
#!/bin/sh
echo "$DEBIAN_FRONTEND $*" >> "$(dirname "$0")/apt-calls"
case " $* " in
  *" install "*)
    for arg in "$@"; do
      case "$arg" in -*|install|DPkg*) ;; *) printf '#!/bin/sh\\n' > "$(dirname "$0")/$arg";
        chmod +x "$(dirname "$0")/$arg";; esac
    done;;
esac
"""

FAKE_HATCH = """\
#!/bin/sh
echo "$*" >> "$(dirname "$0")/hatch-calls"
"""


def _script(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


class Checkout:
    """tools/dev.py and tools/_sysdeps.py copied into a folder, with fake apt-get and hatch."""

    def __init__(self, root: Path, deps: str, *, with_apt: bool = True) -> None:
        self.root = root
        (root / "tools").mkdir(parents=True)
        for name in ("dev.py", "_sysdeps.py"):
            shutil.copy2(ROOT / "tools" / name, root / "tools" / name)
        (root / "tools" / "system-deps.toml").write_text(deps, encoding="utf-8")
        self.bin = root / "bin"
        self.bin.mkdir()
        _script(self.bin / "hatch", FAKE_HATCH)
        if with_apt:
            _script(self.bin / "apt-get", FAKE_APT)
        # PATH: the fakes, python3 and what the fakes use; the real apt-get and hatch are not.
        system = root / "system"
        system.mkdir()
        (system / "python3").symlink_to(root_readable_python())
        for tool in ("dirname", "chmod"):
            found = shutil.which(tool)
            assert found is not None, tool
            (system / tool).symlink_to(found)
        self.path = f"{self.bin}{os.pathsep}{system}"

    def run(self, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``python3 tools/dev.py ARGS`` in the copy (as ``user``: ``nobody``)."""
        cmd = [str(root_readable_python()), str(self.root / "tools" / "dev.py"), *args]
        if user == "nobody" and os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            assert setpriv is not None, "util-linux's setpriv runs the non-root test"
            cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        env = {"PATH": self.path, "HOME": str(self.root), "LANG": "C.UTF-8"}
        return subprocess.run(
            cmd, cwd=self.root, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    def calls(self, tool: str) -> list[str]:
        """The recorded calls of the fake ``tool`` (``apt``, ``hatch``), one line each."""
        record = self.bin / f"{tool}-calls"
        return record.read_text(encoding="utf-8").splitlines() if record.exists() else []


def root_readable_python() -> Path:
    """An interpreter that the user nobody may run too (the test env's may sit in /root)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable):
        path = Path(candidate)
        if path.exists() and os.access(path, os.X_OK):
            probe = subprocess.run(
                [str(path), "-c", "import sys, tomllib; print(sys.version_info >= (3, 11))"],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.stdout.strip() == "True":
                return path
    raise AssertionError("no Python 3.11+ at /usr/bin/python3 for the non-root test")


@pytest.fixture
def world_readable_tmp():
    """A temporary folder every user may read (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="news-sysdeps-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class TestTheFile:
    def test_every_entry_has_commands_and_a_reason(self):
        """Each [apt.<package>] of the real file lists commands and says why; nothing else."""
        data = tomllib.loads((ROOT / "tools" / "system-deps.toml").read_text(encoding="utf-8"))
        assert set(data) == {"apt"}
        for name, entry in data["apt"].items():
            assert set(entry) == {"commands", "why"}, name
            assert entry["commands"], name
            assert all(isinstance(c, str) and c for c in entry["commands"]), name
            assert entry["why"].strip(), name

    def test_prometheus_and_promtool_are_listed(self):
        """The news-metrics tests' Prometheus and promtool come from the file (issue 11)."""
        data = tomllib.loads((ROOT / "tools" / "system-deps.toml").read_text(encoding="utf-8"))
        assert {"prometheus", "promtool"} <= set(data["apt"]["prometheus"]["commands"])

    def test_this_machine_has_everything_listed(self):
        """`dev.py system-deps --dry-run` in this checkout finds nothing missing."""
        proc = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "dev.py"), "system-deps", "--dry-run"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "every system package of tools/system-deps.toml is installed" in proc.stderr

    @pytest.mark.parametrize(
        ("text", "complaint"),
        [
            ('[apt.x]\ncommands = ["x"]\n', "[apt.x]: why must say"),
            ('[apt.x]\ncommands = []\nwhy = "y"\n', "[apt.x]: commands must be a non-empty"),
            ('[apt.x]\ncommands = ["x"]\nwhy = "y"\nrecommends = true\n', "unknown key(s)"),
            ('[npm.x]\nwhy = "y"\n', "unknown section(s) ['npm']"),
        ],
    )
    def test_a_malformed_entry_is_refused_naming_it(self, tmp_path, text, complaint):
        """A malformed file stops `dev.py test` before pytest, naming the entry and the problem."""
        checkout = Checkout(tmp_path, text)
        proc = checkout.run("test")
        assert proc.returncode == 1
        assert complaint in proc.stderr
        assert checkout.calls("hatch") == []


class TestDevTest:
    def test_nothing_missing_goes_straight_to_the_tests(self, tmp_path):
        """Every command present: `dev.py test ARGS` runs `hatch test ARGS` and says nothing."""
        checkout = Checkout(tmp_path, PRESENT)
        proc = checkout.run("test", "-k", "smoke")
        assert proc.returncode == 0, proc.stderr
        assert checkout.calls("hatch") == ["test -k smoke"]
        assert checkout.calls("apt") == []
        assert "dev.py" not in proc.stderr

    def test_as_root_installs_what_is_missing_then_runs_the_tests(self, tmp_path):
        """As root: apt-get update, then install --no-install-recommends, noninteractive; said."""
        if os.geteuid() != 0:
            pytest.fail("this test runs as root (the CI machine's user); run the suite as root")
        checkout = Checkout(tmp_path, PRESENT + "\n" + ABSENT)
        proc = checkout.run("test")
        assert proc.returncode == 0, proc.stderr
        assert checkout.calls("apt") == [
            "noninteractive -o DPkg::Lock::Timeout=300 update -qq",
            (
                "noninteractive -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "
                "news-absent-tool"
            ),
        ]
        assert checkout.calls("hatch") == ["test"]
        assert "news-absent-tool (news-absent-tool): tests/tools: an entry" in proc.stderr
        assert "coreutils" not in proc.stderr  # present: not mentioned, not installed
        assert "dev.py: installed news-absent-tool" in proc.stderr

    def test_without_root_stops_at_once_with_the_command_to_run(self, world_readable_tmp):
        """Not root: exit 1 before apt-get or the tests, printing the one install command."""
        checkout = Checkout(world_readable_tmp / "repo", ABSENT)
        (checkout.bin).chmod(0o777)  # the fakes may record their calls as nobody
        proc = checkout.run("test", user="nobody")
        assert proc.returncode == 1, proc.stderr
        assert checkout.calls("apt") == []
        assert checkout.calls("hatch") == []
        lines = proc.stderr.splitlines()
        command = lines[lines.index(next(x for x in lines if "needs root" in x)) + 1].strip()
        install = (
            "'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
            "--no-install-recommends news-absent-tool'"
        )
        assert command in {f"su root -c {install}", f"sudo sh -c {install}"}

    def test_a_command_still_missing_after_the_install_fails(self, tmp_path):
        """An entry whose commands the package does not provide fails after apt-get, naming it."""
        deps = ABSENT.replace('["news-absent-tool"]', '["news-absent-tool", "news-other-name"]')
        checkout = Checkout(tmp_path, deps)
        proc = checkout.run("test")
        assert proc.returncode == 1
        assert "news-absent-tool is installed but news-other-name still not found" in proc.stderr
        assert checkout.calls("hatch") == []

    def test_without_apt_get_names_what_to_install(self, tmp_path):
        """On a machine without apt-get: exit 1, naming the missing commands and packages."""
        checkout = Checkout(tmp_path, ABSENT, with_apt=False)
        proc = checkout.run("test")
        assert proc.returncode == 1
        assert "no apt-get; install what provides news-absent-tool" in proc.stderr
        assert checkout.calls("hatch") == []


class TestDryRun:
    def test_dry_run_shows_the_plan_and_changes_nothing(self, tmp_path):
        """`system-deps --dry-run`: the missing entries and the apt-get lines; nothing run."""
        checkout = Checkout(tmp_path, ABSENT)
        proc = checkout.run("system-deps", "--dry-run")
        assert proc.returncode == 0, proc.stderr
        expected = "would run" if os.geteuid() == 0 else "needs root"
        assert expected in proc.stderr
        assert "--no-install-recommends news-absent-tool" in proc.stderr
        assert checkout.calls("apt") == []
        assert not (checkout.bin / "news-absent-tool").exists()

    def test_an_unknown_argument_is_refused(self, tmp_path):
        """`system-deps --frobnicate` exits 2 with its usage."""
        checkout = Checkout(tmp_path, ABSENT)
        proc = checkout.run("system-deps", "--frobnicate")
        assert proc.returncode == 2
        assert "usage: system-deps [--dry-run]" in proc.stdout


class TestCI:
    def test_ci_installs_from_the_same_file(self):
        """.ci/run runs `tools/dev.py system-deps` and has no apt-get line of its own."""
        ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
        assert 'sysdeps=("$PYTHON" tools/dev.py system-deps)' in ci
        assert 'step "system-deps" "${sysdeps[@]}"' in ci
        code = [line for line in ci.splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in code if "apt-get" in line or "prometheus" in line]

    def test_ci_system_deps_step_runs_before_the_tests(self):
        """The system-deps step comes before lint, types and tests in .ci/run."""
        ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
        assert ci.index('step "system-deps"') < ci.index('step "tests"')


class TestFakes:
    def test_the_fake_apt_get_records_and_installs(self, tmp_path):
        """The apt-get stand-in records its call and creates the command (the tests rely on it)."""
        checkout = Checkout(tmp_path, ABSENT)
        for name in ("apt-get", "hatch"):
            assert (checkout.bin / name).stat().st_mode & stat.S_IXUSR
        subprocess.run(
            [str(checkout.bin / "apt-get"), "install", "-y", "demo-pkg"],
            check=True,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": os.environ["PATH"]},
        )
        assert checkout.calls("apt") == ["noninteractive install -y demo-pkg"]
        assert (checkout.bin / "demo-pkg").exists()
