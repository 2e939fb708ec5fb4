"""The errors news-health raises, all under one root.

The tree::

    Exception
     └── NewsHealthError                        every error news-health raises
          ├── HealthConfigError (ValueError)  `HealthSettings` out of range
          │    └── CheckConfigError           a check registered with a bad name or option
          └── LoopError (RuntimeError)        a sync entry point called where it would deadlock

Failing *checks* never raise out of the registry: their exceptions and timeouts become ``fail``
entries in the report.
"""

from __future__ import annotations

__all__ = ["CheckConfigError", "HealthConfigError", "LoopError", "NewsHealthError"]


class NewsHealthError(Exception):
    """Root of every error news-health raises."""


class HealthConfigError(NewsHealthError, ValueError):
    """`HealthSettings` (or a loop monitor) got a value out of range; the message says which."""


class CheckConfigError(HealthConfigError):
    """A check was registered with a bad or duplicate name, or an invalid timeout or TTL."""


class LoopError(NewsHealthError, RuntimeError):
    """A synchronous entry point was called from the event loop it would have to wait for."""
