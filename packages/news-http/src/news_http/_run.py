"""`run`: serve an app until SIGTERM/SIGINT, drain, run shutdown hooks, flush logs, exit.

The pieces: `news_http._worker` (one serving process: signals, startup, the bounded shutdown),
`news_http._supervisor` (``processes > 1``: forked workers), `news_http._shutdown` (hooks
within their timeout, the watchdog, the exit), `news_http._sockets` (the listener and the
connections, reached from Python), `news_http._robyn` (Robyn's internals, version-checked).

Exit codes: 0 clean shutdown; 1 the grace period ran out with requests in flight, a shutdown
hook failed, the shutdown deadline passed, or (multi-process) a worker died; 3 a startup hook
failed.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
from typing import TYPE_CHECKING, NoReturn

import news_log
from news_http._errors import HTTPConfigError, PortInUseError, ServerStartError
from news_http._shutdown import EXIT_STARTUP_FAILED, EXIT_UNCLEAN
from news_http._worker import SETTLE_S

if TYPE_CHECKING:
    from news_http._app import NewsApp
    from news_http._settings import HTTPSettings

__all__ = [
    "EXIT_STARTUP_FAILED",
    "EXIT_UNCLEAN",
    "SETTLE_S",
    "check_platform",
    "check_port",
    "run",
]

_log = news_log.get_logger("news_http.server")


def check_platform(platform: str | None = None) -> None:
    """Fail clearly unless the server runs on Linux (``platform``: default ``sys.platform``).

    The drain stops accepting and closes connections through ``/proc/self/fd`` and
    ``shutdown(2)`` with Linux semantics, the signal guard reads Linux's ``sigaction``, and
    forked workers ask for ``PR_SET_PDEATHSIG``: elsewhere the drain would never settle.

    Raises:
        ServerStartError: Not Linux.
    """
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        raise ServerStartError(
            f"news_http.run serves on Linux only (this is {platform!r}): its graceful shutdown "
            "closes the server's sockets the Linux way. Run the service in a Linux container; "
            "for tests elsewhere, call handlers directly or use robyn.testing.TestClient"
        )


def check_port(host: str, port: int) -> None:
    """Fail clearly if ``host:port`` cannot be bound (Robyn would wait for keyboard input).

    Robyn's socket sets SO_REUSEPORT, so a second server on a busy port would bind silently and
    share the traffic; the probe here does not set it, so any listener makes it fail.

    Raises:
        HTTPConfigError: ``host`` is not an IP address.
        PortInUseError: Another process listens on the address.
        ServerStartError: The address cannot be bound for another reason.
    """
    try:
        ip = ipaddress.ip_address(host)
    except ValueError as exc:
        raise HTTPConfigError(
            f"host {host!r} must be an IP address (0.0.0.0, 127.0.0.1, ::), not a name"
        ) from exc
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    exc.errno,
                    f"port {port} on {host} is already in use by another process; stop it or "
                    "choose another port (HTTPSettings.port)",
                ) from exc
            raise ServerStartError(f"cannot bind {host}:{port}: {exc}") from exc


def run(app: NewsApp, settings: HTTPSettings | None = None) -> NoReturn:
    """Serve ``app`` until SIGTERM or SIGINT, then shut down gracefully and exit the process.

    ``settings`` (default: the app's) apply to everything: address, processes, the middleware
    chain (CORS, limits, compression...) and the security headers.

    On the signal: the server stops accepting connections and closes keep-alive connections
    once their current response is written; requests in flight get up to ``shutdown_grace``
    seconds to finish; then every connection still open is closed, and the shutdown hooks run
    in reverse registration order, each within ``hook_timeout``; news-log is flushed; the
    process exits 0 (1 if the grace period ran out or a hook failed). Whatever the hooks do,
    the process is gone ``shutdown_delay + shutdown_grace + hooks x hook_timeout + 5`` seconds
    after the signal at the latest (a managed resource whose ``stop_timeout`` is longer than
    ``hook_timeout`` counts with its ``stop_timeout``). With ``processes > 1`` the calling
    process supervises forked workers that each do all of that; it exits once they have.

    Startup hooks run in each worker before it serves; a failing one exits with code 3.

    Args:
        app: The app from `news_http.create_app`.
        settings: Replace ``app.settings`` (e.g. loaded from the environment at start).

    Raises:
        PortInUseError: The port is taken (raised before anything is started).
        HTTPConfigError: The host is not an IP address, or a route cannot be composed.
        ServerStartError: Not on Linux, or the server socket cannot be opened.
    """
    from news_http import _robyn
    from news_http._supervisor import Supervisor
    from news_http._worker import Worker

    try:
        check_platform()
        if settings is not None:
            app.use_settings(settings)
        settings = app.settings
        app.finalize()
        check_port(settings.host, settings.port)
    except Exception as exc:
        _log.critical("cannot start the server", error=str(exc), exc_info=exc)
        news_log.flush()
        raise
    try:
        held = _robyn.open_socket(settings.host, settings.port)
    except Exception as exc:
        _log.critical("cannot open the server socket", error=str(exc))
        news_log.flush()
        raise ServerStartError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from exc
    if settings.processes == 1:
        Worker(app, settings, held, index=0).serve()
    Supervisor(app, settings, held).serve()
