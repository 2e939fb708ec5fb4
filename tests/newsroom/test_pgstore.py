"""The PostgreSQL article store: the shipped migrations, idempotent puts, index-backed pages."""

from __future__ import annotations

import json

import msgspec
import pytest

import news_db
from newsroom.pgstore import MIGRATIONS, PostgresStore
from newsroom.settings import db_is_configured, load


@pytest.fixture
def postgres_migrations():
    """Every test database starts with the newsroom's schema."""
    return MIGRATIONS


@pytest.fixture
async def store(postgres):
    """A started PostgresStore on the test's migrated database."""
    settings = postgres.settings(metrics="off", migrations=MIGRATIONS, migrate_on_start=True)
    made = PostgresStore(settings)
    await made.start()
    yield made
    await made.stop()


async def fill(store: PostgresStore, sections: list[str], article) -> None:
    """Put one article per entry of ``sections`` (ids a0, a1...)."""
    for n, section in enumerate(sections):
        assert await store.put(article(n, section))


class TestPostgresStore:
    async def test_put_then_get_round_trips_every_field(self, store, article):
        """A stored article comes back equal (tags array, floats); unknown ids give None."""
        stored = msgspec.structs.replace(article(1), tags=["politics", "eu"])
        assert await store.put(stored)
        assert await store.get("a1") == stored
        assert await store.get("nope") is None

    async def test_a_redelivered_article_is_stored_once(self, store, article):
        """A second put of the same id keeps the first version and counts a duplicate."""
        first = article(1)
        assert await store.put(first)
        assert not await store.put(msgspec.structs.replace(first, title="changed"))
        assert await store.get("a1") == first
        assert store.duplicates == 1
        assert await store.count() == 1

    async def test_pages_walk_everything_once_in_storage_order(self, store, article):
        """Following next_position visits every article once; the last full page ends it."""
        await fill(store, ["world", "sport"] * 4, article)
        seen, after = [], None
        while True:
            page = await store.page(section=None, after=after, limit=3)
            seen.extend(a.id for a in page.items)
            if page.next_position is None:
                break
            after = page.next_position
        assert seen == [f"a{n}" for n in range(8)]
        sport = await store.page(section="sport", after=None, limit=4)
        assert [a.id for a in sport.items] == ["a1", "a3", "a5", "a7"]
        assert sport.next_position is None
        assert await store.count(section="sport") == 4
        with pytest.raises(ValueError, match="limit"):
            await store.page(section=None, after=None, limit=0)

    async def test_section_pages_come_from_the_index(self, store):
        """The section page query can use the (section, seq) index shipped by the migrations."""
        async with store.db.acquire() as conn:
            await conn.execute("SET enable_seqscan = off")
            plan = await conn.fetch(
                "EXPLAIN SELECT seq FROM articles WHERE section = $1 AND seq > $2 "
                "ORDER BY seq LIMIT $3",
                "world",
                0,
                21,
            )
        assert "articles_section_seq" in "\n".join(r[0] for r in plan)

    async def test_stop_dumps_and_logs(self, postgres, article, tmp_path):
        """stop() writes the dump and logs the count, like the memory store."""
        dump = tmp_path / "store.json"
        settings = postgres.settings(metrics="off", migrations=MIGRATIONS, migrate_on_start=True)
        made = PostgresStore(settings, dump=str(dump))
        await made.start()
        await made.put(article(1))
        assert (await made.health_check()).endswith("waiting")
        await made.stop()
        assert [a["id"] for a in json.loads(dump.read_text())] == ["a1"]

    def test_migrations_are_applied_once(self, postgres):
        """The template holds both shipped migrations."""
        rows = postgres.fetch("SELECT name FROM news_db_migrations ORDER BY version")
        assert [r["name"] for r in rows] == [
            "0001_articles.sql",
            "0002_articles_section_seq.sql",
        ]


class TestSettings:
    def test_postgres_only_when_a_db_variable_is_set(self):
        """db_is_configured: any NEWSROOM_DB__ variable switches the store to PostgreSQL."""
        assert not db_is_configured(environ={})
        environ = {"NEWSROOM_DB__DSN": "postgresql://u@h/newsroom"}
        assert db_is_configured(environ=environ)
        settings = load(environ=environ)
        assert settings.db.migrate_on_start
        assert settings.db.migrations == MIGRATIONS
        assert isinstance(settings.db, news_db.DatabaseSettings)
