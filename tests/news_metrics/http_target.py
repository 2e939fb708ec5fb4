"""The scrape target of test_prometheus.py: a real news-http service that serves /metrics itself.

``http_target:app`` is served by news-testing's HTTP helpers in its own process (metrics and
health on: news-metrics records every request with ``HTTPMetrics``). test_prometheus.py drives it
over real HTTP, shaped so that every dashboard panel has data and every
shipped alert's condition holds: about 10 % of requests answer 500 and 10 % 404, 20 % take longer
than 0.5 s, and a few requests are always in flight.

Kafka families: a startup hook starts a real news-kafka Publisher and Consumer against the test
broker (settings in ``TARGET_KAFKA_SETTINGS``, topic prefix in ``TARGET_KAFKA_PREFIX``), both
with ``metrics=news_metrics.KafkaMetrics()``: published records, oversized ones that fail to
publish, a slow indexer whose lag grows, handler failures and dead letters. Business events are
counted by the routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from typing import Any

import msgspec

import news_api
import news_http
import news_kafka
import news_metrics

SECTIONS = ("world", "sport", "culture")
PUBLISHED = news_metrics.declare_business_event(
    "article_published", labels=("section",), description="Articles published."
)
news_metrics.declare_business_event(
    "comment_posted", labels=("section", "kind"), description="Comments posted."
)

_created = itertools.count()
app = news_http.create_app(news_http.HTTPSettings(metrics="on", health="on"), name="newsroom-sim")


@app.get("/v1/articles/:article_id")
def get_article(article_id: int) -> dict[str, Any]:
    """200 for ids below 900, 404 above."""
    if article_id >= 900:
        raise news_api.NotFound(f"no article {article_id}")
    return {"id": article_id, "title": "Hello"}


@app.post("/v1/articles")
def create_article() -> news_api.Response:
    """201 and a small body; counts an article_published event."""
    section = SECTIONS[next(_created) % 3]
    PUBLISHED.inc(section=section)
    return news_api.created({"id": 7, "section": section})


@app.get("/v1/sections/:name/articles")
async def section_articles(name: str, fail: bool = False, sleep: float = 0.0) -> dict[str, Any]:
    """A list, slow when asked (``sleep`` seconds), a 500 when ``fail``."""
    if sleep:
        await asyncio.sleep(sleep)
    if fail:
        raise RuntimeError("search backend unavailable")
    news_metrics.business_event("comment_posted", section=name, kind="reply")
    return {"section": name, "articles": [{"id": n, "title": "x" * 40} for n in range(20)]}


TOPICS_ENV = "TARGET_KAFKA_PREFIX"
SETTINGS_ENV = "TARGET_KAFKA_SETTINGS"
_running: list[Any] = []  # the publisher, the consumer and the publishing task


async def _publish_loop(publisher: news_kafka.Publisher, articles: str, updates: str) -> None:
    """About 50 articles/s (faster than the indexer handles them), updates, oversized ones."""
    for n in itertools.count():
        with contextlib.suppress(news_kafka.PublishError):
            await publisher.publish(articles, {"n": n, "section": SECTIONS[n % 3]}, key=str(n))
            if n % 5 == 0:
                await publisher.publish(updates, {"n": n})
            if n % 25 == 0:  # larger than the producer's max_request_size: fails for good
                await publisher.publish(updates, {"n": n, "body": "x" * 2_000_000})
        await asyncio.sleep(0.02)


@app.on_startup
async def start_kafka_traffic() -> None:
    """Publish and consume through real news-kafka clients that report to KafkaMetrics.

    The indexer handles 2 partitions one record at a time, 100 ms each, so its lag grows; a
    tenth of the records fail their handler every attempt and end in the dead-letter topic.
    """
    settings = msgspec.json.decode(os.environ[SETTINGS_ENV], type=news_kafka.KafkaSettings)
    prefix = os.environ[TOPICS_ENV]
    articles, updates = f"{prefix}-articles", f"{prefix}-search-updates"
    await news_kafka.ensure_topics(
        settings,
        [
            news_kafka.TopicSpec(articles, 2),
            news_kafka.TopicSpec(f"{articles}.dlq", 1),
            news_kafka.TopicSpec(updates, 1),
        ],
    )
    kafka = news_metrics.KafkaMetrics()

    async def index(message: news_kafka.Message[dict[str, Any]]) -> None:
        await asyncio.sleep(0.1)
        if message.value["n"] % 10 == 5:
            raise ValueError("article cannot be indexed")

    publisher = news_kafka.Publisher(settings, metrics=kafka)
    await publisher.start()
    consumer = news_kafka.Consumer(
        settings,
        topics=articles,
        group_id="indexer",
        handler=index,
        value_type=dict[str, Any],
        metrics=kafka,
    )
    await consumer.start()
    task = asyncio.get_running_loop().create_task(_publish_loop(publisher, articles, updates))
    _running.extend([publisher, consumer, task])


@app.on_shutdown
async def stop_kafka_traffic() -> None:
    """Stop publishing, then the consumer, then the publisher."""
    if not _running:
        return
    publisher, consumer, task = _running
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await consumer.stop()
    await publisher.stop()
