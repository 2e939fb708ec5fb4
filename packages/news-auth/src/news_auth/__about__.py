"""The version of news-auth (single source: hatch reads it from here)."""

__version__ = "0.1.0"
