"""The scrape target of test_prometheus.py: a real news-http service that serves /metrics itself.

``http_target:app`` is served by news-testing's HTTP helpers in its own process (metrics and
health on: news-metrics records every request with ``HttpMetrics``). test_prometheus.py drives it
over real HTTP, shaped so that every dashboard panel has data and every
shipped alert's condition holds: about 10 % of requests answer 500 and 10 % 404, 20 % take longer
than 0.5 s, and a few requests are always in flight.

Kafka families: a startup hook records a consume/handle/publish loop through news-metrics'
``KafkaMetrics`` (the hook news-kafka's Publisher and Consumer call) in the same process, with
handler failures, dead letters, publish errors and a growing consumer lag, which a healthy test
broker does not produce on its own. Business events are counted next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import news_api
import news_http
import news_metrics

SECTIONS = ("world", "sport", "culture")
PUBLISHED = news_metrics.declare_business_event(
    "article_published", labels=("section",), description="Articles published."
)
news_metrics.declare_business_event(
    "comment_posted", labels=("section", "kind"), description="Comments posted."
)

app = news_http.create_app(news_http.HTTPSettings(metrics="on", health="on"), name="newsroom-sim")


@app.get("/v1/articles/:article_id")
def get_article(article_id: int) -> dict[str, Any]:
    """200 for ids below 900, 404 above."""
    if article_id >= 900:
        raise news_api.NotFound(f"no article {article_id}")
    return {"id": article_id, "title": "Hello"}


@app.post("/v1/articles")
def create_article() -> news_api.Response:
    """201 and a small body."""
    section = SECTIONS[0]
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


def record_kafka(tick: int, kafka: news_metrics.KafkaMetrics) -> None:
    """One tick of consumer and publisher traffic: failures, dead letters, a growing lag."""
    for i in range(10):
        n = tick * 10 + i
        kafka.consumed("articles", "indexer")
        kafka.handler_duration("articles", "indexer", 0.002 + (n % 9) * 0.004)
        if n % 10 == 5:
            kafka.handler_failed("articles", "indexer", "ValueError")
        if n % 20 == 9:
            kafka.dead_lettered("articles", "indexer")
    kafka.published("articles", 5)
    kafka.published("search-updates", 2)
    if tick % 4 == 0:
        kafka.publish_failed("search-updates", "KafkaTimeoutError")
    for partition in range(3):
        kafka.lag("articles", partition, "indexer", 150 + tick + partition * 10)
    PUBLISHED.inc(section=SECTIONS[tick % 3])


_kafka_task: list[asyncio.Task[None]] = []


@app.on_startup
async def start_kafka_traffic() -> None:
    """Record Kafka traffic every 50 ms until shutdown."""
    kafka = news_metrics.KafkaMetrics()

    async def loop() -> None:
        for tick in itertools.count():
            record_kafka(tick, kafka)
            await asyncio.sleep(0.05)

    _kafka_task.append(asyncio.get_running_loop().create_task(loop()))


@app.on_shutdown
async def stop_kafka_traffic() -> None:
    """Stop the Kafka loop."""
    for task in _kafka_task:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
