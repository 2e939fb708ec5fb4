"""The package README's examples run as written: the server one against a fresh database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

README = Path(__file__).parents[2] / "packages" / "news-mongo" / "README.md"
_BLOCK = re.compile(r"<!-- runnable(: needs-server)? -->\n```python\n(.*?)```", re.DOTALL)


def run(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run an example in a fresh interpreter."""
    (cwd / "example.py").write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "example.py"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestReadme:
    def test_both_examples_run(self, mongo: Any, tmp_path: Path) -> None:
        """The needs-server example runs against a fresh database; the settings one alone."""
        blocks = {bool(m.group(1)): m.group(2) for m in _BLOCK.finditer(README.read_text())}
        assert set(blocks) == {True, False}
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONGO_")}
        standalone = run(blocks[False], tmp_path, env)
        assert standalone.returncode == 0, standalone.stderr
        assert "mongo-0:27017,mongo-1:27017 newsroom 50" in standalone.stdout
        served = run(
            blocks[True], tmp_path, {**env, "MONGO_URI": mongo.uri, "MONGO_DATABASE": mongo.name}
        )
        assert served.returncode == 0, served.stderr
        assert "duplicate: articles_slug {'slug': 'summit'}" in served.stdout
        assert "Article(slug='summit', title='Summit opens'" in served.stdout
