"""news-testing's PostgreSQL fixtures: fresh databases from a migrated template, fixture data."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

import news_db
from news_testing import PgBouncer, PostgresServer, PrivatePostgres

if TYPE_CHECKING:
    from pathlib import Path

MIGRATIONS = {
    "0001_sections.sql": "CREATE TABLE sections (id int PRIMARY KEY, name text NOT NULL);\n",
    "0002_articles.sql": (
        "CREATE TABLE articles (id bigint PRIMARY KEY, title text NOT NULL,\n"
        "  section_id int REFERENCES sections (id), tags text[] NOT NULL DEFAULT '{}',\n"
        "  meta jsonb);\n"
    ),
}


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """A folder of two migrations."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, sql in MIGRATIONS.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


class TestFreshDatabases:
    async def test_each_test_gets_its_own_empty_database(self, postgres):
        """The postgres fixture is a new database named after the test, reachable by DSN."""
        assert postgres.name.startswith("t_test_each_test_gets_its_own")
        async with news_db.Database(postgres.settings(metrics="off")) as db:
            assert await db.fetchval("SELECT current_database()") == postgres.name
            tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            assert await db.fetchval(tables) == 0

    def test_databases_are_cloned_from_one_migrated_template_and_dropped(self, migrations_dir):
        """Two databases with the same migrations share one template; drop() removes them."""
        server = PostgresServer()
        first = server.new_database("clone", migrations=str(migrations_dir))
        second = server.new_database("clone", migrations=news_db.Migrations(migrations_dir))
        try:
            assert first.name != second.name
            for database in (first, second):
                rows = database.fetch("SELECT name FROM news_db_migrations ORDER BY version")
                assert [r["name"] for r in rows] == list(MIGRATIONS)
            assert len(server._templates) == 1
        finally:
            first.drop()
            second.drop()
        names = {r["datname"] for r in _admin_fetch(server, "SELECT datname FROM pg_database")}
        assert first.name not in names
        assert second.name not in names

    def test_fixture_data_from_sql_and_json_files(self, postgres, migrations_dir, tmp_path):
        """load() runs .sql files and inserts .json rows with the columns' types."""
        news_db_files = news_db.Migrations(migrations_dir)
        postgres.execute(";".join(m.sql for m in news_db_files.files()))
        (tmp_path / "sections.sql").write_text("INSERT INTO sections VALUES (1, 'world');")
        (tmp_path / "articles.json").write_text(
            json.dumps(
                {
                    "articles": [
                        {"id": 7, "title": "Hi", "section_id": 1, "tags": ["a"], "meta": {"k": 1}},
                        {"id": 8, "title": "Yo", "section_id": None},
                    ]
                }
            )
        )
        postgres.load(tmp_path / "sections.sql", tmp_path / "articles.json")
        rows = postgres.fetch("SELECT id, title, section_id, tags, meta FROM articles ORDER BY id")
        assert [r["tags"] for r in rows] == [["a"], []]
        assert rows[0]["meta"] == '{"k": 1}'  # plain asyncpg here: jsonb as text
        assert [r["section_id"] for r in rows] == [1, None]

    def test_a_bad_fixture_file_loads_nothing(self, postgres, tmp_path):
        """A failing file rolls back the whole load."""
        postgres.execute("CREATE TABLE t (id int PRIMARY KEY)")
        (tmp_path / "ok.sql").write_text("INSERT INTO t VALUES (1);")
        (tmp_path / "bad.json").write_text(json.dumps({"t": [{"id": 1}]}))
        with pytest.raises(Exception, match="duplicate key"):
            postgres.load(tmp_path / "ok.sql", tmp_path / "bad.json")
        assert postgres.fetch("SELECT count(*) AS n FROM t") == [{"n": 0}]


def _admin_fetch(server: PostgresServer, sql: str) -> list[dict[str, object]]:
    from news_testing.postgres import TestDatabase

    admin = TestDatabase(server, "postgres")
    return admin.fetch(sql)


class TestMigrationsFixture:
    def test_overriding_postgres_migrations_gives_migrated_databases(
        self, tmp_path, migrations_dir
    ):
        """A conftest that returns a migrations source makes every postgres database migrated."""
        (tmp_path / "conftest.py").write_text(
            textwrap.dedent(
                f"""
                import pytest

                @pytest.fixture
                def postgres_migrations():
                    return {str(migrations_dir)!r}
                """
            )
        )
        (tmp_path / "test_it.py").write_text(
            textwrap.dedent(
                """
                def test_migrated(postgres):
                    rows = postgres.fetch("SELECT count(*) AS n FROM news_db_migrations")
                    assert rows == [{"n": 2}]
                """
            )
        )
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 passed" in result.stdout


class TestPrivateServers:
    def test_private_cluster_starts_stops_and_keeps_its_data(self):
        """PrivatePostgres: initdb on a free port; restart keeps data; close removes it."""
        with PrivatePostgres() as server:
            assert server.port != 5432
            assert server.running
            admin = PostgresServer(server.dsn)
            database = admin.new_database("private")
            database.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
            server.restart()
            assert database.fetch("SELECT id FROM kept") == [{"id": 1}]
            root = server.root
        assert not server.running
        assert not root.exists()

    def test_pgbouncer_fronts_a_server(self, postgres):
        """PgBouncer starts on a free port and routes to the server's databases."""
        with PgBouncer(postgres.server.host, postgres.server.port) as bouncer:
            from news_testing.postgres import TestDatabase

            via = TestDatabase(postgres.server, postgres.name)
            via.dsn = bouncer.dsn(postgres.name)
            assert via.fetch("SELECT current_database() AS d") == [{"d": postgres.name}]
