"""aiokafka client arguments from `KafkaSettings` (connection and security), and error helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from news_kafka._errors import KafkaConfigError

if TYPE_CHECKING:
    import ssl

    from news_kafka._settings import KafkaSettings

__all__ = ["client_kwargs", "is_retriable"]


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
    """Return the connection and security keyword arguments shared by aiokafka clients."""
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
