"""tools/release, run on scratch copies of the repository."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

if TYPE_CHECKING:
    from conftest import Scratch

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "news-log"
ABOUT = "packages/news-log/src/news_log/__about__.py"
CHANGELOG = "packages/news-log/CHANGELOG.md"


def next_version(current: str, part: str) -> str:
    """The version tools/release should produce from ``current``."""
    major, minor, patch = Version(current).release[:3]
    return {
        "major": f"{major + 1}.0.0",
        "minor": f"{major}.{minor + 1}.0",
        "patch": f"{major}.{minor}.{patch + 1}",
    }[part]


def unreleased_section(changelog: str) -> str:
    """The text between '## Unreleased' and the next '## ' heading."""
    after = changelog.split("## Unreleased", 1)[1]
    return after.split("\n## ", 1)[0]


@pytest.fixture(scope="class")
def released(class_scratch: Scratch) -> tuple[Scratch, str, str, str]:
    """One patch release of news-log in a scratch copy: (scratch, old version, changelog, out)."""
    old = class_scratch.version(PACKAGE)
    old_changelog = (class_scratch.root / CHANGELOG).read_text(encoding="utf-8")
    proc = class_scratch.tool("release", PACKAGE, "patch")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return class_scratch, old, old_changelog, proc.stdout


class TestPatchRelease:
    def test_changes_only_that_packages_version_file_and_changelog(self, released):
        """A patch release modifies exactly news-log's __about__.py and CHANGELOG.md."""
        scratch, old, _, _ = released
        assert sorted(line[3:] for line in scratch.status()) == sorted([ABOUT, CHANGELOG])
        assert scratch.version(PACKAGE) == next_version(old, "patch")

    def test_leaves_sibling_versions_alone(self, released):
        """No other package's version moves when one package is released."""
        scratch, _, _, _ = released
        for about in scratch.root.glob("packages/*/src/*/__about__.py"):
            if "news_log" not in str(about):
                assert not scratch.git("diff", "--name-only", "--", str(about)).strip()

    def test_changelog_gets_a_dated_section_under_a_fresh_unreleased(self, released):
        """The Unreleased entries move under '## <new> - <today>'; Unreleased is left empty."""
        scratch, old, old_changelog, _ = released
        new = next_version(old, "patch")
        text = (scratch.root / CHANGELOG).read_text(encoding="utf-8")
        assert unreleased_section(text).strip() == ""
        heading = f"## {new} - {dt.date.today().isoformat()}"
        assert heading in text
        assert text.index("## Unreleased") < text.index(heading)
        moved = text.split(heading, 1)[1].split("\n## ", 1)[0].strip()
        assert moved == unreleased_section(old_changelog).strip()

    def test_builds_sdist_and_wheel_with_the_new_version(self, released):
        """dist/news-log/ holds the sdist and the wheel of the new version."""
        scratch, old, _, _ = released
        new = next_version(old, "patch")
        dist = scratch.root / "dist" / PACKAGE
        assert (dist / f"news_log-{new}.tar.gz").is_file()
        wheels = list(dist.glob(f"news_log-{new}-*.whl"))
        assert len(wheels) == 1
        with zipfile.ZipFile(wheels[0]) as wheel:
            metadata = wheel.read(f"news_log-{new}.dist-info/METADATA").decode()
        assert f"\nVersion: {new}\n" in metadata

    def test_prints_the_tag_without_creating_it(self, released):
        """Without --tag the tool prints news-log-v<new> but creates no tag."""
        scratch, old, _, stdout = released
        tag = f"news-log-v{next_version(old, 'patch')}"
        assert f"tag: {tag}" in stdout
        assert scratch.git("tag", "--list").strip() == ""


