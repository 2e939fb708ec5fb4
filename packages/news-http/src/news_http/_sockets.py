"""The serving process's sockets, reached from Python: stop accepting, close connections (Linux).

Robyn 0.88 (actix underneath) owns its sockets in Rust and offers no way to stop accepting or
to close keep-alive connections; and actix drops a ``Connection: close`` header a handler sets.
Linux lets news-http do both through the process's file descriptors (``/proc/self/fd``):

- `stop_accepting`: ``shutdown(SHUT_RD)`` on the listening socket. The kernel refuses new
  connections at once and actix's accept loop gets none (its accept fails with ``EINVAL``; the
  error lines it would log are silenced). The socket is shared with the other workers, which
  are stopping too.
- `close_connections`: ``shutdown(SHUT_RD)`` on every *idle* accepted connection: one with
  nothing unread whose last data went out (a response) after the last data came in (per
  ``TCP_INFO``). actix then reads end-of-file and closes it. Busy connections are left alone:
  shutting one down while a request's body is still arriving would make actix see the body
  end early. The drain calls it again every few milliseconds, so each connection is closed as
  soon as its current response is out. With ``force=True``, every connection gets
  ``SHUT_RDWR``: nothing more is read or written, so a response not sent yet never leaves and
  the client sees its connection closed without an answer.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import struct
import termios
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["close_connections", "stop_accepting"]

_FD_DIR = "/proc/self/fd"
# struct tcp_info (linux/tcp.h): milliseconds since data was last sent / received.
_TCP_INFO_SIZE = 104
_LAST_DATA_SENT = struct.Struct("=I")
_LAST_DATA_SENT_OFFSET = 44
_LAST_DATA_RECV_OFFSET = 52


def _idle(sock: socket.socket) -> bool:
    """Nothing unread, and no data came in after the last data went out (a response).

    The kernel keeps both times in jiffies (1-4 ms): data received in the same jiffy as the
    last response counts as idle too. If that was the head of a next request, actix reads it
    and serves it, and one whose body was cut short by the shutdown is answered 503 by the
    stack (``DRAINING``).
    """
    unread = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
    if unread:
        return False
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    sent_ago = _LAST_DATA_SENT.unpack_from(info, _LAST_DATA_SENT_OFFSET)[0]
    received_ago = _LAST_DATA_SENT.unpack_from(info, _LAST_DATA_RECV_OFFSET)[0]
    return bool(sent_ago <= received_ago)


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
        if listening:
            continue
        try:
            if force or _idle(sock):
                sock.shutdown(how)
                closed += 1
        except OSError:  # already gone
            continue
    return closed
