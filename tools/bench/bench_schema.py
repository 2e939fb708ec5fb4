"""Benchmark: news-schema's Avro and JSON Schema serializers in news-kafka, and decoding by id.

Contenders, in one run, side by side (records: a Struct of about 200 bytes as JSON):

- publish: news-kafka ``await publisher.send()`` per record then ``flush()`` on one Tansu
  broker (the same batching as bench:kafka: linger 5 ms, 16 KiB batches, acks=all), values
  encoded by the Publisher's default msgspec JSON codec, vs the same with
  ``serializer=AvroSerializer`` and with ``serializer=JSONSchemaSerializer`` (the Confluent
  wire format; the schema registered before timing starts, as a service does at start);
- decode (CPU only, the consumer's per-record work): news-schema's
  ``AvroDeserializer.deserialize`` into the Struct vs confluent-kafka's ``AvroDeserializer``
  (its default: a dict) on the same wire-format records, with every schema already cached;
  ``JSONSchemaDeserializer`` for reference.

Targets: Publisher.send with a serializer >= 0.8x without; news-schema's Avro decode >= 1.5x
confluent-kafka's. The registry is news-testing's (in this process), started for the run.

    hatch run bench:schema [--records 50000] [--decode-records 20000] [--runs 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from _meta import load_now, run_info

PARTITIONS = 3
LINGER_MS = 5
BATCH_BYTES = 16_384


class Article(msgspec.Struct):
    """The published record (about 200 bytes as JSON)."""

    id: int
    section: str
    title: str
    body: str
    words: int
    tags: list[str]


def articles(n: int) -> list[Article]:
    """``n`` distinct articles."""
    pad = "x" * 90
    return [
        Article(i, "world", f"article {i}", pad, 400 + i % 100, ["politics", "economy"])
        for i in range(n)
    ]


def settings_for(bootstrap: str) -> Any:
    """news-kafka settings with bench:kafka's batching."""
    import news_kafka

    return news_kafka.KafkaSettings(
        bootstrap_servers=(bootstrap,),
        metrics="off",
        producer=news_kafka.ProducerSettings(
            idempotence=False, linger_ms=LINGER_MS, batch_size=BATCH_BYTES
        ),
    )


async def new_topic(bootstrap: str) -> str:
    """Create a fresh topic."""
    import news_kafka

    name = f"bench-schema-{uuid.uuid4().hex[:10]}"
    settings = news_kafka.KafkaSettings(bootstrap_servers=(bootstrap,))
    await news_kafka.ensure_topics(settings, [news_kafka.TopicSpec(name, PARTITIONS)])
    return name


async def send_loop(bootstrap: str, values: list[Article], serializer: Any) -> float:
    """``await publisher.send()`` per record, then ``flush()``; return seconds."""
    import news_kafka

    topic = await new_topic(bootstrap)
    publisher = news_kafka.Publisher(settings_for(bootstrap), serializer=serializer)
    async with publisher:
        await publisher.prepare(topic)  # registration: at start, before timing
        await publisher.publish(topic, values[0])
        started = time.perf_counter()
        send = publisher.send
        for value in values:
            await send(topic, value)
        await publisher.flush()
        return time.perf_counter() - started


async def measure_publish(
    bootstrap: str, registry_url: str, records: int, runs: int
) -> dict[str, list[float]]:
    """Publisher.send with and without serializers, order rotated per run; rec/s per run."""
    import news_schema

    values = articles(records)
    registry = news_schema.SchemaRegistry(news_schema.RegistrySettings(url=registry_url))
    async with registry:
        contenders = {
            "Publisher.send (msgspec JSON, no registry)": None,
            "Publisher.send + AvroSerializer": news_schema.AvroSerializer(registry, Article),
            "Publisher.send + JSONSchemaSerializer": news_schema.JSONSchemaSerializer(
                registry, Article
            ),
        }
        figures: dict[str, list[float]] = {name: [] for name in contenders}
        names = list(contenders)
        for run in range(runs):
            order = names[run % len(names) :] + names[: run % len(names)]
            for name in order:
                seconds = await send_loop(bootstrap, values, contenders[name])
                figures[name].append(records / seconds)
                print(f"  run {run + 1}: {name:<44} {records / seconds:>10,.0f} rec/s", flush=True)
    return figures


