"""Apps the news-http tests serve in real processes (``news_http_test_apps:<name>``).

Not a test module: the server processes import it from this folder. Settings come from the
test (news_testing passes them to ``news_http.run``), so one app serves several configurations.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
from typing import Annotated, Any

import msgspec
from robyn import Request, Response

import news_api
import news_http
import news_log

log = news_log.get_logger("testapp")


class Author(msgspec.Struct):
    name: str
    email: str


class ArticleIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    author: Author
    tags: list[str] = []


class Paging(msgspec.Struct, forbid_unknown_fields=True):
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    per_page: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    tags: list[Annotated[str, msgspec.Meta(max_length=8)]] = []


class Search(msgspec.Struct, rename="camel"):
    query_text: str
    max_hits: int = 5


class LoggingMetrics:
    """A metrics hook that logs what it is told (the tests read the lines)."""

    def request_started(self, method: str, route: str) -> None:
        """Log the start."""
        log.info("metrics started", method=method, route=route)

    def request_finished(
        self, method: str, route: str, status: int, duration_s: float, response_bytes: int
    ) -> None:
        """Log the outcome."""
        log.info(
            "metrics finished",
            method=method,
            route=route,
            status=status,
            duration_s=duration_s,
            response_bytes=response_bytes,
        )


def add_header_middleware(next_handler: news_http.Handler) -> news_http.Handler:
    """An app middleware written by hand (both kinds): tags every response."""
    if inspect.iscoroutinefunction(next_handler):

        async def async_handler(request: Request) -> Response:
            response = await next_handler(request)  # type: ignore[misc]
            response.headers.set("x-app-middleware", "async")
            return response

        return async_handler

    def sync_handler(request: Request) -> Response:
        response = next_handler(request)
        response.headers.set("x-app-middleware", "sync")  # type: ignore[union-attr]
        return response  # type: ignore[return-value]

    return sync_handler


def bind_tenant_middleware(next_handler: news_http.Handler) -> news_http.Handler:
    """Binds ``tenant`` around the handler, as a route guard binds the caller it authenticated."""
    if inspect.iscoroutinefunction(next_handler):

        async def async_handler(request: Request) -> Response:
            with news_log.bind(tenant=request.headers.get("x-tenant") or "none"):
                return await next_handler(request)  # type: ignore[misc, no-any-return]

        return async_handler

    def sync_handler(request: Request) -> Response:
        with news_log.bind(tenant=request.headers.get("x-tenant") or "none"):
            return next_handler(request)  # type: ignore[return-value]

    return sync_handler


def _require_key(request: Request) -> None:
    if request.headers.get("x-api-key") != "letmein":
        raise news_api.Unauthorized("missing or wrong API key", challenge="ApiKey")


def standard() -> news_http.NewsApp:
    """Many routes exercising the chain, the adapter and the error paths."""
    metrics = LoggingMetrics() if os.environ.get("TESTAPP_METRICS") else None
    app = news_http.create_app(name="testapp", middleware=[add_header_middleware], metrics=metrics)

    @app.get("/")
    def root() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/async")
    async def async_root() -> dict[str, str]:
        await asyncio.sleep(0)
        return {"hello": "async"}

    @app.get("/context")
    def context() -> dict[str, Any]:
        log.info("inside handler")
        return {
            "request_id": news_http.current_request_id(),
            "bound": dict(news_log.get_context()),
        }

    @app.get("/async-context")
    async def async_context() -> dict[str, Any]:
        await asyncio.sleep(0)
        log.info("inside async handler")
        return {"request_id": news_http.current_request_id()}

    @app.get("/tenant")
    @news_http.with_middleware(bind_tenant_middleware)
    def tenant(fail: bool = False) -> dict[str, bool]:
        # Same names as the access line's own fields: the access line keeps its own.
        with news_log.bind(status="draft", route="mine", article_id=7):
            log.info("tenant handler")
        if fail:
            raise RuntimeError("tenant handler failed")
        return {"ok": True}

    @app.get("/async-tenant")
    @news_http.with_middleware(bind_tenant_middleware)
    async def async_tenant(fail: bool = False) -> dict[str, bool]:
        await asyncio.sleep(0)
        with news_log.bind(article_id=8):
            await asyncio.sleep(0)
        if fail:
            raise RuntimeError("async tenant handler failed")
        return {"ok": True}

    @app.get("/articles/:article_id")
    def get_article(article_id: int, verbose: bool = False) -> news_api.Response:
        if article_id != 7:
            raise news_api.NotFound(f"no article {article_id}")
        return news_api.ok({"id": article_id, "verbose": verbose})

    @app.post("/articles")
    def create_article(body: ArticleIn) -> news_api.Response:
        return news_api.created(
            {"title": body.title, "author": body.author.name}, location="/articles/8"
        )

    @app.put("/articles/:article_id")
    async def replace_article(article_id: int, article: ArticleIn) -> dict[str, Any]:
        return {"id": article_id, "title": article.title}

    @app.get("/search")
    def search(q: str, tags: list[str] | None = None, limit: int = 10) -> dict[str, Any]:
        return {"q": q, "tags": tags, "limit": limit}

    @app.get("/bounded/:page")
    def bounded(
        page: Annotated[int, msgspec.Meta(ge=1)],
        limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10,
        q: Annotated[str, msgspec.Meta(max_length=5)] | None = None,
        ids: Annotated[list[Annotated[int, msgspec.Meta(ge=1)]], msgspec.Meta(max_length=3)]
        | None = None,
    ) -> dict[str, Any]:
        return {"page": page, "limit": limit, "q": q, "ids": ids}

    @app.get("/async-bounded")
    async def async_bounded(
        limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10,
    ) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"limit": limit}

    @app.get("/paged")
    def paged(paging: news_http.FromQuery[Paging]) -> dict[str, Any]:
        return {"page": paging.page, "per_page": paging.per_page, "tags": paging.tags}

    @app.get("/async-search")
    async def async_search(
        search: news_http.FromQuery[Search], verbose: bool = False
    ) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"query_text": search.query_text, "max_hits": search.max_hits, "verbose": verbose}

    @app.get("/files/:name")
    def file_name(name: str) -> str:
        return name

    thread_data = threading.local()

    @app.get("/thread-calls")
    def thread_calls() -> dict[str, int]:
        thread_data.calls = getattr(thread_data, "calls", 0) + 1
        return {"calls": thread_data.calls}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/async-boom")
    async def async_boom() -> None:
        await asyncio.sleep(0)
        raise KeyError("internal-key-name")

    @app.get("/conflict")
    def conflict() -> None:
        raise news_api.Conflict("article is locked", locked_by=12)

    @app.get("/slow")
    async def slow(seconds: float = 1.0) -> dict[str, float]:
        await asyncio.sleep(seconds)
        return {"slept": seconds}

    @app.get("/slow-sync")
    def slow_sync(seconds: float = 1.0) -> dict[str, float]:
        time.sleep(seconds)
        return {"slept": seconds}

    @app.get("/big")
    def big(size: int = 5000) -> dict[str, str]:
        return {"text": "news " * (size // 5)}

    @app.get("/big-text")
    def big_text() -> str:
        return "plain text " * 500

    @app.get("/binary")
    def binary() -> bytes:
        return bytes(range(256)) * 20

    @app.get("/empty")
    def empty() -> None:
        return None

    @app.get("/robyn-response")
    def robyn_response() -> Response:
        response = Response(201, {"content-type": "text/plain", "x-custom": "1"}, b"made")
        response.set_cookie("session", "abc", http_only=True)
        return response

    @app.get("/frame-ok")
    def frame_ok() -> news_api.Response:
        return news_api.ok({"embeddable": True}, headers={"x-frame-options": "SAMEORIGIN"})

    @app.post("/echo")
    def echo(request: Request) -> dict[str, Any]:
        body = request.body
        return {"size": len(body if isinstance(body, bytes) else body.encode())}

    @app.get("/headers")
    def headers(request: Request) -> dict[str, Any]:
        return {"headers": request.headers.to_dict()}

    @app.get("/client")
    def client(request: Request) -> dict[str, str | None]:
        return {"ip": request.ip_addr}

    @app.get("/secure")
    @news_http.with_middleware(news_http.make_middleware(before=_require_key))
    def secure() -> dict[str, bool]:
        return {"secret": True}

    @app.post("/secure")
    def secure_post() -> dict[str, bool]:
        return {"posted": True}

    @app.delete("/guarded/:item_id")
    @news_http.with_middleware(news_http.make_middleware(before=_require_key))
    async def guarded_delete(item_id: int) -> None:
        await asyncio.sleep(0)

    @app.options("/custom-options")
    def custom_options() -> Response:
        return Response(200, {"allow": "GET, OPTIONS"}, b"")

    @app.get("/custom-options")
    def custom_options_get() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/static/*path")
    def static_file(path: str) -> dict[str, str]:
        return {"path": path}

    @app.get("/users/:user_id/posts/:post_id")
    def user_post(user_id: str, post_id: int) -> dict[str, Any]:
        return {"user": user_id, "post": post_id}

    @app.get("/bad-return")
    def bad_return() -> object:
        return object()

    @app.get("/created")
    def created_dict() -> dict[str, bool]:
        return {"made": True}

    app.add_route("POST", "/status-created", created_dict, status_code=201)
    return app


def lifecycle() -> news_http.NewsApp:
    """Hooks that log, and slow endpoints to be caught by a shutdown."""
    app = news_http.create_app(name="lifecycle")
    events = news_log.get_logger("lifecycle")

    @app.on_startup
    def open_pool() -> None:
        events.info("startup", hook="open_pool", pid=os.getpid())

    @app.startup_handler  # Robyn's name: adds, does not replace
    async def open_publisher() -> None:
        await asyncio.sleep(0)
        events.info("startup", hook="open_publisher", pid=os.getpid())

    @app.on_shutdown
    async def close_pool() -> None:
        await asyncio.sleep(0.05)
        events.info("shutdown", hook="close_pool", pid=os.getpid())

    @app.shutdown_handler
    def close_publisher() -> None:
        events.info("shutdown", hook="close_publisher", pid=os.getpid())

    @app.get("/slow")
    async def slow(seconds: float = 1.0) -> dict[str, Any]:
        events.info("slow request started", pid=os.getpid())
        await asyncio.sleep(seconds)
        return {"slept": seconds, "pid": os.getpid()}

    @app.get("/slow-sync")
    def slow_sync(seconds: float = 1.0) -> dict[str, Any]:
        events.info("slow request started", pid=os.getpid())
        time.sleep(seconds)
        return {"slept": seconds, "pid": os.getpid()}

    @app.get("/pid")
    def pid() -> dict[str, int]:
        return {"pid": os.getpid()}

    return app


def failing_startup() -> news_http.NewsApp:
    """The second startup hook raises: the worker must exit non-zero without serving."""
    app = news_http.create_app(name="failing")

    @app.on_startup
    def first() -> None:
        news_log.get_logger("failing").info("startup", hook="first")

    @app.on_startup
    async def connect_database() -> None:
        raise ConnectionRefusedError("database at db:5432 refused the connection")

    @app.on_shutdown
    def never() -> None:
        news_log.get_logger("failing").info("shutdown ran")

    @app.get("/")
    def root() -> dict[str, bool]:
        return {"ok": True}

    return app


def slow_startup() -> news_http.NewsApp:
    """A startup hook that never finishes: hook_timeout must stop the worker."""
    app = news_http.create_app(name="stuck")

    @app.on_startup
    async def stuck() -> None:
        await asyncio.sleep(3600)

    @app.get("/")
    def root() -> dict[str, bool]:
        return {"ok": True}

    return app


def docs_app() -> news_http.NewsApp:
    """A tiny app to check /docs and /openapi.json follow the settings."""
    app = news_http.create_app(name="docsapp")

    @app.get("/items/:item_id")
    def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    return app


def param_root() -> news_http.NewsApp:
    """Routes that make Robyn's router drop a root catch-all (a parameter at the root)."""
    app = news_http.create_app(name="paramroot")

    @app.get("/:slug")
    def page(slug: str) -> dict[str, str]:
        return {"slug": slug}

    @app.get("/:slug/edit")
    def edit(slug: str) -> dict[str, str]:
        return {"edit": slug}

    @app.post("/api/:version/items")
    def add_item(version: str) -> dict[str, str]:
        return {"version": version}

    @app.get("/api/:version/items/*rest")
    def item_rest(version: str, rest: str) -> dict[str, str]:
        return {"version": version, "rest": rest}

    return app


