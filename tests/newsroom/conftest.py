from __future__ import annotations

import pytest

from newsroom.models import Article


def make_article(n: int, section: str = "world") -> Article:
    """Article number ``n`` (id ``a<n>``) in ``section``."""
    return Article(
        id=f"a{n}",
        title=f"Title {n}",
        slug=f"title-{n}",
        body="text",
        section=section,
        author="Ada",
        tags=[],
        words=1,
        submitted_at=1.0,
        published_at=2.0,
    )


@pytest.fixture
def article():
    """Build stored articles: ``article(3, "sport")``."""
    return make_article
