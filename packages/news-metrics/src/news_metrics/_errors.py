"""The errors news-metrics raises; every one derives from `NewsMetricsError`.

The tree::

    NewsMetricsError (Exception)
     ├── MetricsConfigError (ValueError)     bad settings, or settings changed after first use
     ├── EventDeclarationError (ValueError)  bad business-event name or label names, or a
     │                                       second declaration that disagrees with the first
     ├── UnknownEventError (LookupError)     business_event() of a name never declared
     ├── EventRecordError (ValueError)       business_event() with wrong labels, negative amount
     ├── MultiprocessError (RuntimeError)    multiprocess.prepare() too late, or an unusable dir
     └── ServerError (OSError)               the standalone exposition server cannot listen

The hooks news-http and news-kafka call on their hot paths (`HTTPMetrics`, `KafkaMetrics`) never
raise: recording a metric must not fail a request or a message.
"""

from __future__ import annotations

__all__ = [
    "EventDeclarationError",
    "EventRecordError",
    "MetricsConfigError",
    "MultiprocessError",
    "NewsMetricsError",
    "ServerError",
    "UnknownEventError",
]


class NewsMetricsError(Exception):
    """Root of every error news-metrics raises."""


class MetricsConfigError(NewsMetricsError, ValueError):
    """Settings that cannot work (bad buckets), or settings changed after metrics were created."""


class EventDeclarationError(NewsMetricsError, ValueError):
    """A business event declared with a bad name or labels, or re-declared differently."""


class UnknownEventError(NewsMetricsError, LookupError):
    """A business event recorded under a name that was never declared."""


class EventRecordError(NewsMetricsError, ValueError):
    """A business event recorded with missing or unexpected labels, or a negative amount."""


class MultiprocessError(NewsMetricsError, RuntimeError):
    """Multi-process mode prepared too late (metrics already recorded) or on an unusable folder."""


class ServerError(NewsMetricsError, OSError):
    """The standalone exposition server could not start listening."""
