"""Everything news-redis does below redis-py's public client API, in one place.

- **Version check.** The installed redis-py must be in the tested range (`TESTED`); outside
  it the fast paths are off (one log line says why) and only the public client API is used.
- **Fast command path** (`call`): a connection taken from the pool, the command written
  pre-encoded (`encode_command`) and its reply read, with the pool's own public methods
  (``get_connection``, ``send_packed_command``, ``read_response``, ``release``). It skips
  redis-py's per-command retry wrapper, response callbacks and observability hooks, about a
  third of a rate-limit check's client CPU. The public path is ``Redis.execute_command``.
  Cancellation is safe on both: redis-py disconnects a connection whose command was
  interrupted before its reply was read, so it never returns to the pool with a reply
  pending.
- **Pool state** (`open_connections`): the number of open connections, read from the pool's
  private lists (redis-py has no public count); None when fast paths are off.

``NEWS_REDIS_NO_FAST_PATHS=1`` turns the fast paths off in favour of the public API (the
results are the same; tests prove it).
"""

from __future__ import annotations

import functools
import logging
import os
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from redis.asyncio import ConnectionPool

__all__ = [
    "NO_FAST_PATHS_ENV",
    "TESTED",
    "call",
    "encode_command",
    "encode_tail",
    "fast_paths",
    "open_connections",
]

_log = logging.getLogger("news_redis")

TESTED: Final = ((8, 0, 1), (8, 3, 0))
"""redis-py versions whose internals news-redis was tested against: [low, high)."""

NO_FAST_PATHS_ENV: Final = "NEWS_REDIS_NO_FAST_PATHS"
"""Set it to 1 to use only redis-py's public client API."""


def _version(text: str) -> tuple[int, ...]:
    numbers = []
    for part in text.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        numbers.append(int(digits or 0))
    return tuple(numbers)


@functools.cache
def fast_paths() -> bool:
    """Whether the fast paths are on (a tested redis-py version, not switched off).

    Decided once per process, on first use (``import news_redis`` does not import redis-py).
    """
    import redis

    if os.environ.get(NO_FAST_PATHS_ENV, "").strip() not in {"", "0", "false", "no"}:
        _log.info(
            "news-redis fast paths off: %s is set; using redis-py's public API", NO_FAST_PATHS_ENV
        )
        return False
    installed = _version(redis.__version__)
    low, high = TESTED
    if not low <= installed < high:
        _log.warning(
            "news-redis fast paths off: redis-py %s is outside the tested range %s..%s; "
            "using redis-py's public API",
            redis.__version__,
            ".".join(map(str, low)),
            ".".join(map(str, high)),
        )
        return False
    return True


def _encode_arg(arg: Any) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, bool):  # before int: bool is an int
        raise TypeError("a bool is not a Redis argument; send 0/1 or a string")
    if isinstance(arg, int):
        return b"%d" % arg
    if isinstance(arg, float):
        return repr(arg).encode()
    raise TypeError(f"a {type(arg).__name__} is not a Redis argument (bytes, str, int, float)")


def encode_command(*args: Any) -> bytes:
    """Encode one command in RESP (``*n``, then ``$len`` and the bytes of each argument)."""
    return encode_tail(b"*%d\r\n" % len(args), args)


def encode_tail(head: bytes, args: Any) -> bytes:
    """``head`` (a pre-encoded start of a command) followed by ``args`` encoded in RESP."""
    parts = [head]
    for arg in args:
        data = arg.encode() if type(arg) is str else _encode_arg(arg)
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


async def call(pool: ConnectionPool, packed: bytes) -> Any:
    """Send one pre-encoded command on a pooled connection and return its raw reply.

    Raises redis-py's errors (``ConnectionError``, ``TimeoutError``, ``ResponseError``);
    the caller translates them.
    """
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        # get_connection() has just checked the connection (connected, nothing unread).
        await connection.send_packed_command(packed, check_health=False)
        return await connection.read_response()
    finally:
        await pool.release(connection)


def open_connections(pool: ConnectionPool) -> int | None:
    """The pool's open connections (idle and in use), or None without the fast paths."""
    if not fast_paths():
        return None
    try:
        return len(pool._available_connections) + len(pool._in_use_connections)
    except AttributeError:  # pragma: no cover - guarded by the version check
        return None
