"""`create_app` and `NewsApp`: a Robyn app whose routes run inside news-http's middleware chain.

Registration goes through Robyn's own decorators (``@app.get("/x")``); `NewsApp.add_route`
records the route and, when the app starts serving, composes the chain once per route and hands
Robyn a one-argument function (Robyn's per-request argument mapping halves throughput, so
news-http resolves handler arguments itself: see `news_http._handler`).

Chain order, outermost first (see the README's "Middleware order"): the standard stack, fused
into one layer (`news_http._stack.core`: in-flight count and safety net, request id, access log
and metrics, CORS, compression, recovery, body limit, timeout); then authentication for
``auth_required=True`` routes; the app's middlewares (``create_app(middleware=[...])``); the
route's (``@news_http.with_middleware``); the handler (arguments resolved, result converted).

Static security headers are Robyn's global response headers: Rust adds them to every response
that does not set them itself.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import msgspec

from news_http import _robyn

with _robyn.hidden_argv():  # importing robyn parses sys.argv (it makes a Config)
    from robyn import Headers, Robyn
    from robyn.dependency_injection import DependencyMap
    from robyn.openapi import OpenAPI, RouteOpenAPIMeta

from news_http._chain import compose, is_async, route_middleware
from news_http._endpoints import (
    enabled,
    health_handlers,
    health_registry,
    metrics_handler,
    metrics_hook,
)
from news_http._errors import HTTPConfigError
from news_http._handler import adapt_handler
from news_http._internal import InternalServer
from news_http._managed import ManagedSet, resource_name
from news_http._robyn import make_config
from news_http._routing import METHODS, RouteTable, normalize_route
from news_http._settings import HTTPSettings
from news_http._stack.access_log import AccessLog, ClientAddress
from news_http._stack.auth import auth_middleware
from news_http._stack.compression import Compressor
from news_http._stack.core import standard_stack
from news_http._stack.cors import CORSPolicy, LiveCORS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from contextlib import AbstractAsyncContextManager

    from robyn import Request, Response, SubRouter
    from robyn.argument_parser import Config
    from robyn.robyn import HttpMethod

    from news_health import HealthRegistry
    from news_http._settings import CORSSettings
    from news_http._types import Handler, HTTPMetricsHook, Middleware, Resource

__all__ = ["UNMATCHED_ROUTE", "Hook", "NewsApp", "create_app"]

#: The ``route`` of requests no registered route matches (404, 405, preflights of unknown paths).
UNMATCHED_ROUTE = "<unmatched>"

Hook = Any  # a sync or async callable without arguments
R = TypeVar("R", bound="Resource | AbstractAsyncContextManager[Any]")


def _method_name(route_type: HttpMethod | str) -> str:
    if isinstance(route_type, str):
        return route_type.upper()
    return str(route_type).rsplit(".", 1)[-1].upper()


def _robyn_config(settings: HTTPSettings) -> Config:
    """A Robyn `Config` from settings (see `news_http._robyn.make_config`)."""
    return make_config(processes=settings.processes, workers=settings.workers, docs=settings.docs)


def _brotli() -> Any:
    """Import the optional brotli binding, or say how to install it."""
    try:
        import brotli  # type: ignore[import-untyped,unused-ignore]
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "brotli compression needs: pip install 'news-http[brotli]'", name="brotli"
        ) from exc
    return brotli


class _Pending(NamedTuple):
    method: str
    route: str
    handler: Callable[..., Any]
    auth_required: bool
    openapi_name: str
    openapi_tags: list[str]
    metadata: RouteOpenAPIMeta
    status: int | None


class NewsApp(Robyn):
    """A `robyn.Robyn` app whose routes run inside news-http's middleware chain.

    Use Robyn's decorators to add routes; `on_startup`/`on_shutdown` (or Robyn's
    ``startup_handler``/``shutdown_handler``, which here add rather than replace) for lifecycle
    hooks; serve with `news_http.run`. Robyn's ``before_request``/``after_request`` and
    ``exception`` are refused with a pointer to the news-http way.

    With ``HTTPSettings.metrics`` on, requests are recorded by news-metrics' ``HTTPMetrics``
    (unless a hook was passed) and ``metrics_path`` serves the exposition; with
    ``HTTPSettings.health`` on, ``liveness_path`` and ``readiness_path`` answer from `health`.

    Attributes:
        settings: The `HTTPSettings` the app was made with.
        name: The service name.
    """

    def __init__(
        self,
        settings: HTTPSettings,
        *,
        name: str,
        middleware: Sequence[Middleware] = (),
        metrics: HTTPMetricsHook | None = None,
    ) -> None:
        if not name:
            raise HTTPConfigError("create_app needs the service's name: name='articles'")
        self.name = name
        self._explicit_metrics = metrics
        self._metrics: HTTPMetricsHook | None = None
        self._metrics_endpoint = False
        self._health: HealthRegistry | None = None
        self._managed = ManagedSet(lambda: self.settings.hook_timeout)
        self._cors = LiveCORS()  # one holder for the app's life: set_cors swaps its policy
        self._apply(settings)
        self._app_middleware = tuple(middleware)
        self._startup_hooks: list[Hook] = []
        self._shutdown_hooks: list[Hook] = []
        self._pending: list[_Pending] = []
        self._internal: InternalServer | None = None
        self._table = RouteTable()
        self._finalized = False
        # Robyn() calls logging.basicConfig(), which would add a second, plain-text root handler
        # next to news-log's (or the service's): keep the root logger exactly as it was.
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            super().__init__(__file__, config=_robyn_config(settings), dependencies=DependencyMap())
        finally:
            for handler in list(root.handlers):
                if handler not in handlers:
                    root.removeHandler(handler)
            root.setLevel(level)
        if _robyn.fast_paths():
            self.router = _robyn.finalizing_router(self.finalize)
        self._set_security_headers(settings)

    # -- construction helpers ----------------------------------------------------------------

    def _apply(self, settings: HTTPSettings) -> None:
        """Check ``settings`` and build what the chain needs from them."""
        cors = CORSPolicy(settings.cors)
        try:
            client_address = ClientAddress(settings.trusted_proxies)
        except ValueError as exc:
            raise HTTPConfigError(f"trusted_proxies: {exc}") from exc
        compressor = self._make_compressor(settings)
        metrics_on = enabled(settings.metrics, "news_metrics")
        health_on = enabled(settings.health, "news_health")
        self.settings = settings
        self._cors.policy = cors if cors.enabled else None
        self._access_log = AccessLog(client_address) if settings.access_log else None
        self._compressor = compressor
        self._metrics_endpoint = metrics_on
        if self._explicit_metrics is not None:
            self._metrics = self._explicit_metrics
        elif metrics_on:
            if self._metrics is None:
                self._metrics = metrics_hook()
        else:
            self._metrics = None
        if health_on:
            if self._health is None:
                self._health = health_registry(self.name)
                for managed in self._managed.items:
                    self._add_readiness(managed.name, managed.health_check)
        else:
            self._health = None

    @property
    def health(self) -> HealthRegistry | None:
        """The app's `news_health.HealthRegistry` (None when ``HTTPSettings.health`` is off).

        Add the service's dependency checks to it before serving::

            app.health.add("kafka", broker_check, critical=True)

        Readiness passes once the startup hooks ran and the critical checks pass, and fails as
        soon as SIGTERM/SIGINT arrives; liveness reports event-loop lag (and any checks added
        with ``probe="liveness"``).
        """
        return self._health

    @property
    def serves_metrics(self) -> bool:
        """Whether the app serves ``HTTPSettings.metrics_path`` (metrics are on)."""
        return self._metrics_endpoint

    @property
    def metrics(self) -> HTTPMetricsHook | None:
        """The hook recording every request (news-metrics' ``HTTPMetrics`` by default)."""
        return self._metrics

    def set_cors(self, cors: CORSSettings) -> None:
        """Switch every route to the CORS policy *cors* now, while serving or before.

        For settings that change while the service runs (``HTTPSettings.cors`` is marked live
        for ``news_config.watch``): requests that start after the call use the new policy;
        ``app.settings.cors`` is updated. With ``processes > 1``, each worker process applies
        its own change (run the watcher in each: ``app.manage(watcher)``).

        Raises:
            HTTPConfigError: *cors* cannot work (a malformed origin or pattern, ``*`` with
                credentials); the policy in force stays.
        """
        policy = CORSPolicy(cors)
        self._cors.policy = policy if policy.enabled else None
        self.settings = msgspec.structs.replace(self.settings, cors=cors)

    def use_settings(self, settings: HTTPSettings) -> None:
        """Replace the app's settings before it serves (`news_http.run` does this).

        Raises:
            HTTPConfigError: The app is already serving, or the settings cannot work.
        """
        if settings is self.settings:
            return
        if self._finalized:
            raise HTTPConfigError("settings cannot change once the app is serving")
        self._apply(settings)
        self.config.processes = settings.processes
        self.config.workers = settings.workers
        self.config.disable_openapi = not settings.docs
        if settings.docs and self.openapi is None:
            self.openapi = OpenAPI()
            self._title_docs()
        self.response_headers = Headers({})
        self._set_security_headers(settings)

    @staticmethod
    def _make_compressor(settings: HTTPSettings) -> Compressor | None:
        if not settings.compression:
            return None
        return Compressor(
            min_bytes=settings.compression_min_bytes,
            level=settings.compression_level,
            brotli=_brotli() if settings.brotli else None,
        )

    def _set_security_headers(self, settings: HTTPSettings) -> None:
        security = settings.security_headers
        if not security.enabled:
            return
        headers = {
            "X-Content-Type-Options": security.content_type_options,
            "X-Frame-Options": security.frame_options,
            "Referrer-Policy": security.referrer_policy,
            "Content-Security-Policy": security.content_security_policy,
        }
        if security.hsts:
            value = f"max-age={security.hsts_max_age}"
            if security.hsts_include_subdomains:
                value += "; includeSubDomains"
            if security.hsts_preload:
                value += "; preload"
            headers["Strict-Transport-Security"] = value
        headers.update(security.extra)
        for name, value in headers.items():
            if value:
                if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                    raise HTTPConfigError(f"security header {name!r} contains CR or LF")
                self.set_response_header(name, value)

    # -- routes ------------------------------------------------------------------------------

    def add_route(  # noqa: PLR0917 - Robyn's signature
        self,
        route_type: HttpMethod | str,
        endpoint: str,
        handler: Callable[..., Any],
        is_const: bool = False,
        auth_required: bool = False,
        openapi_name: str = "",
        openapi_tags: list[str] | None = None,
        status_code: int | None = None,
        response_model: Any = None,
        responses: dict[int | str, Any] | None = None,
        deprecated: bool = False,
        include_in_schema: bool = True,
    ) -> Callable[..., Any]:
        """Register ``handler`` for ``route_type`` ``endpoint`` (Robyn's decorators call this).

        Returns the handler unchanged, so it stays callable (and testable) on its own.

        Raises:
            HTTPConfigError: The app is already serving, the route is a const route (Robyn
                caches those in Rust, outside any middleware), it is registered twice, or it
                conflicts with another route in Robyn's router.
        """
        if self._finalized:
            raise HTTPConfigError("routes cannot be added once the app is serving")
        if is_const:
            raise HTTPConfigError(
                f"{endpoint}: const routes are cached by Robyn's Rust side and skip the "
                "middleware chain (no request id, no log line); drop const=True"
            )
        if not callable(handler):
            raise HTTPConfigError(f"{endpoint}: the handler {handler!r} is not callable")
        method = _method_name(route_type)
        route = normalize_route(endpoint)
        self._table.add(method, route)
        self._pending.append(
            _Pending(
                method,
                route,
                handler,
                auth_required,
                openapi_name,
                list(openapi_tags or []),
                RouteOpenAPIMeta(
                    status_code=status_code,
                    response_model=response_model,
                    responses=responses,
                    deprecated=deprecated,
                    include_in_schema=include_in_schema,
                ),
                status_code,
            )
        )
        return handler

    def include_router(self, router: SubRouter) -> None:
        """Add a `robyn.SubRouter`'s routes (with their prefix) through news-http's chain.

        Raises:
            HTTPConfigError: The sub-router has Robyn before/after middlewares.
        """
        middlewares = router.middleware_router
        if middlewares.global_middlewares or middlewares.route_middlewares:
            raise HTTPConfigError(
                "the sub-router uses Robyn before/after middlewares, which news-http does not "
                "run; use news_http.with_middleware on its handlers instead"
            )
        for route in router.router.routes:
            handler = route.function.handler
            original = getattr(handler, "__wrapped__", handler)
            self.add_route(
                route.route_type,
                route.route,
                original,
                route.is_const,
                route.auth_required,
                route.openapi_name,
                route.openapi_tags,
                status_code=route.openapi_metadata.status_code,
                response_model=route.openapi_metadata.response_model,
                responses=route.openapi_metadata.responses,
                deprecated=route.openapi_metadata.deprecated,
                include_in_schema=route.openapi_metadata.include_in_schema,
            )
        self.included_routers.append(router)
        self.dependencies.merge_dependencies(router)  # type: ignore[no-untyped-call]

    # -- refused Robyn features --------------------------------------------------------------

    def before_request(self, endpoint: str | None = None) -> Callable[..., None]:
        """Refused: use news-http middlewares (one crossing into Python, every method)."""
        raise HTTPConfigError(
            "news-http does not use Robyn's before_request/after_request: each is an extra "
            "Rust-to-Python crossing, route-scoped ones only apply to GET, and an exception in "
            "one answers a bare 500 without request id or log line. Pass middleware to "
            "create_app(middleware=[...]) or decorate a handler with "
            "@news_http.with_middleware(...) (news_http.make_middleware builds one from "
            "before/after functions)"
        )

    def after_request(self, endpoint: str | None = None) -> Callable[..., None]:
        """Refused: use news-http middlewares (see `before_request`)."""
        return self.before_request(endpoint)

    def exception(self, exception_handler: Callable[..., Any]) -> None:
        """Refused: news-http's recovery layer already turns exceptions into problems."""
        raise HTTPConfigError(
            "news-http's recovery layer turns every exception into an application/problem+json "
            "response with the request id (Robyn's @app.exception never sees the request). "
            "Raise news_api.APIError subclasses, or translate your own exceptions in a middleware"
        )

    # -- lifecycle hooks -----------------------------------------------------------------------

    def on_startup(self, hook: Hook) -> Hook:
        """Run ``hook`` (sync or async, no arguments) in each worker before it serves.

        Hooks run in registration order, on the worker's event loop (so async resources such
        as a Kafka publisher belong to the loop that runs async handlers). A hook that raises
        (or overruns ``hook_timeout``) stops the worker with a non-zero exit code.
        Usable as a decorator.
        """
        self._check_hook(hook)
        self._startup_hooks.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Run ``hook`` (sync or async, no arguments) when the worker stops, after draining.

        Shutdown hooks run in reverse registration order, each once, even if another failed.
        Usable as a decorator.
        """
        self._check_hook(hook)
        self._shutdown_hooks.append(hook)
        return hook

    def startup_handler(self, handler: Hook) -> None:
        """Robyn's name for `on_startup`; adds a hook (Robyn would replace the previous one)."""
        self.on_startup(handler)

    def shutdown_handler(self, handler: Hook) -> None:
        """Robyn's name for `on_shutdown`; adds a hook (Robyn would replace the previous one)."""
        self.on_shutdown(handler)

    @staticmethod
    def _check_hook(hook: Hook) -> None:
        if not callable(hook):
            raise HTTPConfigError(f"a lifecycle hook must be callable, got {hook!r}")
        try:
            inspect.signature(hook).bind()
        except TypeError as exc:
            raise HTTPConfigError(
                f"lifecycle hook {getattr(hook, '__qualname__', hook)!r} must take no "
                f"arguments: {exc}"
            ) from exc
        except ValueError:  # builtins without a signature: trust the caller
            pass

    @property
    def startup_hooks(self) -> tuple[Hook, ...]:
        """The startup hooks, in the order they run (managed resources' starts last).

        With ``HTTPSettings.internal_port`` the internal listener starts first (once the app
        serves), so that the probes answer while the hooks run.
        """
        first = (self._internal.start,) if self._internal is not None else ()
        return (*first, *self._startup_hooks, *(item.hooks()[0] for item in self._managed.items))

    @property
    def shutdown_hooks(self) -> tuple[Hook, ...]:
        """The shutdown hooks, in the order they run (managed resources' stops first).

        Last in, first out: the resources stop in reverse registration order, then the app's
        own shutdown hooks run in reverse registration order.
        """
        stops = (item.hooks()[1] for item in reversed(self._managed.items))
        last = (self._internal.stop,) if self._internal is not None else ()
        return (*stops, *reversed(self._shutdown_hooks), *last)

    # -- managed resources ---------------------------------------------------------------------

    def manage(
        self, resource: R, *, name: str | None = None, stop_timeout: float | None = None
    ) -> R:
        """Start ``resource`` in each worker before it serves, stop it after the drain.

        ``resource`` is anything with async ``start()`` and ``stop()`` (a news-kafka
        ``Publisher`` or ``Consumer``, a database pool, a Redis client), or an async context
        manager. Resources start in registration order, after the app's startup hooks, and
        stop in reverse order once the requests in flight finished, before the app's shutdown
        hooks; each start and stop is bounded by ``HTTPSettings.hook_timeout``, a stop by the
        resource's own bound when that is longer: ``stop_timeout`` (seconds), else the
        resource's ``stop_timeout`` attribute (news-kafka's ``Publisher`` and ``Consumer``
        report how long their stop may take: a consumer's in-flight handlers, a publisher's
        flush, are not cut short at ``hook_timeout``). A resource that
        fails to start stops the worker (exit code 3) after the ones started before it were
        stopped. If the resource has ``async health_check()`` (returning an optional short text,
        raising when the dependency is unusable), it becomes a critical readiness check of
        `health` named ``name``, else the resource's ``health_name``, else its class name in
        lower case::

            publisher = app.manage(news_kafka.Publisher(settings.kafka))

        Returns:
            ``resource``, so that it can be made and managed in one line.

        Raises:
            HTTPConfigError: ``resource`` has neither shape, is managed already, its readiness
                check's name is taken, ``stop_timeout`` is not a number > 0, or the app
                already serves.
        """
        if self._finalized:
            raise HTTPConfigError("resources cannot be added once the app is serving")
        resolved = resource_name(resource, name)
        managed = self._managed.add(resource, resolved, stop_timeout)
        try:
            self._add_readiness(resolved, managed.health_check)
        except BaseException:
            self._managed.items.remove(managed)
            raise
        return resource

    def _add_readiness(self, name: str, check: Callable[..., Any] | None) -> None:
        health = self._health
        if check is None or health is None:
            return
        if health.get(name) is not None:
            raise HTTPConfigError(
                f"a health check named {name!r} is registered already; give the resource "
                f"another name: app.manage(resource, name='{name}-2')"
            )
        health.add(name, check, probe="readiness", critical=True)

    @property
    def resources(self) -> tuple[object, ...]:
        """The managed resources, in registration (start) order."""
        return tuple(item.resource for item in self._managed.items)

    # -- serving -------------------------------------------------------------------------------

    def start(
        self,
        host: str | None = None,
        port: int | None = None,
        _check_port: bool = True,
        client_timeout: int = 30,
        keep_alive_timeout: int = 20,
    ) -> None:
        """Serve with `news_http.run` (host/port override the settings when given)."""
        import msgspec

        from news_http._run import run

        changes: dict[str, Any] = {}
        if host is not None:
            changes["host"] = host
        if port is not None:
            changes["port"] = port
        run(self, msgspec.structs.replace(self.settings, **changes) if changes else None)

    def finalize(self) -> None:
        """Compose every route's chain and add the fallback routes (idempotent).

        `news_http.run` calls it; so does anything that reads the routes, such as
        ``robyn.testing.TestClient(app)``. Routes cannot be added afterwards.
        """
        if self._finalized:
            return
        pending = list(self._pending)
        for item in self._pending:  # HEAD answers like GET unless the service says otherwise
            if item.method == "GET" and not self._table.has("HEAD", item.route):
                self._table.add("HEAD", item.route)
                pending.append(item._replace(method="HEAD"))
        for item in pending:
            self._install(item)
        if self.settings.docs and self.openapi is not None:
            self._install_docs()
        self._install_endpoints()
        self._finalized = True
        self._install_fallbacks()

    def _install(self, item: _Pending) -> None:
        self._add_route(
            item.method,
            item.route,
            self._chain(item),
            item.metadata,
            auth_required=item.auth_required,
            openapi_name=item.openapi_name,
            openapi_tags=item.openapi_tags,
        )

    def _add_route(
        self,
        method: str,
        route: str,
        chain: Handler,
        metadata: Any,
        *,
        auth_required: bool = False,
        openapi_name: str = "",
        openapi_tags: list[str] | None = None,
    ) -> None:
        """Register a composed chain with Robyn's router (one argument: the request)."""
        _robyn.add_route(
            self.router,
            method,
            route,
            chain,
            is_async(chain),
            metadata,
            auth_required,
            openapi_name,
            openapi_tags if openapi_tags is not None else [],
            self.dependencies.get_dependency_map(self),
        )

    def _install_docs(self) -> None:
        assert self.openapi is not None
        docs = _robyn.docs_handlers(self.router, self.openapi, self.included_routers)
        meta = RouteOpenAPIMeta(include_in_schema=False)
        for route, handler in docs.items():
            if not self._table.has("GET", route):
                self._table.add("GET", route)
                self._install(_Pending("GET", route, handler, False, "", [], meta, None))
        self.exclude_response_headers_for(list(docs))  # Swagger UI needs scripts and styles

    def _install_endpoints(self) -> None:
        """Serve the exposition and health probes (see `news_http._endpoints`).

        With ``internal_port`` they go to the internal listener instead (`news_http._internal`).
        """
        settings = self.settings
        if settings.internal_port:
            if self._metrics_endpoint or self._health is not None:
                self._internal = InternalServer(
                    settings, metrics=self._metrics_endpoint, health=self._health
                )
            return
        endpoints: list[tuple[str, str, Handler]] = []
        if self._metrics_endpoint:
            endpoints.append(("metrics_path", settings.metrics_path, metrics_handler()))
        if self._health is not None:
            liveness, readiness = health_handlers(self._health)
            endpoints.append(("liveness_path", settings.liveness_path, liveness))
            endpoints.append(("readiness_path", settings.readiness_path, readiness))
        meta = RouteOpenAPIMeta(include_in_schema=False)
        for field, path, handler in endpoints:
            route = normalize_route(path)
            layer = standard_stack(
                route=route,
                request_id_header=settings.request_id_header,
                access_log=None,  # probes and scrapes every few seconds are noise
                metrics=None,  # and would swamp the request metrics
                cors=None,
                compressor=self._compressor,
                max_body_bytes=None,
                timeout=None,
            )
            chain = compose(handler, [layer])
            for method in ("GET", "HEAD"):
                try:
                    self._table.add(method, route)
                except HTTPConfigError as exc:
                    raise HTTPConfigError(
                        f"{method} {route} is news-http's HTTPSettings.{field} endpoint and "
                        f"clashes with a route of the app ({exc}); choose another "
                        f"HTTPSettings.{field} or rename the route"
                    ) from exc
                self._add_route(method, route, chain, meta)

    def _install_fallbacks(self) -> None:
        table = self._table

        def unmatched(request: Request) -> Response:
            from robyn import Response

            from news_api import MethodNotAllowed, NotFound

            allowed = table.allowed_methods(request.url.path)
            if not allowed:
                raise NotFound("no route matches this path")
            if request.method == "OPTIONS":
                return Response(204, {"allow": ", ".join([*allowed, "OPTIONS"])}, b"")
            raise MethodNotAllowed(
                f"{request.method} is not allowed on this resource", allow=allowed
            )

        chain = compose(unmatched, [self._standard_layer(UNMATCHED_ROUTE, limits=False)])
        meta = RouteOpenAPIMeta(include_in_schema=False)
        for method in METHODS:
            for route in table.fallbacks(method):
                self._add_route(method, route, chain, meta)

    def _standard_layer(self, route: str, *, limits: bool = True) -> Middleware:
        settings = self.settings
        return standard_stack(
            route=route,
            request_id_header=settings.request_id_header,
            access_log=self._access_log,
            metrics=self._metrics,
            cors=self._cors,
            compressor=self._compressor,
            max_body_bytes=settings.max_body_bytes if limits else None,
            timeout=settings.request_timeout if limits and settings.request_timeout > 0 else None,
        )

    def _chain(self, item: _Pending) -> Handler:
        adapted = adapt_handler(
            item.handler,
            item.route,
            self.dependencies.get_dependency_map(self),
            status=item.status,
        )
        layers = [self._standard_layer(item.route)]
        if item.auth_required:
            if self.authentication_handler is None:
                raise HTTPConfigError(
                    f"{item.method} {item.route} has auth_required=True but no authentication "
                    "handler is configured (app.configure_authentication(...))"
                )
            layers.append(auth_middleware(self.authentication_handler, item.route))
        layers.extend(self._app_middleware)
        layers.extend(route_middleware(item.handler))
        return compose(adapted, layers)

    def _title_docs(self) -> None:
        _robyn.title_docs(self.openapi, self.name)

    def routes_summary(self) -> list[tuple[str, str]]:
        """The registered (method, route) pairs, fallbacks excluded (for logs and tests)."""
        return [(p.method, p.route) for p in self._pending]


def create_app(
    settings: HTTPSettings | None = None,
    *,
    name: str,
    middleware: Iterable[Middleware] = (),
    metrics: HTTPMetricsHook | None = None,
) -> NewsApp:
    """Make a Robyn app with news-http's middleware chain, security headers and lifecycle.

    Args:
        settings: How to serve; `HTTPSettings()` when omitted.
        name: The service's name (log lines, API docs title).
        middleware: The service's own middlewares, for every route (outermost first); they run
            inside the standard stack, right around the handlers.
        metrics: Receives request counts, durations and sizes. None: news-metrics'
            ``HTTPMetrics`` when ``settings.metrics`` is on, else nothing (no cost per request).

    Raises:
        HTTPConfigError: Settings that cannot work (``*`` origins with credentials, a bad
            trusted proxy network, a CR/LF in a header value), ``metrics='on'`` or
            ``health='on'`` without the extra installed.
        ModuleNotFoundError: ``brotli=True`` without the ``brotli`` extra installed.
    """
    app = NewsApp(
        settings if settings is not None else HTTPSettings(),
        name=name,
        middleware=tuple(middleware),
        metrics=metrics,
    )
    app._title_docs()
    return app
