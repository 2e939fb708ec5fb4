"""Robyn 0.88's internals that news-http relies on, in one place: version-checked, switchable.

`make_config` builds Robyn's ``Config`` without letting it parse the service's ``sys.argv``
(``Config()`` runs an argparse over the process's arguments and exits on ones it does not
know). news-http serves with Robyn's compiled server directly rather than ``Robyn.start()`` (whose
process pool SIGKILLs its workers, never drains, and parses ``sys.argv``): `open_socket`,
`clone_socket` and `serve_forever` are that process bootstrap, built from ``robyn.robyn``'s
``Server``/``SocketHeld``/``FunctionInfo`` and ``robyn.processpool.initialize_event_loop``
exactly as Robyn's own ``processpool.spawn_process`` does it.

The **fast paths** go further than Robyn's public behaviour; all are on by default and all go
off with ``NEWS_HTTP_NO_FAST_PATHS=1`` (or when the installed Robyn is outside the tested range
`TESTED`), which one log line reports when the server starts; tests/news_http/test_robyn_compat.py
serves the same apps both ways and compares the answers:

- **signal guard** (`SignalGuard`): actix registers its own SIGTERM/SIGINT handlers when its
  server starts (graceful stop that hangs the process, upstream #1324; forced stop on SIGINT
  that drops in-flight requests). The guard records Python's sigactions before the server
  starts (libc ``sigaction`` into a raw buffer) and puts them back once actix replaced them.
  Off: actix keeps its handlers, which chain to Python's, so news-http's drain still runs, next
  to actix's own graceful stop (and a SIGINT drops requests in flight).
- **kept thread state** (`keep_thread_state`): Robyn calls a sync handler on a Rust thread and
  makes and deletes a Python thread state for every call (~25 µs of CPU per request in the full
  stack). One ``PyGILState_Ensure`` that is never released keeps the thread's state between
  calls. Off: Robyn's per-call thread state (thread-locals start afresh on every request).
- **routes** (`add_route`): a route's composed chain is registered as a ``robyn.router.Route``
  holding a ``FunctionInfo`` built positionally, so that Robyn calls it with the request alone;
  an async chain goes behind a plain function that keeps the Rust thread's Python thread state
  (as above) and returns the coroutine, which Robyn then runs on the event loop.
  Off: Robyn's ``Router.add_route``, which wraps every handler in its own per-request argument
  mapping and response formatting (the chain is handed over behind a plain one-parameter
  function).
- **router** (`finalizing_router`): the app's ``router`` is replaced by a ``Router`` subclass
  that composes the chains the first time Robyn (or ``robyn.testing.TestClient``) reads the
  routes. Off: Robyn's own router; `news_http.run` composes the chains itself (call
  ``app.finalize()`` before handing the app to a ``TestClient``).

Internals used outside the switch, for want of a public equivalent: the API docs (``/docs`` and
``/openapi.json``, off by default) are prepared and titled through ``robyn.openapi.OpenAPI``'s
spec and ``Router.prepare_routes_openapi`` (`docs_handlers`, `title_docs`).

The import of this module is cheap: Robyn itself is imported when a function needs it.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import signal
import threading
import time
from importlib import metadata
from threading import get_ident
from typing import TYPE_CHECKING, Any, Final

import news_log

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator, Mapping

    from robyn import Request, Response
    from robyn.argument_parser import Config
    from robyn.openapi import OpenAPI
    from robyn.robyn import SocketHeld

    from news_http._app import NewsApp

__all__ = [
    "KEPT_THREADS",
    "NO_FAST_PATHS_ENV",
    "TESTED",
    "SignalGuard",
    "add_route",
    "clone_socket",
    "docs_handlers",
    "fast_paths",
    "finalizing_router",
    "hidden_argv",
    "installed_version",
    "keep_thread_state",
    "make_config",
    "off_reason",
    "open_socket",
    "report_fast_paths",
    "serve_forever",
    "title_docs",
]

#: The Robyn versions whose internals this module was written against (``>=0.88,<0.89``).
TESTED: Final = ((0, 88), (0, 89))
#: Set to ``1`` to turn every fast path off in favour of Robyn's public behaviour.
NO_FAST_PATHS_ENV: Final = "NEWS_HTTP_NO_FAST_PATHS"

_log = news_log.get_logger("news_http.server")


def installed_version() -> tuple[int, ...]:
    """The installed Robyn's version as numbers (``(0, 88, 0)``); ``()`` when unreadable."""
    try:
        text = metadata.version("robyn")
    except metadata.PackageNotFoundError:
        return ()
    numbers: list[int] = []
    for part in text.split("."):
        digits = "".join(c for c in part if c.isdigit())
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def off_reason(
    environ: Mapping[str, str] | None = None, version: tuple[int, ...] | None = None
) -> str | None:
    """Why the fast paths are off (None: they are on), from the environment and Robyn's version."""
    environ = os.environ if environ is None else environ
    if environ.get(NO_FAST_PATHS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return f"{NO_FAST_PATHS_ENV} is set"
    version = installed_version() if version is None else version
    low, high = TESTED
    if not low <= version[:2] < high:
        shown = ".".join(map(str, version)) or "unknown"
        return f"robyn {shown} is outside the tested range >={low[0]}.{low[1]},<{high[0]}.{high[1]}"
    return None


_OFF_REASON: str | None = off_reason()
_reported = False


def fast_paths() -> bool:
    """Whether the fast paths are on (decided once, at import)."""
    return _OFF_REASON is None


def report_fast_paths() -> None:
    """Log once per process that the fast paths are off, and why (nothing when they are on)."""
    global _reported  # noqa: PLW0603 - one line per process
    if _OFF_REASON is not None and not _reported:
        _reported = True
        _log.info(
            "news-http fast paths off; using Robyn's public behaviour",
            reason=_OFF_REASON,
            pid=os.getpid(),
        )


# -- kept thread state --------------------------------------------------------------------------

#: Robyn's threads whose Python thread state is kept (or, fast paths off, that were seen).
KEPT_THREADS: set[int] = set()


def keep_thread_state() -> None:
    """Keep the calling Robyn thread's Python thread state alive between requests.

    The request path calls this once per thread (it checks `KEPT_THREADS` first). It costs one
    thread state per Robyn worker thread for the process's lifetime; the GIL is still released
    between requests, as for any Python thread. Fast paths off: only records the thread.
    """
    if _OFF_REASON is None:
        import ctypes  # once per Robyn thread, lazily: keeps `import news_http` cheap

        ctypes.pythonapi.PyGILState_Ensure()
    KEPT_THREADS.add(get_ident())


if hasattr(os, "register_at_fork"):  # a forked worker's threads are new threads
    os.register_at_fork(after_in_child=KEPT_THREADS.clear)


# -- signal guard -------------------------------------------------------------------------------


class SignalGuard:
    """Keep SIGTERM and SIGINT with Python's handlers after actix registered its own.

    Make it before the server starts (it records Python's sigactions), call `watch` once the
    server serves. SIGQUIT stays actix's: an immediate stop.
    """

    _SIGNALS = (signal.SIGTERM, signal.SIGINT)
    _BUFFER = 512  # larger than struct sigaction on every Linux ABI

    def __init__(self) -> None:
        self._sigaction: Any = None
        self._saved: dict[int, Any] = {}
        if _OFF_REASON is not None:
            return
        try:
            sigaction, saved = self._record()
        except Exception as exc:  # noqa: BLE001 - no guard: say so, serve on
            _log.warning(
                "signal guard unavailable; actix's own graceful shutdown runs next to "
                "news-http's (a SIGINT drops requests in flight)",
                error=f"{type(exc).__name__}: {exc}",
            )
            return
        self._sigaction, self._saved = sigaction, saved

    @classmethod
    def _record(cls) -> tuple[Any, dict[int, Any]]:
        """Libc's ``sigaction`` and the current sigaction of each signal (raw buffers)."""
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        sigaction = libc.sigaction
        saved: dict[int, Any] = {}
        for signum in cls._SIGNALS:
            buffer = ctypes.create_string_buffer(cls._BUFFER)
            if sigaction(signum, None, buffer) != 0:
                code = ctypes.get_errno()
                raise OSError(code, f"sigaction({signum}): {os.strerror(code)}")
            saved[signum] = buffer
        return sigaction, saved

    @property
    def active(self) -> bool:
        """Whether the guard recorded Python's handlers (and will restore them)."""
        return self._sigaction is not None

    def watch(self, timeout: float = 30.0) -> None:
        """Start a daemon thread that restores Python's handlers once actix took them."""
        if self._sigaction is None:
            return
        threading.Thread(
            target=self._run, args=(timeout,), name="news-http-signals", daemon=True
        ).start()

    def _run(self, timeout: float) -> None:
        import ctypes

        current = ctypes.create_string_buffer(self._BUFFER)
        size = ctypes.sizeof(ctypes.c_void_p)  # the handler pointer leads struct sigaction
        pending = dict(self._saved)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for signum, saved in list(pending.items()):
                if self._sigaction(signum, None, current) == 0 and (
                    current.raw[:size] != saved.raw[:size]
                ):
                    self._sigaction(signum, saved, None)
                    del pending[signum]
            time.sleep(0.005)
        if pending:
            _log.warning(
                "actix kept its signal handlers; its own graceful shutdown runs too",
                signals=[signal.Signals(s).name for s in pending],
            )


# -- process bootstrap --------------------------------------------------------------------------


@contextlib.contextmanager
def hidden_argv() -> Iterator[None]:
    """Hide the service's command line from Robyn (its import and ``Config()`` parse it)."""
    import sys

    argv = sys.argv
    sys.argv = argv[:1]
    try:
        yield
    finally:
        sys.argv = argv


def make_config(*, processes: int, workers: int, docs: bool) -> Config:
    """Robyn's ``Config`` for an app, built with ``sys.argv`` hidden from Robyn's argparse."""
    with hidden_argv():
        from robyn.argument_parser import Config  # robyn's import makes a Config too

        config = Config()
    config.processes = processes
    config.workers = workers
    config.log_level = "WARN"  # silences Robyn's "verbose mode" banner; news-log sets levels
    config.disable_openapi = not docs
    config.dev = False
    return config


def open_socket(host: str, port: int) -> SocketHeld:
    """Robyn's listening socket on ``host:port`` (SO_REUSEPORT, as Robyn binds it)."""
    from robyn.robyn import SocketHeld

    return SocketHeld(host, port)


def clone_socket(held: SocketHeld) -> SocketHeld:
    """A duplicate of ``held`` for a forked worker."""
    return held.try_clone()


def serve_forever(
    app: NewsApp, held: SocketHeld, workers: int, startup: Callable[[], Awaitable[None]]
) -> None:
    """Serve ``app`` on ``held`` with Robyn's server in this process, as Robyn's workers do.

    ``startup`` runs on the serving event loop before actix listens. Returns only if the event
    loop stops; Robyn's shutdown handler is not used (news-http runs its own hooks).
    """
    from robyn.processpool import initialize_event_loop
    from robyn.robyn import FunctionInfo, Server

    initialize_event_loop()  # type: ignore[no-untyped-call]  # uvloop, as Robyn does
    server = Server()
    for directory in app.directories:
        server.add_directory(*directory.as_list())  # type: ignore[no-untyped-call]
    server.apply_request_headers(app.request_headers)
    server.apply_response_headers(app.response_headers)
    server.set_response_headers_exclude_paths(app.excluded_response_headers_paths)
    for route in app.router.get_routes():
        server.add_route(route.route_type, route.route, route.function, route.is_const)
    for endpoint, handlers in app.web_socket_router.get_routes().items():
        # robyn.pyi lists more parameters than the 0.88 binary takes (as processpool.py).
        server.add_web_socket_route(  # type: ignore[call-arg]
            endpoint, handlers["connect"], handlers["close"], handlers["message"]
        )
    server.add_startup_handler(FunctionInfo(startup, True, 0, {}, {}))
    # robyn.pyi lists client/keep-alive timeouts the 0.88 binary does not take.
    server.start(held, workers)  # type: ignore[call-arg]


# -- app construction ---------------------------------------------------------------------------


def finalizing_router(finalize: Callable[[], None]) -> Any:
    """A Robyn ``Router`` that calls ``finalize`` before handing out its routes (fast path)."""
    from robyn.router import Route, Router

    class FinalizingRouter(Router):
        """Robyn's route list, completed with news-http's chains the first time it is read."""

        def get_routes(self) -> list[Route]:
            finalize()
            routes: list[Route] = self.routes
            return routes

    return FinalizingRouter()


# -- routes -------------------------------------------------------------------------------------

_REQUEST_PARAM: Final = {
    "request": inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD)
}


