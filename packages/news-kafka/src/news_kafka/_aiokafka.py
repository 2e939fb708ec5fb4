"""Every use of aiokafka's private names, in this one module: version-checked and switchable.

news-kafka reaches past aiokafka's public API in three places, each a *fast path* with a
public fallback:

``expedite``
    An awaited ``publish()`` must not wait ``linger_ms``: the open batches of the producer's
    accumulator (``_message_accumulator._batches``, each batch's ``_builder``) are closed and
    its sender woken (``_waiter_future``), as aiokafka's own ``flush_for_commit`` does.
    Without it: awaited publishes wait up to ``linger_ms`` like ``send()`` (0 by default).
``batch_builder``
    ``publish_many`` packs records straight into aiokafka's C record-batch builder
    (``BatchBuilder._builder.append``, keeping ``_relative_offset`` in step), in batches of up
    to 256 KiB (``BatchBuilder`` built directly, ``AIOKafkaProducer._COMPRESSORS``). Without it:
    ``producer.create_batch()`` and ``BatchBuilder.append()`` (batches of ``batch_size``
    bytes; about a third slower).
``force_close``
    A client whose ``stop()`` failed or hung (aiokafka raises ``CancelledError`` out of
    ``Fetcher.close()`` after a broker loss) is closed by hand: the producer's sender task
    (``_sender.sender_task``), the consumer's fetcher and coordinator tasks (``_fetcher``,
    ``_coordinator``) are cancelled and the consumer's client (``_client``) closed. Without it:
    the producer's public ``client`` is closed; the consumer's client is left to the garbage
    collector (its sockets close with the process).

At import, the installed aiokafka must be within the tested range (`TESTED`); outside it, or
with ``NEWS_KAFKA_NO_FAST_PATHS=1`` (all of them) or ``NEWS_KAFKA_NO_FAST_PATHS=expedite,
batch_builder`` (some), the public API is used, and one log line says which and why. Tests
prove each fast path gives what its fallback gives (the offsets ``publish_many`` returns are
the offsets a consumer reads, with the fast paths on and off).

This module imports aiokafka: only news-kafka's clients import it, when they start.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any, Final

import aiokafka
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from news_log import get_logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiokafka import AIOKafkaConsumer

__all__ = [
    "ENV",
    "FAST_PATHS",
    "SWITCHES",
    "TESTED",
    "Switches",
    "batch_writer",
    "expedite",
    "force_close_consumer",
    "force_close_producer",
    "seal_batch",
]

log = get_logger("news_kafka")

ENV: Final = "NEWS_KAFKA_NO_FAST_PATHS"
"""``1`` (or ``all``) turns every fast path off; a comma-separated list turns off those named."""

TESTED: Final = ((0, 14), (0, 15))
"""The aiokafka versions the fast paths are tested with: from the first, below the second."""

FAST_PATHS: Final = ("expedite", "batch_builder", "force_close")

_CANCEL_WAIT: Final = 1.0  # seconds force_close_*() waits for cancelled client tasks


class Switches:
    """Which fast paths are on (decided once, at import; see the module docstring)."""

    __slots__ = ("batch_builder", "expedite", "force_close", "reason")

    def __init__(self, version: str, environ: dict[str, str] | os._Environ[str]) -> None:
        self.expedite = self.batch_builder = self.force_close = True
        self.reason = ""
        wanted = environ.get(ENV, "").strip().lower()
        off: set[str] = set()
        if wanted in {"1", "all", "true", "yes", "on"}:
            off = set(FAST_PATHS)
            self.reason = f"{ENV}={wanted}"
        elif wanted and wanted not in {"0", "false", "no", "off"}:
            names = {name.strip() for name in wanted.split(",") if name.strip()}
            unknown = names - set(FAST_PATHS)
            if unknown:
                log.warning(
                    "NEWS_KAFKA_NO_FAST_PATHS names unknown fast paths; ignored",
                    unknown=sorted(unknown),
                    known=list(FAST_PATHS),
                )
            off = names & set(FAST_PATHS)
            if off:
                self.reason = f"{ENV}={wanted}"
        parsed = _version_tuple(version)
        if not TESTED[0] <= parsed < TESTED[1]:
            off = set(FAST_PATHS)
            low, high = (".".join(map(str, bound)) for bound in TESTED)
            self.reason = f"aiokafka {version} is outside the tested range >={low},<{high}"
        for name in off:
            setattr(self, name, False)

    @property
    def off(self) -> list[str]:
        """The fast paths that are off."""
        return [name for name in FAST_PATHS if not getattr(self, name)]


def _version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in version.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


SWITCHES: Final = Switches(aiokafka.__version__, os.environ)
if SWITCHES.off:
    log.warning(
        "aiokafka fast paths off; using its public API",
        off=SWITCHES.off,
        reason=SWITCHES.reason,
        aiokafka=aiokafka.__version__,
    )


# ------------------------------------------------------------------------------ expedite


def expedite(producer: AIOKafkaProducer) -> bool:
    """Make the producer's lingering batches ready now; False if this is not possible.

    aiokafka has no public "send now"; closing the open batch builders (as its
    ``flush_for_commit`` does) and waking the sender is the same move.
    """
    if not SWITCHES.expedite:
        return False
    try:
        accumulator = producer._message_accumulator
        for batches in accumulator._batches.values():
            if batches:
                batches[-1]._builder.close()
        waiter = accumulator._waiter_future
        if not waiter.done():
            waiter.set_result(None)
    except AttributeError:  # pragma: no cover - aiokafka changed within the tested range
        SWITCHES.expedite = False
        log.warning("aiokafka fast path 'expedite' failed; off from now on (linger applies)")
        return False
    return True


# ------------------------------------------------------------------------------ batches


def batch_writer(
    producer: AIOKafkaProducer, *, max_bytes: int, compression: str
) -> tuple[Any, Callable[[int, int, bytes | None, bytes | None, Any], Any]]:
    """A new record batch for ``send_batch`` and the function that appends to it.

    ``append(n, timestamp_ms, key, value, headers)`` adds the batch's record number ``n``
    (0-based) and returns None when the batch is full (the record was not added); call
    `seal_batch` with the number of records before sending it.
    """
    if SWITCHES.batch_builder:
        codec = 0 if compression == "none" else AIOKafkaProducer._COMPRESSORS[compression][1]
        builder = BatchBuilder(max_bytes, codec)
        return builder, builder._builder.append
    builder = producer.create_batch()
    public_append = builder.append

    def append(n: int, timestamp: int, key: bytes | None, value: bytes | None, headers: Any) -> Any:
        return public_append(timestamp=timestamp, key=key, value=value, headers=headers)

    return builder, append


def seal_batch(builder: Any, count: int) -> None:
    """Close a batch filled through `batch_writer`'s ``append`` with ``count`` records."""
    if SWITCHES.batch_builder:
        builder._relative_offset = count  # what BatchBuilder.append() would have counted
    builder.close()  # closed: aiokafka sends it at once (no linger_ms)