def custom_settings() -> news_http.NewsApp:
    """An app made with its own settings (news-testing keeps them when given none)."""
    app = news_http.create_app(
        news_http.HTTPSettings(request_id_header="X-Trace-Token", port=9999), name="custom"
    )

    @app.get("/")
    def root() -> dict[str, bool]:
        return {"ok": True}

    return app


#: An app instance (not a factory), for news-testing's ``module:attr`` form.
lifecycle_app = lifecycle()


def observed() -> news_http.NewsApp:
    """Metrics and health on (news-metrics and news-health are installed in the test env).

    A critical readiness check ``dependency`` fails while the environment variable
    ``OBSERVED_DEPENDENCY_DOWN`` is ``1``.
    """
    app = news_http.create_app(name="observed")
    events = news_log.get_logger("observed")
    assert app.health is not None

    async def dependency() -> str:
        if os.environ.get("OBSERVED_DEPENDENCY_DOWN") == "1":
            raise ConnectionError("dependency at 10.0.0.9:5432 refused the connection")
        return "reachable"

    app.health.add("dependency", dependency, critical=True, cache_ttl=0)

    @app.get("/items/:item_id")
    def item(item_id: int) -> dict[str, int]:
        if item_id >= 100:
            raise news_api.NotFound(f"no item {item_id}")
        return {"id": item_id, "pid": os.getpid()}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("broken")

    @app.get("/slow")
    async def slow(seconds: float = 1.0) -> dict[str, Any]:
        events.info("slow request started", pid=os.getpid())
        await asyncio.sleep(seconds)
        return {"slept": seconds, "pid": os.getpid()}

    return app


