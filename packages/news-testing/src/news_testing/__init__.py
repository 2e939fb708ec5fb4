"""pytest plugin for news platform services: a real Kafka broker (Tansu), real HTTP server processes, capture of published records."""

from __future__ import annotations

from news_testing.__about__ import __version__

__all__ = ["__version__"]
