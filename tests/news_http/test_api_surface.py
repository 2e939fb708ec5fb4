"""news_http's public API is pinned: a change to a name or signature is deliberate.

After a deliberate change, say it in packages/news-http/CHANGELOG.md and regenerate:

    hatch run python tools/api_surface.py news_http --update
"""

from __future__ import annotations

import runpy
from pathlib import Path

import news_http

SURFACE = runpy.run_path(str(Path(__file__).parents[2] / "tools" / "api_surface.py"))


class TestAPISurface:
    def test_public_api_matches_the_snapshot(self) -> None:
        """news_http's public names, modules and signatures are those of api_surface.txt."""
        SURFACE["assert_matches"]("news_http")

    def test_public_names_report_the_public_module(self) -> None:
        """Public classes and functions say they live in news_http (not the settings Structs).

        msgspec resolves a Struct's annotations in the module it names.
        """
        structs = {"HTTPSettings", "CORSSettings", "SecurityHeaders"}
        for name in news_http.__all__:
            value = getattr(news_http, name)
            if (isinstance(value, type) or callable(value)) and name not in structs:
                assert value.__module__ == "news_http", name
        for name in structs:
            assert getattr(news_http, name).__module__ == "news_http._settings"
