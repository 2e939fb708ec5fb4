"""news_client's public API is pinned: a change to a name or signature is deliberate.

After a deliberate change, say it in packages/news-client/CHANGELOG.md and regenerate:

    hatch run python tools/api_surface.py news_client news_client.metrics --update
"""

from __future__ import annotations

import inspect
import runpy
from pathlib import Path

import msgspec

import news_client

SURFACE = runpy.run_path(str(Path(__file__).parents[2] / "tools" / "api_surface.py"))


class TestAPISurface:
    def test_public_names_report_the_package(self) -> None:
        """Public classes and functions (Structs aside) say news_client is their module."""
        for name in news_client.__all__:
            obj = getattr(news_client, name)
            if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
                continue  # msgspec resolves a Struct's annotations in the module it names
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert obj.__module__ == "news_client", name

    def test_public_api_matches_the_snapshot(self) -> None:
        """news_client's public names and signatures are those of api_surface.txt."""
        SURFACE["assert_matches"]("news_client", "news_client.metrics")
