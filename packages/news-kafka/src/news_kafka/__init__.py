"""Kafka for news platform services: typed Publisher and at-least-once Consumer on aiokafka, retries, dead-letter topics, admin."""

from __future__ import annotations

from news_kafka.__about__ import __version__

__all__ = ["__version__"]
