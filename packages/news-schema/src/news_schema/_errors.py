"""Errors of news-schema. Every one derives from `NewsSchemaError`.

::

    NewsSchemaError
    ├── SchemaConfigError (ValueError)          bad settings, schema or arguments
    ├── RegistryError                           the registry refused or could not be asked
    │   ├── SchemaNotFoundError (LookupError)   no such subject, version or schema id
    │   ├── IncompatibleSchemaError (ValueError)   refused by the subject's compatibility rule
    │   ├── InvalidSchemaError (ValueError)     the registry cannot parse the schema
    │   └── RegistryUnavailableError (ConnectionError)   no answer in time, or a 5xx
    ├── SerializeError (ValueError)             a value does not fit the writer's schema
    └── DeserializeError (ValueError)           bytes not in the wire format, or not the type
        └── UnknownSchemaError (LookupError)    the record's schema id is not (yet) loaded

Messages name the subject, version or schema id concerned and say what to do.
"""

from __future__ import annotations

__all__ = [
    "DeserializeError",
    "IncompatibleSchemaError",
    "InvalidSchemaError",
    "NewsSchemaError",
    "RegistryError",
    "RegistryUnavailableError",
    "SchemaConfigError",
    "SchemaNotFoundError",
    "SerializeError",
    "UnknownSchemaError",
]


class NewsSchemaError(Exception):
    """The root of news-schema's errors."""


class SchemaConfigError(NewsSchemaError, ValueError):
    """Bad settings, an unparsable schema, or a type that cannot be described."""


class RegistryError(NewsSchemaError):
    """The registry refused a request or could not be asked.

    Attributes:
        subject: The subject concerned ("" when none).
        version: The version concerned (None when none).
        schema_id: The schema id concerned (None when none).
        error_code: The registry's ``error_code`` (40401, 409...), else the HTTP status, else 0.
    """

    def __init__(
        self,
        message: str,
        *,
        subject: str = "",
        version: int | str | None = None,
        schema_id: int | None = None,
        error_code: int = 0,
    ) -> None:
        super().__init__(message)
        self.subject = subject
        self.version = version
        self.schema_id = schema_id
        self.error_code = error_code


class SchemaNotFoundError(RegistryError, LookupError):
    """No such subject, version or schema id in the registry."""


class IncompatibleSchemaError(RegistryError, ValueError):
    """The subject's compatibility rule refused the schema (nothing was registered).

    Attributes:
        messages: What the registry said was incompatible (when it said so).
    """

    def __init__(self, message: str, *, messages: tuple[str, ...] = (), **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.messages = messages


class InvalidSchemaError(RegistryError, ValueError):
    """The registry cannot parse the schema (error 42201)."""


class RegistryUnavailableError(RegistryError, ConnectionError):
    """The registry did not answer in time, refused connections, or answered 5xx."""


class SerializeError(NewsSchemaError, ValueError):
    """A value does not fit the schema it is written with (the message names the field)."""


class DeserializeError(NewsSchemaError, ValueError):
    """A record's bytes are not in the Confluent wire format, or do not decode into the type."""


class UnknownSchemaError(DeserializeError, LookupError):
    """A record names a schema id this deserializer has not loaded (``prepare`` loads it)."""
