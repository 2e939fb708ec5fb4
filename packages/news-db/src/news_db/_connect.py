"""asyncpg pool arguments from `DatabaseSettings`: connection, TLS, pool bounds, timeouts."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from news_db._errors import DBConfigError

if TYPE_CHECKING:
    import ssl

    from news_db._settings import DatabaseSettings

__all__ = ["application_name", "describe_target", "pool_kwargs"]


def application_name(settings: DatabaseSettings, name: str | None) -> str:
    """The ``application_name`` to send: the setting, else the Database's name, else the program."""
    if settings.application_name:
        return settings.application_name
    if name:
        return name
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return program.removesuffix(".py") or "news-db"


def describe_target(settings: DatabaseSettings) -> str:
    """``user@host:port/database`` for messages, without the password (also from a DSN)."""
    if settings.dsn is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(settings.dsn.reveal())
        host = parts.hostname or "localhost"
        port = parts.port or 5432
        user = parts.username or "?"
        database = parts.path.lstrip("/") or user
        return f"{user}@{host}:{port}/{database}"
    return f"{settings.user}@{settings.host}:{settings.port}/{settings.database}"


def _ssl_argument(settings: DatabaseSettings) -> str | ssl.SSLContext:
    tls = settings.tls
    if not (tls.root_cert or tls.cert):
        return tls.mode
    import ssl

    try:
        if tls.root_cert or tls.mode in {"verify-ca", "verify-full"}:
            context = ssl.create_default_context(cafile=tls.root_cert)
            context.check_hostname = tls.mode == "verify-full"
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if tls.cert:
            password = tls.key_password.reveal() if tls.key_password else None
            context.load_cert_chain(tls.cert, tls.key, password)
    except (OSError, ssl.SSLError) as exc:
        raise DBConfigError(
            f"tls: cannot load the TLS files (root_cert={tls.root_cert!r}, cert={tls.cert!r}, "
            f"key={tls.key!r}): {exc}; check the paths and the key password"
        ) from exc
    return context


def pool_kwargs(settings: DatabaseSettings, name: str | None) -> dict[str, Any]:
    """Return the keyword arguments of ``asyncpg.create_pool`` for these settings."""
    kwargs: dict[str, Any] = {
        "min_size": settings.min_size,
        "max_size": settings.max_size,
        "max_inactive_connection_lifetime": settings.idle_lifetime,
        "command_timeout": settings.statement_timeout,
        "statement_cache_size": settings.statement_cache_size,
        "timeout": settings.connect_timeout,
        "server_settings": {"application_name": application_name(settings, name)},
    }
    if settings.dsn is not None:
        kwargs["dsn"] = settings.dsn.reveal()
        if "sslmode=" not in kwargs["dsn"]:
            kwargs["ssl"] = _ssl_argument(settings)
    else:
        kwargs.update(
            host=settings.host,
            port=settings.port,
            database=settings.database,
            user=settings.user,
            password=settings.password.reveal() if settings.password else None,
            ssl=_ssl_argument(settings),
        )
    return kwargs
