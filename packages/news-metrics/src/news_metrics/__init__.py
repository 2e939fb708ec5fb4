"""Prometheus metrics for news platform services: HTTP RED and Kafka families, business events, exposition, Grafana dashboards."""

from __future__ import annotations

from news_metrics.__about__ import __version__

__all__ = ["__version__"]
