"""Migrations: ordered, once, locked, checksummed; no-transaction files; the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

import news_db
from news_db._migrations import split_statements

FILES = {
    "0001_create_articles.sql": "CREATE TABLE articles (id bigint PRIMARY KEY, title text);\n",
    "0002_add_section.sql": (
        "ALTER TABLE articles ADD COLUMN section text NOT NULL DEFAULT 'world';\n"
        "INSERT INTO articles (id, title) VALUES (1, 'seeded');\n"
    ),
}


def write(folder: Path, files: dict[str, str]) -> Path:
    """Write migration files into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run python -m news_db with args."""
    return subprocess.run(
        [sys.executable, "-m", "news_db", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class TestApply:
    async def test_applies_in_order_once_and_records_history(self, db, tmp_path):
        """Pending files run in number order; a second run applies nothing."""
        migrations = news_db.Migrations(write(tmp_path / "m", FILES))
        assert await migrations.apply(db) == list(FILES)
        assert await db.fetchval("SELECT section FROM articles WHERE id = 1") == "world"
        assert await migrations.apply(db) == []
        history = await db.fetch("SELECT version, name, checksum FROM news_db_migrations")
        assert [(r["version"], r["name"]) for r in history] == [
            (1, "0001_create_articles.sql"),
            (2, "0002_add_section.sql"),
        ]
        assert all(len(r["checksum"]) == 64 for r in history)
        write(tmp_path / "m", {"0003_add_tags.sql": "ALTER TABLE articles ADD tags text[];"})
        assert await migrations.apply(db) == ["0003_add_tags.sql"]

    async def test_an_edited_applied_file_is_refused_by_name(self, db, tmp_path):
        """Changing an applied file fails the run, naming the file; nothing new is applied."""
        folder = write(tmp_path / "m", FILES)
        await news_db.Migrations(folder).apply(db)
        (folder / "0001_create_articles.sql").write_text(
            "CREATE TABLE articles (id int PRIMARY KEY);\n", encoding="utf-8"
        )
        write(folder, {"0003_more.sql": "CREATE TABLE more (id int);"})
        with pytest.raises(news_db.MigrationChecksumError, match=r"0001_create_articles\.sql") as e:
            await news_db.Migrations(folder).apply(db)
        assert e.value.name == "0001_create_articles.sql"
        assert await db.fetchval("SELECT to_regclass('more')") is None
        states = await news_db.Migrations(folder).status(db)
        assert [(s.name, s.state) for s in states] == [
            ("0001_create_articles.sql", "changed"),
            ("0002_add_section.sql", "applied"),
            ("0003_more.sql", "pending"),
        ]

    async def test_a_failing_file_rolls_back_alone(self, db, tmp_path):
        """A file that fails is rolled back (not recorded); earlier files stay applied."""
        folder = write(
            tmp_path / "m",
            {**FILES, "0003_broken.sql": "CREATE TABLE ok (id int);\nSELEC oops;\n"},
        )
        with pytest.raises(news_db.MigrationError, match=r"0003_broken.sql.*42601"):
            await news_db.Migrations(folder).apply(db)
        assert await db.fetchval("SELECT count(*) FROM news_db_migrations") == 2
        assert await db.fetchval("SELECT to_regclass('ok')") is None

    async def test_no_transaction_files_run_statement_by_statement(self, db, tmp_path):
        """A file marked no-transaction can CREATE INDEX CONCURRENTLY."""
        folder = write(
            tmp_path / "m",
            {
                **FILES,
                "0003_index.sql": (
                    "-- news-db: no-transaction\n"
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS articles_title ON articles (title);\n"
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS articles_section "
                    "ON articles (section);\n"
                ),
            },
        )
        assert "0003_index.sql" in await news_db.Migrations(folder).apply(db)
        indexes = await db.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'articles'")
        assert {"articles_title", "articles_section"} <= {r["indexname"] for r in indexes}

    async def test_the_same_index_in_a_transaction_fails(self, db, tmp_path):
        """Without the marker, CREATE INDEX CONCURRENTLY fails (it cannot run in a transaction)."""
        folder = write(
            tmp_path / "m",
            {**FILES, "0003_index.sql": "CREATE INDEX CONCURRENTLY a_t ON articles (title);"},
        )
        with pytest.raises(news_db.MigrationError, match=r"0003_index\.sql"):
            await news_db.Migrations(folder).apply(db)

    def test_file_names_and_numbers_are_checked(self, tmp_path):
        """A badly named file or a duplicate number is refused, naming the file."""
        bad = write(tmp_path / "bad", {"1_x.sql": "SELECT 1;"})
        with pytest.raises(news_db.MigrationError, match=r"1_x\.sql"):
            news_db.Migrations(bad).files()
        dup = write(tmp_path / "dup", {"0001_a.sql": "", "0001_b.sql": ""})
        with pytest.raises(news_db.MigrationError, match="share the number"):
            news_db.Migrations(dup).files()
        with pytest.raises(news_db.MigrationError, match="does not exist"):
            news_db.Migrations(tmp_path / "nowhere").files()

    def test_migrations_from_a_package_folder(self, tmp_path, monkeypatch):
        """package:folder reads the files shipped inside an importable package."""
        write(tmp_path / "shop" / "migrations", FILES)
        (tmp_path / "shop" / "__init__.py").write_text("")
        monkeypatch.syspath_prepend(str(tmp_path))
        names = [m.name for m in news_db.Migrations("shop:migrations").files()]
        assert names == list(FILES)

    def test_statements_are_split_outside_quotes_and_bodies(self):
        """The splitter keeps semicolons inside strings, comments and dollar-quoted bodies."""
        sql = (
            "-- a; comment\nCREATE TABLE t (v text DEFAULT 'a;b');\n"
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$;\n"
            "/* x; y */ SELECT 'it''s;';"
        )
        assert len(split_statements(sql)) == 3

    async def test_migrate_on_start(self, postgres, tmp_path):
        """migrate_on_start applies the files in start(), before the first query."""
        settings = postgres.settings(
            metrics="off", migrations=str(write(tmp_path / "m", FILES)), migrate_on_start=True
        )
        async with news_db.Database(settings) as db:
            assert await db.fetchval("SELECT count(*) FROM articles") == 1

    def test_migrate_on_start_needs_a_folder(self):
        """migrate_on_start without migrations is a settings error."""
        with pytest.raises(news_db.DBConfigError, match="migrations"):
            news_db.DatabaseSettings(migrate_on_start=True)


class TestConcurrentRuns:
    def test_three_processes_migrating_at_once_apply_each_file_once(self, postgres, tmp_path):
        """Three replicas starting together: the lock serialises them; each file runs once."""
        files = {
            **FILES,
            # Counts its own runs: a second run of this file would add a second row.
            "0003_slow.sql": (
                "CREATE TABLE runs (n serial PRIMARY KEY);\n"
                "INSERT INTO runs DEFAULT VALUES;\nSELECT pg_sleep(0.5);\n"
            ),
        }
        folder = write(tmp_path / "m", files)
        env = {**os.environ, "DB_DSN": postgres.dsn, "DB_MIGRATIONS": str(folder)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "news_db", "migrate"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outputs
        summaries = sorted(out.strip().splitlines()[-1] for out, _ in outputs)
        assert summaries == ["3 migration(s) applied", "up to date", "up to date"], outputs
        assert postgres.fetch("SELECT count(*) AS n FROM runs") == [{"n": 1}]
        history = postgres.fetch("SELECT version FROM news_db_migrations ORDER BY version")
        assert [r["version"] for r in history] == [1, 2, 3]


class TestCLI:
    def test_migrate_status_and_new(self, postgres, tmp_path):
        """The CLI applies, lists and creates migrations, reading settings from DB_*."""
        folder = write(tmp_path / "m", FILES)
        env = {"DB_DSN": postgres.dsn, "DB_MIGRATIONS": str(folder)}
        status = cli("status", env=env, cwd=tmp_path)
        assert status.returncode == 0, status.stderr
        assert status.stdout.count("pending") == 3  # two rows and the summary
        migrate = cli("migrate", env=env, cwd=tmp_path)
        assert migrate.returncode == 0, migrate.stderr
        assert "applied 0001_create_articles.sql" in migrate.stdout
        new = cli("new", "Add tags!", env=env, cwd=tmp_path)
        assert new.returncode == 0, new.stderr
        assert Path(new.stdout.strip()) == folder / "0003_add_tags.sql"
        listed = cli("status", env=env, cwd=tmp_path)
        assert "applied  0001_create_articles.sql" in listed.stdout
        assert "pending  0003_add_tags.sql" in listed.stdout

    def test_edited_file_fails_the_cli_with_its_name(self, postgres, tmp_path):
        """Migrate exits 1 and names the edited file; status exits 1 and shows 'changed'."""
        folder = write(tmp_path / "m", FILES)
        env = {"DB_DSN": postgres.dsn, "DB_MIGRATIONS": str(folder)}
        assert cli("migrate", env=env, cwd=tmp_path).returncode == 0
        (folder / "0002_add_section.sql").write_text("SELECT 2;", encoding="utf-8")
        result = cli("migrate", env=env, cwd=tmp_path)
        assert result.returncode == 1
        assert "MigrationChecksumError" in result.stderr
        assert "0002_add_section.sql" in result.stderr
        status = cli("status", env=env, cwd=tmp_path)
        assert status.returncode == 1
        assert "changed  0002_add_section.sql" in status.stdout

    def test_missing_folder_setting_is_a_usage_error(self, tmp_path):
        """Without DB_MIGRATIONS or --migrations the CLI exits 2 saying what to set."""
        result = cli("migrate", env={"DB_MIGRATIONS": ""}, cwd=tmp_path)
        assert result.returncode == 2
        assert "DB_MIGRATIONS" in result.stderr

    def test_settings_round_trip_through_the_environment(self):
        """news-config loads DatabaseSettings from DB_* variables, the DSN as a Secret."""
        import news_config

        loaded = news_config.load(
            news_db.DatabaseSettings,
            prefix="DB_",
            env_file=None,
            environ={
                "DB_DSN": "postgresql://u:pw@h:6432/news",
                "DB_MAX_SIZE": "20",
                "DB_STATEMENT_CACHE_SIZE": "0",
                "DB_TLS__MODE": "require",
            },
        )
        assert loaded.max_size == 20
        assert loaded.statement_cache_size == 0
        assert loaded.tls.mode == "require"
        assert "pw" not in repr(loaded)
        assert loaded.dsn is not None
        assert loaded.dsn.reveal().endswith("/news")
        assert msgspec.structs.replace(loaded, max_size=3).max_size == 3
