"""The serving process's sockets, reached from Python: stop accepting, close connections (Linux).

Robyn 0.88 (actix underneath) owns its sockets in Rust and offers no way to stop accepting or
to close keep-alive connections; and actix drops a ``Connection: close`` header a handler sets.
Linux lets news-http do both through the process's file descriptors (``/proc/self/fd``):

- `stop_accepting`: ``shutdown(SHUT_RD)`` on the listening socket. The kernel refuses new
  connections at once and actix's accept loop gets none (its accept fails with ``EINVAL``; the
  error lines it would log are silenced). The socket is shared with the other workers, which
  are stopping too.
- `close_connections`: ``shutdown(SHUT_RD)`` on every accepted connection. Data already
  received is still read (a request on its way is served), then actix reads end-of-file and
  closes the connection as soon as its current response is written: at once when it is idle.
  With ``force=True``, ``SHUT_RDWR``: nothing more is written either, so a response not sent
  yet never leaves and the client sees its connection closed without an answer.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["close_connections", "stop_accepting"]

_FD_DIR = "/proc/self/fd"


def _tcp_sockets(port: int) -> Iterator[tuple[socket.socket, bool]]:
    """This process's TCP sockets whose local port is ``port``, and whether each listens.

    Each socket object wraps the descriptor without owning it (detached after use).
    """
    try:
        fds = [int(name) for name in os.listdir(_FD_DIR)]
    except OSError:
        return
    for fd in fds:
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        try:
            if (
                sock.family in {socket.AF_INET, socket.AF_INET6}
                and sock.type == socket.SOCK_STREAM
                and sock.getsockname()[1] == port
            ):
                yield sock, bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
        except OSError:
            pass
        finally:
            sock.detach()


def stop_accepting(port: int) -> int:
    """Shut down (for reading) every listening socket of this process on ``port``.

    Returns how many were shut.
    """
    logging.getLogger("actix_server.accept").setLevel(logging.CRITICAL)
    shut = 0
    for sock, listening in _tcp_sockets(port):
        if listening:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                continue
            shut += 1
    return shut


def close_connections(port: int, *, force: bool = False) -> int:
    """Close this process's accepted connections on ``port`` (see the module docstring).

    Returns how many connections were shut down.
    """
    how = socket.SHUT_RDWR if force else socket.SHUT_RD
    closed = 0
    for sock, listening in _tcp_sockets(port):
        if not listening:
            try:
                sock.shutdown(how)
            except OSError:  # already gone
                continue
            closed += 1
    return closed
