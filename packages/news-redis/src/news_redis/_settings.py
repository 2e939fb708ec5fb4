"""`RedisSettings`: how a service connects to Redis, as a frozen msgspec Struct.

news-config fills it from the environment, e.g. with ``prefix="NEWSROOM_REDIS__"``::

    NEWSROOM_REDIS__URL=redis://cache.internal:6379/0        (or HOST, PORT, DB)
    NEWSROOM_REDIS__USERNAME=newsroom
    NEWSROOM_REDIS__PASSWORD=...                              (or a secret file)
    NEWSROOM_REDIS__TLS=true
    NEWSROOM_REDIS__POOL_SIZE=20

redis-py has no socket timeouts by default (a command to a hung server waits for ever): here
``connect_timeout`` and ``socket_timeout`` are always set. Inconsistent values raise
`RedisConfigError` when the Struct is built.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

import msgspec

from news_config import Secret
from news_redis._errors import RedisConfigError

__all__ = ["MetricsMode", "RedisSettings"]

Meta = msgspec.Meta
MetricsMode = Literal["auto", "on", "off"]


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Redis connection, pool and timeout settings.

    Example:
        >>> settings = RedisSettings(url="redis://cache.internal:6379/2", pool_size=20)
        >>> (settings.address, settings.database)
        ('cache.internal:6379', 2)
    """

    url: Annotated[
        str | None,
        Meta(
            description=(
                "redis://host:port/db or rediss:// (TLS); overrides host, port, db and tls. "
                "Put the password in 'password', not in the URL"
            )
        ),
    ] = None
    host: Annotated[str, Meta(min_length=1, description="Server host (without url)")] = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535, description="Server port (without url)")] = 6379
    db: Annotated[int, Meta(ge=0, description="Database number (without url)")] = 0
    username: Annotated[
        str | None, Meta(description="ACL user name (Redis 6+); empty: the default user")
    ] = None
    password: Annotated[
        Secret | None, Meta(description="Password (AUTH); empty: no authentication")
    ] = None
    tls: Annotated[bool, Meta(description="Connect over TLS (also set by a rediss:// url)")] = False
    tls_ca_file: Annotated[
        str | None, Meta(description="PEM file of CAs to trust (empty: the system's store)")
    ] = None
    tls_cert_file: Annotated[
        str | None, Meta(description="PEM client certificate, for mutual TLS")
    ] = None
    tls_key_file: Annotated[str | None, Meta(description="PEM private key of tls_cert_file")] = None
    tls_check_hostname: Annotated[
        bool, Meta(description="Check that the server certificate matches the host name")
    ] = True
    pool_size: Annotated[
        int, Meta(ge=1, le=10_000, description="Most connections open at once (per process)")
    ] = 10
    pool_timeout: Annotated[
        float,
        Meta(
            gt=0,
            description=("Seconds a command waits for a free connection before PoolExhaustedError"),
        ),
    ] = 1.0
    connect_timeout: Annotated[
        float, Meta(gt=0, description="Seconds to open a connection (TCP, TLS, AUTH)")
    ] = 1.0
    socket_timeout: Annotated[
        float,
        Meta(
            gt=0, description="Seconds a command may wait for its answer (then RedisTimeoutError)"
        ),
    ] = 1.0
    health_check_interval: Annotated[
        float,
        Meta(
            ge=0,
            description=(
                "A connection idle this many seconds is PINGed before it is used again (0: never)"
            ),
        ),
    ] = 30.0
    client_name: Annotated[
        str | None, Meta(description="CLIENT SETNAME shown by CLIENT LIST (empty: none)")
    ] = "news-redis"
    start_check: Annotated[
        bool,
        Meta(
            description=(
                "start() fails when Redis does not answer a PING (false: start anyway and "
                "let commands fail until it is back)"
            )
        ),
    ] = True
    metrics: Annotated[
        MetricsMode,
        Meta(
            description=(
                "Prometheus metrics when no metrics= hook is passed: auto (if news-metrics is "
                "installed), on (require it), off"
            )
        ),
    ] = "auto"

    def __post_init__(self) -> None:
        if self.url is not None:
            self._check_url(self.url)
        if self.tls_key_file and not self.tls_cert_file:
            raise RedisConfigError(
                "tls_key_file is set without tls_cert_file; mutual TLS needs both"
            )
        tls_files = [
            name for name in ("tls_ca_file", "tls_cert_file", "tls_key_file") if getattr(self, name)
        ]
        if tls_files and not self.uses_tls:
            raise RedisConfigError(
                f"{', '.join(tls_files)} set but TLS is off; set tls=true (or use a "
                "rediss:// url), or remove them"
            )

    @staticmethod
    def _check_url(url: str) -> None:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise RedisConfigError(f"url: {url!r} is not a URL ({exc})") from exc
        if parts.scheme not in {"redis", "rediss"}:
            raise RedisConfigError(
                f"url: scheme {parts.scheme!r} is not supported; use redis://host:port/db "
                "or rediss:// for TLS"
            )
        if not parts.hostname:
            raise RedisConfigError(f"url: {url!r} names no host (redis://host:6379/0)")
        if parts.password is not None:
            raise RedisConfigError(
                "url: it carries a password, which would show wherever the URL is printed; "
                "put the password in 'password' (a Secret, e.g. REDIS_PASSWORD or a secret "
                "file) and remove it from the URL"
            )
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise RedisConfigError(f"url: database {path!r} is not a number (redis://host/2)")
        if port is not None and not 0 < port < 65536:
            raise RedisConfigError(f"url: port {port} is out of range")

    @property
    def uses_tls(self) -> bool:
        """Whether connections use TLS (``tls`` or a ``rediss://`` url)."""
        return self.tls or (self.url is not None and self.url.startswith("rediss:"))

    @property
    def server_host(self) -> str:
        """The server's host name, from ``url`` or ``host``."""
        if self.url is not None:
            return urlsplit(self.url).hostname or self.host
        return self.host

    @property
    def server_port(self) -> int:
        """The server's port, from ``url`` (6379 when it has none) or ``port``."""
        if self.url is not None:
            return urlsplit(self.url).port or 6379
        return self.port

    @property
    def database(self) -> int:
        """The database number, from ``url`` (0 when it has none) or ``db``."""
        if self.url is not None:
            path = urlsplit(self.url).path.strip("/")
            return int(path) if path else 0
        return self.db

    @property
    def user(self) -> str | None:
        """The ACL user: ``username``, else the one in ``url``, else None."""
        if self.username:
            return self.username
        if self.url is not None:
            name = urlsplit(self.url).username
            return unquote(name) if name else None
        return None

    @property
    def address(self) -> str:
        """``host:port`` of the server, for messages and logs (never credentials)."""
        return f"{self.server_host}:{self.server_port}"
