"""news_mongo's public API is pinned: a change to a name or signature is deliberate.

After a deliberate change, say it in packages/news-mongo/CHANGELOG.md and regenerate:

    hatch run python tools/api_surface.py news_mongo news_mongo.health news_mongo.metrics --update
"""

from __future__ import annotations

import runpy
from pathlib import Path

SURFACE = runpy.run_path(str(Path(__file__).parents[2] / "tools" / "api_surface.py"))


class TestAPISurface:
    def test_public_api_matches_the_snapshot(self) -> None:
        """news_mongo's public names and signatures are those of api_surface.txt."""
        SURFACE["assert_matches"]("news_mongo", "news_mongo.health", "news_mongo.metrics")
