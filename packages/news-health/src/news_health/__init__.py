"""Health checks for news platform services: liveness and readiness registries with timeouts, caching and an application/health+json report."""

from __future__ import annotations

from news_health.__about__ import __version__

__all__ = ["__version__"]
