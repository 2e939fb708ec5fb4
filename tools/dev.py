"""One entry point for working on this repository from a fresh clone: needs Python 3.11+ and pip.

    python3 tools/dev.py newsroom [args]       run the newsroom example service (hatch env `demo`)
    python3 tools/dev.py test [pytest args]    hatch test: the whole suite (or what you pass), after
                                               installing the system packages it needs
    python3 tools/dev.py system-deps [--dry-run]  install (or show) what tools/system-deps.toml
                                               lists and this machine lacks (apt-get, as root)
    python3 tools/dev.py lint                  hatch run lint:check  (ruff, deptry, import-linter)
    python3 tools/dev.py types                 hatch run types:check (mypy --strict)
    python3 tools/dev.py isolation [args]      tools/check-isolation (each package in a fresh venv)
    python3 tools/dev.py wheels [--out DIR]    every package's wheel into dist/wheels/, a folder
                                               pip installs from: pip install --find-links
                                               dist/wheels 'news-http[metrics,health]'
    python3 tools/dev.py release PKG PART ...  tools/release, with an interpreter that has packaging
    python3 tools/dev.py hatch [args]          hatch itself, as the commands above find it
    python3 tools/dev.py env                   print `export PATH=...` putting hatch (and uv) first

hatch is used from PATH when it is there, else from this interpreter (`python3 -m hatch`), else it
is installed once into .tools/venv (gitignored) with `python3 -m venv` + pip. The directory that
holds the hatch in use is put first on PATH for the commands run, so that the tools they start
(tools/release builds with hatch; tools/check-isolation uses hatch's uv) find the same one.

The system packages the tests need (Prometheus, ...) are listed in tools/system-deps.toml; `test`
installs the missing ones first (as root; without root it stops and prints the command to run).

To add a subcommand, write a function taking the argument list and returning an exit code, and
register it in COMMANDS.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tools") not in sys.path:  # imported by a test rather than run as a script
    sys.path.insert(0, str(ROOT / "tools"))
import _sysdeps  # noqa: E402 - the folder above must be on sys.path first

TOOLS_VENV = ROOT / ".tools" / "venv"
HATCH_REQUIREMENT = "hatch>=1.18,<2"
BIN = "Scripts" if os.name == "nt" else "bin"


def _importable(python: str | Path, module: str) -> bool:
    """Whether ``python`` can import ``module``."""
    probe = subprocess.run(
        [str(python), "-c", f"import {module}"], capture_output=True, check=False
    )
    return probe.returncode == 0


def _scripts_dirs() -> list[Path]:
    """The directories where this interpreter's pip puts console scripts (system and user)."""
    dirs = [Path(sysconfig.get_path("scripts"))]
    user_scheme = f"{os.name}_user" if os.name != "posix" else "posix_user"
    with contextlib.suppress(KeyError):
        dirs.append(Path(sysconfig.get_path("scripts", user_scheme)))
    return [d for d in dirs if d.is_dir()]


