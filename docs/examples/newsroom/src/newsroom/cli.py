"""``python -m newsroom [serve | dlq | send-malformed]``: run the service, read its dead letters.

- ``serve`` (the default): the HTTP service with its article processor. Without
  ``NEWSROOM_KAFKA__BOOTSTRAP_SERVERS`` it starts the embedded broker first.
- ``dlq``: print the records of the dead-letter topic (where they came from, why they failed,
  their request id and value); ``--json`` for one JSON object per line.
- ``send-malformed``: publish a record the processor cannot decode, to watch it land in the DLQ.

The two Kafka subcommands use ``NEWSROOM_KAFKA__BOOTSTRAP_SERVERS`` when set, else the
embedded broker of the newsroom running on ``NEWSROOM_HTTP__PORT`` (found through the state file
it writes at start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec

import news_config
import news_kafka
import news_log
import news_metrics
from newsroom import settings as settings_module
from newsroom.broker import BrokerStartError, EmbeddedBroker

if TYPE_CHECKING:
    from collections.abc import Sequence

    from newsroom.settings import Settings
    from newsroom.store import ArticleStore

__all__ = ["embedded_kafka_settings", "main"]

log = news_log.get_logger("newsroom")


class CliError(Exception):
    """A subcommand cannot run; the message says why and what to do."""


def embedded_kafka_settings(
    kafka: news_kafka.KafkaSettings, bootstrap: str
) -> news_kafka.KafkaSettings:
    """``kafka`` pointed at the embedded broker, with what Tansu needs.

    Tansu rejects the idempotent producer, and holds a new group's first join for half the
    session timeout rounded up to whole seconds (measured: 1.5-2 s -> 1 s, 3 s -> 2 s, 6 s ->
    3 s; never under 1 s): idempotence is off, and the session is 2 s, the longest that gets
    the 1 s floor (the processor has its partitions ~1 s after start instead of ~2 s).
    """
    replace = msgspec.structs.replace
    return replace(
        kafka,
        bootstrap_servers=(bootstrap,),
        producer=replace(kafka.producer, idempotence=False),
        consumer=replace(
            kafka.consumer,
            session_timeout_ms=2_000,
            heartbeat_interval_ms=500,
            fetch_max_wait_ms=100,
            commit_interval_ms=50,
        ),
    )


def _embedded(settings: Settings) -> bool:
    mode = settings.newsroom.embedded_broker
    return mode == "on" or (mode == "auto" and not settings_module.kafka_is_configured())


def serve(settings: Settings, watcher: news_config.Watcher[Settings] | None = None) -> NoReturn:
    """Run the service until SIGTERM/SIGINT (the embedded broker too, when no cluster is set).

    With ``watcher`` (made by `newsroom.settings.watch`, ``settings`` its ``current``), the
    service follows its settings files while it runs (`newsroom.service.Newsroom.follow`).
    """
    import news_http
    from newsroom.service import Newsroom

    broker: EmbeddedBroker | None = None
    kafka = settings.kafka
    if _embedded(settings):
        try:
            broker = EmbeddedBroker().start()
        except BrokerStartError as exc:
            log.critical("cannot start the embedded Kafka broker", error=str(exc))
            news_log.shutdown()
            sys.exit(1)
        kafka = embedded_kafka_settings(kafka, broker.bootstrap)
        log.info(
            "embedded Kafka broker (Tansu) started: NEWSROOM_KAFKA__BOOTSTRAP_SERVERS is not set",
            bootstrap=broker.bootstrap,
            broker_pid=broker.pid,
            broker_log=str(broker.log_path),
        )
    else:
        log.info(
            "using the Kafka cluster of NEWSROOM_KAFKA__BOOTSTRAP_SERVERS",
            bootstrap=",".join(kafka.bootstrap_servers),
        )
    store: ArticleStore | None = None
    use_mongo = settings_module.mongo_is_configured()
    if use_mongo and settings_module.db_is_configured():
        raise SystemExit(
            "newsroom: both NEWSROOM_DB__* (PostgreSQL) and NEWSROOM_MONGO__* (MongoDB) are set; "
            "the articles go to one store: unset one of them"
        )
    if use_mongo:
        from newsroom.mongostore import MongoStore

        mongo_store = MongoStore(settings.mongo, dump=settings.newsroom.store_dump)
        store = mongo_store
        log.info(
            "articles are stored in MongoDB (NEWSROOM_MONGO__ is set)",
            mongo=repr(mongo_store.mongo),
        )
    elif settings_module.db_is_configured():
        from newsroom.pgstore import PostgresStore

        pg_store = PostgresStore(settings.db, dump=settings.newsroom.store_dump)
        store = pg_store
        log.info("articles are stored in PostgreSQL (NEWSROOM_DB__ is set)", db=repr(pg_store.db))
    else:
        log.info(
            "articles are kept in memory: set NEWSROOM_DB__DSN (PostgreSQL) or "
            "NEWSROOM_MONGO__URI (MongoDB) to store them"
        )
    try:
        use_redis = settings_module.redis_is_configured()
        service = Newsroom(
            msgspec.structs.replace(settings, kafka=kafka),
            store=store,
            broker=broker,
            use_redis=use_redis,
        )
        if watcher is not None:
            service.follow(watcher)
        log.info(
            "rate limit of POST /v1/articles",
            rate=settings.newsroom.submit_rate,
            counted_in=f"Redis at {settings.redis.address}" if use_redis else "this process",
        )
        host = "127.0.0.1" if settings.http.host in {"0.0.0.0", "::"} else settings.http.host
        log.info("newsroom starting", url=f"http://{host}:{settings.http.port}")
        news_http.run(service.app)
    except BaseException as exc:
        if broker is not None:
            broker.stop()
        if isinstance(exc, news_http.NewsHTTPError):
            news_log.shutdown()
            sys.exit(1)  # run() logged why
        raise


def _bootstrap(settings: Settings) -> news_kafka.KafkaSettings:
    """Kafka settings for the CLI: the configured cluster, or the running newsroom's broker."""
    from newsroom.service import state_file

    if not _embedded(settings):
        return settings.kafka
    path = state_file(settings.http.port)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CliError(
            f"no newsroom with an embedded broker is running on port {settings.http.port} "
            f"({path} is missing): start it (python -m newsroom), or set "
            "NEWSROOM_KAFKA__BOOTSTRAP_SERVERS (and NEWSROOM_HTTP__PORT if it is not 8080)"
        ) from exc
    try:
        os.kill(int(state["pid"]), 0)
    except (OSError, KeyError, ValueError) as exc:
        raise CliError(
            f"the newsroom that wrote {path} is gone (and its embedded broker with it): "
            "start it again (python -m newsroom)"
        ) from exc
    return embedded_kafka_settings(settings.kafka, str(state["bootstrap"]))


