"""news_schema's public API is pinned: a change to a name or signature is deliberate.

After a deliberate change, say it in packages/news-schema/CHANGELOG.md and regenerate:

    hatch run python tools/api_surface.py news_schema --update
"""

from __future__ import annotations

import inspect
import runpy
from pathlib import Path

import msgspec

import news_schema

SURFACE = runpy.run_path(str(Path(__file__).parents[2] / "tools" / "api_surface.py"))


class TestAPISurface:
    def test_public_names_report_the_package(self) -> None:
        """Public classes and functions (Structs aside) say news_schema is their module."""
        for name in news_schema.__all__:
            obj = getattr(news_schema, name)
            if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
                continue  # msgspec resolves a Struct's annotations in the module it names
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert obj.__module__ == "news_schema", name

    def test_public_api_matches_the_snapshot(self) -> None:
        """news_schema's public names and signatures are those of api_surface.txt."""
        SURFACE["assert_matches"]("news_schema")
