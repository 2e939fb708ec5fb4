"""pytest fixtures for HTTP tests (registered by ``news_testing.plugin``)."""

from __future__ import annotations
