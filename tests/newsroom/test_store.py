"""The in-memory article store: idempotent puts, lookups, paging by position, counts."""

from __future__ import annotations

import pytest

from newsroom.models import Article
from newsroom.store import ArticleStore, MemoryStore


async def fill(store: MemoryStore, sections: list[str], article) -> None:
    """Put one article per entry of ``sections`` (ids a0, a1...)."""
    for n, section in enumerate(sections):
        assert await store.put(article(n, section))


class TestMemoryStore:
    def test_is_an_article_store(self):
        """MemoryStore satisfies the ArticleStore interface the service programs against."""
        store: ArticleStore = MemoryStore()
        assert isinstance(store, MemoryStore)

    async def test_put_then_get(self, article):
        """A stored article is found by its id; an unknown id gives None."""
        store = MemoryStore()
        assert await store.put(article(1))
        assert await store.get("a1") == article(1)
        assert await store.get("nope") is None

    async def test_put_is_idempotent_by_id(self, article):
        """A second put of the same id keeps the first version and counts a duplicate."""
        store = MemoryStore()
        first = article(1)
        assert await store.put(first)
        again = Article(**{**{f: getattr(first, f) for f in first.__struct_fields__}, "title": "x"})
        assert not await store.put(again)
        assert (await store.get("a1")) == first
        assert store.duplicates == 1
        assert await store.count() == 1

    async def test_pages_walk_everything_once_in_storage_order(self, article):
        """Following next_position from the first page visits every article once, in order."""
        store = MemoryStore()
        await fill(store, ["world"] * 7, article)
        seen, after = [], None
        while True:
            page = await store.page(section=None, after=after, limit=3)
            seen.extend(a.id for a in page.items)
            if page.next_position is None:
                break
            after = page.next_position
        assert seen == [f"a{n}" for n in range(7)]

    async def test_last_full_page_has_no_next_position(self, article):
        """When the last page is exactly full, it says so (no empty page after it)."""
        store = MemoryStore()
        await fill(store, ["world"] * 4, article)
        first = await store.page(section=None, after=None, limit=2)
        second = await store.page(section=None, after=first.next_position, limit=2)
        assert [a.id for a in second.items] == ["a2", "a3"]
        assert second.next_position is None

    async def test_section_filter_and_counts(self, article):
        """A section's pages and count hold only that section's articles."""
        store = MemoryStore()
        await fill(store, ["world", "sport", "world", "sport", "world"], article)
        page = await store.page(section="sport", after=None, limit=1)
        assert [a.id for a in page.items] == ["a1"]
        rest = await store.page(section="sport", after=page.next_position, limit=10)
        assert [a.id for a in rest.items] == ["a3"]
        assert rest.next_position is None
        assert await store.count(section="world") == 3
        assert await store.count(section="culture") == 0
        assert (await store.page(section="culture", after=None, limit=5)).items == []

    async def test_limit_must_be_positive(self, article):
        """A page of fewer than one item is a programming error, said plainly."""
        with pytest.raises(ValueError, match="limit must be at least 1"):
            await MemoryStore().page(section=None, after=None, limit=0)

    async def test_snapshot_is_everything_in_order(self, article):
        """snapshot() (the shutdown dump) lists every article once, in storage order."""
        store = MemoryStore()
        await fill(store, ["a", "b", "c"], article)
        await store.put(article(0))
        assert [a.id for a in store.snapshot()] == ["a0", "a1", "a2"]
