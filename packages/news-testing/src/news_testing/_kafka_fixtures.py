"""pytest fixtures for Kafka tests (registered by ``news_testing.plugin``).

- ``kafka_broker`` (session): a Tansu broker on a free loopback port, started once, always
  stopped; or the cluster named by ``NEWS_TEST_KAFKA_BOOTSTRAP``. Its log is attached to the
  report of every failing test that used it.
- ``kafka_private_broker`` (function): a broker of the test's own, for fault tests
  (``.stop()``, ``.start()``, ``.restart()``; it comes back empty).
- ``kafka_bootstrap``: the session broker's bootstrap string.
- ``kafka_settings``: a ``news_kafka.KafkaSettings`` for the session broker with test-friendly
  timeouts (needs ``news-testing[kafka]``).
- ``kafka_topic``: a factory, ``kafka_topic(partitions=3)`` -> a new uniquely named topic
  (deleted after the test, with its ``.dlq``).
- ``kafka_mock_cluster`` (session): librdkafka's mock cluster (needs ``confluent-kafka``),
  where the idempotent producer works.

This module is imported by the plugin in every pytest session: it imports nothing heavy at
module level.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Generator, Iterator

    from news_testing.kafka import KafkaBroker, KafkaMockCluster

_KAFKA_FIXTURES: Final = frozenset(
    {
        "kafka_broker",
        "kafka_bootstrap",
        "kafka_settings",
        "kafka_topic",
        "kafka_private_broker",
    }
)
_brokers_key = pytest.StashKey["list[KafkaBroker]"]()
_session_broker: list[KafkaBroker] = []


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion on a fresh event loop in a helper thread.

    Works whether or not the calling thread already runs an event loop (async tests).
    """
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="news-testing") as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A Kafka broker for the whole session (Tansu, or ``NEWS_TEST_KAFKA_BOOTSTRAP``)."""
    from news_testing.kafka import BOOTSTRAP_ENV, KafkaBroker

    external = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if external:
        yield KafkaBroker.external(external)
        return
    log_path = tmp_path_factory.mktemp("kafka") / "tansu.log"
    broker = KafkaBroker(log_path=log_path)
    broker.start()
    _session_broker.append(broker)
    try:
        yield broker
    finally:
        _session_broker.remove(broker)
        broker.stop()


@pytest.fixture
def kafka_private_broker(
    request: pytest.FixtureRequest, tmp_path: Any
) -> Generator[KafkaBroker, None, None]:
    """A broker of this test's own (always a local Tansu), for stop/restart fault tests."""
    from news_testing.kafka import KafkaBroker

    broker = KafkaBroker(log_path=tmp_path / "tansu-private.log")
    broker.start()
    request.node.stash.setdefault(_brokers_key, []).append(broker)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    """The session broker's bootstrap servers string."""
    return kafka_broker.bootstrap


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> Any:
    """``news_kafka.KafkaSettings`` for the session broker, with test-friendly timeouts."""
    from news_testing.kafka import kafka_test_settings

    return kafka_test_settings(kafka_bootstrap)


def _unique_topic(prefix: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9._-]", "-", prefix)[:120].strip("-.") or "topic"
    return f"{clean}-{uuid.uuid4().hex[:10]}"


async def _create_topic(bootstrap: str, name: str, partitions: int, config: dict[str, str]) -> None:
    from news_kafka import KafkaAdmin, KafkaSettings, TopicSpec

    settings = KafkaSettings(bootstrap_servers=tuple(bootstrap.split(",")))
    async with KafkaAdmin(settings, timeout=15.0) as admin:
        await admin.ensure_topics([TopicSpec(name, partitions, 1, config)])


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    from news_kafka import KafkaAdmin, KafkaSettings

    settings = KafkaSettings(bootstrap_servers=tuple(bootstrap.split(",")))
    async with KafkaAdmin(settings, timeout=5.0) as admin:
        await admin.delete_topics(names, missing_ok=True)


@pytest.fixture
def kafka_topic(
    request: pytest.FixtureRequest, kafka_bootstrap: str
) -> Iterator[Callable[..., str]]:
    """Make fresh, uniquely named topics (``kafka_topic(partitions=3)``), deleted afterwards.

    Arguments of the factory: ``partitions`` (default 1), ``prefix`` (default: the test's
    name), ``config`` (topic configs). The topic's ``.dlq`` is deleted too.
    """
    made: list[str] = []

    def make(
        partitions: int = 1, *, prefix: str | None = None, config: dict[str, str] | None = None
    ) -> str:
        name = _unique_topic(prefix or request.node.name)
        run_sync(_create_topic(kafka_bootstrap, name, partitions, config or {}))
        made.append(name)
        return name

    yield make
    if made:
        try:
            run_sync(_delete_topics(kafka_bootstrap, made + [f"{n}.dlq" for n in made]))
        except Exception as exc:  # noqa: BLE001 - e.g. the broker was restarted by the test
            request.node.add_report_section(
                "teardown", "kafka_topic", f"could not delete {made}: {exc}"
            )


@pytest.fixture(scope="session")
def kafka_mock_cluster() -> Iterator[KafkaMockCluster]:
    """Librdkafka's mock cluster (``confluent-kafka``): idempotent producers work there."""
    from news_testing.kafka import KafkaMockCluster

    cluster = KafkaMockCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the broker log to the report of a failing test that used a Kafka fixture."""
    report = yield
    if report.failed and _KAFKA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        brokers = [*_session_broker, *item.stash.get(_brokers_key, [])]
        for broker in brokers:
            tail = broker.log_tail(200)
            if tail:
                report.sections.append((f"kafka broker log {broker.bootstrap} (tail)", tail))
    return report
