"""Topic and consumer-group administration: `ensure_topics`, `KafkaAdmin`."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec

from news_kafka._client import client_kwargs
from news_kafka._errors import AdminError
from news_kafka._settings import KafkaSettings
from news_log import get_logger

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

__all__ = [
    "KafkaAdmin",
    "PartitionInfo",
    "PartitionLag",
    "TopicInfo",
    "TopicSpec",
    "ensure_topics",
]

log = get_logger(__name__)

_TOPIC_ALREADY_EXISTS: Final = 36
_UNKNOWN_TOPIC: Final = 3


class TopicSpec(msgspec.Struct, frozen=True):
    """A topic to create: ``TopicSpec("articles", partitions=6, replication=3)``.

    Attributes:
        name: The topic name.
        partitions: Number of partitions.
        replication: Replication factor (at most the number of brokers).
        config: Topic configs, e.g. ``{"retention.ms": "604800000", "cleanup.policy": "compact"}``.
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=249)]
    partitions: Annotated[int, msgspec.Meta(ge=1)] = 1
    replication: Annotated[int, msgspec.Meta(ge=1)] = 1
    config: dict[str, str] = msgspec.field(default_factory=dict)


class PartitionInfo(msgspec.Struct, frozen=True):
    """One partition of a topic: leader broker, replicas, in-sync replicas."""

    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


class TopicInfo(msgspec.Struct, frozen=True):
    """A topic as the cluster describes it."""

    name: str
    partitions: tuple[PartitionInfo, ...]
    internal: bool = False


class PartitionLag(msgspec.Struct, frozen=True):
    """How far a consumer group is behind on one partition.

    Attributes:
        topic: The topic.
        partition: The partition.
        committed: The group's committed offset (``None``: nothing committed yet).
        end_offset: The partition's end offset (the next offset to be written).
        lag: ``end_offset - committed`` (``end_offset`` when nothing is committed yet),
            never negative.
    """

    topic: str
    partition: int
    committed: int | None
    end_offset: int
    lag: int


