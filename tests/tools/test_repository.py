"""The root README, .ci/run and the packages agree with each other."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TABLE_ROW = re.compile(r"^\| \[(?P<name>[a-z0-9-]+)\]\(packages/(?P<folder>[a-z0-9-]+)/?\) \|")


def packages() -> dict[str, str]:
    """Distribution name -> version (from __about__.py) for every folder under packages/."""
    found = {}
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        about = pyproject.parent / data["tool"]["hatch"]["version"]["path"]
        match = re.search(r'__version__\s*=\s*"([^"]+)"', about.read_text(encoding="utf-8"))
        assert match is not None, f"{about} has no __version__"
        found[data["project"]["name"]] = match.group(1)
    return found


def table() -> dict[str, list[str]]:
    """Distribution name -> the cells of its row in the README's package table."""
    rows = {}
    for line in README.splitlines():
        match = TABLE_ROW.match(line)
        if match:
            assert match["name"] == match["folder"], line
            rows[match["name"]] = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return rows


def section(title: str) -> str:
    """The README's text under '## <title>', up to the next '## ' heading."""
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


class TestPackageTable:
    def test_lists_every_package_and_only_those(self):
        """Every folder under packages/ has a row, and every row has a folder."""
        assert sorted(table()) == sorted(packages())

    def test_versions_are_the_packages_current_versions(self):
        """The version column equals each package's __about__.py version."""
        expected = {name: f"| {version} |" for name, version in packages().items()}
        actual = {name: f"| {cells[-1]} |" for name, cells in table().items()}
        assert actual == expected, "update the README table's version column"

    def test_install_lines_name_the_distribution(self):
        """Each row's install cell is `pip install <distribution>`."""
        for name, cells in table().items():
            assert f"`pip install {name}`" in cells

    def test_each_row_links_the_packages_docs_page(self):
        """Each row links docs/<distribution>.md, and that page exists."""
        for name, cells in table().items():
            assert f"[docs/{name}.md](docs/{name}.md)" in cells, name
            assert (ROOT / "docs" / f"{name}.md").is_file(), name


class TestDocsIndex:
    def test_index_links_every_page(self):
        """docs/README.md links every page of docs/, and every link points at a page."""
        index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
        linked = set(re.findall(r"\]\(([a-z0-9-]+\.md)\)", index))
        pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"README.md"}
        assert linked == pages

    def test_links_between_pages_resolve(self):
        """Relative links of README.md, docs/*.md and examples' READMEs resolve, with headings."""

        def anchors(page: Path) -> set[str]:
            text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
            headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
            return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}

        broken = []
        pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        for page in [*pages, *sorted((ROOT / "docs" / "examples").glob("*/README.md"))]:
            text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"[a-z]+:", target):
                    continue  # http(s), mailto
                path, _, anchor = target.partition("#")
                linked = (page.parent / path).resolve() if path else page
                if not linked.exists():
                    broken.append(f"{page.name}: {target}")
                elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                    broken.append(f"{page.name}: {target} (no such heading)")
        assert not broken, broken


class TestQuickStart:
    def test_ci_runs_the_readme_test_command_verbatim(self):
        """The quick start's test command appears as a line of .ci/run, exactly."""
        commands = [
            line.strip()
            for line in section("Quick start").splitlines()
            if line.strip().startswith("python3 tools/dev.py test")
        ]
        assert commands == ["python3 tools/dev.py test"]
        ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        # .ci/run wraps each command as `step "<name>" <command>`; the command itself must match.
        run = [re.sub(r'^step "[^"]+" ', "", line.strip()) for line in ci_lines]
        assert commands[0] in run, f".ci/run must run {commands[0]!r} as the README shows it"

    def test_is_the_first_section_and_two_commands(self):
        """Right after the intro, the quick start's first block is the two dev.py commands."""
        first = README.split("\n## ", 1)[1]
        assert first.startswith("Quick start\n")
        block = section("Quick start").split("```sh\n", 1)[1].split("```", 1)[0]
        assert block.splitlines() == ["python3 tools/dev.py newsroom", "python3 tools/dev.py test"]

    def test_quick_start_commands_are_dev_py_subcommands(self):
        """Every `python3 tools/dev.py X` the quick start shows is a subcommand dev.py knows."""
        proc = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "dev.py"), "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        for command in set(re.findall(r"python3 tools/dev\.py (\w+)", section("Quick start"))):
            assert f"python3 tools/dev.py {command}" in proc.stdout, command

    def test_releasing_doc_is_linked(self):
        """The README links docs/releasing.md, and the file exists."""
        assert "(docs/releasing.md)" in README
        assert (ROOT / "docs" / "releasing.md").is_file()


class TestDevEntryPoint:
    def test_unknown_subcommand_prints_usage_and_fails(self):
        """tools/dev.py with no known subcommand shows its usage and exits 2."""
        proc = subprocess.run(
            [sys.executable, str(ROOT / "tools" / "dev.py"), "frobnicate"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2
        assert "python3 tools/dev.py test" in proc.stdout

    def test_newsroom_banner_shows_the_url_and_a_valid_article(self):
        """`dev.py newsroom` prints its URL and a curl body the service accepts."""
        import importlib.util
        import json

        import msgspec

        from newsroom.models import ArticleIn

        spec = importlib.util.spec_from_file_location("dev", ROOT / "tools" / "dev.py")
        assert spec is not None
        assert spec.loader is not None
        dev = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(dev)
        banner = dev.newsroom_banner("http://127.0.0.1:8123")
        assert "http://127.0.0.1:8123/v1/articles" in banner
        body = re.search(r"-d '([^']+)'", banner)
        assert body is not None
        article = msgspec.convert(json.loads(body[1]), ArticleIn)
        assert article.section == "world"