class TestTaggedRelease:
    def test_commits_the_release_and_creates_an_annotated_tag(self, scratch):
        """--tag commits the two files and puts an annotated tag, the changelog as message."""
        new = next_version(scratch.version(PACKAGE), "patch")
        tag = f"news-log-v{new}"
        proc = scratch.tool("release", PACKAGE, "patch", "--tag")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert scratch.status() == []
        assert scratch.git("cat-file", "-t", tag).strip() == "tag"
        assert scratch.git("rev-parse", f"{tag}^{{commit}}") == scratch.git("rev-parse", "HEAD")
        changed = scratch.git("show", "--name-only", "--format=", "HEAD").split()
        assert sorted(changed) == sorted([ABOUT, CHANGELOG])
        assert f'"{new}"' in scratch.git("show", f"{tag}:{ABOUT}")
        message = scratch.git("tag", "--list", "--format=%(contents)", tag)
        assert message.startswith(f"news-log {new}")
        assert "### Added" in message

    def test_refuses_to_tag_with_uncommitted_changes_in_the_package(self, scratch):
        """--tag refuses, changing nothing, while the package's folder has uncommitted edits."""
        readme = scratch.root / "packages" / PACKAGE / "README.md"
        readme.write_text(readme.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
        before = scratch.version(PACKAGE)
        proc = scratch.tool("release", PACKAGE, "patch", "--tag")
        assert proc.returncode == 1
        assert "clean" in proc.stderr
        assert scratch.version(PACKAGE) == before
        assert scratch.git("tag", "--list").strip() == ""


class TestRefusals:
    def test_refuses_when_a_siblings_range_excludes_the_new_version(self, scratch):
        """A minor bump outside a sibling's 'news-log>=X.Y,<X.Y+1' is refused, naming it."""
        current = Version(scratch.version(PACKAGE))
        major, minor = current.release[:2]
        requirement = f"news-log>={major}.{minor},<{major}.{minor + 1}"
        scratch.add_package("news-fake", dependencies=(requirement,))
        scratch.commit_all("add a sibling that depends on news-log")
        proc = scratch.tool("release", PACKAGE, "minor")
        assert proc.returncode == 1
        assert "news-fake" in proc.stderr
        assert requirement in proc.stderr
        assert scratch.status() == []
        assert not (scratch.root / "dist").exists()

    def test_allows_a_bump_the_siblings_range_admits(self, scratch):
        """The same sibling range admits a patch bump (checked with --dry-run)."""
        current = Version(scratch.version(PACKAGE))
        major, minor = current.release[:2]
        scratch.add_package(
            "news-fake", dependencies=(f"news-log>={major}.{minor},<{major}.{minor + 1}",)
        )
        scratch.commit_all("add a sibling that depends on news-log")
        proc = scratch.tool("release", PACKAGE, "patch", "--dry-run")
        assert proc.returncode == 0, proc.stderr
        assert f"tag: news-log-v{next_version(str(current), 'patch')}" in proc.stdout
        assert scratch.status() == []

    def test_refuses_when_unreleased_is_empty(self, scratch):
        """An Unreleased section without entries stops the release; nothing changes."""
        path = scratch.root / CHANGELOG
        text = path.read_text(encoding="utf-8")
        emptied = text.replace(unreleased_section(text), "\n\n### Added\n\n", 1)
        path.write_text(emptied, encoding="utf-8")
        scratch.commit_all("nothing unreleased")
        before = scratch.version(PACKAGE)
        proc = scratch.tool("release", PACKAGE, "patch")
        assert proc.returncode == 1
        assert "Unreleased" in proc.stderr
        assert scratch.version(PACKAGE) == before
        assert scratch.status() == []

    def test_dry_run_changes_nothing(self, scratch):
        """--dry-run prints the new version and tag and leaves files, dist/ and tags untouched."""
        # patch: every sibling's range admits it (a major bump is refused while they cap news-log)
        proc = scratch.tool("release", PACKAGE, "patch", "--dry-run", "--tag")
        assert proc.returncode == 0, proc.stderr
        assert "tag: news-log-v0.1.1" in proc.stdout
        assert scratch.status() == []
        assert not (scratch.root / "dist").exists()
        assert scratch.git("tag", "--list").strip() == ""

    def test_real_siblings_capping_news_log_are_all_named(self, scratch):
        """On the real tree, a minor news-log bump is refused naming each sibling that caps it."""
        proc = scratch.tool("release", PACKAGE, "minor", "--dry-run")
        assert proc.returncode == 1
        for sibling in ("news-http", "news-kafka", "news-testing"):
            assert sibling in proc.stderr, proc.stderr
        assert scratch.status() == []

    def test_unknown_package_is_named(self, scratch):
        """An unknown package name exits 1 and lists the packages that exist."""
        proc = scratch.tool("release", "news-nope", "patch")
        assert proc.returncode == 1
        assert "news-nope" in proc.stderr
        assert "news-log" in proc.stderr


class TestScript:
    def test_is_an_executable_python_script(self):
        """tools/release has a python3 shebang and the executable bit, and answers --help."""
        script = ROOT / "tools" / "release"
        assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")
        assert os.access(script, os.X_OK)
        proc = subprocess.run(
            [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0
        assert "major" in proc.stdout


@pytest.fixture(scope="class")
def minor_with_dependents(class_scratch: Scratch) -> tuple[Scratch, str, str]:
    """news-log released minor with --update-dependents in a scratch copy (no tag)."""
    old = class_scratch.version(PACKAGE)
    proc = class_scratch.tool("release", PACKAGE, "minor", "--update-dependents")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return class_scratch, next_version(old, "minor"), proc.stdout


class TestUpdateDependents:
    def test_the_dry_run_lists_each_range_it_would_set(self, scratch):
        """--dry-run --update-dependents passes, naming each dependent and its new range."""
        proc = scratch.tool("release", PACKAGE, "minor", "--dry-run", "--update-dependents")
        assert proc.returncode == 0, proc.stderr
        for sibling in ("news-http", "news-kafka", "news-testing"):
            assert f"{sibling}: would set 'news-log>=0.1,<0.2' -> 'news-log>=0.2,<0.3'" in (
                proc.stdout
            )
        assert scratch.status() == []

    def test_without_it_the_refusal_says_how(self, scratch):
        """The refusal names the option and the range it would set."""
        proc = scratch.tool("release", PACKAGE, "minor", "--dry-run")
        assert proc.returncode == 1
        assert "--update-dependents to set their range to '>=0.2,<0.3'" in proc.stderr

    def test_every_dependent_range_admits_the_new_version(self, minor_with_dependents):
        """After the release no package or example declares a range news-log's version misses."""
        import tomllib

        from packaging.requirements import Requirement

        scratch, new, _ = minor_with_dependents
        pyprojects = [
            *scratch.root.glob("packages/*/pyproject.toml"),
            *scratch.root.glob("docs/examples/*/pyproject.toml"),
        ]
        seen = 0
        for pyproject in pyprojects:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
            declared = list(project.get("dependencies", []))
            for reqs in project.get("optional-dependencies", {}).values():
                declared += reqs
            for raw in declared:
                req = Requirement(raw)
                if req.name == PACKAGE:
                    seen += 1
                    assert req.specifier.contains(new), (pyproject, raw)
        assert seen >= 3

    def test_dependents_get_a_changelog_line_and_keep_their_version(self, minor_with_dependents):
        """Each dependent package's Unreleased says what it now requires; versions stay."""
        scratch, _, _ = minor_with_dependents
        for sibling in ("news-http", "news-kafka", "news-testing"):
            text = (scratch.root / "packages" / sibling / "CHANGELOG.md").read_text("utf-8")
            section = unreleased_section(text)
            assert "### Changed" in section
            assert "- Requires news-log 0.2 (`news-log>=0.2,<0.3`)." in section
            about = next((ROOT / "packages" / sibling / "src").glob("*/__about__.py"))
            assert f'"{scratch.version(sibling)}"' in about.read_text(encoding="utf-8")

    def test_changes_only_the_release_and_the_dependents_files(self, minor_with_dependents):
        """Modified: news-log's two files and each dependent's pyproject.toml and changelog."""
        scratch, _, _ = minor_with_dependents
        changed = {line[3:] for line in scratch.status()}
        assert {ABOUT, CHANGELOG} <= changed
        for path in changed - {ABOUT, CHANGELOG}:
            assert path.endswith(("/pyproject.toml", "/CHANGELOG.md")), path
        assert "packages/news-http/pyproject.toml" in changed

    def test_a_tagged_release_commits_the_dependents_too(self, scratch):
        """--tag --update-dependents commits every file it changed, then tags."""
        proc = scratch.tool("release", PACKAGE, "minor", "--update-dependents", "--tag")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert scratch.status() == []
        changed = scratch.git("show", "--name-only", "--format=", "HEAD").split()
        assert {ABOUT, CHANGELOG, "packages/news-kafka/pyproject.toml"} <= set(changed)
        assert scratch.git("tag", "--list").strip() == "news-log-v0.2.0"


def _sibling_requirements(root: Path) -> list[tuple[Path, str]]:
    """Every requirement of a package or example service on a package of the workspace."""
    import tomllib

    from packaging.requirements import Requirement

    names = {
        tomllib.loads(p.read_text(encoding="utf-8"))["project"]["name"]
        for p in root.glob("packages/*/pyproject.toml")
    }
    found = []
    pyprojects = [
        *root.glob("packages/*/pyproject.toml"),
        *root.glob("docs/examples/*/pyproject.toml"),
    ]
    for pyproject in pyprojects:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        declared = list(project.get("dependencies", []))
        for reqs in project.get("optional-dependencies", {}).values():
            declared += reqs
        found += [(pyproject, raw) for raw in declared if Requirement(raw).name in names]
    return found


class TestTheRoundOfMinors:
    @pytest.mark.slow
    def test_every_package_released_minor_keeps_the_workspace_consistent(self, scratch):
        """Releasing each package's minor in turn (--update-dependents) never breaks a range."""
        from packaging.requirements import Requirement

        folders = [p.parent.name for p in scratch.root.glob("packages/*/pyproject.toml")]
        versions = {name: scratch.version(name) for name in folders}
        for name in sorted(versions):
            proc = scratch.tool("release", name, "minor", "--update-dependents")
            assert proc.returncode == 0, proc.stdout + proc.stderr
            versions[name] = next_version(versions[name], "minor")
            assert scratch.version(name) == versions[name]
            for pyproject, raw in _sibling_requirements(scratch.root):
                req = Requirement(raw)
                assert req.specifier.contains(versions[req.name]), (name, pyproject, raw)
        assert len(versions) >= 8
        for name, version in versions.items():
            text = (scratch.root / "packages" / name / "CHANGELOG.md").read_text("utf-8")
            assert f"## {version} - " in text
