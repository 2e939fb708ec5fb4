"""A scrape target that simulates a news service's HTTP and Kafka traffic through news-metrics.

Run as ``python traffic_target.py [--seconds N]``: it prints ``PORT <n>`` once its exposition server
listens on 127.0.0.1, then records traffic every 50 ms through the same hooks news-http and
news-kafka call, shaped so that every dashboard panel has data and every shipped alert's condition
holds: 10 % of requests fail with 500 and 10 % get 404, 20 % take longer than 0.5 s, requests stay
in flight, publishes and handlers fail sometimes, messages are dead-lettered, consumer lag grows,
business events are counted. It stops by itself after --seconds (default 300) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal

import news_metrics

ROUTES = ("/v1/articles/:id", "/v1/articles", "/v1/sections/:name/articles")
PUBLISHED = news_metrics.declare_business_event(
    "article_published", labels=("section",), description="Articles published."
)
news_metrics.declare_business_event(
    "comment_posted", labels=("section", "kind"), description="Comments posted."
)


def record(tick: int, http: news_metrics.HttpMetrics, kafka: news_metrics.KafkaMetrics) -> None:
    """One tick of traffic: 10 requests, 10 consumed messages, a publish batch, events."""
    for i in range(10):
        n = tick * 10 + i
        route = ROUTES[n % len(ROUTES)]
        method = "POST" if route == "/v1/articles" and n % 2 else "GET"
        status = 500 if n % 10 == 3 else 404 if n % 10 == 7 else 200
        duration = 0.7 if n % 5 == 1 else 0.004 + (n % 7) * 0.01
        http.request_started(method, route)
        http.request_finished(method, route, status, duration, 200 + (n % 11) * 900)
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
    PUBLISHED.inc(section=("world", "sport", "culture")[tick % 3])
    news_metrics.business_event("comment_posted", section="world", kind="reply")


async def main(seconds: float) -> None:
    """Serve the exposition and record traffic until the time is up or SIGTERM arrives."""
    http = news_metrics.HttpMetrics()
    kafka = news_metrics.KafkaMetrics()
    for route in ROUTES[:2]:  # requests that stay in flight (slow clients)
        http.request_started("GET", route)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    settings = news_metrics.MetricsSettings(host="127.0.0.1", port=0)
    async with news_metrics.MetricsServer(settings) as server:
        print(f"PORT {server.port}", flush=True)
        deadline = loop.time() + seconds
        for tick in itertools.count():
            record(tick, http, kafka)
            if stop.is_set() or loop.time() > deadline:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.05)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    asyncio.run(main(parser.parse_args().seconds))
