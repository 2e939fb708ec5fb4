"""The service's handlers on a filled store: reading, 404 problems, cursor pagination."""

from __future__ import annotations

import msgspec
import pytest

import news_api
import news_http
from newsroom import settings as newsroom_settings
from newsroom.service import Newsroom
from newsroom.store import MemoryStore


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """The newsroom's settings with pages of two."""
    monkeypatch.chdir(tmp_path)
    return newsroom_settings.load(environ={"NEWSROOM_NEWSROOM__PAGE_SIZE": "2"})


@pytest.fixture
async def service(settings, article):
    """A Newsroom (not serving) over a store of five articles in two sections."""
    store = MemoryStore()
    for n, section in enumerate(["world", "sport", "world", "world", "sport"]):
        await store.put(article(n, section))
    return Newsroom(settings, store=store)


class TestReading:
    async def test_a_stored_article(self, service):
        """GET /v1/articles/:id answers the stored article in the data envelope."""
        response = await service.get_article("a3")
        assert response.status == 200
        assert response.json()["data"]["id"] == "a3"

    async def test_an_unknown_article_is_a_404_problem(self, service):
        """An id not (yet) processed raises NotFound, which news-http answers as problem+json."""
        with pytest.raises(news_api.NotFound, match="not processed yet"):
            await service.get_article("a9")


class TestListing:
    async def walk(self, service, **query):
        """Follow next_cursor to the end: the ids seen and the totals reported."""
        ids, cursor, totals = [], "", set()
        while True:
            body = (await service.list_articles(cursor=cursor, **query)).json()
            ids.extend(item["id"] for item in body["data"])
            totals.add(body["meta"]["total"])
            cursor = body["meta"]["next_cursor"]
            if cursor is None:
                assert "next" not in body["links"]
                return ids, totals
            assert body["links"]["next"].startswith("/v1/articles?")

    async def test_cursor_pages_visit_every_article_once(self, service):
        """Following next_cursor from the first page lists every article once, in order."""
        ids, totals = await self.walk(service)
        assert ids == ["a0", "a1", "a2", "a3", "a4"]
        assert totals == {5}

    async def test_section_filter_is_normalised(self, service):
        """?section=World lists the world section (sections are compared as slugs)."""
        ids, totals = await self.walk(service, section="World")
        assert ids == ["a0", "a2", "a3"]
        assert totals == {3}

    async def test_limit(self, service):
        """?limit= overrides the page size; out of range is a 422 naming limit."""
        body = (await service.list_articles(limit="4")).json()
        assert len(body["data"]) == 4
        assert body["meta"]["limit"] == 4
        with pytest.raises(news_api.ValidationFailed) as info:
            await service.list_articles(limit="1000")
        assert info.value.errors[0].field == "limit"

    async def test_a_tampered_cursor_is_a_400(self, service):
        """A cursor that was altered (or signed elsewhere) is refused as InvalidCursor."""
        cursor = (await service.list_articles()).json()["meta"]["next_cursor"]
        tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
        with pytest.raises(news_api.InvalidCursor):
            await service.list_articles(cursor=tampered)


class TestConfiguration:
    def test_several_processes_are_refused(self, settings):
        """The store is in memory: more than one HTTP process would split it, so it is refused."""
        http = msgspec.structs.replace(settings.http, processes=2)
        with pytest.raises(news_http.HTTPConfigError, match="NEWSROOM_HTTP__PROCESSES=1"):
            Newsroom(msgspec.structs.replace(settings, http=http))

    async def test_submitting_before_start_is_503(self, settings):
        """A POST that arrives before the publisher runs is a 503, not a crash."""
        from newsroom.models import ArticleIn

        body = ArticleIn(title="t", body="b", section="world", author="a")
        with pytest.raises(news_api.ServiceUnavailable):
            await Newsroom(settings).submit(body)