def stubborn_shutdown() -> news_http.NewsApp:
    """Shutdown hooks that misbehave in every way ``STUBBORN_HOOKS`` (comma-separated) names.

    ``cancelled``: raises CancelledError (as aiokafka's stop does after a broker loss);
    ``ignores_cancel``: overruns hook_timeout and swallows the cancellation;
    ``never_returns``: a sync hook that blocks for ever;
    ``exits``: raises SystemExit; ``blocks_loop``: an async hook that blocks the event loop.
    ``last_hook`` (registered first, so it runs last) logs that it ran, and so does a lambda
    returning a coroutine (``flush_journal``), which runs just before it.
    """
    app = news_http.create_app(name="stubborn")
    events = news_log.get_logger("stubborn")
    wanted = os.environ.get("STUBBORN_HOOKS", "").split(",")

    @app.on_shutdown
    def last_hook() -> None:
        events.info("shutdown", hook="last_hook")

    async def flush_journal() -> None:
        await asyncio.sleep(0)
        events.info("shutdown", hook="flush_journal")

    app.on_shutdown(lambda: flush_journal())  # noqa: PLW0108 - a sync callable returning a coroutine

    async def cancelled() -> None:
        await asyncio.sleep(0)
        raise asyncio.CancelledError

    async def ignores_cancel() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                events.info("cancellation ignored")

    def never_returns() -> None:
        threading.Event().wait()

    def exits() -> None:
        raise SystemExit(7)

    async def blocks_loop() -> None:
        time.sleep(3600)

    for hook in (cancelled, ignores_cancel, never_returns, exits, blocks_loop):
        if hook.__name__ in wanted:
            app.on_shutdown(hook)

    @app.get("/pid")
    def pid() -> dict[str, int]:
        return {"pid": os.getpid()}

    return app


