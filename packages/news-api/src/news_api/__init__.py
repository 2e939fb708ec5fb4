"""Standard API responses for news platform services: success envelopes, RFC 9457 problem details, error types, pagination, body decoding."""

from __future__ import annotations

from news_api.__about__ import __version__

__all__ = ["__version__"]
