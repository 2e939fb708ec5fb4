"""`DatabaseSettings`: everything a service configures about PostgreSQL, as frozen msgspec Structs.

news-config fills the tree from the environment, e.g. under ``prefix="NEWSROOM_"``::

    NEWSROOM_DB__HOST=db.internal
    NEWSROOM_DB__DATABASE=newsroom
    NEWSROOM_DB__USER=newsroom
    NEWSROOM_DB__PASSWORD=...                 (or a secret file)
    NEWSROOM_DB__MAX_SIZE=20
    NEWSROOM_DB__STATEMENT_CACHE_SIZE=0       (behind PgBouncer in transaction mode)
    NEWSROOM_DB__TLS__MODE=verify-full

or the whole connection as one secret: ``NEWSROOM_DB__DSN=postgresql://user:pw@host/db``.
Durations are seconds. Inconsistent values raise `DBConfigError` when the Struct is built.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from news_config import Secret
from news_db._errors import DBConfigError

__all__ = ["DatabaseSettings", "MetricsMode", "TLSMode", "TLSSettings"]

Meta = msgspec.Meta
TLSMode = Literal["disable", "prefer", "require", "verify-ca", "verify-full"]
MetricsMode = Literal["auto", "on", "off"]


class TLSSettings(msgspec.Struct, frozen=True, kw_only=True):
    """TLS to the server, as libpq's ``sslmode`` and files."""

    mode: Annotated[
        TLSMode,
        Meta(
            description=(
                "disable, prefer (TLS if the server offers it), require (no certificate "
                "check), verify-ca, verify-full (certificate and host name)"
            )
        ),
    ] = "prefer"
    root_cert: Annotated[
        str | None,
        Meta(description="PEM file of CAs to trust (verify-ca/verify-full); None: system store"),
    ] = None
    cert: Annotated[str | None, Meta(description="PEM client certificate, for mutual TLS")] = None
    key: Annotated[str | None, Meta(description="PEM private key of cert")] = None
    key_password: Annotated[
        Secret | None, Meta(description="Password of the key file, when it is encrypted")
    ] = None

    def __post_init__(self) -> None:
        files = [name for name in ("root_cert", "cert", "key") if getattr(self, name)]
        if files and self.mode == "disable":
            raise DBConfigError(
                f"tls: {', '.join(files)} set but tls.mode is disable; set tls.mode "
                "(require, verify-ca or verify-full) or remove them"
            )
        if bool(self.cert) != bool(self.key):
            raise DBConfigError("tls: cert and key go together (mutual TLS needs both)")


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """PostgreSQL connection, pool and migration settings for a service.

    Example:
        >>> settings = DatabaseSettings(host="db.internal", database="newsroom", max_size=20)
        >>> settings.acquire_timeout
        5.0
    """

    dsn: Annotated[
        Secret | None,
        Meta(
            description=(
                "Full connection URI (postgresql://user:password@host:port/db?sslmode=...); "
                "when set, host/port/database/user/password are not used"
            )
        ),
    ] = None
    host: Annotated[
        str, Meta(min_length=1, description="Server host name, IP, or a Unix socket directory")
    ] = "localhost"
    port: Annotated[int, Meta(ge=1, le=65535, description="Server port")] = 5432
    database: Annotated[str, Meta(min_length=1, description="Database name")] = "postgres"
    user: Annotated[str, Meta(min_length=1, description="Role to connect as")] = "postgres"
    password: Annotated[
        Secret | None, Meta(description="Password of user (None: trust, peer or a .pgpass)")
    ] = None
    min_size: Annotated[
        int, Meta(ge=0, description="Connections opened at start and kept open")
    ] = 2
    max_size: Annotated[int, Meta(ge=1, le=10_000, description="Most connections at once")] = 10
    acquire_timeout: Annotated[
        float,
        Meta(gt=0, description="Longest wait for a free pooled connection (PoolTimeoutError)"),
    ] = 5.0
    connect_timeout: Annotated[
        float, Meta(gt=0, description="Longest time to open one connection")
    ] = 10.0
    statement_timeout: (
        Annotated[
            float,
            Meta(
                gt=0,
                description=(
                    "Longest a statement may run before it is cancelled on the server "
                    "(QueryTimeoutError); empty: no limit"
                ),
            ),
        ]
        | None
    ) = 30.0
    idle_lifetime: Annotated[
        float,
        Meta(ge=0, description="Close a pooled connection idle this long (0: never)"),
    ] = 300.0
    statement_cache_size: Annotated[
        int,
        Meta(
            ge=0,
            description=(
                "Prepared statements cached per connection (asyncpg's key); "
                "0 behind PgBouncer in transaction mode"
            ),
        ),
    ] = 100
    application_name: Annotated[
        str | None,
        Meta(
            description=(
                "Name shown in pg_stat_activity; None: the Database's name= (the service name)"
            )
        ),
    ] = None
    tls: Annotated[TLSSettings, Meta(description="TLS settings")] = msgspec.field(
        default_factory=TLSSettings
    )
    migrations: Annotated[
        str | None,
        Meta(
            description=(
                "Where the NNNN_name.sql migrations are: a directory, or package:folder "
                "(newsroom:migrations)"
            )
        ),
    ] = None
    migrate_on_start: Annotated[
        bool, Meta(description="Apply pending migrations in start() (under an advisory lock)")
    ] = False
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
        if self.min_size > self.max_size:
            raise DBConfigError(
                f"min_size ({self.min_size}) is above max_size ({self.max_size}); "
                "lower min_size or raise max_size"
            )
        if self.migrate_on_start and not self.migrations:
            raise DBConfigError(
                "migrate_on_start is set but migrations is not; set migrations to the "
                "folder of the NNNN_name.sql files (a path or package:folder)"
            )
        if self.dsn is not None:
            dsn = self.dsn.reveal()
            if not dsn.startswith(("postgresql://", "postgres://")):
                raise DBConfigError(
                    "dsn must be a postgresql:// URI (postgresql://user:password@host:5432/db)"
                )
