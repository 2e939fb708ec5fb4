"""Fixtures for the repository tools' tests: scratch copies of the working tree, fake packages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Release Test",
    "GIT_AUTHOR_EMAIL": "release-test@example.invalid",
    "GIT_COMMITTER_NAME": "Release Test",
    "GIT_COMMITTER_EMAIL": "release-test@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Scratch:
    """A throwaway git repository holding a copy of this repository's working tree."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment for commands in the copy: git isolated from the user's config."""
        return {**os.environ, **GIT_ENV}

    def git(self, *args: str) -> str:
        """Run git in the copy and return its stdout."""
        proc = subprocess.run(
            ["git", *args], cwd=self.root, env=self.env, capture_output=True, text=True, check=True
        )
        return proc.stdout

    def commit_all(self, message: str) -> None:
        """Commit everything in the copy."""
        self.git("add", "-A")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)

    def status(self) -> list[str]:
        """Changed or untracked paths (not ignored ones such as dist/), as porcelain lines."""
        return self.git("status", "--porcelain", "--untracked-files=all").splitlines()

    def tool(self, name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run tools/<name> of the copy with this test run's interpreter."""
        return subprocess.run(
            [sys.executable, str(self.root / "tools" / name), *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def version(self, package: str) -> str:
        """The version in the copy's packages/<package>/src/*/__about__.py."""
        about = next((self.root / "packages" / package / "src").glob("*/__about__.py"))
        match = re.search(r'__version__\s*=\s*"([^"]+)"', about.read_text(encoding="utf-8"))
        assert match is not None
        return match.group(1)

    def add_package(
        self,
        name: str,
        *,
        dependencies: tuple[str, ...] = (),
        init: str = "",
        readme: str = "",
        version: str = "0.1.0",
    ) -> Path:
        """Create packages/<name> following the repository's conventions and return its folder."""
        import_name = name.replace("-", "_")
        folder = self.root / "packages" / name
        src = folder / "src" / import_name
        src.mkdir(parents=True)
        deps = "".join(f'  "{d}",\n' for d in dependencies)
        (folder / "pyproject.toml").write_text(
            textwrap.dedent(
                f"""\
                [build-system]
                requires = ["hatchling>=1.27"]
                build-backend = "hatchling.build"

                [project]
                name = "{name}"
                dynamic = ["version"]
                description = "A fake package made by a test."
                readme = "README.md"
                requires-python = ">=3.11"
                dependencies = [
                """
            )
            + deps
            + textwrap.dedent(
                f"""\
                ]

                [tool.hatch.version]
                path = "src/{import_name}/__about__.py"

                [tool.hatch.build.targets.wheel]
                packages = ["src/{import_name}"]
                """
            ),
            encoding="utf-8",
        )
        (folder / "README.md").write_text(f"# {name}\n\n{readme}", encoding="utf-8")
        (folder / "CHANGELOG.md").write_text(
            "# Changelog\n\n## Unreleased\n\n### Added\n\n- First release.\n", encoding="utf-8"
        )
        (src / "__about__.py").write_text(f'__version__ = "{version}"\n', encoding="utf-8")
        init_text = f"{init}\nfrom {import_name}.__about__ import __version__\n"
        (src / "__init__.py").write_text(init_text, encoding="utf-8")
        (src / "py.typed").write_text("", encoding="utf-8")
        return folder


def copy_working_tree(dest: Path) -> None:
    """Copy the files git would see in this checkout (tracked and untracked, not ignored)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listing.split("\0")):
        source = ROOT / rel
        if source.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def make_scratch(dest: Path) -> Scratch:
    """Copy the working tree into ``dest`` and commit it there as a fresh repository."""
    dest.mkdir(parents=True, exist_ok=True)
    copy_working_tree(dest)
    scratch = Scratch(dest)
    scratch.git("init", "--quiet", "--initial-branch=main")
    scratch.commit_all("scratch copy")
    return scratch


@pytest.fixture
def scratch(tmp_path: Path) -> Scratch:
    """A fresh scratch copy of the repository for one test."""
    return make_scratch(tmp_path / "repo")


@pytest.fixture(scope="class")
def class_scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    """A scratch copy shared by the tests of one class (they only read what its setup did)."""
    return make_scratch(tmp_path_factory.mktemp("repo"))