#: Set by keep_alive_app's shutdown hook: a response computed after it must not be a success.
HOOKS_STARTED = threading.Event()


def keep_alive_app() -> news_http.NewsApp:
    """A slow-ish async route for keep-alive clients, and a shutdown hook that takes a second."""
    app = news_http.create_app(name="keepalive")
    events = news_log.get_logger("keepalive")

    @app.on_shutdown
    async def stop_publisher() -> None:
        HOOKS_STARTED.set()
        events.info("hooks started")
        await asyncio.sleep(1.0)

    @app.post("/work")
    async def work(seconds: float = 0.2) -> dict[str, Any]:
        await asyncio.sleep(seconds)
        return {"after_hooks": HOOKS_STARTED.is_set(), "pid": os.getpid()}

    @app.post("/work-sync")
    def work_sync(seconds: float = 0.2) -> dict[str, Any]:
        time.sleep(seconds)
        return {"after_hooks": HOOKS_STARTED.is_set(), "pid": os.getpid()}

    return app


class Journal:
    """A managed resource that logs its lifecycle; ``fail`` (``start``/``stop``/``hang``) breaks it.

    Accepted items are written to ``path`` when it stops (a store that must be flushed): the
    tests read that file to prove nothing answered 2xx was lost. ``slow`` and ``slow-declared``
    take 1.5 s to stop; ``slow-declared`` says so (``stop_timeout = 3.0``), as news-kafka's
    clients do.
    """

    def __init__(self, label: str, *, fail: str = "", path: str = "") -> None:
        self.label = label
        self.fail = fail
        self.path = path
        self.items: list[str] = []
        self.running = False
        if fail == "slow-declared":
            self.stop_timeout = 3.0

    async def start(self) -> None:
        """Start (or fail to)."""
        await asyncio.sleep(0)
        if self.fail == "start":
            raise ConnectionRefusedError(f"{self.label} refused the connection")
        if self.fail == "hang-start":
            await asyncio.sleep(3600)
        self.running = True
        log.info("resource started", resource=self.label, pid=os.getpid())

    async def stop(self) -> None:
        """Flush the items, then stop (or fail to)."""
        if self.fail == "hang":
            await asyncio.sleep(3600)
        if self.fail.startswith("slow"):
            await asyncio.sleep(1.5)
        self.running = False
        if self.path:
            with open(self.path, "w", encoding="utf-8") as handle:
                handle.write("\n".join(self.items))
        log.info("resource stopped", resource=self.label, items=len(self.items), pid=os.getpid())
        if self.fail == "stop":
            raise RuntimeError(f"{self.label} could not close cleanly")


