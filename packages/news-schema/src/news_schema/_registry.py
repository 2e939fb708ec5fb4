"""`SchemaRegistry`: an async client of the Confluent Schema Registry REST API, with caches.

Caches (the stale-cache complaints against Confluent's own client are the design brief):

- a schema by id, and the id of a schema registered (or looked up) under a subject, are kept
  for good: the registry never changes them, so a registry outage does not stop a service
  that already knows its schemas;
- a subject's latest version is kept ``latest_ttl`` seconds;
- `SchemaRegistry.delete_subject` (and a delete of one version) forgets everything cached for
  that subject at once.

Concurrent misses for the same key make one request (single flight).
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

import msgspec

from news_client import HTTPClient, HTTPStatusError, NewsClientError
from news_log import get_logger
from news_schema._errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    RegistryError,
    RegistryUnavailableError,
    SchemaConfigError,
    SchemaNotFoundError,
)
from news_schema._settings import RegistrySettings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable
    from types import TracebackType

__all__ = [
    "CompatibilityLevel",
    "CompatibilityResult",
    "RegisteredSchema",
    "Schema",
    "SchemaReference",
    "SchemaRegistry",
    "SchemaType",
]

log = get_logger("news_schema.registry")

SchemaType = Literal["AVRO", "JSON", "PROTOBUF"]
"""The registry's schema types (news-schema serializes AVRO and JSON)."""

CompatibilityLevel = Literal[
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
]
"""A subject's compatibility rule, as the registry names it."""

_HEALTH_TIMEOUT: Final = 2.0
_T = TypeVar("_T")


class SchemaReference(msgspec.Struct, frozen=True):
    """A reference from one schema to a schema registered under another subject.

    Attributes:
        name: The name the referring schema uses (Avro: the type's full name).
        subject: The subject the referenced schema is registered under.
        version: Its version there.
    """

    name: str
    subject: str
    version: int


class Schema(msgspec.Struct, frozen=True, kw_only=True):
    """A schema as the registry stores it: its text, its type and its references.

    Attributes:
        schema: The schema text (Avro or JSON Schema, as JSON).
        schema_type: ``"AVRO"`` (the registry's default), ``"JSON"`` or ``"PROTOBUF"``.
        references: Schemas it refers to.
    """

    schema: str
    schema_type: SchemaType = "AVRO"
    references: tuple[SchemaReference, ...] = ()

    def payload(self) -> dict[str, Any]:
        """The JSON body the registry expects (``schemaType`` left out for Avro)."""
        body: dict[str, Any] = {"schema": self.schema}
        if self.schema_type != "AVRO":
            body["schemaType"] = self.schema_type
        if self.references:
            body["references"] = [msgspec.structs.asdict(r) for r in self.references]
        return body


class RegisteredSchema(msgspec.Struct, frozen=True, kw_only=True):
    """A schema registered under a subject.

    Attributes:
        subject: The subject.
        version: Its version under the subject (1, 2, ...).
        schema_id: The registry-wide id (the one in every record's wire-format header).
        schema: The schema.
    """

    subject: str
    version: int
    schema_id: int
    schema: Schema


class CompatibilityResult(msgspec.Struct, frozen=True, kw_only=True):
    """The registry's verdict on a schema against a subject's versions.

    Attributes:
        compatible: Whether the subject's rule accepts the schema.
        messages: Why not (when the registry says; ``verbose=true``).
    """

    compatible: bool
    messages: tuple[str, ...] = ()


class _SchemaBody(msgspec.Struct):
    schema: str
    schemaType: SchemaType = "AVRO"  # noqa: N815 - the registry's field name
    references: list[SchemaReference] = msgspec.field(default_factory=list)


class _VersionBody(msgspec.Struct):
    subject: str
    version: int
    id: int
    schema: str
    schemaType: SchemaType = "AVRO"  # noqa: N815 - the registry's field name
    references: list[SchemaReference] = msgspec.field(default_factory=list)


class _IdBody(msgspec.Struct):
    id: int


class _CompatBody(msgspec.Struct):
    is_compatible: bool
    messages: list[str] | str | None = None


