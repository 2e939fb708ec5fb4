"""The package README's examples work: the complete service served for real, the in-process one."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import news_http
from news_testing.http import serve_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess

README = Path(__file__).parents[2] / "packages" / "news-http" / "README.md"
_BLOCK = re.compile(r"<!-- runnable(: needs-server)? -->\n```python\n(.*?)```", re.DOTALL)


def _blocks() -> dict[bool, str]:
    found = {bool(m.group(1)): m.group(2) for m in _BLOCK.finditer(README.read_text())}
    assert set(found) == {True, False}, "README needs one server and one in-process example"
    return found


@pytest.fixture(scope="module")
def readme_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The README's complete service, written to a module and served in a real process."""
    folder = tmp_path_factory.mktemp("readme")
    (folder / "readme_service.py").write_text(_blocks()[True])
    with serve_app(
        "readme_service:app",
        settings=news_http.HTTPSettings(host="127.0.0.1"),
        pythonpath=[folder],
    ) as server:
        yield server


class TestReadme:
    def test_the_complete_service_is_under_30_lines(self) -> None:
        """The complete service example stays short."""
        assert len(_blocks()[True].splitlines()) < 30

    def test_the_complete_service_serves(self, readme_service: ServerProcess) -> None:
        """Create, read, 404, 405 and 422 behave as the README says."""
        client = readme_service.client()
        created = client.post("/articles", json={"title": "Hello", "body": "World"})
        assert created.status_code == 201
        location = created.headers["location"]
        assert client.get(location).json() == {"data": {"title": "Hello", "body": "World"}}
        assert client.get("/articles/9").status_code == 404
        assert client.delete(location).status_code == 405
        invalid = client.post("/articles", json={"title": 1})
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["field"] == "title"
        assert client.get("/nope").headers["x-frame-options"] == "DENY"

    def test_the_in_process_example_runs(self, tmp_path: Path) -> None:
        """The runnable example runs standalone and prints what it asserts."""
        script = tmp_path / "example.py"
        script.write_text(_blocks()[False])
        done = subprocess.run(
            [sys.executable, "-I", str(script)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "Hello ada!" in done.stdout