class Probed(Journal):
    """A resource with a readiness check that fails while the file ``down`` exists."""

    health_name = "search-cluster"

    def __init__(self, label: str, *, down: str) -> None:
        super().__init__(label)
        self.down = down

    async def health_check(self) -> str:
        """Pass with a short output, or raise."""
        if os.path.exists(self.down):
            raise ConnectionError("search cluster unreachable")
        return "3 nodes"


class Session:
    """An async context manager (no start/stop): managed through __aenter__/__aexit__."""

    async def __aenter__(self) -> Session:
        log.info("resource started", resource="session", pid=os.getpid())
        return self

    async def __aexit__(self, *exc: object) -> None:
        log.info("resource stopped", resource="session", pid=os.getpid())


def managed() -> news_http.NewsApp:
    """Managed resources next to hooks; ``MANAGED_FAIL=<label>:<mode>`` breaks one of them.

    ``MANAGED_DIR`` is a folder for the store's flush file and the probe's ``down`` file.
    """
    app = news_http.create_app(name="managed")
    folder = os.environ.get("MANAGED_DIR", "/tmp")
    label, _, mode = os.environ.get("MANAGED_FAIL", "").partition(":")

    def fails(name: str) -> str:
        return mode if label == name else ""

    @app.on_startup
    def hook_started() -> None:
        log.info("hook started", pid=os.getpid())

    @app.on_shutdown
    def hook_stopped() -> None:
        log.info("hook stopped", pid=os.getpid())

    store = app.manage(
        Journal("store", fail=fails("store"), path=os.path.join(folder, "store.txt"))
    )
    explicit = os.environ.get("MANAGED_STOP_TIMEOUT")
    app.manage(
        Journal("publisher", fail=fails("publisher")),
        name="publisher",
        stop_timeout=float(explicit) if explicit else None,
    )
    app.manage(Probed("search", down=os.path.join(folder, "down")))
    app.manage(Session())
    app.manage(Journal("consumer", fail=fails("consumer")), name="consumer")

    @app.post("/items")
    async def add_item(request: Request) -> news_api.Response:
        log.info("item request")
        await asyncio.sleep(float(request.query_params.get("delay", "0")))
        if not store.running:
            raise news_api.ServiceUnavailable("the store is closed")
        store.items.append(str(request.body))
        return news_api.created({"n": len(store.items)}, location=f"/items/{len(store.items)}")

    return app


