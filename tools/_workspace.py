"""Discovery of the workspace's distributions, shared by the scripts in tools/.

Every tool finds the packages from ``packages/*/pyproject.toml``; nothing here names a package.
Standard library only, so that any Python 3.11 can run the tools that need no more.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_VERSION_LINE = re.compile(r'^__version__\s*=\s*["\']([^"\']+)["\']\s*$', re.MULTILINE)
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """Return the PEP 503 normalized form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """Return the normalized distribution name a PEP 508 requirement string refers to."""
    match = _REQ_NAME.match(requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return normalize(match.group(1))


@dataclass(frozen=True)
class Package:
    """One distribution under packages/, as its pyproject.toml declares it."""

    name: str
    path: Path
    pyproject: dict[str, Any] = field(repr=False)

    @property
    def project(self) -> dict[str, Any]:
        """The ``[project]`` table."""
        table: dict[str, Any] = self.pyproject.get("project", {})
        return table

    @property
    def about_file(self) -> Path:
        """The file that holds ``__version__`` (``[tool.hatch.version] path``)."""
        rel = self.pyproject.get("tool", {}).get("hatch", {}).get("version", {}).get("path")
        if not rel:
            return self.path / "src" / self.name.replace("-", "_") / "__about__.py"
        return self.path / str(rel)

    @property
    def import_name(self) -> str:
        """The top-level module the distribution ships (the folder holding ``__about__.py``)."""
        return self.about_file.parent.name

    @property
    def changelog(self) -> Path:
        """The package's CHANGELOG.md."""
        return self.path / "CHANGELOG.md"

    @property
    def readme(self) -> Path:
        """The package's README.md."""
        return self.path / "README.md"

    @property
    def version(self) -> str:
        """The current version, read from ``__about__.py``."""
        match = _VERSION_LINE.search(self.about_file.read_text(encoding="utf-8"))
        if match is None:
            raise ValueError(f"{self.about_file}: no __version__ = '...' line")
        return match.group(1)

    @property
    def dependencies(self) -> list[str]:
        """The base (no extras) runtime requirement strings."""
        deps: list[str] = self.project.get("dependencies", [])
        return list(deps)

    @property
    def optional_dependencies(self) -> dict[str, list[str]]:
        """The extras and their requirement strings."""
        extras: dict[str, list[str]] = self.project.get("optional-dependencies", {})
        return {extra: list(reqs) for extra, reqs in extras.items()}


def discover(root: Path = ROOT) -> list[Package]:
    """Return every package under ``root/packages``, sorted by name."""
    found = []
    for pyproject_file in sorted((root / "packages").glob("*/pyproject.toml")):
        data = tomllib.loads(pyproject_file.read_text(encoding="utf-8"))
        name = data.get("project", {}).get("name")
        if not name:
            raise ValueError(f"{pyproject_file}: no [project] name")
        found.append(Package(name=name, path=pyproject_file.parent, pyproject=data))
    return found


def discover_examples(root: Path = ROOT) -> list[Package]:
    """Return the example services under ``root/docs/examples`` that have a pyproject.toml.

    They are not released, but they depend on the packages through ranges like any service.
    """
    found = []
    for pyproject_file in sorted((root / "docs" / "examples").glob("*/pyproject.toml")):
        data = tomllib.loads(pyproject_file.read_text(encoding="utf-8"))
        name = data.get("project", {}).get("name") or pyproject_file.parent.name
        found.append(Package(name=name, path=pyproject_file.parent, pyproject=data))
    return found


def find(name: str, root: Path = ROOT) -> Package:
    """Return the package called ``name`` (distribution or folder name), or raise LookupError."""
    packages = discover(root)
    for package in packages:
        if normalize(package.name) == normalize(name) or package.path.name == name:
            return package
    known = ", ".join(p.name for p in packages) or "none"
    raise LookupError(f"no package {name!r} under {root / 'packages'} (known: {known})")


def sibling_closure(package: Package, packages: list[Package]) -> list[Package]:
    """Return the workspace packages ``package`` needs at runtime (base deps, transitively)."""
    by_name = {normalize(p.name): p for p in packages}
    seen: dict[str, Package] = {}
    todo = [package]
    while todo:
        current = todo.pop()
        for requirement in current.dependencies:
            dep = by_name.get(requirement_name(requirement))
            if dep is not None and normalize(dep.name) not in seen and dep is not package:
                seen[normalize(dep.name)] = dep
                todo.append(dep)
    return sorted(seen.values(), key=lambda p: p.name)


@dataclass(frozen=True)
class Example:
    """A runnable ```python block of a markdown file (after a ``<!-- runnable -->`` line)."""

    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    needs_server: bool  # marked ``<!-- runnable: needs-server -->``


_RUNNABLE = re.compile(r"\s*<!--\s*runnable(:\s*needs-server)?\s*-->\s*")
_FENCE = re.compile(r"\s*```(python|py)\s*")


def runnable_examples(path: Path) -> list[Example]:
    """Return the runnable examples of a markdown file, in order.

    Raises:
        ValueError: a marker is not followed by a ```python block, or the block is not closed.
    """
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Example] = []
    for i, line in enumerate(lines):
        marker = _RUNNABLE.fullmatch(line)
        if marker is None:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j >= len(lines) or not _FENCE.fullmatch(lines[j]):
            raise ValueError(
                f"{path} line {i + 1}: '<!-- runnable -->' is not followed by a ```python block"
            )
        end = next((k for k in range(j + 1, len(lines)) if lines[k].strip() == "```"), None)
        if end is None:
            raise ValueError(f"{path} line {j + 1}: unclosed code block")
        code = "\n".join(lines[j + 1 : end]) + "\n"
        found.append(Example(path, j + 1, code, needs_server=bool(marker.group(1))))
    return found
