"""System packages the test suite needs (tools/system-deps.toml): find the missing, install them.

Used by ``python3 tools/dev.py test`` (before pytest runs), ``python3 tools/dev.py system-deps``
and ``.ci/run``. Standard library only: it runs before hatch exists.

- `load` reads and checks the file (one ``[apt.<package>]`` table per Debian package, with the
  ``commands`` that prove it installed and ``why`` it is needed);
- `missing` returns the entries whose commands are not all found;
- `ensure` installs those with apt-get as root, saying what and why, or (without root, or
  without apt-get) stops at once and prints the one command to run.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPS_FILE = ROOT / "tools" / "system-deps.toml"
# Root's programs (pgbouncer, ...) live in sbin folders, which a user's PATH often lacks.
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")
# Two installs at once (two shells running the tests) wait for each other instead of failing.
APT_OPTIONS = ("-o", "DPkg::Lock::Timeout=300")
APT_ENV = {"DEBIAN_FRONTEND": "noninteractive"}


class SystemDepsError(Exception):
    """The file is malformed, or installing failed; the message says what to fix."""


@dataclass(frozen=True)
class AptPackage:
    """One ``[apt.<name>]`` entry of tools/system-deps.toml."""

    name: str
    commands: tuple[str, ...]
    why: str

    def missing_commands(self, path: str | None = None) -> list[str]:
        """The commands of this entry not found (names on ``path`` + sbin, paths by glob)."""
        search = os.pathsep.join([path if path is not None else os.environ.get("PATH", ""), *SBIN])
        absent = []
        for command in self.commands:
            if "/" in command:
                found = any(os.access(p, os.X_OK) for p in glob.glob(command))
            else:
                found = shutil.which(command, path=search) is not None
            if not found:
                absent.append(command)
        return absent

    def describe(self) -> str:
        """One line: the package, its commands and why the suite needs it."""
        return f"{self.name} ({', '.join(self.commands)}): {self.why}"


def load(path: Path = DEPS_FILE) -> list[AptPackage]:
    """Read ``path`` and return its entries in file order.

    Raises:
        SystemDepsError: The file is missing or an entry does not have the documented shape.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SystemDepsError(f"{path}: cannot read it: {exc}") from exc
    unknown = sorted(set(data) - {"apt"})
    if unknown:
        raise SystemDepsError(f"{path}: unknown section(s) {unknown}; only [apt.<package>] exists")
    packages = []
    for name, entry in data.get("apt", {}).items():
        where = f"{path}: [apt.{name}]"
        if not isinstance(entry, dict):
            raise SystemDepsError(f"{where} must be a table with commands and why")
        extra = sorted(set(entry) - {"commands", "why"})
        if extra:
            raise SystemDepsError(f"{where}: unknown key(s) {extra}; the keys are commands, why")
        commands = entry.get("commands")
        if (
            not isinstance(commands, list)
            or not commands
            or not all(isinstance(c, str) and c for c in commands)
        ):
            raise SystemDepsError(
                f"{where}: commands must be a non-empty list of command names or absolute paths"
            )
        why = entry.get("why")
        if not isinstance(why, str) or not why.strip():
            raise SystemDepsError(f"{where}: why must say which tests need it and for what")
        packages.append(AptPackage(name, tuple(commands), why.strip()))
    return packages


def missing(packages: list[AptPackage], path: str | None = None) -> list[AptPackage]:
    """The entries of ``packages`` with at least one command not found."""
    return [package for package in packages if package.missing_commands(path)]


def install_commands(names: list[str]) -> list[list[str]]:
    """The apt-get calls that install ``names`` (update first), without recommended packages."""
    return [
        ["apt-get", *APT_OPTIONS, "update", "-qq"],
        ["apt-get", *APT_OPTIONS, "install", "-y", "-q", "--no-install-recommends", *names],
    ]


def root_command(names: list[str]) -> str:
    """The one shell line a user without root runs to install ``names``."""
    line = (
        "apt-get update && DEBIAN_FRONTEND=noninteractive "
        f"apt-get install -y --no-install-recommends {shlex.join(names)}"
    )
    if shutil.which("sudo"):
        return f"sudo sh -c {shlex.quote(line)}"
    return f"su root -c {shlex.quote(line)}"


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure(path: Path = DEPS_FILE, *, dry_run: bool = False) -> int:
    """Install what the suite needs and is missing; return 0 when everything is there.

    Nothing missing: prints nothing. Missing, as root with apt-get: says what it installs and
    why, runs apt-get, then checks the commands are found. Without root, or without apt-get:
    prints what is missing and the command to run, and returns 1 at once. ``dry_run`` prints
    the same plan and changes nothing (exit 0). Everything goes to stderr.
    """
    out = sys.stderr
    try:
        needed = missing(load(path))
    except SystemDepsError as exc:
        print(f"dev.py: {exc}", file=out)
        return 1
    if not needed:
        if dry_run:
            print(f"dev.py: every system package of {_rel(path)} is installed", file=out)
        return 0
    names = [package.name for package in needed]
    noun = "package" if len(needed) == 1 else "packages"
    print(f"dev.py: the test suite needs system {noun} missing here ({_rel(path)}):", file=out)
    for package in needed:
        print(f"  {package.describe()}", file=out)
    if not shutil.which("apt-get"):
        commands = sorted({c for package in needed for c in package.missing_commands()})
        print(
            f"dev.py: this machine has no apt-get; install what provides {', '.join(commands)} "
            f"(Debian/Ubuntu packages: {' '.join(names)}), then run the tests again",
            file=out,
        )
    elif not _is_root():
        print(
            "dev.py: installing them needs root; run this once, then the tests again:\n"
            f"  {root_command(names)}",
            file=out,
        )
    else:
        print(f"dev.py: {'would run' if dry_run else 'installing with'}:", file=out)
        for command in install_commands(names):
            print(f"  DEBIAN_FRONTEND=noninteractive {shlex.join(command)}", file=out)
        return 0 if dry_run else _install(needed, path)
    return 0 if dry_run else 1


def _install(needed: list[AptPackage], path: Path) -> int:
    """Run apt-get for ``needed`` (output to stderr) and check their commands are found now."""
    out = sys.stderr
    out.flush()
    env = {**os.environ, **APT_ENV}
    for command in install_commands([package.name for package in needed]):
        done = subprocess.run(command, env=env, stdout=out, stderr=out, check=False)
        if done.returncode != 0:
            print(f"dev.py: {shlex.join(command)} failed (exit {done.returncode})", file=out)
            return 1
    still = missing(needed)
    for package in still:
        absent = ", ".join(package.missing_commands())
        print(
            f"dev.py: {package.name} is installed but {absent} still not found; "
            f"fix its commands in {_rel(path)}",
            file=out,
        )
    if not still:
        print(f"dev.py: installed {' '.join(p.name for p in needed)}", file=out)
    return 1 if still else 0


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)
