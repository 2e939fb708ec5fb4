"""Small network helpers shared by the fixture modules."""

from __future__ import annotations

import random
import socket

__all__ = ["free_port"]

_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
_LOWEST = 20000  # below the usual well-known and registered ports services listen on
_random = random.SystemRandom()  # not the random module's state: tests seed that (hypothesis)


def _ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (outgoing connections take theirs there)."""
    try:
        with open(_RANGE_FILE, encoding="ascii") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default range starts here


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago.

    The port is picked at random *below* the kernel's ephemeral range, where the outgoing
    connections of other processes never land: a port the OS hands out for ``bind(0)`` comes from
    that range, and on a busy machine a client's connection can take it between the pick and the
    server's bind ("address already in use"). Falls back to the OS's pick when no port below the
    range is free.
    """
    start = _ephemeral_start()
    if start - _LOWEST >= 1000:
        for _ in range(64):
            port = _random.randrange(_LOWEST, start)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


free_port.__module__ = "news_testing"  # its public home
