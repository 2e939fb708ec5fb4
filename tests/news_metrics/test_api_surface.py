"""news_metrics's public API is pinned: a change to a name or signature is deliberate.

After a deliberate change, say it in packages/news-metrics/CHANGELOG.md and regenerate:

    hatch run python tools/api_surface.py news_metrics news_metrics.testing \
        news_metrics.multiprocess --update
"""

from __future__ import annotations

import inspect
import runpy
from pathlib import Path

import msgspec

import news_metrics

SURFACE = runpy.run_path(str(Path(__file__).parents[2] / "tools" / "api_surface.py"))


class TestAPISurface:
    def test_public_names_report_the_package(self) -> None:
        """Public classes and functions (Structs aside) say news_metrics is their module."""
        for name in news_metrics.__all__:
            obj = getattr(news_metrics, name)
            if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
                continue  # msgspec resolves a Struct's annotations in the module it names
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert obj.__module__ == "news_metrics", name

    def test_public_api_matches_the_snapshot(self) -> None:
        """news_metrics's public names and signatures are those of api_surface.txt."""
        SURFACE["assert_matches"](
            "news_metrics", "news_metrics.testing", "news_metrics.multiprocess"
        )