class KafkaAdmin:
    """Administrative operations: topics (ensure, list, describe, delete) and group lag.

    Example:
        >>> async with KafkaAdmin(settings) as admin:  # doctest: +SKIP
        ...     await admin.ensure_topics([TopicSpec("articles", partitions=6)])
        ...     lag = await admin.consumer_lag("indexer", ["articles"])
    """

    def __init__(self, settings: KafkaSettings | None = None, *, timeout: float = 30.0) -> None:
        self._settings = settings or KafkaSettings()
        self._timeout = timeout
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Connect to the cluster; raise `AdminError` if it cannot."""
        if self._admin is not None:
            return
        from aiokafka.admin import AIOKafkaAdminClient
        from aiokafka.errors import KafkaError

        kwargs = client_kwargs(self._settings)
        kwargs.pop("retry_backoff_ms", None)
        admin = AIOKafkaAdminClient(
            **kwargs, request_timeout_ms=int(self._timeout * 1000), retry_backoff_ms=100
        )
        try:
            await asyncio.wait_for(admin.start(), self._timeout)
        except (KafkaError, OSError, TimeoutError) as exc:
            await _quiet_close(admin.close())
            raise AdminError(
                f"cannot connect to Kafka at {','.join(self._settings.bootstrap_servers)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._admin = admin

    async def stop(self, timeout: float | None = None) -> None:
        """Disconnect (bounded by ``timeout`` seconds, default 10)."""
        bound = 10.0 if timeout is None else timeout
        if self._offsets is not None:
            await _quiet_close(asyncio.wait_for(self._offsets.stop(), bound))
            self._offsets = None
        if self._admin is not None:
            await _quiet_close(asyncio.wait_for(self._admin.close(), bound))
            self._admin = None

    async def __aenter__(self) -> KafkaAdmin:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _client(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            raise AdminError("KafkaAdmin is not started; use `async with KafkaAdmin(...)`")
        return self._admin

    # ------------------------------------------------------------------ topics

    async def ensure_topics(self, specs: Iterable[TopicSpec]) -> list[str]:
        """Create the topics that do not exist yet (idempotent); return the names created.

        Existing topics are left as they are (a different partition count is logged, not
        changed). Waits until every topic has a leader for each partition.

        Raises:
            AdminError: A topic could not be created (invalid name, replication factor above
                the broker count, no permission...).
        """
        from aiokafka.admin import NewTopic
        from aiokafka.errors import KafkaError

        wanted = list(specs)
        if not wanted:
            return []
        admin = self._client()
        new = [
            NewTopic(s.name, s.partitions, s.replication, topic_configs=dict(s.config))
            for s in wanted
        ]
        try:
            response = await admin.create_topics(new, timeout_ms=int(self._timeout * 1000))
        except KafkaError as exc:
            raise AdminError(
                f"creating topics {[s.name for s in wanted]} failed: {type(exc).__name__}: {exc}"
            ) from exc
        created: list[str] = []
        problems: list[str] = []
        for entry in response.topic_errors:
            name, code = entry[0], entry[1]
            message = entry[2] if len(entry) > 2 else None
            if code == 0:
                created.append(name)
            elif code != _TOPIC_ALREADY_EXISTS:
                from aiokafka.errors import for_code

                problems.append(f"{name}: {for_code(code).__name__} {message or ''}".strip())
        if problems:
            raise AdminError("cannot create topics: " + "; ".join(problems))
        await self._wait_ready(wanted)
        if created:
            log.info("topics created", topics=created)
        return created

    async def _wait_ready(self, specs: list[TopicSpec]) -> None:
        deadline = time.monotonic() + self._timeout
        names = [s.name for s in specs]
        while True:
            infos = {t.name: t for t in await self.describe_topics(names, missing_ok=True)}
            pending = [
                s.name
                for s in specs
                if s.name not in infos
                or not infos[s.name].partitions
                or any(p.leader < 0 for p in infos[s.name].partitions)
            ]
            for s in specs:
                info = infos.get(s.name)
                if info is not None and info.partitions and len(info.partitions) != s.partitions:
                    log.warning(
                        "topic exists with another partition count; left unchanged",
                        topic=s.name,
                        partitions=len(info.partitions),
                        wanted=s.partitions,
                    )
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AdminError(f"topics not ready (no leader) after {self._timeout}s: {pending}")
            await asyncio.sleep(0.05)

    async def list_topics(self, *, include_internal: bool = False) -> list[str]:
        """Return the names of the cluster's topics, sorted."""
        from aiokafka.errors import KafkaError

        try:
            names = await self._client().list_topics()
        except KafkaError as exc:
            raise AdminError(f"listing topics failed: {type(exc).__name__}: {exc}") from exc
        return sorted(n for n in names if include_internal or not n.startswith("__"))

    async def describe_topics(
        self, names: Iterable[str], *, missing_ok: bool = False
    ) -> list[TopicInfo]:
        """Describe topics (partitions, leaders, replicas).

        Raises:
            AdminError: A topic does not exist (unless ``missing_ok``, which leaves it out).
        """
        from aiokafka.errors import KafkaError
        from aiokafka.protocol.metadata import MetadataRequest

        wanted = list(names)
        try:
            # aiokafka's describe_topics lets the broker auto-create what it describes
            response = await self._client()._send_request(
                MetadataRequest(wanted, allow_auto_topic_creation=False)
            )
            described = response.to_object()["topics"]
        except KafkaError as exc:
            raise AdminError(f"describing topics failed: {type(exc).__name__}: {exc}") from exc
        out: list[TopicInfo] = []
        for topic in described:
            if topic["error_code"]:
                if missing_ok:
                    continue
                raise AdminError(f"topic {topic['topic']!r} cannot be described (does it exist?)")
            partitions = tuple(
                sorted(
                    (
                        PartitionInfo(
                            p["partition"], p["leader"], tuple(p["replicas"]), tuple(p["isr"])
                        )
                        for p in topic["partitions"]
                    ),
                    key=lambda p: p.partition,
                )
            )
            out.append(TopicInfo(topic["topic"], partitions, bool(topic.get("is_internal"))))
        return out

    async def delete_topics(self, names: Iterable[str], *, missing_ok: bool = True) -> None:
        """Delete topics (a missing topic is fine unless ``missing_ok=False``)."""
        from aiokafka.errors import KafkaError, for_code

        wanted = list(names)
        if not wanted:
            return
        try:
            response = await self._client().delete_topics(
                wanted, timeout_ms=int(self._timeout * 1000)
            )
        except KafkaError as exc:
            raise AdminError(f"deleting topics failed: {type(exc).__name__}: {exc}") from exc
        problems = [
            f"{name}: {for_code(code).__name__}"
            for name, code, *_ in response.topic_error_codes
            if code and not (missing_ok and code == _UNKNOWN_TOPIC)
        ]
        if problems:
            raise AdminError("cannot delete topics: " + "; ".join(problems))

    # ------------------------------------------------------------------ offsets and lag

    async def _offsets_client(self) -> AIOKafkaConsumer:
        if self._offsets is None:
            from aiokafka import AIOKafkaConsumer

            consumer = AIOKafkaConsumer(
                **client_kwargs(self._settings), group_id=None, enable_auto_commit=False
            )
            await asyncio.wait_for(consumer.start(), self._timeout)
            self._offsets = consumer
        return self._offsets

    async def _partitions(self, topics: Iterable[str]) -> list[Any]:
        from aiokafka import TopicPartition

        return [
            TopicPartition(info.name, p.partition)
            for info in await self.describe_topics(topics)
            for p in info.partitions
        ]

    async def end_offsets(self, topics: Iterable[str]) -> dict[tuple[str, int], int]:
        """Return each partition's end offset (the offset the next record will get)."""
        from aiokafka.errors import KafkaError

        partitions = await self._partitions(topics)
        try:
            consumer = await self._offsets_client()
            ends = await consumer.end_offsets(partitions)
        except (KafkaError, TimeoutError) as exc:
            raise AdminError(f"fetching end offsets failed: {type(exc).__name__}: {exc}") from exc
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def committed_offsets(
        self, group: str, topics: Iterable[str]
    ) -> dict[tuple[str, int], int | None]:
        """Return the group's committed offset per partition of ``topics`` (``None``: none)."""
        from aiokafka.errors import KafkaError

        partitions = await self._partitions(topics)
        try:
            offsets = await self._client().list_consumer_group_offsets(group, partitions=partitions)
        except KafkaError as exc:
            raise AdminError(
                f"fetching offsets of group {group!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
        out: dict[tuple[str, int], int | None] = {}
        for tp in partitions:
            meta = offsets.get(tp)
            out[(tp.topic, tp.partition)] = (
                meta.offset if meta is not None and meta.offset >= 0 else None
            )
        return out

    async def consumer_lag(self, group: str, topics: Iterable[str]) -> list[PartitionLag]:
        """Return how far ``group`` is behind on each partition of ``topics``."""
        names = list(topics)
        committed = await self.committed_offsets(group, names)
        ends = await self.end_offsets(names)
        return [
            PartitionLag(
                topic,
                partition,
                committed.get((topic, partition)),
                end,
                max(0, end - (committed.get((topic, partition)) or 0)),
            )
            for (topic, partition), end in sorted(ends.items())
        ]


async def ensure_topics(
    settings: KafkaSettings, specs: Iterable[TopicSpec], *, timeout: float = 30.0
) -> list[str]:
    """Create the topics that do not exist yet (idempotent); return the names created.

    Example:
        >>> await ensure_topics(settings, [TopicSpec("articles", 6, 3)])  # doctest: +SKIP
        ['articles']
    """
    async with KafkaAdmin(settings, timeout=timeout) as admin:
        return await admin.ensure_topics(specs)


async def _quiet_close(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception as exc:  # noqa: BLE001 - closing must not raise
        log.debug("admin close failed", error=f"{type(exc).__name__}: {exc}")