def _plain(chain: Callable[[Request], Any], asynchronous: bool) -> Callable[[Request], Any]:
    """``chain`` behind a function whose one parameter Robyn's argument mapping fills."""
    if asynchronous:

        async def call_async(request: Request) -> Response:
            response: Response = await chain(request)
            return response

        return call_async

    def call(request: Request) -> Response:
        response: Response = chain(request)
        return response

    return call


def _async_entry(chain: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """A plain function that returns the coroutine of ``chain`` (fast path for async routes).

    Robyn calls an async route's handler on its Rust thread to make the coroutine, then runs
    that on the event loop; as for sync routes, it makes and deletes a Python thread state for
    that call. A plain function that returns the coroutine runs Python code on the Rust thread
    first, so it can keep the thread's state (`keep_thread_state`) like the sync stack does.
    """

    def entry(request: Request) -> Any:
        if get_ident() not in KEPT_THREADS:
            keep_thread_state()
        return chain(request)

    return entry


def add_route(  # noqa: PLR0917 - Robyn's Route, field by field
    router: Any,
    method: str,
    route: str,
    chain: Callable[[Request], Any],
    asynchronous: bool,
    metadata: Any,
    auth_required: bool,
    openapi_name: str,
    openapi_tags: list[str],
    dependencies: Mapping[str, Any],
) -> None:
    """Register a composed chain (one argument: the request) with Robyn's ``router``."""
    from robyn.robyn import HttpMethod
    from robyn.router import Router

    route_type = getattr(HttpMethod, method)
    if _OFF_REASON is None:
        from robyn.robyn import FunctionInfo
        from robyn.router import Route

        handler = _async_entry(chain) if asynchronous else chain
        function = FunctionInfo(handler, asynchronous, 1, dict(_REQUEST_PARAM), {})
        router.routes.append(
            Route(
                route_type,
                route,
                function,
                False,
                auth_required,
                openapi_name,
                openapi_tags,
                metadata,
            )
        )
        return
    Router.add_route(
        router,
        route_type,
        route,
        _plain(chain, asynchronous),
        False,
        auth_required,
        openapi_name,
        openapi_tags,
        None,
        dict(dependencies),
        metadata,
    )


# -- API docs -----------------------------------------------------------------------------------


def docs_handlers(router: Any, openapi: OpenAPI, included_routers: Any) -> dict[str, Any]:
    """Prepare the OpenAPI document from the routes; the handlers of /openapi.json and /docs."""
    router.prepare_routes_openapi(openapi, included_routers)
    openapi.prune_empty_components()
    return {
        "/openapi.json": openapi.get_openapi_config,
        "/docs": openapi.get_openapi_docs_page,
    }


def title_docs(openapi: OpenAPI | None, title: str) -> None:
    """Title the generated API docs after the service (unless a spec file overrides them)."""
    if openapi is not None and not openapi.openapi_file_override:
        openapi.info.title = title
        openapi.openapi_spec["info"]["title"] = title