def _describe(message: news_kafka.Message[bytes]) -> dict[str, Any]:
    return {
        "dlq_offset": message.offset,
        "original_topic": message.header(news_kafka.DLQ_ORIGINAL_TOPIC),
        "original_partition": message.header(news_kafka.DLQ_ORIGINAL_PARTITION),
        "original_offset": message.header(news_kafka.DLQ_ORIGINAL_OFFSET),
        "error_type": message.header(news_kafka.DLQ_ERROR_TYPE),
        "error": message.header(news_kafka.DLQ_ERROR_MESSAGE),
        "attempts": message.header(news_kafka.DLQ_ATTEMPTS),
        "request_id": message.request_id,
        "key": message.key_str,
        "value": (message.value or b"").decode("utf-8", "replace"),
    }


async def read_dead_letters(
    kafka: news_kafka.KafkaSettings, topic: str, *, idle: float = 2.0, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Every record of the dead-letter ``topic``, read by a throw-away consumer group.

    Reading stops once as many records as the topic's end offsets count have arrived and the
    topic has been quiet for a moment, or once it has been quiet for ``idle`` seconds after the
    group got its partitions (end offsets can lag behind), or after ``timeout`` seconds in all.
    """
    async with news_kafka.KafkaAdmin(kafka) as admin:
        expected = sum((await admin.end_offsets([topic])).values())
    found: list[dict[str, Any]] = []
    last = time.monotonic()

    async def collect(message: news_kafka.Message[bytes]) -> None:
        nonlocal last
        found.append(_describe(message))
        last = time.monotonic()

    consumer: news_kafka.Consumer[bytes] = news_kafka.Consumer(
        kafka,
        topics=topic,
        group_id=f"newsroom-dlq-reader-{uuid.uuid4().hex[:8]}",
        handler=collect,
    )
    began = time.monotonic()
    async with consumer:
        while not consumer.assignment and time.monotonic() - began < timeout:
            await asyncio.sleep(0.05)
        last = time.monotonic()
        while time.monotonic() - began < timeout:
            quiet = time.monotonic() - last
            if quiet >= idle or (len(found) >= expected and quiet >= min(idle, 0.5)):
                break
            await asyncio.sleep(0.05)
    return sorted(found, key=lambda row: int(row["dlq_offset"]))


async def send_malformed(kafka: news_kafka.KafkaSettings, topic: str, request_id: str) -> str:
    """Publish a record that is not an ``ArticleSubmitted`` (broken JSON); return where it went."""
    async with news_kafka.Publisher(kafka) as publisher:
        with news_log.bind(request_id=request_id):
            meta = await publisher.publish(topic, b'{"id": "oops", "title": ', key="malformed")
    return f"{meta.topic}[{meta.partition}]@{meta.offset}"


def _print_dead_letters(rows: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    if not rows:
        print("the dead-letter topic is empty")
        return
    for row in rows:
        print(
            f"#{row['dlq_offset']} from {row['original_topic']}[{row['original_partition']}]"
            f"@{row['original_offset']} after {row['attempts']} attempt(s): "
            f"{row['error_type']}: {row['error']}\n"
            f"    request id: {row['request_id']}  key: {row['key']}  value: {row['value']!r}"
        )


def _print_key(settings: Settings) -> int:
    """Print the running newsroom's development API key (for ``-H "x-api-key: ..."``)."""
    from newsroom.service import key_file

    path = key_file(settings.http.port)
    try:
        print(path.read_text(encoding="utf-8").strip())
    except OSError:
        print(
            f"newsroom: no development API key for port {settings.http.port} ({path} is "
            "missing): start the newsroom without NEWSROOM_AUTH__* settings (python -m "
            "newsroom), or give NEWSROOM_HTTP__PORT if it is not 8080",
            file=sys.stderr,
        )
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m newsroom",
        description="The newsroom example service (settings: NEWSROOM_* variables; "
        "python -m news_config newsroom.settings:Settings --prefix NEWSROOM_ lists them).",
    )
    parser.add_argument(
        "--config-dir",
        default=None,
        help="also read settings from the files of this directory, one per variable "
        "(a mounted ConfigMap or Secret); serve follows its changes",
    )
    parser.add_argument(
        "--env-file",
        default=".env",
        help="the .env file (default: .env in the working directory; '' for none); serve "
        "follows its changes",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (the default)")
    dlq = commands.add_parser("dlq", help="print the dead-letter topic's records")
    dlq.add_argument("--json", action="store_true", help="one JSON object per line")
    dlq.add_argument(
        "--idle", type=float, default=2.0, help="stop after this many quiet seconds (2)"
    )
    commands.add_parser(
        "key", help="print the development API key of the newsroom running on NEWSROOM_HTTP__PORT"
    )
    enrich = commands.add_parser(
        "enrichment",
        help="run the enrichment service alone (point NEWSROOM_ENRICHMENT__BASE_URL at it)",
    )
    enrich.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    enrich.add_argument("--port", type=int, default=8090, help="port to listen on (8090)")
    enrich.add_argument(
        "--delay", type=float, default=0.0, help="seconds before each answer: a slow service"
    )
    bad = commands.add_parser("send-malformed", help="publish a record the processor rejects")
    bad.add_argument("--request-id", default="", help="its x-request-id (default: a new one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m newsroom`` and the ``newsroom`` script."""
    args = _parser().parse_args(argv)
    settings_module.use_sources(env_file=args.env_file or None, config_dir=args.config_dir)
    command = args.command or "serve"
    watcher: news_config.Watcher[Settings] | None = None
    try:
        if command == "serve":  # the settings, and a watcher of their files
            watcher = settings_module.watch()
            settings = watcher.current
        else:
            settings = settings_module.load()
    except news_config.ConfigError as exc:
        print(f"newsroom: {exc}", file=sys.stderr)
        return 2
    if command == "key":
        return _print_key(settings)
    if command == "enrichment":
        from newsroom.enrichment import serve as serve_enrichment

        news_log.setup(settings.log)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_enrichment(args.host, args.port, args.delay))
        return 0
    if command == "serve":
        news_log.setup(settings.log)
        news_metrics.setup(settings.metrics)
        serve(settings, watcher)
    # The Kafka subcommands print their results; their own logs stay quiet.
    news_log.setup(msgspec.structs.replace(settings.log, level="warning"))
    topics = settings.newsroom.topics
    try:
        kafka = _bootstrap(settings)
        if command == "dlq":
            dlq = topics.submitted + kafka.consumer.dead_letter_suffix
            rows = asyncio.run(read_dead_letters(kafka, dlq, idle=args.idle))
            _print_dead_letters(rows, as_json=args.json)
        else:
            request_id = args.request_id or f"malformed-{uuid.uuid4().hex[:12]}"
            where = asyncio.run(send_malformed(kafka, topics.submitted, request_id))
            print(f"sent a malformed ArticleSubmitted to {where} (request id {request_id})")
    except CliError as exc:
        print(f"newsroom: {exc}", file=sys.stderr)
        return 1
    return 0
