"""The runnable examples of docs/*.md run, as written, in the test environment."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from _workspace import runnable_examples  # noqa: E402

EXAMPLES = [
    example for page in sorted(ROOT.glob("docs/*.md")) for example in runnable_examples(page)
]


@pytest.mark.parametrize(
    "example",
    [e for e in EXAMPLES if not e.needs_server],
    ids=lambda e: f"{e.path.name}:{e.line}",
)
def test_docs_example_runs(example, tmp_path):
    """A docs page's runnable example exits 0 in a fresh interpreter, in an empty directory."""
    script = tmp_path / "example.py"
    script.write_text(example.code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{example.path}:{example.line}\n{result.stdout}{result.stderr}"
