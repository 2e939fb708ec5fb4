"""The errors news-redis raises, all under one root.

::

    NewsRedisError
    ├── RedisConfigError (also ValueError)       bad settings, found when they are built
    ├── RedisClosedError (also RuntimeError)     a command before start() or after stop()
    ├── RedisUnavailableError                    Redis could not serve the command
    │   ├── RedisConnectionError (ConnectionError)   cannot connect, or the connection broke
    │   └── RedisTimeoutError (TimeoutError)         no answer within the socket timeout
    │       └── PoolExhaustedError                   no free connection within pool_timeout
    ├── RedisCommandError                        Redis answered with an error (wrong type...)
    ├── RateLimitUnavailableError                a fail-closed limit could not be checked
    ├── CacheError (also ValueError)             a value cannot be encoded or decoded
    └── LockError
        ├── LockNotAcquiredError (TimeoutError)  the lock stayed taken for the whole wait
        └── LockLostError                        released or extended after it expired or
                                                 was taken over by someone else

Third-party (redis-py) errors are translated at the boundary and kept as ``__cause__``.
"""

from __future__ import annotations

__all__ = [
    "CacheError",
    "LockError",
    "LockLostError",
    "LockNotAcquiredError",
    "NewsRedisError",
    "PoolExhaustedError",
    "RateLimitUnavailableError",
    "RedisClosedError",
    "RedisCommandError",
    "RedisConfigError",
    "RedisConnectionError",
    "RedisTimeoutError",
    "RedisUnavailableError",
]


class NewsRedisError(Exception):
    """Root of every error raised by news-redis."""


class RedisConfigError(NewsRedisError, ValueError):
    """The settings are invalid or inconsistent; the message names the field and the fix."""


class RedisClosedError(NewsRedisError, RuntimeError):
    """The client is not running: a command before ``start()`` or after ``stop()``."""


class RedisUnavailableError(NewsRedisError):
    """Redis could not serve the command (down, unreachable, too slow, pool exhausted)."""


class RedisConnectionError(RedisUnavailableError, ConnectionError):
    """Redis cannot be reached, refused the credentials, or the connection broke mid-command."""


class RedisTimeoutError(RedisUnavailableError, TimeoutError):
    """Redis did not answer within ``socket_timeout`` (or could not be connected to in time)."""


class PoolExhaustedError(RedisTimeoutError):
    """Every pooled connection stayed busy for ``pool_timeout`` seconds.

    Raise ``pool_size`` if the service really needs that many commands in flight, or look for
    slow commands (a blocking command or a big Lua script holds its connection).
    """


class RedisCommandError(NewsRedisError):
    """Redis answered the command with an error (``WRONGTYPE``, a Lua error, ``NOPERM``...)."""


class RateLimitUnavailableError(NewsRedisError):
    """A fail-closed rate limit could not be checked because its backend is unavailable.

    news-redis's HTTP middleware answers it with 503 Service Unavailable.
    """


class CacheError(NewsRedisError, ValueError):
    """A cached value cannot be encoded, or a stored value does not decode into its type."""


class LockError(NewsRedisError):
    """Base of the lock errors."""


class LockNotAcquiredError(LockError, TimeoutError):
    """The lock was held by someone else for the whole ``wait``."""


class LockLostError(LockError):
    """The lock is no longer ours: it expired (maybe taken by another) before release/extend."""