def signals_app() -> news_http.NewsApp:
    """Reports whether SIGTERM/SIGINT are handled by Python's C handler (or actix's)."""
    import ctypes
    import signal

    app = news_http.create_app(name="signals")
    libc = ctypes.CDLL(None, use_errno=True)

    def handler_address(signum: int) -> bytes:
        buffer = ctypes.create_string_buffer(512)
        assert libc.sigaction(signum, None, buffer) == 0
        return buffer.raw[: ctypes.sizeof(ctypes.c_void_p)]

    signal.signal(signal.SIGUSR2, lambda *_: None)  # Python's C handler, for reference
    python = handler_address(signal.SIGUSR2)

    @app.get("/sigaction")
    def sigaction() -> dict[str, bool]:
        return {
            "SIGTERM": handler_address(signal.SIGTERM) == python,
            "SIGINT": handler_address(signal.SIGINT) == python,
        }

    @app.get("/slow")
    async def slow(seconds: float = 1.0) -> dict[str, float]:
        news_log.get_logger("signals").info("slow request started")
        await asyncio.sleep(seconds)
        return {"slept": seconds}

    return app


def worker_only() -> news_http.NewsApp:
    """A worker with no business routes: managed resources, probes and metrics only."""
    app = news_http.create_app(name="worker")
    app.manage(Journal("consumer"), name="consumer")
    return app


class ItemIn(msgspec.Struct):
    title: str


class ItemPatch(msgspec.Struct):
    title: str | None = None


def items() -> news_http.NewsApp:
    """A JSON-body API for the media-type tests: what it created is readable at GET /items."""
    app = news_http.create_app(name="items")
    created: list[dict[str, Any]] = []

    @app.post("/items")
    def create_item(item: ItemIn) -> news_api.Response:
        created.append({"title": item.title})
        return news_api.created({"n": len(created)}, location=f"/items/{len(created)}")

    @app.get("/items")
    def list_items() -> dict[str, Any]:
        return {"items": created}

    @app.patch("/items/:n")
    async def patch_item(n: int, body: ItemPatch) -> dict[str, Any]:
        if body.title is not None:
            created[n - 1]["title"] = body.title
        return created[n - 1]

    @app.post("/touch")
    def touch(body: ItemPatch | None = None) -> dict[str, bool]:
        return {"had_body": body is not None}

    @app.post("/notes")
    @news_http.accepts("text/plain", "text/markdown")
    def add_note(body: str) -> dict[str, int]:
        return {"length": len(body)}

    @app.post("/anything")
    @news_http.accepts("*/*")
    def anything(item: ItemIn) -> dict[str, str]:
        return {"title": item.title}

    @app.post("/raw")
    def raw(request: Request) -> dict[str, int]:
        return {"size": len(request.body)}

    return app


def stubborn_startup() -> news_http.NewsApp:
    """A startup hook that overruns hook_timeout and swallows its cancellation."""
    app = news_http.create_app(name="stubborn-start")

    @app.on_startup
    async def connect_forever() -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                news_log.get_logger("stubborn").info("cancellation ignored")

    @app.get("/")
    def root() -> dict[str, bool]:
        return {"ok": True}

    return app


def async_only() -> news_http.NewsApp:
    """One async route that reports how many Robyn threads keep their Python thread state."""
    from news_http import _robyn

    app = news_http.create_app(name="asynconly")

    @app.get("/kept")
    async def kept() -> dict[str, int]:
        await asyncio.sleep(0)
        return {"kept": len(_robyn.KEPT_THREADS)}

    return app


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The live_cors app's settings: news-http's, whose ``cors`` is marked live."""

    http: news_http.HTTPSettings = msgspec.field(default_factory=news_http.HTTPSettings)


def live_cors() -> news_http.NewsApp:
    """CORS from the ConfigMap-like directory ``LIVE_DIR`` (prefix LIVE_), changed while serving.

    Serve it without settings (news-testing then keeps the app's own, host and port aside).
    ``LIVE_BACKEND=poll`` and ``LIVE_POLL_INTERVAL`` choose how the files are watched.
    """
    import news_config

    def apply(update: news_config.Reload[LiveSettings]) -> None:
        app.set_cors(update.new.http.cors)

    watcher = news_config.watch(
        LiveSettings,
        prefix="LIVE_",
        env_file=None,
        secrets_dir=os.environ["LIVE_DIR"],
        poll_interval=float(os.environ.get("LIVE_POLL_INTERVAL", "0.2")),
        backend="poll" if os.environ.get("LIVE_BACKEND") == "poll" else "auto",
        on_change=apply,
    )
    app = news_http.create_app(watcher.current.http, name="live-cors")
    app.manage(watcher, name="settings")

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app
