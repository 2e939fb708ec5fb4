"""Password hashing: argon2id with OWASP's parameters, in a small bounded pool of threads.

argon2 is slow on purpose (about 30 ms and 19 MiB per call with the defaults), so a call on the
event loop would stall every other request. `PasswordHasher` runs each call on one of
``threads`` threads (argon2-cffi releases the GIL while it hashes) and sheds load with
`HasherBusyError` once ``max_waiting`` calls queue behind them, so a burst of logins cannot pile
up memory or latency without bound.

A login for a user that does not exist must cost the same as one for a user that does, or the
response time tells an attacker which accounts exist: ``verify(None, password)`` checks the
password against a hash of the same parameters that matches nothing, and returns False.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import os
import secrets
import threading
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from news_security._errors import (
    HasherBusyError,
    InvalidHashError,
    PasswordHashError,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    import argon2

__all__ = ["PasswordHasher", "PasswordSettings"]

Meta = msgspec.Meta


class PasswordSettings(msgspec.Struct, frozen=True, kw_only=True):
    """argon2id parameters and the size of the hashing pool.

    The defaults are OWASP's Password Storage Cheat Sheet minimum for argon2id: 19 MiB of
    memory, 2 iterations, 1 degree of parallelism. Raising them later is safe: hashes made with
    the old values still verify, and `PasswordHasher.needs_rehash` says which to re-hash at the
    next successful login.
    """

    memory_cost_kib: Annotated[
        int, Meta(ge=1024, le=4_194_304, description="argon2id memory per hash, in KiB (m)")
    ] = 19_456
    time_cost: Annotated[
        int, Meta(ge=1, le=100, description="argon2id iterations over the memory (t)")
    ] = 2
    parallelism: Annotated[int, Meta(ge=1, le=64, description="argon2id lanes (p)")] = 1
    hash_length: Annotated[int, Meta(ge=16, le=128, description="Bytes of hash output")] = 32
    salt_length: Annotated[int, Meta(ge=16, le=64, description="Bytes of random salt")] = 16
    threads: Annotated[
        int,
        Meta(
            ge=1,
            le=32,
            description=(
                "Hashes computed at once (threads of the pool; each holds memory_cost_kib "
                "while it runs)"
            ),
        ),
    ] = 2
    niceness: Annotated[
        int,
        Meta(
            ge=0,
            le=19,
            description=(
                "How much nicer than the process the hashing threads run (Linux; added to the "
                "process's nice value, at most 19): above 0 they yield the CPU to request "
                "handling when both compete, and logins wait a little longer instead"
            ),
        ),
    ] = 10
    max_waiting: Annotated[
        int,
        Meta(
            ge=0,
            description="Calls that may wait for a free thread before HasherBusyError is raised",
        ),
    ] = 64


def _lower_priority(niceness: int) -> None:
    """Make the calling pool thread ``niceness`` nicer than the process (threads have their own).

    Relative, like nice(1): a process already started at nice 5 gets threads at 15, never threads
    of higher priority than itself.
    """
    if niceness and hasattr(os, "setpriority"):
        # not permitted here: hashing still works, at normal priority
        with contextlib.suppress(OSError):
            target = min(19, os.getpriority(os.PRIO_PROCESS, 0) + niceness)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), target)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


class PasswordHasher:
    """Hash and verify passwords with argon2id, off the event loop.

    One instance per process is enough (it is safe to share between threads and event loops).
    Its pool starts on first use; `stop` (or leaving ``async with``) shuts it down.

    Example:
        >>> import asyncio
        >>> async def demo() -> tuple[bool, bool]:
        ...     async with PasswordHasher(PasswordSettings(memory_cost_kib=1024)) as hasher:
        ...         stored = await hasher.hash("correct horse")
        ...         return await hasher.verify(stored, "correct horse"), await hasher.verify(
        ...             None, "correct horse"
        ...         )
        >>> asyncio.run(demo())
        (True, False)
    """

    __slots__ = ("_busy_lock", "_dummy", "_hasher", "_in_flight", "_limit", "_pool", "settings")

    def __init__(self, settings: PasswordSettings | None = None) -> None:
        """Prepare a hasher; nothing is computed and no thread starts until the first call."""
        import argon2

        self.settings = settings or PasswordSettings()
        s = self.settings
        self._hasher: argon2.PasswordHasher = argon2.PasswordHasher(
            time_cost=s.time_cost,
            memory_cost=s.memory_cost_kib,
            parallelism=s.parallelism,
            hash_len=s.hash_length,
            salt_len=s.salt_length,
            type=argon2.Type.ID,
        )
        # A hash of the same parameters that no password matches: verifying against it costs
        # exactly what verifying a real user's hash costs, and computing it costs nothing.
        self._dummy = (
            f"$argon2id$v=19$m={s.memory_cost_kib},t={s.time_cost},p={s.parallelism}"
            f"${_b64(secrets.token_bytes(s.salt_length))}"
            f"${_b64(secrets.token_bytes(s.hash_length))}"
        )
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._busy_lock = threading.Lock()
        self._in_flight = 0
        self._limit = s.threads + s.max_waiting

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the pool's threads now rather than at the first call."""
        self._ensure_pool()

    async def stop(self) -> None:
        """Shut the pool down; calls still waiting fail, running ones finish on their own."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> PasswordHasher:
        """Start the pool."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the pool."""
        await self.stop()

    # -- the API ---------------------------------------------------------------------------

    async def hash(self, password: str) -> str:
        """Return the argon2id hash of ``password`` (a self-describing ``$argon2id$...`` string).

        Raises:
            HasherBusyError: Too many calls are waiting for the pool.
            PasswordHashError: argon2 failed (see ``__cause__``).
        """
        result: str = await asyncio.wrap_future(self._submit(self._hash_now, password))
        return result

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Tell whether ``password`` matches ``stored_hash``, in constant time.

        Pass ``None`` for a user that does not exist: the password is checked against a hash
        of the same cost that matches nothing, so the answer (False) takes as long as for a
        real user.

        Raises:
            InvalidHashError: ``stored_hash`` is not an argon2 hash.
            HasherBusyError: Too many calls are waiting for the pool.
        """
        result: bool = await asyncio.wrap_future(
            self._submit(self._verify_now, stored_hash, password)
        )
        return result

    def hash_sync(self, password: str) -> str:
        """`hash` for synchronous code (e.g. a sync handler on a server thread); bounded alike."""
        result: str = self._submit(self._hash_now, password).result()
        return result

    def verify_sync(self, stored_hash: str | None, password: str) -> bool:
        """`verify` for synchronous code; runs on the pool and waits for it."""
        result: bool = self._submit(self._verify_now, stored_hash, password).result()
        return result

    def needs_rehash(self, stored_hash: str) -> bool:
        """Tell whether ``stored_hash`` was made with other parameters than the current ones.

        Call it after a successful `verify` and store a new `hash` of the password if True.

        Raises:
            InvalidHashError: ``stored_hash`` is not an argon2 hash.
        """
        import argon2

        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except (argon2.exceptions.InvalidHashError, ValueError, IndexError) as exc:
            raise InvalidHashError(
                "not an argon2 hash; the stored value is corrupt or from another scheme"
            ) from exc

    # -- internals -------------------------------------------------------------------------

    def _ensure_pool(self) -> concurrent.futures.ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            with self._busy_lock:
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        self.settings.threads,
                        thread_name_prefix="news-security-argon2",
                        initializer=_lower_priority,
                        initargs=(self.settings.niceness,),
                    )
                pool = self._pool
        return pool

    def _submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        pool = self._ensure_pool()
        with self._busy_lock:
            if self._in_flight >= self._limit:
                raise HasherBusyError(
                    f"{self._in_flight} password hashing calls are running or waiting "
                    f"(threads={self.settings.threads}, max_waiting={self.settings.max_waiting}); "
                    "answer 503 and let the client retry, or raise passwords.threads"
                )
            self._in_flight += 1
        try:
            future = pool.submit(fn, *args)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _future: object) -> None:
        with self._busy_lock:
            self._in_flight -= 1

    def _hash_now(self, password: str) -> str:
        import argon2

        try:
            return self._hasher.hash(password)
        except argon2.exceptions.HashingError as exc:
            raise PasswordHashError(f"argon2 could not hash the password: {exc}") from exc

    def _verify_now(self, stored_hash: str | None, password: str) -> bool:
        import argon2

        if stored_hash is None:
            with contextlib.suppress(argon2.exceptions.VerificationError):
                self._hasher.verify(self._dummy, password)
            return False
        try:
            return self._hasher.verify(stored_hash, password)
        except argon2.exceptions.VerificationError:  # VerifyMismatchError included
            return False
        except argon2.exceptions.InvalidHashError as exc:
            raise InvalidHashError(
                "not an argon2 hash; the stored value is corrupt or from another scheme"
            ) from exc