def measure_decode(registry_url: str, records: int, runs: int) -> dict[str, list[float]]:
    """Decode the same wire-format records with each deserializer; rec/s per run."""
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer as ConfluentAvro
    from confluent_kafka.serialization import MessageField, SerializationContext

    import news_schema

    topic = "bench-decode"
    values = articles(records)

    async def prepare() -> tuple[Any, Any, list[bytes], list[bytes]]:
        registry = news_schema.SchemaRegistry(news_schema.RegistrySettings(url=registry_url))
        async with registry:
            avro = news_schema.AvroSerializer(registry, Article)
            js = news_schema.JSONSchemaSerializer(registry, Article)
            await avro.prepare(topic)
            await js.prepare(topic + "-json")
            avro_records = [avro.serialize(topic, v) for v in values]
            json_records = [js.serialize(topic + "-json", v) for v in values]
            avro_de = news_schema.AvroDeserializer(registry, Article)
            json_de = news_schema.JSONSchemaDeserializer(registry, Article)
            await avro_de.prepare(topic, avro_records[0])
            await json_de.prepare(topic, json_records[0])
        return avro_de, json_de, avro_records, json_records

    avro_de, json_de, avro_records, json_records = asyncio.run(prepare())
    theirs = ConfluentAvro(SchemaRegistryClient({"url": registry_url}))
    ctx = SerializationContext(topic, MessageField.VALUE)
    assert theirs(avro_records[0], ctx) == msgspec.to_builtins(values[0])
    assert avro_de.deserialize(topic, avro_records[0]) == values[0]

    def ours_avro() -> None:
        deserialize = avro_de.deserialize
        for data in avro_records:
            deserialize(topic, data)

    def confluent_avro() -> None:
        for data in avro_records:
            theirs(data, ctx)

    def ours_json() -> None:
        deserialize = json_de.deserialize
        for data in json_records:
            deserialize(topic, data)

    contenders = {
        "news-schema AvroDeserializer (Struct)": ours_avro,
        "confluent-kafka AvroDeserializer (dict)": confluent_avro,
        "news-schema JSONSchemaDeserializer (Struct)": ours_json,
    }
    figures: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for run in range(runs):
        order = names[run % len(names) :] + names[: run % len(names)]
        for name in order:
            started = time.perf_counter()
            contenders[name]()
            rate = records / (time.perf_counter() - started)
            figures[name].append(rate)
            print(f"  run {run + 1}: {name:<44} {rate:>10,.0f} rec/s", flush=True)
    return figures


PAIRS = {
    "avro_send_vs_plain_send": (
        "Publisher.send + AvroSerializer",
        "Publisher.send (msgspec JSON, no registry)",
    ),
    "json_schema_send_vs_plain_send": (
        "Publisher.send + JSONSchemaSerializer",
        "Publisher.send (msgspec JSON, no registry)",
    ),
    "avro_decode_vs_confluent": (
        "news-schema AvroDeserializer (Struct)",
        "confluent-kafka AvroDeserializer (dict)",
    ),
    "json_schema_decode_vs_confluent_avro": (
        "news-schema JSONSchemaDeserializer (Struct)",
        "confluent-kafka AvroDeserializer (dict)",
    ),
}
TARGETS = {
    "avro_send_vs_plain_send": 0.8,
    "json_schema_send_vs_plain_send": 0.8,
    "avro_decode_vs_confluent": 1.5,
}


def report(figures: dict[str, list[float]], records: int, decode_records: int) -> dict[str, Any]:
    """Print medians and per-run ratios; return them."""
    medians = {name: statistics.median(rates) for name, rates in figures.items()}
    per_run = {
        key: [ours / peer for ours, peer in zip(figures[a], figures[b], strict=True)]
        for key, (a, b) in PAIRS.items()
    }
    ratios = {key: statistics.median(values) for key, values in per_run.items()}
    print(f"\nmedians (publish: {records:,} records; decode: {decode_records:,}):")
    for name, rate in medians.items():
        rates = figures[name]
        print(f"  {name:<44} {rate:>10,.0f} rec/s   (runs {min(rates):,.0f} .. {max(rates):,.0f})")
    print("\nratios, median of per-run ratios (target):")
    for key, ratio in ratios.items():
        runs = ", ".join(f"{r:.2f}" for r in per_run[key])
        target = TARGETS.get(key)
        if target is None:
            print(f"  {key:<38} {ratio:>6.2f}x   (no target)   runs: {runs}")
        else:
            mark = "ok" if ratio >= target else "BELOW TARGET"
            print(f"  {key:<38} {ratio:>6.2f}x   (>= {target}x) {mark}   runs: {runs}")
    return {
        "records": records,
        "decode_records": decode_records,
        "partitions": PARTITIONS,
        "linger_ms": LINGER_MS,
        "batch_bytes": BATCH_BYTES,
        "runs": figures,
        "medians_rec_per_s": medians,
        "ratios": ratios,
        "ratios_per_run": per_run,
        "targets": TARGETS,
    }


def main() -> int:
    """Start a broker and a registry, run, report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--decode-records", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    load = load_now()

    import news_log
    from news_testing import KafkaBroker, SchemaRegistryServer

    news_log.setup(news_log.LogSettings(level="warning"))
    broker = KafkaBroker().start()
    registry = SchemaRegistryServer().start()
    print(f"Tansu broker on {broker.bootstrap}; schema registry on {registry.url}")
    try:
        figures = measure_decode(registry.url, args.decode_records, args.runs)
        figures |= asyncio.run(
            measure_publish(broker.bootstrap, registry.url, args.records, args.runs)
        )
    finally:
        registry.stop()
        broker.stop()
    result = report(figures, args.records, args.decode_records)
    result["python"] = sys.version.split()[0]
    result["meta"] = run_info("schema", load)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
