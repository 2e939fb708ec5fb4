"""The newsroom: the news platform's example service, using every shared package.

``POST /v1/articles`` publishes an ``ArticleSubmitted`` event to Kafka; the service's own
consumer normalises it, stores it and publishes ``ArticlePublished``; ``GET /v1/articles/:id``
and ``GET /v1/articles`` read the store. Run it with ``python -m newsroom`` (see `newsroom.cli`);
the pieces: `newsroom.settings`, `newsroom.models`, `newsroom.normalise`, `newsroom.store`,
`newsroom.broker` (the embedded Kafka broker) and `newsroom.service`.
"""

from __future__ import annotations

from newsroom.__about__ import __version__

__all__ = ["__version__"]