# ------------------------------------------------------------------------------ closing


async def force_close_producer(producer: AIOKafkaProducer) -> None:
    """Close a producer whose ``stop()`` failed or hung: its sender task, then its client."""
    if SWITCHES.force_close:
        task = getattr(getattr(producer, "_sender", None), "sender_task", None)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait((task,), timeout=_CANCEL_WAIT)
    await producer.client.close()


async def force_close_consumer(consumer: AIOKafkaConsumer) -> None:
    """Close a consumer whose ``stop()`` failed or hung (only with the ``force_close`` path).

    ``Fetcher.close()`` stops at the first of its tasks that raises ``CancelledError``:
    the others, and the client's connections, are closed here.
    """
    assert SWITCHES.force_close, "callers check SWITCHES.force_close"
    tasks: list[asyncio.Future[Any] | None] = []
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None:
        tasks.append(fetcher._fetch_task)
        tasks.extend(fetcher._pending_tasks)
    coordinator = getattr(consumer, "_coordinator", None)
    if coordinator is not None:
        names = ("_coordination_task", "_heartbeat_task", "_commit_refresh_task")
        tasks.extend(getattr(coordinator, name, None) for name in names)
    running = [task for task in tasks if task is not None and not task.done()]
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running, timeout=_CANCEL_WAIT)
    await consumer._client.close()
