"""news_db.Database against the real server: queries, results, json, errors, the pool."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import msgspec
import pytest

import news_db


class Article(msgspec.Struct, frozen=True):
    id: int
    title: str
    tags: list[str]
    meta: dict[str, object] | None = None


class Byline(msgspec.Struct):
    name: str
    since: int


class Story(msgspec.Struct):
    id: int
    byline: Byline  # from a jsonb column: needs msgspec.convert


SCHEMA = """
CREATE TABLE articles (
    id bigint PRIMARY KEY,
    title text NOT NULL CHECK (title <> ''),
    tags text[] NOT NULL DEFAULT '{}',
    meta jsonb,
    doc json,
    section_id int REFERENCES sections (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


@pytest.fixture
async def schema(db: news_db.Database) -> news_db.Database:
    """The test database with sections and articles tables."""
    await db.execute("CREATE TABLE sections (id int PRIMARY KEY, name text UNIQUE)")
    await db.execute(SCHEMA)
    await db.execute("INSERT INTO sections VALUES (1, 'world')")
    return db


class TestQueries:
    async def test_fetch_fetchrow_fetchval_execute(self, schema):
        """The four basic calls run on the server and return what asyncpg returns."""
        status = await schema.execute(
            "INSERT INTO articles (id, title, tags) VALUES ($1, $2, $3)", 1, "One", ["a", "b"]
        )
        assert status == "INSERT 0 1"
        rows = await schema.fetch("SELECT id, title FROM articles ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "One")]
        row = await schema.fetchrow("SELECT title, tags FROM articles WHERE id = $1", 1)
        assert row["title"] == "One"
        assert row["tags"] == ["a", "b"]
        assert await schema.fetchval("SELECT count(*) FROM articles") == 1
        assert await schema.fetchval("SELECT id, title FROM articles", column=1) == "One"
        assert await schema.fetchrow("SELECT 1 WHERE false") is None

    async def test_executemany_and_copy_records(self, schema):
        """Executemany inserts every tuple; copy_records bulk-loads and returns the count."""
        await schema.executemany(
            "INSERT INTO articles (id, title) VALUES ($1, $2)", [(i, f"t{i}") for i in range(5)]
        )
        copied = await schema.copy_records(
            "articles", [(i, f"c{i}") for i in range(100, 400)], columns=["id", "title"]
        )
        assert copied == 300
        assert await schema.fetchval("SELECT count(*) FROM articles") == 305

    async def test_json_and_jsonb_round_trip_as_python_values(self, schema):
        """json/jsonb parameters are Python values and come back decoded (not str)."""
        meta = {"source": "wire", "scores": [1, 2.5], "nested": {"ok": True}}
        await schema.execute(
            "INSERT INTO articles (id, title, meta, doc) VALUES (1, 'x', $1, $2)",
            meta,
            [1, "two", None],
        )
        row = await schema.fetchrow("SELECT meta, doc, meta->'nested' AS n FROM articles")
        assert row["meta"] == meta
        assert row["doc"] == [1, "two", None]
        assert row["n"] == {"ok": True}
        struct_meta = Byline("ada", 1843)
        await schema.execute("UPDATE articles SET meta = $1", struct_meta)
        assert await schema.fetchval("SELECT meta FROM articles") == {
            "name": "ada",
            "since": 1843,
        }

    async def test_json_codec_is_on_every_pooled_connection(self, postgres):
        """Each connection of the pool decodes jsonb (the codec is set when it connects)."""
        settings = postgres.settings(min_size=3, max_size=3, metrics="off")
        async with news_db.Database(settings) as db:
            conns = [db.acquire() for _ in range(3)]
            held = [await c.__aenter__() for c in conns]
            values = [await h.fetchval("SELECT '{\"a\": 1}'::jsonb") for h in held]
            for c in conns:
                await c.__aexit__(None, None, None)
        assert values == [{"a": 1}] * 3


class TestStructResults:
    async def test_rows_decode_into_structs(self, schema):
        """into= returns Struct instances, by column name, in either column order."""
        await schema.execute(
            "INSERT INTO articles (id, title, tags, meta) VALUES "
            "(1, 'One', '{x}', '{\"k\": 1}'), (2, 'Two', '{}', NULL)"
        )
        articles = await schema.fetch(
            "SELECT id, title, tags, meta FROM articles ORDER BY id", into=Article
        )
        assert articles == [Article(1, "One", ["x"], {"k": 1}), Article(2, "Two", [], None)]
        reordered = await schema.fetch(
            "SELECT meta, tags, created_at, title, id FROM articles ORDER BY id", into=Article
        )
        assert reordered == articles
        one = await schema.fetchrow(
            "SELECT id, title, tags FROM articles WHERE id = $1", 2, into=Article
        )
        assert one == Article(2, "Two", [], None)
        assert await schema.fetchrow("SELECT 1 WHERE false", into=Article) is None
        empty = await schema.fetch("SELECT id, title, tags FROM articles WHERE false", into=Article)
        assert empty == []

    async def test_nested_struct_from_jsonb_is_converted(self, db):
        """A field typed as a Struct is filled from a jsonb column (msgspec.convert)."""
        rows = await db.fetch(
            'SELECT 7 AS id, \'{"name": "ada", "since": 1843}\'::jsonb AS byline', into=Story
        )
        assert rows == [Story(7, Byline("ada", 1843))]

    async def test_the_fast_path_gives_what_msgspec_convert_gives(self, db):
        """Positional construction equals msgspec.convert of the same rows, for many types."""

        class Wide(msgspec.Struct):
            i: int
            f: float
            s: str
            b: bool
            d: Decimal
            ts: dt.datetime
            u: uuid.UUID
            n: str | None

        sql = (
            "SELECT g AS i, g * 1.5::float8 AS f, 'r' || g AS s, g % 2 = 0 AS b, "
            "g::numeric / 4 AS d, timestamptz '2026-01-01' + g * interval '1 hour' AS ts, "
            "md5(g::text)::uuid AS u, NULL::text AS n FROM generate_series(1, 50) g"
        )
        fast = await db.fetch(sql, into=Wide)
        records = await db.fetch(sql)
        slow = msgspec.convert([dict(r.items()) for r in records], list[Wide])
        assert fast == slow
        assert all(type(w.u) is type(s.u) or w.u == s.u for w, s in zip(fast, slow, strict=True))

    async def test_a_row_that_does_not_fit_fails_clearly(self, db):
        """A mistyped or missing column raises ResultDecodeError naming the problem."""
        with pytest.raises(news_db.ResultDecodeError, match="title"):
            await db.fetch("SELECT 1 AS id, ARRAY['a'] AS tags", into=Article)
        with pytest.raises(news_db.ResultDecodeError, match=r"Expected `int`"):
            await db.fetch("SELECT 'x' AS id, 'y' AS title, ARRAY['a'] AS tags", into=Article)

    async def test_constrained_fields_are_validated(self, db):
        """Constraints on a field (Meta) are checked on every row, not only the first."""

        class Bounded(msgspec.Struct):
            n: Annotated[int, msgspec.Meta(le=5)]

        with pytest.raises(news_db.ResultDecodeError):
            await db.fetch("SELECT g AS n FROM generate_series(1, 10) g", into=Bounded)
        assert await db.fetch("SELECT 1 AS n", into=Bounded) == [Bounded(1)]


class TestErrors:
    async def test_integrity_errors_carry_the_constraint(self, schema):
        """Unique, foreign-key, check and not-null violations are typed and name their parts."""
        await schema.execute("INSERT INTO articles (id, title) VALUES (1, 'One')")
        with pytest.raises(news_db.UniqueViolationError) as unique:
            await schema.execute("INSERT INTO articles (id, title) VALUES (1, 'Again')")
        assert unique.value.constraint == "articles_pkey"
        assert unique.value.table == "articles"
        assert unique.value.sqlstate == "23505"
        assert "articles_pkey" in str(unique.value)
        assert isinstance(unique.value.__cause__, Exception)
        with pytest.raises(news_db.ForeignKeyViolationError) as fk:
            await schema.execute("INSERT INTO articles (id, title, section_id) VALUES (2, 'x', 99)")
        assert fk.value.constraint == "articles_section_id_fkey"
        with pytest.raises(news_db.CheckViolationError) as check:
            await schema.execute("INSERT INTO articles (id, title) VALUES (3, '')")
        assert check.value.constraint == "articles_title_check"
        with pytest.raises(news_db.NotNullViolationError) as not_null:
            await schema.execute("INSERT INTO articles (id) VALUES (4)")
        assert not_null.value.column == "title"
        assert all(
            isinstance(e.value, news_db.IntegrityError) for e in (unique, fk, check, not_null)
        )

    async def test_other_server_errors_are_query_errors_with_sqlstate(self, db):
        """A syntax error is a QueryError with its SQLSTATE and the operation's name."""
        with pytest.raises(news_db.QueryError) as info:
            await db.fetch("SELEC 1", operation="articles.broken")
        assert info.value.sqlstate == "42601"
        assert "articles.broken" in str(info.value)

    async def test_statement_timeout_cancels_on_the_server(self, db, eventually):
        """A statement past its timeout raises QueryTimeoutError and stops on the server."""
        marker = f"slow-{uuid.uuid4().hex}"
        with pytest.raises(news_db.QueryTimeoutError, match=r"0\.2s"):
            await db.fetchval(f"SELECT pg_sleep(30), '{marker}'", timeout=0.2)
        await eventually(
            lambda: db.fetchval(
                "SELECT count(*) = 0 FROM pg_stat_activity WHERE query LIKE $1 AND pid <> "
                "pg_backend_pid()",
                f"%{marker}%",
            ),
            what="the slow statement to end on the server",
        )
        assert await db.fetchval("SELECT 1") == 1

    async def test_calls_before_start_and_after_stop_are_refused(self, postgres):
        """A Database that is not running raises DatabaseClosedError, saying what to do."""
        db = news_db.Database(postgres.settings(metrics="off"))
        with pytest.raises(news_db.DatabaseClosedError, match="start"):
            await db.fetchval("SELECT 1")
        async with db:
            assert await db.fetchval("SELECT 1") == 1
        with pytest.raises(news_db.DatabaseClosedError):
            await db.execute("SELECT 1")
        await db.stop()  # twice is harmless

    async def test_unreachable_server_fails_start_clearly(self):
        """start() against a port nobody listens on raises DBConnectionError naming it."""
        from news_testing.kafka import free_port

        port = free_port()
        settings = news_db.DatabaseSettings(
            host="127.0.0.1", port=port, connect_timeout=2.0, metrics="off"
        )
        with pytest.raises(news_db.DBConnectionError, match=str(port)):
            await news_db.Database(settings).start()


class TestPool:
    async def test_exhausted_pool_times_out_naming_size_and_waiters(self, postgres):
        """With every connection held, acquire() fails after acquire_timeout, never hangs."""
        settings = postgres.settings(min_size=1, max_size=2, acquire_timeout=0.3, metrics="off")
        async with news_db.Database(settings) as db:
            async with db.acquire(), db.acquire():
                waiters = [asyncio.ensure_future(db.fetchval("SELECT 1")) for _ in range(3)]
                async with asyncio.timeout(10):
                    results = await asyncio.gather(*waiters, return_exceptions=True)
                assert all(isinstance(r, news_db.PoolTimeoutError) for r in results), results
                error = results[-1]
                assert isinstance(error, TimeoutError)
                assert error.size == 2
                assert error.in_use == 2
                assert "pool size 2" in str(error)
                assert "0.3s" in str(error)
                first = results[0]
                assert first.waiting == 2, str(first)  # the two others were still waiting
            assert db.pool_stats().in_use == 0
            assert await db.fetchval("SELECT 1") == 1  # usable again

    async def test_waiters_get_connections_as_they_are_released(self, postgres):
        """Callers beyond max_size wait their turn and all succeed within the timeout."""
        settings = postgres.settings(min_size=1, max_size=2, acquire_timeout=20, metrics="off")
        async with news_db.Database(settings) as db:
            results = await asyncio.gather(
                *(db.fetchval("SELECT $1::int FROM pg_sleep(0.05)", i) for i in range(10))
            )
            assert results == list(range(10))
            stats = db.pool_stats()
            assert (stats.max_size, stats.in_use, stats.waiting) == (2, 0, 0)

    async def test_application_name_is_the_service_name(self, postgres):
        """pg_stat_activity shows the Database's name (or the application_name setting)."""
        async with news_db.Database(postgres.settings(metrics="off"), name="newsroom-api") as db:
            assert await db.fetchval("SELECT current_setting('application_name')") == "newsroom-api"
        settings = postgres.settings(metrics="off", application_name="indexer")
        async with news_db.Database(settings, name="ignored") as db:
            assert (
                await db.fetchval(
                    "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
                )
                == "indexer"
            )

    async def test_session_state_does_not_leak_between_borrowers(self, postgres):
        """A SET made through acquire() is reset before the connection is lent again."""
        settings = postgres.settings(min_size=1, max_size=1, metrics="off")
        async with news_db.Database(settings) as db:
            async with db.acquire() as conn:
                await conn.execute("SET search_path TO pg_catalog")
            assert await db.fetchval("SHOW search_path") == '"$user", public'

    async def test_one_statement_calls_that_change_the_session_are_reset(self, postgres):
        """SET, advisory locks, LISTEN and temp tables of a one-shot call do not leak."""
        settings = postgres.settings(min_size=1, max_size=1, metrics="off")
        async with news_db.Database(settings) as db, news_db.Database(settings) as other:
            await db.execute("SET search_path TO pg_catalog")
            assert await db.fetchval("SHOW search_path") == '"$user", public'
            await db.fetchval("SELECT set_config('application_name', 'changed', false)")
            assert await db.fetchval("SHOW application_name") != "changed"
            await db.fetchval("SELECT pg_advisory_lock(4242)")
            assert await other.fetchval("SELECT pg_try_advisory_lock(4242)")
            await other.fetchval("SELECT pg_advisory_unlock_all()")
            await db.execute("CREATE TEMP TABLE scratch (id int)")
            assert await db.fetchval("SELECT to_regclass('pg_temp.scratch')") is None
            await db.execute("BEGIN; SELECT 1")  # a transaction left open is rolled back
            assert await db.fetchval("SELECT 1") == 1

    async def test_plain_statements_skip_the_reset_round_trip(self, postgres):
        """Session state a function changes out of sight stays; acquire() blocks reset it."""
        settings = postgres.settings(min_size=1, max_size=1, metrics="off")
        async with news_db.Database(settings) as db:
            await db.execute(
                "CREATE FUNCTION quiet() RETURNS text LANGUAGE sql AS "
                "$$ SELECT set_config('search_path', 'pg_catalog', false) $$"
            )
            await db.fetchval("SELECT quiet()")  # the SQL does not show the change
            assert await db.fetchval("SHOW search_path") == "pg_catalog"  # documented
            async with db.acquire() as conn:
                await conn.fetchval("SELECT 1")
            assert await db.fetchval("SHOW search_path") == '"$user", public'

    async def test_health_check_passes_and_names_pool_use(self, db):
        """health_check() runs SELECT 1 and reports the pool's use; fits app.manage."""
        output = await db.health_check()
        assert output.endswith("waiting")
        assert "connections in use" in output
        assert news_db.Database.health_name == "postgres"

    async def test_health_check_fails_when_saturated(self, postgres):
        """A saturated pool fails the readiness check within its timeout, saying why."""
        settings = postgres.settings(min_size=1, max_size=1, metrics="off")
        async with news_db.Database(settings) as db, db.acquire():
            with pytest.raises(news_db.PoolTimeoutError, match="pool size 1"):
                await db.health_check(timeout=0.3)