def bootstrap() -> Path:
    """Install hatch into .tools/venv unless it is there; return that venv's bin directory."""
    bin_dir = TOOLS_VENV / BIN
    python = bin_dir / "python"
    if (bin_dir / "hatch").exists() and _importable(python, "hatch"):
        return bin_dir
    print(f"dev.py: installing {HATCH_REQUIREMENT} into .tools/venv (once)", file=sys.stderr)
    shutil.rmtree(TOOLS_VENV, ignore_errors=True)
    try:
        # Child output goes to stderr: `dev.py env` prints a shell line on stdout to be eval'd.
        subprocess.run(
            [sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True, stdout=sys.stderr
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                HATCH_REQUIREMENT,
            ],
            check=True,
            stdout=sys.stderr,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(TOOLS_VENV, ignore_errors=True)
        sys.exit(
            f"dev.py: could not install hatch into {TOOLS_VENV} ({exc}). "
            "Python's venv module and network access to the package index are needed "
            "(on Debian/Ubuntu: apt install python3-venv)."
        )
    return bin_dir


def hatch_bin_dir() -> Path:
    """Return the directory holding the hatch (and uv) to use, installing hatch if needed."""
    on_path = shutil.which("hatch")
    if on_path:
        return Path(on_path).parent
    if _importable(sys.executable, "hatch"):
        for scripts in _scripts_dirs():
            if (scripts / "hatch").exists():
                return scripts
    return bootstrap()


def child_env() -> dict[str, str]:
    """The environment for the commands run: hatch's folder first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(hatch_bin_dir()), env.get("PATH", "")])
    return env


def _run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    """Run ``cmd`` in the repository root and return its exit code."""
    env = env or child_env()
    exe = shutil.which(cmd[0], path=env["PATH"]) or cmd[0]
    try:
        return subprocess.run([exe, *cmd[1:]], cwd=ROOT, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 130


def cmd_test(args: list[str]) -> int:
    """Install the system packages the suite needs, then run it (hatch test) with ``args``."""
    code = _sysdeps.ensure()
    if code:
        return code
    return _run(["hatch", "test", *args])


def cmd_system_deps(args: list[str]) -> int:
    """Install the missing system packages of tools/system-deps.toml (``--dry-run``: show)."""
    unknown = [arg for arg in args if arg != "--dry-run"]
    if unknown:
        print(f"dev.py system-deps: unknown argument(s) {unknown}; usage: system-deps [--dry-run]")
        return 2
    return _sysdeps.ensure(dry_run="--dry-run" in args)


NEWSROOM_ARTICLE = (
    '{"title": "Summit opens in Oslo", "body": "Leaders meet today.", '
    '"section": "world", "author": "Ada Lovelace", "tags": ["politics"]}'
)


def newsroom_banner(url: str) -> str:
    """What `cmd_newsroom` prints before the service starts: its URL and curl calls to try."""
    return "\n".join(
        [
            f"newsroom: {url}  (Ctrl+C stops it; logs follow below)",
            "  create an article (with the development API key the service prints at start):",
            f"    curl -i -X POST {url}/v1/articles -H 'content-type: application/json' \\",
            '      -H "x-api-key: $(python3 tools/dev.py newsroom key)" \\',
            f"      -d '{NEWSROOM_ARTICLE}'",
            f"  read it:    curl {url}/v1/articles/ID   (ID from the Location header)",
            f"  list:       curl '{url}/v1/articles?section=world'",
            f"  operate:    curl {url}/metrics   curl {url}/health/ready",
            (
                "  dead letters: python3 tools/dev.py newsroom send-malformed; "
                "python3 tools/dev.py newsroom dlq"
            ),
            "",
        ]
    )


def cmd_newsroom(args: list[str]) -> int:
    """Run the newsroom example (docs/examples/newsroom) in hatch's `demo` env.

    The env is created (or synced) first; then this process becomes the service (exec), so
    Ctrl+C and SIGTERM reach it directly and its exit code is the command's. Arguments go to
    ``python -m newsroom`` (``dlq``, ``send-malformed``...).
    """
    env = child_env()
    hatch = shutil.which("hatch", path=env["PATH"]) or "hatch"
    probe = subprocess.run(
        [hatch, "run", "demo:python", "-c", "import sys; print(sys.executable)"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = probe.stdout.strip().splitlines()
    if probe.returncode != 0 or not lines:
        print("dev.py: could not prepare hatch's demo environment (see above)", file=sys.stderr)
        return probe.returncode or 1
    python = lines[-1]
    if not args or args[0] == "serve":
        host = os.environ.get("NEWSROOM_HTTP__HOST", "127.0.0.1")
        host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
        port = os.environ.get("NEWSROOM_HTTP__PORT", "8080")
        print(newsroom_banner(f"http://{host}:{port}"), flush=True)
    sys.stderr.flush()
    os.chdir(ROOT)
    os.execve(python, [python, "-m", "newsroom", *args], env)  # noqa: S606 - the env's python
    return 1  # not reached


def cmd_lint(args: list[str]) -> int:
    """Run ruff, deptry and import-linter (hatch run lint:check)."""
    return _run(["hatch", "run", "lint:check", *args])


def cmd_types(args: list[str]) -> int:
    """Run mypy --strict over the packages (hatch run types:check)."""
    return _run(["hatch", "run", "types:check", *args])


def cmd_isolation(args: list[str]) -> int:
    """Check each package in a fresh venv (tools/check-isolation)."""
    return _run([sys.executable, str(ROOT / "tools" / "check-isolation"), *args])


WHEELS_DIR = ROOT / "dist" / "wheels"


def cmd_wheels(args: list[str]) -> int:
    """Build every package's wheel into one folder (default dist/wheels/) that pip installs from.

    The folder is emptied of earlier wheels first, so that it holds exactly the working tree's
    packages. Third-party dependencies still come from the package index.
    """
    out = WHEELS_DIR
    if args[:1] == ["--out"] and len(args) == 2:
        out = Path(args[1]).resolve()
    elif args:
        print("usage: python3 tools/dev.py wheels [--out DIR]", file=sys.stderr)
        return 2
    from _workspace import discover

    env = child_env()
    uv = shutil.which("uv", path=env["PATH"])
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):
        old.unlink()
    packages = discover(ROOT)
    for package in packages:
        if uv:
            cmd = [uv, "build", "--wheel", "--quiet", "--out-dir", str(out), str(package.path)]
        else:
            hatch = shutil.which("hatch", path=env["PATH"]) or "hatch"
            cmd = [hatch, "build", "-t", "wheel", str(out)]
        # Started from inside a hatch env, hatch and uv would build in that env: leave it.
        build_env = {k: v for k, v in env.items() if not k.startswith("HATCH_ENV")}
        build_env.pop("VIRTUAL_ENV", None)
        done = subprocess.run(cmd, cwd=package.path, env=build_env, check=False)
        if done.returncode != 0:
            print(f"dev.py wheels: building {package.name} failed (see above)", file=sys.stderr)
            return done.returncode
    wheels = sorted(p.name for p in out.glob("*.whl"))
    try:
        shown = out.relative_to(Path.cwd())
    except ValueError:
        shown = out
    print(f"{len(wheels)} wheels in {shown}/:")
    for name in wheels:
        print(f"  {name}")
    print(
        "install from it (third-party dependencies come from your package index):\n"
        f"  pip install --find-links {shown} 'news-http[metrics,health]'\n"
        "or serve it to other machines as an index: "
        f"python3 -m http.server -d {shown} 8000, then --find-links http://HOST:8000/"
    )
    return 0


def cmd_release(args: list[str]) -> int:
    """Release one package (tools/release) with an interpreter that has ``packaging``."""
    env = child_env()
    python = sys.executable
    if not _importable(python, "packaging"):
        python = str(bootstrap() / "python")
    return _run([python, str(ROOT / "tools" / "release"), *args], env)


def cmd_hatch(args: list[str]) -> int:
    """Run hatch itself."""
    return _run(["hatch", *args])


def cmd_env(args: list[str]) -> int:
    """Print a shell line that puts the hatch in use (and its uv) first on PATH."""
    del args
    print(f'export PATH={shlex.quote(str(hatch_bin_dir()))}:"$PATH"')
    return 0


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "newsroom": cmd_newsroom,
    "test": cmd_test,
    "system-deps": cmd_system_deps,
    "lint": cmd_lint,
    "types": cmd_types,
    "isolation": cmd_isolation,
    "release": cmd_release,
    "wheels": cmd_wheels,
    "hatch": cmd_hatch,
    "env": cmd_env,
}


def main(argv: list[str]) -> int:
    """Dispatch to the subcommand named by ``argv[0]``."""
    if not argv or argv[0] in {"-h", "--help", "help"} or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv and argv[0] in {"-h", "--help", "help"} else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
