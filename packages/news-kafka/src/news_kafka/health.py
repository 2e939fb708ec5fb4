"""Health checks for Kafka services on news-health (``pip install "news-kafka[health]"``).

::

    import news_health
    from news_kafka.health import register_health

    registry = news_health.HealthRegistry(service_id="indexer")
    broker = register_health(registry, settings=settings, consumers=[consumer])
    ...
    await broker.aclose()  # at shutdown: closes the check's Kafka connection

- `broker_check`: readiness. A real metadata request to the cluster within ``timeout``, over
  one client kept between calls (reconnected after a failure).
- `consumer_check`: liveness. Fails when a running consumer's fetch loop stopped polling for
  ``max_silence`` seconds (the consumer still holds its group membership but handles nothing:
  restart the process), when it stopped on a fatal error, or when it did not start polling
  within ``startup_grace``. Optionally (``max_fetch_silence``) when no records came for that
  long, for topics that are never idle.
- `register_health`: both, in one call.

This module imports news-health; ``import news_kafka`` does not import it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Final

from news_kafka._client import client_kwargs, probe
from news_kafka._errors import KafkaConfigError

try:
    from news_health import CheckResult, Status
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the install
    if _missing.name is None or not _missing.name.startswith("news_health"):
        raise
    raise ModuleNotFoundError(
        'news_kafka.health needs news-health: pip install "news-kafka[health]"',
        name="news_health",
    ) from _missing

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from news_health import HealthRegistry
    from news_kafka._consumer import Consumer
    from news_kafka._settings import KafkaSettings

__all__ = ["BrokerCheck", "broker_check", "consumer_check", "register_health"]

_CLOSING: set[asyncio.Task[Any]] = set()  # clients of abandoned checks being closed

BROKER_CHECK: Final = "kafka"
"""The name `register_health` gives the broker check."""

CONSUMER_CHECK_PREFIX: Final = "kafka-consumer:"
"""`register_health` names a consumer's check ``kafka-consumer:<group id>``."""


class BrokerCheck:
    """An async health check: one Kafka metadata request, bounded by ``timeout``.

    Built by `broker_check`. The client connects on the first call and is kept for the next
    ones; after a failure it is closed and the next call connects afresh. Call `aclose` at
    shutdown to close the connection.
    """

    __slots__ = ("_client", "_lock", "_loop", "_settings", "timeout")

    def __init__(self, settings: KafkaSettings, *, timeout: float) -> None:
        if not timeout > 0:
            raise KafkaConfigError(f"broker_check timeout must be > 0 seconds, not {timeout!r}")
        self._settings = settings
        self.timeout = timeout
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        servers = ",".join(self._settings.bootstrap_servers)
        return f"BrokerCheck({servers!r}, timeout={self.timeout!r})"

    async def __call__(self) -> CheckResult:
        """Request the cluster's metadata; pass with the round trip in ms, else fail."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first call, or a new event loop: nothing to reuse
            self._client = None
            self._loop = loop
            self._lock = asyncio.Lock()
        assert self._lock is not None
        async with self._lock:  # one request at a time over the shared client
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    brokers = await self._metadata()
            except TimeoutError:
                await self._drop()
                return self._fail(f"no metadata from Kafka within {self.timeout:g}s")
            except asyncio.CancelledError:  # the probe gave up: reconnect next time
                self._abandon()
                raise
            except Exception as exc:  # noqa: BLE001 - any failure is the check's verdict
                await self._drop()
                return self._fail(f"Kafka metadata request failed: {type(exc).__name__}: {exc}")
        millis = round((time.perf_counter() - started) * 1000, 3)
        return CheckResult(
            Status.PASS,
            f"{brokers} broker(s)",
            observed_value=millis,
            observed_unit="ms",
            component_type="datastore",
        )

    async def _metadata(self) -> int:
        client = self._client
        if client is None:
            from aiokafka import AIOKafkaClient

            kwargs = client_kwargs(self._settings)
            kwargs["request_timeout_ms"] = max(1, int(self.timeout * 1000))
            client = AIOKafkaClient(**kwargs)
            self._client = client
            await client.bootstrap()
        return await probe(client, self.timeout)

    def _fail(self, output: str) -> CheckResult:
        servers = ",".join(self._settings.bootstrap_servers)
        return CheckResult(Status.FAIL, f"{output} ({servers})", component_type="datastore")

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                async with asyncio.timeout(2.0):
                    await client.close()
            except Exception:  # noqa: BLE001, S110 - a broken connection may not close cleanly
                pass

    def _abandon(self) -> None:
        """Forget the client without waiting; close it in the background."""
        client, self._client = self._client, None
        if client is not None:
            task = asyncio.get_running_loop().create_task(client.close())
            _CLOSING.add(task)
            task.add_done_callback(_CLOSING.discard)

    async def aclose(self) -> None:
        """Close the check's Kafka connection (it reconnects if called again)."""
        await self._drop()


def broker_check(settings: KafkaSettings, *, timeout: float = 2.0) -> BrokerCheck:
    """A readiness check: a Kafka metadata request that must answer within ``timeout`` s.

    Example::

        check = broker_check(settings, timeout=2.0)
        registry.add("kafka", check, timeout=3.0)

    Raises:
        KafkaConfigError: ``timeout`` is not positive.
    """
    return BrokerCheck(settings, timeout=timeout)


