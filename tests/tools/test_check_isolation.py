"""tools/check-isolation, run on fake packages added to scratch copies of the repository."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Scratch

FAILING_EXAMPLE = """\
<!-- runnable -->
```python
import news_fake

raise SystemExit("example broke " + news_fake.__version__)
```
"""

SERVER_EXAMPLE = """\
<!-- runnable: needs-server -->
```python
raise SystemExit("this needs a server and must not run here")
```
"""

PASSING_EXAMPLE = """\
<!-- runnable -->
```python
import news_fake

print("ok", news_fake.__version__)
```
"""


def check(scratch: Scratch, package: str = "news-fake") -> tuple[int, str]:
    """Run tools/check-isolation for one package; return (exit code, all output)."""
    proc = scratch.tool("check-isolation", "--package", package)
    return proc.returncode, proc.stdout + proc.stderr


class TestImports:
    def test_undeclared_sibling_import_fails_naming_package_and_module(self, scratch):
        """A package importing a sibling it does not declare fails, naming both."""
        scratch.add_package("news-fake", init="import news_log  # undeclared")
        code, output = check(scratch)
        assert code == 1, output
        assert "news-fake: 'import news_fake' fails" in output
        assert "news_log" in output

    def test_declared_sibling_is_installed_from_its_local_wheel(self, scratch):
        """A declared sibling range is satisfied by the sibling's freshly built wheel."""
        version = scratch.version("news-log")
        major, minor = version.split(".")[:2]
        scratch.add_package(
            "news-fake",
            dependencies=(f"news-log>={major}.{minor},<{major}.{int(minor) + 1}",),
            init="import news_log",
        )
        code, output = check(scratch)
        assert code == 0, output
        assert "news-fake dependency closure" in output
        closure_line = next(line for line in output.splitlines() if "news-fake dependency" in line)
        assert f"news-log {version}" in closure_line

    def test_reports_version_and_empty_closure_for_a_dependency_free_package(self, scratch):
        """The table shows the package's version and a dependency count of 0."""
        scratch.add_package("news-fake", version="0.3.1")
        code, output = check(scratch)
        assert code == 0, output
        row = next(line for line in output.splitlines() if line.startswith("news-fake "))
        assert row.split()[1:3] == ["0.3.1", "0"]


class TestReadmeExamples:
    def test_failing_runnable_example_fails_the_check(self, scratch):
        """A README runnable example that exits non-zero fails the package, with its output."""
        scratch.add_package("news-fake", readme=FAILING_EXAMPLE)
        code, output = check(scratch)
        assert code == 1, output
        assert "news-fake: README.md runnable example #1" in output
        assert "example broke 0.1.0" in output

    def test_needs_server_example_is_not_run(self, scratch):
        """A block marked needs-server is skipped; the runnable one runs and passes."""
        scratch.add_package("news-fake", readme=SERVER_EXAMPLE + "\n" + PASSING_EXAMPLE)
        code, output = check(scratch)
        assert code == 0, output
        assert "1 ok, 1 needs-server skipped" in output

    def test_marker_without_code_block_is_an_error(self, scratch):
        """A '<!-- runnable -->' line not followed by a python block is reported, not ignored."""
        scratch.add_package("news-fake", readme="<!-- runnable -->\nJust prose.\n")
        code, output = check(scratch)
        assert code == 1, output
        assert "not followed by a ```python block" in output
