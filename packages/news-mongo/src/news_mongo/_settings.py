"""`MongoSettings`: everything a service configures about MongoDB, as frozen msgspec Structs.

news-config fills the tree from the environment, e.g. under ``prefix="NEWSROOM_"``::

    NEWSROOM_MONGO__URI=mongodb://newsroom:...@mongo-0,mongo-1/?replicaSet=rs0   (a Secret)
    NEWSROOM_MONGO__DATABASE=newsroom
    NEWSROOM_MONGO__MAX_POOL_SIZE=50
    NEWSROOM_MONGO__WRITE_CONCERN=majority
    NEWSROOM_MONGO__TLS__ENABLED=true

The URI is a `news_config.Secret`: credentials in it never reach a log line, a repr or an
error message (news-mongo names the hosts only). Durations are seconds. Inconsistent values
raise `MongoConfigError` when the Struct is built. pymongo's defaults that are wrong for a
service are replaced: the socket timeout is bounded (pymongo waits for ever by default).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from news_config import Secret
from news_mongo._errors import MongoConfigError

__all__ = ["MetricsMode", "MongoSettings", "MongoTLSSettings", "ReadConcern", "ReadPreference"]

Meta = msgspec.Meta
MetricsMode = Literal["auto", "on", "off"]
ReadConcern = Literal["local", "available", "majority", "linearizable", "snapshot"]
ReadPreference = Literal[
    "primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"
]


class MongoTLSSettings(msgspec.Struct, frozen=True, kw_only=True):
    """TLS to the servers (pymongo's ``tls*`` options)."""

    enabled: Annotated[
        bool | None,
        Meta(description="Use TLS; empty: as the URI says (mongodb+srv:// turns it on)"),
    ] = None
    ca_file: Annotated[
        str | None, Meta(description="PEM file of CAs to trust; empty: the system's store")
    ] = None
    cert_key_file: Annotated[
        str | None,
        Meta(description="PEM file with the client certificate and its key (mutual TLS, X.509)"),
    ] = None
    cert_key_password: Annotated[
        Secret | None, Meta(description="Password of cert_key_file's key, when it is encrypted")
    ] = None
    allow_invalid_hostnames: Annotated[
        bool, Meta(description="Skip the host name check of the server certificate (tests only)")
    ] = False
    allow_invalid_certificates: Annotated[
        bool, Meta(description="Accept any server certificate (tests only; never in production)")
    ] = False

    def __post_init__(self) -> None:
        files = [name for name in ("ca_file", "cert_key_file") if getattr(self, name)]
        if files and self.enabled is False:
            raise MongoConfigError(
                f"tls: {', '.join(files)} set but tls.enabled is false; set tls.enabled=true "
                "or remove them"
            )
        if self.cert_key_password is not None and not self.cert_key_file:
            raise MongoConfigError("tls: cert_key_password is set but cert_key_file is not")


class MongoSettings(msgspec.Struct, frozen=True, kw_only=True):
    """MongoDB connection, pool, timeout and concern settings for a service.

    Example:
        >>> settings = MongoSettings(uri=Secret("mongodb://mongo.internal"), database="newsroom")
        >>> settings.server_selection_timeout, settings.hosts
        (5.0, 'mongo.internal')
    """

    uri: Annotated[
        Secret,
        Meta(
            description=(
                "Connection string, mongodb://user:password@host1,host2/?replicaSet=rs0 or "
                "mongodb+srv://; credentials stay secret (never logged)"
            )
        ),
    ] = msgspec.field(default_factory=lambda: Secret("mongodb://127.0.0.1:27017"))
    database: Annotated[
        str,
        Meta(
            min_length=1,
            description="Database the service uses (the URI's /path is only the auth source)",
        ),
    ] = "news"
    app_name: Annotated[
        str | None,
        Meta(
            description=(
                "Name sent in the handshake (server logs, currentOp); empty: the Mongo's name= "
                "(the service name)"
            )
        ),
    ] = None
    min_pool_size: Annotated[
        int, Meta(ge=0, description="Connections per server kept open even when idle")
    ] = 0
    max_pool_size: Annotated[
        int, Meta(ge=1, le=10_000, description="Most connections per server at once")
    ] = 50
    pool_timeout: Annotated[
        float,
        Meta(
            gt=0,
            description="Longest wait for a free pooled connection (PoolTimeoutError)",
        ),
    ] = 5.0
    server_selection_timeout: Annotated[
        float,
        Meta(
            gt=0,
            description=(
                "Longest wait for a suitable server (primary down, no network): "
                "MongoConnectionError after it"
            ),
        ),
    ] = 5.0
    connect_timeout: Annotated[
        float, Meta(gt=0, description="Longest time to open one connection")
    ] = 5.0
    socket_timeout: (
        Annotated[
            float,
            Meta(
                gt=0,
                description=(
                    "Longest wait for one reply before the connection is closed "
                    "(MongoTimeoutError); empty: no limit"
                ),
            ),
        ]
        | None
    ) = 30.0
    max_idle_time: Annotated[
        float, Meta(ge=0, description="Close a pooled connection idle this long (0: never)")
    ] = 300.0
    read_concern: Annotated[
        ReadConcern | None,
        Meta(description="Read concern level; empty: the server's default (local)"),
    ] = None
    read_preference: Annotated[ReadPreference, Meta(description="Which members reads go to")] = (
        "primary"
    )
    write_concern: Annotated[
        str | None,
        Meta(
            description=(
                "Write concern w: majority, a number of members (1), or a tag set name; "
                "empty: the server's default (majority on replica sets)"
            )
        ),
    ] = None
    journal: Annotated[
        bool | None, Meta(description="Wait for the journal (j); empty: the server's default")
    ] = None
    write_timeout: (
        Annotated[
            float,
            Meta(gt=0, description="wtimeout: longest wait for the write concern"),
        ]
        | None
    ) = None
    retry_writes: Annotated[
        bool, Meta(description="Retry a write once after a network error or failover")
    ] = True
    retry_reads: Annotated[
        bool, Meta(description="Retry a read once after a network error or failover")
    ] = True
    direct_connection: Annotated[
        bool | None,
        Meta(description="Talk to the one host given, not the replica set; empty: as the URI says"),
    ] = None
    transaction_retries: Annotated[
        int,
        Meta(
            ge=0,
            le=100,
            description=(
                "Further runs of a transaction body after TransientTransactionError, "
                "and of its commit after UnknownTransactionCommitResult"
            ),
        ),
    ] = 5
    transaction_timeout: Annotated[
        float,
        Meta(gt=0, description="Time after which a transaction is no longer retried"),
    ] = 30.0
    ensure_indexes: Annotated[
        bool, Meta(description="Create the declared indexes in start() (idempotent)")
    ] = True
    tls: Annotated[MongoTLSSettings, Meta(description="TLS settings")] = msgspec.field(
        default_factory=MongoTLSSettings
    )
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
        if self.min_pool_size > self.max_pool_size:
            raise MongoConfigError(
                f"min_pool_size ({self.min_pool_size}) is above max_pool_size "
                f"({self.max_pool_size}); lower min_pool_size or raise max_pool_size"
            )
        bad = sorted(set(self.database) & set('/\\. "$'))
        if bad or len(self.database) > 63:
            raise MongoConfigError(
                f"database {self.database!r} is not a MongoDB database name: at most 63 "
                f'characters, none of / \\ . space " $ (found {"".join(bad) or "too long"})'
            )
        uri = self.uri.reveal()
        if not uri.startswith(("mongodb://", "mongodb+srv://")):
            raise MongoConfigError(
                "uri must be a mongodb:// or mongodb+srv:// connection string "
                "(mongodb://user:password@host:27017/?replicaSet=rs0)"
            )
        if self.write_concern is not None and not self.write_concern.strip():
            raise MongoConfigError("write_concern is empty: majority, a number, or a tag set")
        if self.write_concern == "0" and self.journal:
            raise MongoConfigError("write_concern 0 (unacknowledged) cannot wait for the journal")

    @property
    def hosts(self) -> str:
        """The URI's hosts (``host1:27017,host2``), without credentials or options."""
        rest = self.uri.reveal().split("://", 1)[1]
        netloc = rest.split("/", 1)[0].split("?", 1)[0]
        return netloc.rpartition("@")[2] or "?"