def consumer_check(
    consumer: Consumer[Any],
    *,
    max_silence: float = 30.0,
    startup_grace: float = 60.0,
    max_fetch_silence: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], Awaitable[CheckResult]]:
    """A liveness check of a `Consumer`'s fetch loop, from its public health signals.

    It fails when:

    - the consumer is running but its loop has not polled for ``max_silence`` seconds
      (aiokafka keeps the group membership alive in the background, so the broker does not
      notice a consumer that stopped fetching; only a restart helps);
    - it stopped on a fatal error (`Consumer.error`);
    - it has not polled ``startup_grace`` seconds after the check was made (not started, or
      stuck in start-up);
    - with ``max_fetch_silence``: it holds partitions and no records came for that long
      (only for topics that always have traffic; an idle topic would fail it).

    A consumer stopped by ``stop()`` passes (``stopped``): a draining process stays live.

    Args:
        consumer: The consumer to watch.
        max_silence: Seconds without a poll after which the check fails. The loop polls at
            least every ``consumer.fetch_max_wait_ms``, and checks for room at least every
            second when every partition's queue is full.
        startup_grace: Seconds from this call until the first poll must have happened.
        max_fetch_silence: Seconds without records (with partitions assigned) that fail the
            check; None (default) ignores quiet topics.
        clock: The monotonic clock the consumer uses (`time.monotonic`).

    Raises:
        KafkaConfigError: A duration is not positive.
    """
    for name, value in (("max_silence", max_silence), ("startup_grace", startup_grace)):
        if not value > 0:
            raise KafkaConfigError(f"consumer_check {name} must be > 0 seconds, not {value!r}")
    if max_fetch_silence is not None and not max_fetch_silence > 0:
        raise KafkaConfigError(
            f"consumer_check max_fetch_silence must be > 0 seconds or None, not "
            f"{max_fetch_silence!r}"
        )
    created = clock()

    def fail(output: str, observed: float | None = None) -> CheckResult:
        return CheckResult(
            Status.FAIL,
            f"group {consumer.group_id!r}: {output}",
            observed_value=observed,
            observed_unit="s" if observed is not None else None,
            component_type="component",
        )

    async def check() -> CheckResult:  # noqa: PLR0911 - one verdict per case
        now = clock()
        error = consumer.error
        if error is not None:
            return fail(f"stopped on a fatal error: {type(error).__name__}: {error}")
        last_poll = consumer.last_poll_monotonic
        if not consumer.running:
            if last_poll:
                return CheckResult(Status.PASS, "stopped", component_type="component")
            waited = now - created
            if waited > startup_grace:
                return fail(f"not started {waited:.1f}s after the check was made", waited)
            return CheckResult(Status.PASS, "not started yet", component_type="component")
        if not last_poll:
            waited = now - created
            if waited > startup_grace:
                return fail(f"no poll {waited:.1f}s after start (grace {startup_grace:g}s)")
            return CheckResult(Status.PASS, "starting", component_type="component")
        silence = round(max(0.0, now - last_poll), 3)
        if silence > max_silence:
            return fail(
                f"running but has not polled for {silence:.1f}s (limit {max_silence:g}s): "
                "the fetch loop is stuck",
                silence,
            )
        partitions = len(consumer.assignment)
        last_fetch = consumer.last_fetch_monotonic
        if max_fetch_silence is not None and partitions:
            quiet = now - (last_fetch or created)
            if quiet > max_fetch_silence:
                return fail(
                    f"holds {partitions} partition(s) but fetched no records for {quiet:.1f}s "
                    f"(limit {max_fetch_silence:g}s)",
                    round(quiet, 3),
                )
        return CheckResult(
            Status.PASS,
            f"{partitions} partition(s)",
            observed_value=silence,
            observed_unit="s",
            component_type="component",
        )

    check.__name__ = check.__qualname__ = f"consumer_check({consumer.group_id})"
    return check


def register_health(
    registry: HealthRegistry,
    *,
    settings: KafkaSettings,
    consumers: Iterable[Consumer[Any]] = (),
    critical: bool = True,
    timeout: float = 2.0,
    max_silence: float = 30.0,
) -> BrokerCheck:
    """Add Kafka's checks to a news-health registry; return the broker check (to `aclose`).

    - readiness ``kafka``: `broker_check` (``critical``: when False a Kafka outage only makes
      the report ``warn``);
    - liveness ``kafka-consumer:<group id>`` per consumer: `consumer_check` (always critical:
      a stuck consumer needs a restart).

    Raises:
        news_health.CheckConfigError: A check of that name is registered already.
        KafkaConfigError: ``timeout`` or ``max_silence`` is not positive.
    """
    broker = broker_check(settings, timeout=timeout)
    registry.add(BROKER_CHECK, broker, probe="readiness", critical=critical, timeout=timeout + 1.0)
    names: set[str] = set()
    for consumer in consumers:
        name = CONSUMER_CHECK_PREFIX + consumer.group_id
        n = 1
        while name in names:
            n += 1
            name = f"{CONSUMER_CHECK_PREFIX}{consumer.group_id}#{n}"
        names.add(name)
        registry.add(
            name,
            consumer_check(consumer, max_silence=max_silence),
            probe="liveness",
            critical=True,
            cache_ttl=0.0,
        )
    return broker
