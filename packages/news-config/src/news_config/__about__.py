"""The version of news-config; the single source of truth read by hatch."""

__version__ = "0.1.0"
