"""tools/api_surface.py: the text of a package's public API, and the snapshot check."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _tool(monkeypatch: pytest.MonkeyPatch, root: Path) -> Any:
    path = ROOT / "tools" / "api_surface.py"
    spec = importlib.util.spec_from_file_location("api_surface_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", root)
    return module


def _package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    pkg = tmp_path / "src" / "fakepkg"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(source), "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    sys.modules.pop("fakepkg", None)


SOURCE = """
    from __future__ import annotations

    import msgspec

    __all__ = ["Client", "Settings", "connect", "__version__"]
    __version__ = "1.0.0"


    class Settings(msgspec.Struct, frozen=True, kw_only=True):
        host: str = "localhost"
        port: int = 80


    class Client:
        def __init__(self, settings: Settings, *, timeout: float = 1.0) -> None:
            self.settings = settings

        async def get(self, path: str) -> bytes:
            return b""

        async def __aenter__(self) -> "Client":
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None


    def connect(settings: Settings | None = None) -> Client:
        return Client(settings or Settings())
"""


class TestAPISurface:
    def test_surface_lists_names_signatures_fields_and_members(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The text names each public name, its module, signature, Struct fields and methods."""
        tool = _tool(monkeypatch, tmp_path)
        _package(tmp_path, monkeypatch, SOURCE)
        text = tool.surface("fakepkg")
        assert "class Settings(msgspec.Struct)" in text
        assert "  struct options: frozen" in text
        assert "  signature: (*, host: str = 'localhost', port: int = 80)" in text
        assert "  field port: int = 80" in text
        assert "  async def get(self, path: 'str') -> 'bytes'" in text
        assert "  __aenter__" in text
        assert "def connect(settings: 'Settings | None' = None) -> 'Client'" in text
        assert "__version__" not in text

    def test_a_changed_signature_fails_with_the_regenerate_command(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """After --update the check passes; a new keyword makes it fail with a diff and the fix."""
        tool = _tool(monkeypatch, tmp_path)
        _package(tmp_path, monkeypatch, SOURCE)
        (tmp_path / "tests" / "fakepkg").mkdir(parents=True)
        assert tool.main(["fakepkg", "--update"]) == 0
        tool.assert_matches("fakepkg")
        changed = SOURCE.replace("*, timeout: float = 1.0", "*, retries: int = 3")
        _package(tmp_path, monkeypatch, changed)
        with pytest.raises(AssertionError) as info:
            tool.assert_matches("fakepkg")
        message = str(info.value)
        assert "+  signature: (settings: 'Settings', *, retries: 'int' = 3) -> 'None'" in message
        assert "hatch run python tools/api_surface.py fakepkg --update" in message
