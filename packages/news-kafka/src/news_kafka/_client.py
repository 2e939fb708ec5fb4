"""aiokafka client arguments from `KafkaSettings`, the one probe, and error helpers."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final

from news_kafka._errors import KafkaConfigError
from news_log import limit_repeats

if TYPE_CHECKING:
    import ssl

    from aiokafka import AIOKafkaClient

    from news_kafka._settings import KafkaSettings

__all__ = ["client_kwargs", "explain_start_failure", "is_retriable", "probe"]

_DIAGNOSE_TIMEOUT: Final = 5.0  # seconds explain_start_failure()'s own probe may take


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext:
    import ssl  # only services that use TLS pay for it

    sec = settings.security
    try:
        context = ssl.create_default_context(cafile=sec.ssl_cafile)
        if sec.ssl_certfile:
            context.load_cert_chain(
                sec.ssl_certfile,
                sec.ssl_keyfile,
                sec.ssl_key_password.reveal() if sec.ssl_key_password else None,
            )
    except (OSError, ssl.SSLError) as exc:
        raise KafkaConfigError(
            f"security: cannot load the TLS files (ssl_cafile={sec.ssl_cafile!r}, "
            f"ssl_certfile={sec.ssl_certfile!r}, ssl_keyfile={sec.ssl_keyfile!r}): {exc}; "
            "check the paths and the key password"
        ) from exc
    context.check_hostname = sec.ssl_check_hostname
    return context


def client_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    """Return the connection and security keyword arguments shared by aiokafka clients.

    Every aiokafka client is built with these, so this is also where aiokafka's loggers are
    rate-limited in news-log's output (during an outage they repeat ~100 lines a second).
    """
    limit_repeats("aiokafka")
    sec = settings.security
    kwargs: dict[str, Any] = {
        "bootstrap_servers": [server.strip() for server in settings.bootstrap_servers],
        "client_id": settings.client_id,
        "metadata_max_age_ms": settings.metadata_max_age_ms,
        "retry_backoff_ms": settings.retry_backoff_ms,
        "security_protocol": sec.protocol,
    }
    if sec.protocol in {"SSL", "SASL_SSL"}:
        kwargs["ssl_context"] = _ssl_context(settings)
    if sec.protocol.startswith("SASL_"):
        kwargs["sasl_mechanism"] = sec.sasl_mechanism
        kwargs["sasl_plain_username"] = sec.username
        kwargs["sasl_plain_password"] = sec.password.reveal() if sec.password else None
    return kwargs


def is_retriable(exc: BaseException) -> bool:
    """Tell whether a delivery error may go away by itself (broker down, leader moving...)."""
    from aiokafka.errors import (
        KafkaConnectionError,
        KafkaTimeoutError,
        NodeNotReadyError,
        RequestTimedOutError,
    )

    if isinstance(
        exc,
        TimeoutError  # asyncio.TimeoutError is TimeoutError since Python 3.11
        | KafkaTimeoutError
        | KafkaConnectionError
        | RequestTimedOutError
        | NodeNotReadyError,
    ):
        return True
    return bool(getattr(exc, "retriable", False))


def is_connection_error(exc: BaseException) -> bool:
    """Tell whether an error means no broker could be reached (rather than one answering no)."""
    from aiokafka.errors import (
        KafkaConnectionError,
        KafkaTimeoutError,
        NodeNotReadyError,
        RequestTimedOutError,
    )

    return isinstance(
        exc,
        TimeoutError
        | OSError
        | KafkaTimeoutError
        | KafkaConnectionError
        | RequestTimedOutError
        | NodeNotReadyError,
    )


async def probe(client: AIOKafkaClient, timeout: float) -> int:
    """The one probe of news-kafka: a metadata request within ``timeout``; the broker count.

    Used by the publisher's fail-fast state and readiness check, and by
    ``news_kafka.health.broker_check``. Raises what the request raised (``TimeoutError`` when
    no broker answered in time).
    """
    async with asyncio.timeout(timeout):
        metadata = await client.fetch_all_metadata()
    return len(metadata.brokers())


async def explain_start_failure(settings: KafkaSettings, exc: BaseException) -> str:
    """Say why a producer could not start, naming the setting to change.

    With idempotence on, a broker that answers but refuses ``InitProducerId`` (Tansu, some
    proxies, a principal without IDEMPOTENT_WRITE) fails the start with a broker error; a
    probe of its own tells that apart from brokers that cannot be reached at all.
    """
    servers = ",".join(settings.bootstrap_servers)
    cause = f"{type(exc).__name__}: {exc}"
    if settings.producer.idempotence and not is_connection_error(exc):
        from aiokafka import AIOKafkaClient

        client = AIOKafkaClient(**client_kwargs(settings))
        try:
            async with asyncio.timeout(_DIAGNOSE_TIMEOUT):
                await client.bootstrap()
                await probe(client, _DIAGNOSE_TIMEOUT)
        except Exception:  # noqa: BLE001, S110 - unreachable after all: the general advice
            pass
        else:
            return (
                f"Kafka at {servers} answered but refused the idempotent producer "
                f"(InitProducerId failed: {cause}); the broker does not support it (Tansu "
                "does not) or the client lacks the IDEMPOTENT_WRITE permission: set "
                "producer.idempotence=false (env: <PREFIX>PRODUCER__IDEMPOTENCE=false, e.g. "
                "KAFKA_PRODUCER__IDEMPOTENCE=false), or allow it on the broker"
            )
        finally:
            try:
                async with asyncio.timeout(2.0):
                    await client.close()
            except Exception:  # noqa: BLE001, S110 - best effort
                pass
    return (
        f"cannot connect to Kafka at {servers}: {cause}; check bootstrap_servers and "
        "security settings"
    )