class _ErrorBody(msgspec.Struct):
    error_code: int = 0
    message: str = ""


def _registered(body: _VersionBody) -> RegisteredSchema:
    return RegisteredSchema(
        subject=body.subject,
        version=body.version,
        schema_id=body.id,
        schema=Schema(
            schema=body.schema, schema_type=body.schemaType, references=tuple(body.references)
        ),
    )


class SchemaRegistry:
    """An async client of a Confluent-compatible Schema Registry, with caches.

    Start it (``async with SchemaRegistry(settings) as registry:``, or hand it to news-http's
    ``app.manage``), then register and fetch schemas::

        schema_id = await registry.register("articles-value", Schema(schema=avro_json))
        schema = await registry.get_schema(schema_id)

    Requests go through news-client (deadline per call, retries of idempotent requests,
    a circuit breaker): a registry that does not answer fails a call within
    ``settings.http.total_timeout`` with `RegistryUnavailableError`; what is cached keeps
    working. Errors name the subject, version or id concerned.

    Args:
        settings: Where the registry is, credentials, timeouts, ``latest_ttl``.
        name: The dependency's name in news-client's logs, metrics and breaker.
    """

    health_name: str = "schema-registry"
    """The name of `health_check` when news-http's ``app.manage`` registers it."""

    def __init__(
        self, settings: RegistrySettings | None = None, *, name: str = "schema-registry"
    ) -> None:
        self.settings = settings or RegistrySettings()
        self._http = HTTPClient(self.settings.client_settings(), name=name)
        self._headers: dict[str, str] = {"accept": "application/vnd.schemaregistry.v1+json"}
        if self.settings.username is not None:
            secret = self.settings.password.reveal() if self.settings.password else ""
            token = base64.b64encode(f"{self.settings.username}:{secret}".encode()).decode()
            self._headers["authorization"] = f"Basic {token}"
        self._by_id: dict[int, Schema] = {}
        self._ids: dict[tuple[str, Schema], RegisteredSchema | int] = {}
        self._versions: dict[tuple[str, int], RegisteredSchema] = {}
        self._latest: dict[str, tuple[float, RegisteredSchema]] = {}
        self._flights: dict[Hashable, asyncio.Future[Any]] = {}

    def __repr__(self) -> str:
        return f"<SchemaRegistry {self.settings.url} {'running' if self.running else 'stopped'}>"

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        """Whether calls are accepted (started, not stopped)."""
        return self._http.running

    async def start(self) -> None:
        """Open the connection pool (no request is made)."""
        await self._http.start()

    async def stop(self) -> None:
        """Let in-flight calls finish (bounded), close the pool. The caches are kept."""
        await self._http.stop()

    async def __aenter__(self) -> SchemaRegistry:
        """Start."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    async def health_check(self) -> str:
        """Readiness: the registry answers ``GET /config`` within 2 s.

        Raises:
            RegistryUnavailableError: It did not.
        """
        started = time.perf_counter()
        await self._call(
            "GET", "/config", what="read the global config", type=dict, timeout=_HEALTH_TIMEOUT
        )
        return f"answered in {(time.perf_counter() - started) * 1000:.0f} ms"

    # ------------------------------------------------------------------ schemas

    async def register(self, subject: str, schema: Schema, *, normalize: bool = False) -> int:
        """Register ``schema`` under ``subject`` (a no-op if it is there); return its id.

        The id is cached for good: registering the same schema again makes no request, also
        while the registry is down.

        Raises:
            IncompatibleSchemaError: The subject's compatibility rule refused it.
            InvalidSchemaError: The registry cannot parse it.
            RegistryUnavailableError: The registry did not answer (and the id is not cached).
        """
        cached = self._ids.get((subject, schema))
        if cached is not None:
            return cached if isinstance(cached, int) else cached.schema_id

        async def fetch() -> int:
            body = await self._call(
                "POST",
                "/subjects/{subject}/versions",
                path_params={"subject": subject},
                params={"normalize": "true"} if normalize else None,
                json=schema.payload(),
                idempotency_key=f"register:{subject}",  # registering is idempotent
                what=f"register a schema under subject {subject!r}",
                subject=subject,
                type=_IdBody,
            )
            self._ids[subject, schema] = body.id
            self._by_id.setdefault(body.id, schema)
            self._latest.pop(subject, None)  # a new version may be the latest now
            log.info("schema registered", subject=subject, schema_id=body.id)
            registered: int = body.id
            return registered

        schema_id: int = await self._single(("register", subject, schema), fetch)
        return schema_id

    async def lookup(
        self, subject: str, schema: Schema, *, normalize: bool = False
    ) -> RegisteredSchema:
        """Find ``schema`` among ``subject``'s versions (nothing is registered); cached for good.

        Raises:
            SchemaNotFoundError: The subject does not exist or has no such schema.
            RegistryUnavailableError: The registry did not answer (and it is not cached).
        """
        cached = self._ids.get((subject, schema))
        if isinstance(cached, RegisteredSchema):
            return cached

        async def fetch() -> RegisteredSchema:
            body = await self._call(
                "POST",
                "/subjects/{subject}",
                path_params={"subject": subject},
                params={"normalize": "true"} if normalize else None,
                json=schema.payload(),
                idempotency_key=f"lookup:{subject}",
                what=f"look up a schema under subject {subject!r}",
                subject=subject,
                type=_VersionBody,
            )
            found = _registered(body)
            self._ids[subject, schema] = found
            self._by_id.setdefault(found.schema_id, schema)
            return found

        return await self._single(("lookup", subject, schema), fetch)

    async def get_schema(self, schema_id: int) -> Schema:
        """The schema with this id (cached for good: ids never change meaning).

        Raises:
            SchemaNotFoundError: No schema has this id.
            RegistryUnavailableError: The registry did not answer (and it is not cached).
        """
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached

        async def fetch() -> Schema:
            body = await self._call(
                "GET",
                "/schemas/ids/{id}",
                path_params={"id": schema_id},
                what=f"fetch schema id {schema_id}",
                schema_id=schema_id,
                type=_SchemaBody,
            )
            schema = Schema(
                schema=body.schema, schema_type=body.schemaType, references=tuple(body.references)
            )
            self._by_id[schema_id] = schema
            return schema

        result: Schema = await self._single(("id", schema_id), fetch)
        return result

    def cached_schema(self, schema_id: int) -> Schema | None:
        """The schema with this id if it is cached (no request), else None."""
        return self._by_id.get(schema_id)

    async def get_latest(self, subject: str) -> RegisteredSchema:
        """The subject's latest version (cached ``latest_ttl`` seconds).

        Raises:
            SchemaNotFoundError: The subject does not exist.
            RegistryUnavailableError: The registry did not answer.
        """
        now = time.monotonic()
        cached = self._latest.get(subject)
        if cached is not None and now - cached[0] < self.settings.latest_ttl:
            return cached[1]

        async def fetch() -> RegisteredSchema:
            found = await self._fetch_version(subject, "latest")
            self._latest[subject] = (time.monotonic(), found)
            return found

        result: RegisteredSchema = await self._single(("latest", subject), fetch)
        return result

    async def get_version(self, subject: str, version: int) -> RegisteredSchema:
        """Version ``version`` of ``subject`` (cached until the subject or version is deleted).

        Raises:
            SchemaNotFoundError: No such subject or version.
            RegistryUnavailableError: The registry did not answer.
        """
        cached = self._versions.get((subject, version))
        if cached is not None:
            return cached
        result: RegisteredSchema = await self._single(
            ("version", subject, version), lambda: self._fetch_version(subject, version)
        )
        return result

    async def _fetch_version(self, subject: str, version: int | str) -> RegisteredSchema:
        body = await self._call(
            "GET",
            "/subjects/{subject}/versions/{version}",
            path_params={"subject": subject, "version": version},
            what=f"fetch version {version} of subject {subject!r}",
            subject=subject,
            version=version,
            type=_VersionBody,
        )
        found = _registered(body)
        self._versions[subject, found.version] = found
        self._by_id.setdefault(found.schema_id, found.schema)
        return found

    async def versions(self, subject: str) -> list[int]:
        """The subject's versions (not cached).

        Raises:
            SchemaNotFoundError: The subject does not exist.
        """
        result: list[int] = await self._call(
            "GET",
            "/subjects/{subject}/versions",
            path_params={"subject": subject},
            what=f"list the versions of subject {subject!r}",
            subject=subject,
            type=list[int],
        )
        return result

    async def subjects(self) -> list[str]:
        """Every subject in the registry (not cached)."""
        result: list[str] = await self._call(
            "GET", "/subjects", what="list the subjects", type=list[str]
        )
        return result

    async def check_compatibility(
        self, subject: str, schema: Schema, *, version: int | Literal["latest"] = "latest"
    ) -> CompatibilityResult:
        """Whether ``subject``'s compatibility rule accepts ``schema`` (nothing is registered).

        A subject without versions accepts anything.

        Raises:
            InvalidSchemaError: The registry cannot parse the schema.
            RegistryUnavailableError: The registry did not answer.
        """
        try:
            body = await self._call(
                "POST",
                "/compatibility/subjects/{subject}/versions/{version}",
                path_params={"subject": subject, "version": version},
                params={"verbose": "true"},
                json=schema.payload(),
                idempotency_key=f"compat:{subject}",
                what=f"check a schema against version {version} of subject {subject!r}",
                subject=subject,
                version=version,
                type=_CompatBody,
            )
        except SchemaNotFoundError:
            return CompatibilityResult(compatible=True)  # nothing to be compatible with
        messages = body.messages
        if isinstance(messages, str):
            messages = [messages]
        return CompatibilityResult(compatible=body.is_compatible, messages=tuple(messages or ()))

    async def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Delete a subject (soft; ``permanent`` after a soft delete); forget its caches.

        Returns:
            The versions deleted.

        Raises:
            SchemaNotFoundError: The subject does not exist.
        """
        self.forget(subject)
        try:
            result: list[int] = await self._call(
                "DELETE",
                "/subjects/{subject}",
                path_params={"subject": subject},
                params={"permanent": "true"} if permanent else None,
                what=f"delete subject {subject!r}",
                subject=subject,
                type=list[int],
            )
        finally:
            self.forget(subject)
        return result

    async def delete_version(self, subject: str, version: int, *, permanent: bool = False) -> int:
        """Delete one version of a subject; forget the subject's caches. Returns the version.

        Raises:
            SchemaNotFoundError: No such subject or version.
        """
        self.forget(subject)
        try:
            result: int = await self._call(
                "DELETE",
                "/subjects/{subject}/versions/{version}",
                path_params={"subject": subject, "version": version},
                params={"permanent": "true"} if permanent else None,
                what=f"delete version {version} of subject {subject!r}",
                subject=subject,
                version=version,
                type=int,
            )
        finally:
            self.forget(subject)
        return result

    def forget(self, subject: str) -> None:
        """Drop what is cached for ``subject`` (ids of schemas under it, versions, latest).

        Schemas by id are kept: an id never changes meaning.
        """
        self._latest.pop(subject, None)
        for key in [k for k in self._ids if k[0] == subject]:
            del self._ids[key]
        for vkey in [k for k in self._versions if k[0] == subject]:
            del self._versions[vkey]

    async def get_compatibility(self, subject: str | None = None) -> CompatibilityLevel:
        """The compatibility rule of ``subject`` (its own, else the global one), or the global."""
        if subject is None:
            body = await self._call("GET", "/config", what="read the global config", type=dict)
        else:
            body = await self._call(
                "GET",
                "/config/{subject}",
                path_params={"subject": subject},
                params={"defaultToGlobal": "true"},
                what=f"read the config of subject {subject!r}",
                subject=subject,
                type=dict,
            )
        level: CompatibilityLevel = body.get("compatibilityLevel") or body.get("compatibility")
        return level

    async def set_compatibility(
        self, level: CompatibilityLevel, subject: str | None = None
    ) -> None:
        """Set the compatibility rule of ``subject`` (or the global one)."""
        route = "/config" if subject is None else "/config/{subject}"
        where = "the global config" if subject is None else f"the config of subject {subject!r}"
        await self._call(
            "PUT",
            route,
            path_params=None if subject is None else {"subject": subject},
            json={"compatibility": level},
            what=f"set {where} to {level}",
            subject=subject or "",
            type=dict,
        )

    # ------------------------------------------------------------------ plumbing

    async def _single(self, key: Hashable, fetch: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``fetch`` once for concurrent callers asking for the same ``key``."""
        flight = self._flights.get(key)
        if flight is not None:
            result: _T = await asyncio.shield(flight)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._flights[key] = future
        try:
            value = await fetch()
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._flights[key]

    async def _call(
        self,
        method: str,
        route: str,
        *,
        what: str,
        type: Any,
        path_params: dict[str, object] | None = None,
        params: dict[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        subject: str = "",
        version: int | str | None = None,
        schema_id: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Make one request; translate news-client's errors into news-schema's."""
        kwargs: dict[str, Any] = {}
        if json is not None:
            kwargs["json"] = json
        try:
            response = await self._http.request(
                method,
                route,
                path_params=path_params,
                params=params,
                headers=self._headers,
                idempotency_key=idempotency_key,
                timeout=timeout,
                **kwargs,
            )
            return response.json(type=type)
        except HTTPStatusError as exc:
            raise _status_error(exc, what, self.settings.url, subject, version, schema_id) from exc
        except NewsClientError as exc:
            raise RegistryUnavailableError(
                f"could not {what}: the registry at {self.settings.url} did not answer "
                f"({type_name(exc)}: {exc}); is it up and reachable?",
                subject=subject,
                version=version,
                schema_id=schema_id,
            ) from exc
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise RegistryError(
                f"could not {what}: the registry at {self.settings.url} answered something "
                f"that is not the Confluent REST API ({exc})",
                subject=subject,
                version=version,
                schema_id=schema_id,
            ) from exc


def type_name(exc: BaseException) -> str:
    """The error's class name."""
    return type(exc).__name__


def _status_error(  # noqa: PLR0917
    exc: HTTPStatusError,
    what: str,
    url: str,
    subject: str,
    version: int | str | None,
    schema_id: int | None,
) -> RegistryError:
    try:
        body = msgspec.json.decode(exc.body, type=_ErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        body = _ErrorBody(error_code=exc.status, message=exc.body[:300].decode("utf-8", "replace"))
    code = body.error_code or exc.status
    said = body.message or f"HTTP {exc.status}"
    where: dict[str, Any] = {
        "subject": subject,
        "version": version,
        "schema_id": schema_id,
        "error_code": code,
    }
    if exc.status == 404:
        return SchemaNotFoundError(f"could not {what}: {said} (error {code})", **where)
    if exc.status == 409:
        return IncompatibleSchemaError(
            f"could not {what}: the registry refused it as incompatible with the subject's "
            f"compatibility rule: {said}; make the change compatible (add fields with "
            "defaults...) or use a new subject",
            messages=(said,),
            **where,
        )
    if exc.status == 422:
        cls = InvalidSchemaError if code in {42201, 422} else RegistryError
        return cls(f"could not {what}: {said} (error {code})", **where)
    if exc.status in {401, 403}:
        return RegistryError(
            f"could not {what}: the registry at {url} refused the credentials ({said}); "
            "check username and password",
            **where,
        )
    if exc.status >= 500:
        return RegistryUnavailableError(
            f"could not {what}: the registry at {url} failed ({said}, error {code})",
            **where,
        )
    return RegistryError(f"could not {what}: {said} (error {code})", **where)


def schema_of(text: str | dict[str, Any], schema_type: SchemaType) -> Schema:
    """A `Schema` from text or a parsed JSON value (dumped compactly, keys in order)."""
    if isinstance(text, str):
        return Schema(schema=text, schema_type=schema_type)
    if isinstance(text, dict):
        return Schema(schema=msgspec.json.encode(text).decode(), schema_type=schema_type)
    raise SchemaConfigError(f"a schema is JSON text or a dict, not {type(text).__name__}")
