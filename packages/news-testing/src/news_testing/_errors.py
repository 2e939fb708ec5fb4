"""The errors news-testing raises, under one root.

::

    NewsTestingError
    ├── AppStartError (RuntimeError)         serve_app / start_app / http_server: the server
    │                                        process exited, or did not serve in time
    ├── BrokerStartError (RuntimeError)      KafkaBroker.start(), kafka_broker: Tansu exited or
    │                                        did not answer a Kafka Metadata request in time
    ├── ExternalClusterError (RuntimeError)  start/stop/restart/kill of the cluster named by
    │                                        NEWS_TEST_KAFKA_BOOTSTRAP (never touched)
    ├── CaptureError (RuntimeError)          KafkaCapture used before start, or its reader failed
    ├── OIDCProviderError (RuntimeError)     the OpenID provider could not be installed, started
    │                                        or asked (news_testing.oidc)
    ├── PostgresStartError (RuntimeError)    a private PostgreSQL or PgBouncer did not start
    │                                        (news_testing.postgres)
    ├── RedisStartError (RuntimeError)       a private redis-server did not start
    │                                        (news_testing.redis)
    └── WaitTimeoutError (TimeoutError)      wait_for / wait_for_log / stop / a topic that never
                                             appeared: what was awaited did not happen in time

Every message carries what is needed to debug the failure (the last log lines, what was
captured). A missing extra is a `ModuleNotFoundError` naming the install line.
"""

from __future__ import annotations

__all__ = [
    "AppStartError",
    "BrokerStartError",
    "CaptureError",
    "ExternalClusterError",
    "NewsTestingError",
    "WaitTimeoutError",
]


class NewsTestingError(Exception):
    """The root of news-testing's errors."""


class AppStartError(NewsTestingError, RuntimeError):
    """The server process exited or did not become ready; the message has its last log lines."""


class BrokerStartError(NewsTestingError, RuntimeError):
    """The Tansu broker exited or did not answer in time; the message has its log's tail."""


class ExternalClusterError(NewsTestingError, RuntimeError):
    """A start, stop, restart or kill of a cluster news-testing did not start."""


class CaptureError(NewsTestingError, RuntimeError):
    """A `KafkaCapture` was used before ``start()``, or its reader failed (the cause is kept)."""


class WaitTimeoutError(NewsTestingError, TimeoutError):
    """What a helper waited for did not happen in time; the message says what it saw."""


# Tracebacks and reprs name the public home (news_testing.AppStartError), not this module.
for _public in (
    AppStartError,
    BrokerStartError,
    CaptureError,
    ExternalClusterError,
    NewsTestingError,
    WaitTimeoutError,
):
    _public.__module__ = "news_testing"
del _public
