"""The version of news-db (single source: hatch reads it from here)."""

__version__ = "0.1.0"
