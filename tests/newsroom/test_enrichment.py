"""The newsroom's enrichment: the tagging service, and the processor's client that degrades."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import news_client
from news_log.testing import capture_logs
from newsroom.enrichment import EmbeddedEnrichment, Enricher, TagsIn, suggest_tags

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def service() -> AsyncIterator[EmbeddedEnrichment]:
    """The enrichment service on a free loopback port."""
    embedded = EmbeddedEnrichment()
    await embedded.start()
    try:
        yield embedded
    finally:
        await embedded.stop()


def client_for(url: str, **overrides: object) -> news_client.HTTPClient:
    """A client like the newsroom's, with a small breaker window."""
    values: dict[str, object] = {
        "base_url": url,
        "total_timeout": 0.3,
        "metrics": "off",
        "breaker": news_client.BreakerSettings(window_size=4, minimum_calls=4),
    }
    values.update(overrides)
    return news_client.HTTPClient(news_client.ClientSettings(**values), name="enrichment")  # type: ignore[arg-type]


class TestTags:
    def test_keywords_suggest_tags(self) -> None:
        """Words of the title and body map to sorted, unique tags."""
        article = TagsIn(title="Leaders meet at the summit", body="Markets rose; markets fell.")
        assert suggest_tags(article) == ["diplomacy", "economy", "politics"]
        assert suggest_tags(TagsIn(title="Nothing to see")) == []

    async def test_the_service_answers_tags(self, service: EmbeddedEnrichment) -> None:
        """POST /v1/tags on the embedded service answers the suggested tags."""
        async with client_for(service.url) as client:
            tags = await Enricher(client).tags("a1", TagsIn(title="Storm hits the match"))
        assert tags == ["football", "weather"]


class TestDegrading:
    async def test_a_slow_service_opens_the_breaker_and_articles_go_untagged(self) -> None:
        """Slow answers time out, the breaker opens, later calls fail fast: None each time."""
        slow = EmbeddedEnrichment(delay=60.0)
        await slow.start()
        try:
            async with client_for(slow.url) as client:
                enricher = Enricher(client)
                with capture_logs() as lines:
                    results = [
                        await enricher.tags(f"a{i}", TagsIn(title="Summit")) for i in range(6)
                    ]
                assert client.breaker is not None
                assert client.breaker.state == "open"
        finally:
            await slow.stop()
        assert results == [None] * 6
        reasons = [
            line["reason"] for line in lines if line["msg"] == "article stored without enrichment"
        ]
        assert reasons == ["timeout"] * 4 + ["breaker_open"] * 2

    async def test_a_service_that_is_down_is_unavailable(self, service: EmbeddedEnrichment) -> None:
        """A stopped service: connection refused, counted as unavailable."""
        url = service.url
        await service.stop()
        async with client_for(url) as client:
            with capture_logs() as lines:
                assert await Enricher(client).tags("a1", TagsIn(title="Summit")) is None
        (line,) = [line for line in lines if line["msg"] == "article stored without enrichment"]
        assert line["reason"] == "unavailable"
