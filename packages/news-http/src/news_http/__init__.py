"""HTTP for news platform services: a Robyn app factory with the standard middleware chain, problem+json errors and graceful shutdown."""

from __future__ import annotations

from news_http.__about__ import __version__

__all__ = ["__version__"]
