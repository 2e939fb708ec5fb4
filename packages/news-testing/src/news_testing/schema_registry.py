"""A Confluent-compatible Schema Registry for tests, on a loopback port, in this process.

No real registry can be installed here (Confluent's is a JVM download, Karapace is not on
PyPI), so this one speaks the subset of the Confluent REST API that serializers use, and
tests prove it with confluent-kafka's own ``SchemaRegistryClient`` and Avro (de)serializers:

- ``POST /subjects/{subject}/versions`` (register; the same schema gets the same id, in any
  subject), ``POST /subjects/{subject}`` (look up), ``GET /schemas/ids/{id}`` (and
  ``/versions``, ``/subjects``), ``GET /schemas/types``, ``GET /subjects``,
  ``GET /subjects/{subject}/versions[/{version|latest}]``, ``DELETE /subjects/{subject}``
  and ``.../versions/{version}`` (soft, then ``?permanent=true``),
  ``POST /compatibility/subjects/{subject}/versions/{version|latest}`` (``?verbose=true``),
  ``GET``/``PUT``/``DELETE /config[/{subject}]``, ``GET /mode``;
- compatibility rules NONE, BACKWARD (the default), FORWARD, FULL and their ``_TRANSITIVE``
  forms, for AVRO (the specification's schema resolution rules) and JSON (a subset: types,
  required properties, closed objects, enums), checked on registration (409 when broken);
- Confluent's error bodies (``{"error_code": 40401, "message": ...}``).

Test controls: `SchemaRegistryServer.stop` / `start` (an outage; the same port and state come
back), `requests` (how often each route was asked: cache tests), `reset`.

Needs ``pip install 'news-testing[schema]'`` (fastavro, to validate Avro schemas).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar, Final
from urllib.parse import parse_qs, unquote, urlsplit

from news_testing._errors import NewsTestingError
from news_testing._schema_compat import LEVELS, check

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

__all__ = ["SchemaRegistryServer", "SchemaRegistryStartError", "registry_test_settings"]

_CONTENT_TYPE: Final = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryStartError(NewsTestingError, RuntimeError):
    """The test registry could not bind its port."""


class _FailureError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Version:
    __slots__ = ("deleted", "schema_id", "version")

    def __init__(self, version: int, schema_id: int) -> None:
        self.version, self.schema_id, self.deleted = version, schema_id, False


class _Stored:
    __slots__ = ("canonical", "references", "schema", "schema_type")

    def __init__(
        self, schema: str, schema_type: str, references: list[Any], canonical: str
    ) -> None:
        self.schema, self.schema_type = schema, schema_type
        self.references, self.canonical = references, canonical

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": self.schema}
        if self.schema_type != "AVRO":
            out["schemaType"] = self.schema_type
        if self.references:
            out["references"] = self.references
        return out


class SchemaRegistryServer:
    """A Confluent-compatible Schema Registry on ``127.0.0.1``, served by a thread.

    Example::

        with SchemaRegistryServer() as registry:
            settings = news_schema.RegistrySettings(url=registry.url)

    Args:
        host: The loopback address to bind.
        port: The port (0: a free one, kept across ``stop``/``start``).
        compatibility: The global compatibility rule to start with.
        credentials: ``(user, password)``: HTTP basic auth required (401 otherwise), as
            Confluent Cloud's API keys.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        compatibility: str = "BACKWARD",
        credentials: tuple[str, str] | None = None,
    ) -> None:
        if compatibility not in LEVELS:
            raise ValueError(f"compatibility must be one of {sorted(LEVELS)}")
        self.host = host
        self.port = port
        self._authorization: str | None = None
        if credentials is not None:
            token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            self._authorization = f"Basic {token}"
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.connections: set[socket.socket] = set()
        self.requests: collections.Counter[str] = collections.Counter()
        """How often each route was asked, by ``"METHOD /route/{template}"``."""
        self._initial = compatibility
        self.reset()

    @property
    def url(self) -> str:
        """The registry's base URL (``http://127.0.0.1:<port>``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether it serves requests."""
        return self._server is not None

    def reset(self) -> None:
        """Forget every schema, subject and config (ids start at 1 again)."""
        with self._lock:
            self._schemas: dict[int, _Stored] = {}
            self._ids: dict[tuple[str, str, str], int] = {}
            self._subjects: dict[str, list[_Version]] = {}
            self._global = self._initial
            self._config: dict[str, str] = {}
            self.requests.clear()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SchemaRegistryServer:
        """Serve (again, on the same port after a `stop`, with the same state)."""
        if self._server is not None:
            return self
        owner = self

        class Handler(_Handler):
            registry = owner

        try:
            server = ThreadingHTTPServer((self.host, self.port), Handler)
        except OSError as exc:
            raise SchemaRegistryStartError(
                f"the test schema registry cannot bind {self.host}:{self.port}: {exc}"
            ) from exc
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"schema-registry-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (connections are refused); the state is kept for `start`."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            open_connections = list(self.connections)
        for sock in open_connections:  # kept-alive connections end too: a real outage
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def __enter__(self) -> SchemaRegistryServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ the API

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        authorization: str | None = None,
    ) -> tuple[int, Any]:
        """Answer one request: (status, JSON body). Used by the HTTP handler."""
        if self._authorization is not None and authorization != self._authorization:
            self.requests["unauthorized"] += 1
            return 401, {"error_code": 401, "message": "Unauthorized"}
        for route_method, pattern, template, action in _ROUTES:
            if method != route_method:
                continue
            match = pattern.fullmatch(path)
            if match is None:
                continue
            self.requests[f"{method} {template}"] += 1
            args = {k: unquote(v) for k, v in match.groupdict().items()}
            try:
                with self._lock:
                    return 200, action(self, args, query, body)
            except _FailureError as failure:
                return failure.status, {"error_code": failure.code, "message": failure.message}
        self.requests[f"{method} {path}"] += 1
        return 404, {"error_code": 404, "message": f"HTTP 404 Not Found: {method} {path}"}

    def _parse(self, body: Any) -> tuple[str, str, list[Any], str]:
        if not isinstance(body, dict) or not isinstance(body.get("schema"), str):
            raise _FailureError(422, 42201, "Invalid schema: the body has no 'schema' string")
        text: str = body["schema"]
        schema_type = str(body.get("schemaType") or "AVRO").upper()
        references = body.get("references") or []
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise _FailureError(422, 42201, f"Invalid schema: not JSON: {exc}") from exc
        if schema_type == "AVRO":
            _validate_avro(parsed)
        elif schema_type == "JSON":
            if not isinstance(parsed, dict | bool):
                raise _FailureError(422, 42201, "Invalid schema: a JSON Schema is an object")
        else:
            raise _FailureError(
                422, 42201, f"Invalid schema: schemaType {schema_type} not supported"
            )
        canonical = json.dumps(parsed, sort_keys=True, separators=(",", ":"))
        return text, schema_type, references, canonical

    def _live(self, subject: str) -> list[_Version]:
        versions = [v for v in self._subjects.get(subject, ()) if not v.deleted]
        if not versions:
            raise _FailureError(404, 40401, f"Subject '{subject}' not found.")
        return versions

    def _level(self, subject: str) -> str:
        return self._config.get(subject, self._global)

    def _version_body(self, subject: str, version: _Version) -> dict[str, Any]:
        stored = self._schemas[version.schema_id]
        return {
            "subject": subject,
            "version": version.version,
            "id": version.schema_id,
            **stored.body(),
        }

    def _find_version(self, subject: str, version: str) -> _Version:
        versions = self._live(subject)
        if version in {"latest", "-1"}:
            return versions[-1]
        try:
            number = int(version)
        except ValueError:
            raise _FailureError(
                422, 42202, f"The specified version '{version}' is not valid."
            ) from None
        for candidate in versions:
            if candidate.version == number:
                return candidate
        raise _FailureError(404, 40402, f"Version {number} not found.")

    def _register(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        subject = a["subject"]
        text, schema_type, references, canonical = self._parse(body)
        key = (schema_type, canonical, json.dumps(references, sort_keys=True))
        existing = self._ids.get(key)
        versions = [v for v in self._subjects.get(subject, ()) if not v.deleted]
        if existing is not None:
            for version in versions:
                if version.schema_id == existing:
                    return {"id": existing}
        olds = [self._schemas[v.schema_id] for v in versions]
        mismatched = [o for o in olds if o.schema_type != schema_type]
        if mismatched:
            raise _FailureError(
                409,
                409,
                f"Schema type {schema_type} does not match the subject's "
                f"{mismatched[0].schema_type}",
            )
        problems = check(self._level(subject), schema_type, text, [o.schema for o in olds])
        if problems:
            raise _FailureError(
                409,
                409,
                f"Schema being registered is incompatible with an earlier schema for subject "
                f'"{subject}" ({self._level(subject)}): ' + "; ".join(problems),
            )
        if existing is None:
            existing = max(self._schemas, default=0) + 1
            self._schemas[existing] = _Stored(text, schema_type, references, canonical)
            self._ids[key] = existing
        all_versions = self._subjects.setdefault(subject, [])
        number = max((v.version for v in all_versions), default=0) + 1
        all_versions.append(_Version(number, existing))
        return {"id": existing}

    def _lookup(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        subject = a["subject"]
        _, schema_type, references, canonical = self._parse(body)
        versions = self._live(subject)
        schema_id = self._ids.get((schema_type, canonical, json.dumps(references, sort_keys=True)))
        for version in versions:
            if version.schema_id == schema_id:
                return self._version_body(subject, version)
        raise _FailureError(404, 40403, f"Schema not found under subject '{subject}'.")

    def _by_id(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        stored = self._schemas.get(int(a["id"]))
        if stored is None:
            raise _FailureError(404, 40403, f"Schema {a['id']} not found")
        return stored.body()

    def _id_versions(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        schema_id = int(a["id"])
        if schema_id not in self._schemas:
            raise _FailureError(404, 40403, f"Schema {schema_id} not found")
        return [
            {"subject": subject, "version": v.version}
            for subject, versions in sorted(self._subjects.items())
            for v in versions
            if v.schema_id == schema_id and not v.deleted
        ]

    def _id_subjects(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return sorted({entry["subject"] for entry in self._id_versions(a, q, body)})

    def _subjects_list(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        deleted = q.get("deleted") == "true"
        return sorted(
            subject
            for subject, versions in self._subjects.items()
            if versions and (deleted or any(not v.deleted for v in versions))
        )

    def _versions(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return [v.version for v in self._live(a["subject"])]

    def _version(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return self._version_body(a["subject"], self._find_version(a["subject"], a["version"]))

    def _version_schema(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        version = self._find_version(a["subject"], a["version"])
        return json.loads(self._schemas[version.schema_id].schema)

    def _delete_subject(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        subject = a["subject"]
        versions = self._subjects.get(subject)
        if not versions:
            raise _FailureError(404, 40401, f"Subject '{subject}' not found.")
        if q.get("permanent") == "true":
            del self._subjects[subject]
            self._config.pop(subject, None)
            return [v.version for v in versions]
        live = [v for v in versions if not v.deleted]
        if not live:
            raise _FailureError(404, 40404, f"Subject '{subject}' was soft deleted.")
        for v in live:
            v.deleted = True
        return [v.version for v in live]

    def _delete_version(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        subject = a["subject"]
        permanent = q.get("permanent") == "true"
        versions = self._subjects.get(subject)
        if not versions:
            raise _FailureError(404, 40401, f"Subject '{subject}' not found.")
        if a["version"] in {"latest", "-1"}:
            candidates = [v for v in versions if not v.deleted] or (versions if permanent else [])
            if not candidates:
                raise _FailureError(404, 40402, "Version latest not found.")
            target = candidates[-1]
        else:
            found = [v for v in versions if str(v.version) == a["version"]]
            if not found or (found[0].deleted and not permanent):
                raise _FailureError(404, 40402, f"Version {a['version']} not found.")
            target = found[0]
        if permanent:
            versions.remove(target)
        else:
            target.deleted = True
        return target.version

    def _compatibility(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        subject = a["subject"]
        text, schema_type, _, _ = self._parse(body)
        if subject not in self._subjects or not any(not v.deleted for v in self._subjects[subject]):
            raise _FailureError(404, 40401, f"Subject '{subject}' not found.")
        version = self._find_version(subject, a["version"])
        level = self._level(subject)
        if level.endswith("_TRANSITIVE") or a["version"] in {"latest", "-1"}:
            olds = [self._schemas[v.schema_id].schema for v in self._live(subject)]
        else:
            olds = [self._schemas[version.schema_id].schema]
        problems = check(level, schema_type, text, olds)
        answer: dict[str, Any] = {"is_compatible": not problems}
        if q.get("verbose") == "true":
            answer["messages"] = problems
        return answer

    def _get_config(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        subject = a.get("subject")
        if subject is None:
            return {"compatibilityLevel": self._global}
        level = self._config.get(subject)
        if level is None:
            if q.get("defaultToGlobal") == "true":
                return {"compatibilityLevel": self._global}
            raise _FailureError(
                404,
                40408,
                f"Subject '{subject}' does not have subject-level compatibility configured",
            )
        return {"compatibilityLevel": level}

    def _put_config(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        level = str((body or {}).get("compatibility", "")).upper()
        if level not in LEVELS:
            raise _FailureError(422, 42203, f"Invalid compatibility level {level!r}")
        subject = a.get("subject")
        if subject is None:
            self._global = level
        else:
            self._config[subject] = level
        return {"compatibility": level}

    def _delete_config(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        level = self._config.pop(a["subject"], self._global)
        return {"compatibilityLevel": level}

    def _mode(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return {"mode": "READWRITE"}

    def _types(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return ["AVRO", "JSON"]

    def _root(self, a: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return {}


def _validate_avro(parsed: Any) -> None:
    try:
        import fastavro
    except ModuleNotFoundError as exc:  # pragma: no cover - the extra is missing
        raise ModuleNotFoundError(
            "the test schema registry needs: pip install 'news-testing[schema]'", name="fastavro"
        ) from exc
    try:
        fastavro.parse_schema(parsed)
    except Exception as exc:
        raise _FailureError(422, 42201, f"Invalid schema: {type(exc).__name__}: {exc}") from exc


_SEGMENT = r"[^/]+"


def _route(
    method: str, template: str, action: Callable[..., Any]
) -> tuple[str, re.Pattern[str], str, Any]:
    pattern = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>{_SEGMENT})", template)
    return method, re.compile(pattern), template, action


S = SchemaRegistryServer
_ROUTES: Final = [
    _route("GET", "/", S._root),
    _route("GET", "/schemas/types", S._types),
    _route("GET", "/schemas/ids/{id}", S._by_id),
    _route("GET", "/schemas/ids/{id}/versions", S._id_versions),
    _route("GET", "/schemas/ids/{id}/subjects", S._id_subjects),
    _route("GET", "/subjects", S._subjects_list),
    _route("POST", "/subjects/{subject}/versions", S._register),
    _route("POST", "/subjects/{subject}", S._lookup),
    _route("GET", "/subjects/{subject}/versions", S._versions),
    _route("GET", "/subjects/{subject}/versions/{version}", S._version),
    _route("GET", "/subjects/{subject}/versions/{version}/schema", S._version_schema),
    _route("DELETE", "/subjects/{subject}", S._delete_subject),
    _route("DELETE", "/subjects/{subject}/versions/{version}", S._delete_version),
    _route("POST", "/compatibility/subjects/{subject}/versions/{version}", S._compatibility),
    _route("GET", "/config", S._get_config),
    _route("PUT", "/config", S._put_config),
    _route("GET", "/config/{subject}", S._get_config),
    _route("PUT", "/config/{subject}", S._put_config),
    _route("DELETE", "/config/{subject}", S._delete_config),
    _route("GET", "/mode", S._mode),
]
del S


class _Handler(BaseHTTPRequestHandler):
    registry: ClassVar[SchemaRegistryServer]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `SchemaRegistryServer.requests` instead."""

    def setup(self) -> None:
        """Track the connection (`SchemaRegistryServer.stop` ends it)."""
        super().setup()
        with self.registry._lock:
            self.registry.connections.add(self.connection)

    def finish(self) -> None:
        """Forget the connection."""
        with self.registry._lock:
            self.registry.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            status, answer = 400, {"error_code": 400, "message": "the body is not JSON"}
        else:
            path = parts.path.rstrip("/") or "/"
            status, answer = self.registry.handle(
                method, path, query, body, self.headers.get("authorization")
            )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", _CONTENT_TYPE)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve("GET")

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve("POST")

    def do_PUT(self) -> None:
        """Serve a PUT."""
        self._serve("PUT")

    def do_DELETE(self) -> None:
        """Serve a DELETE."""
        self._serve("DELETE")


def registry_test_settings(url: str) -> Any:
    """``news_schema.RegistrySettings`` for a test registry: 2 s per call, 2 attempts, no breaker.

    Needs ``pip install 'news-testing[schema]'`` (news-schema).
    """
    import news_client
    import news_schema

    return news_schema.RegistrySettings(
        url=url,
        http=news_client.ClientSettings(
            connect_timeout=1.0,
            read_timeout=2.0,
            total_timeout=2.0,
            retry=news_client.RetrySettings(attempts=2, backoff_base=0.05, backoff_max=0.2),
            breaker=news_client.BreakerSettings(enabled=False),
            metrics="off",
        ),
    )


for _public in (SchemaRegistryServer, SchemaRegistryStartError, registry_test_settings):
    _public.__module__ = "news_testing"  # their public home (also importable from here)
del _public
