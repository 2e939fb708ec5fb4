"""`RegistrySettings`: where the Schema Registry is, credentials, time limits, cache."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from msgspec import Meta

from news_client import ClientSettings, RetrySettings
from news_config import Secret
from news_schema._errors import SchemaConfigError

__all__ = ["RegistrySettings"]


def _http_defaults() -> ClientSettings:
    # A registry call is small: short deadlines, so a registry outage fails a new subject in
    # seconds; retries (GETs) stay within them.
    return ClientSettings(
        connect_timeout=2.0,
        read_timeout=5.0,
        total_timeout=5.0,
        pool_size=10,
        retry=RetrySettings(attempts=3, backoff_base=0.1, backoff_max=1.0),
        metrics="off",
    )


class RegistrySettings(msgspec.Struct, frozen=True, kw_only=True):
    """A Confluent-compatible Schema Registry (Confluent, Karapace, Redpanda, Apicurio).

    Example:
        >>> settings = RegistrySettings(url="http://registry:8081", latest_ttl=30.0)
        >>> settings.http.total_timeout
        5.0
    """

    url: Annotated[str, Meta(description="The registry's URL, http(s)://host[:port][/prefix]")] = (
        "http://localhost:8081"
    )
    username: Annotated[
        str | None, Meta(description="HTTP basic auth user (Confluent Cloud: the API key)")
    ] = None
    password: Annotated[
        Secret | None,
        Meta(description="HTTP basic auth password (Confluent Cloud: the API secret)"),
    ] = None
    latest_ttl: Annotated[
        float,
        Meta(
            ge=0,
            description="Seconds a subject's latest version is cached (0: ask every time); "
            "ids and schemas by id are cached for good",
        ),
    ] = 60.0
    http: Annotated[
        ClientSettings,
        Meta(
            description="HTTP client: timeouts, retries, breaker, TLS for an https url "
            "(news-client's settings; its base_url is taken from url)"
        ),
    ] = msgspec.field(default_factory=_http_defaults)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SchemaConfigError(
                f"registry url {self.url!r} is not http(s)://host[:port][/prefix] "
                "(e.g. NEWSROOM_SCHEMA_REGISTRY__URL=http://registry:8081)"
            )
        if parts.username or parts.password:
            raise SchemaConfigError(
                "registry url carries credentials; set username and password (a Secret) instead"
            )
        if self.password is not None and self.username is None:
            raise SchemaConfigError("registry password is set without username")

    def client_settings(self) -> ClientSettings:
        """news-client's settings for the registry: ``http`` with ``url`` as its base URL."""
        return msgspec.structs.replace(self.http, base_url=self.url)
