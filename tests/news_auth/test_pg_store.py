"""API keys in a real PostgreSQL through news-db: the store, the migration, faults."""

from __future__ import annotations

import datetime as dt

import pytest

import news_db
from news_auth import (
    APIKeyRecord,
    APIKeys,
    APIKeySettings,
    APIKeyStore,
    APIKeyStoreError,
    InvalidAPIKeyError,
)
from news_auth.db import MIGRATIONS, TABLE, PostgresAPIKeyStore
from news_config import Secret

T0 = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def postgres_migrations():
    """Every test database starts with news-auth's API key table."""
    return MIGRATIONS


@pytest.fixture
async def db(postgres):
    """A started news-db Database on the test's own database."""
    database = news_db.Database(postgres.settings(), name="auth-test")
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


@pytest.fixture
def store(db):
    """The PostgreSQL store."""
    return PostgresAPIKeyStore(db)


def record(key_id: str = "0123456789ab", **changes) -> APIKeyRecord:
    """A record with sensible values."""
    fields = {
        "key_id": key_id,
        "name": "robot",
        "subject": "svc",
        "scopes": frozenset({"a", "b"}),
        "digest": bytes(range(32)),
        "pepper_id": "p1",
        "created_at": T0,
    }
    fields.update(changes)
    return APIKeyRecord(**fields)


class Clock:
    """A settable UTC clock."""

    def __init__(self) -> None:
        self.value = T0

    def __call__(self) -> dt.datetime:
        """Now."""
        return self.value


class TestStore:
    """PostgresAPIKeyStore keeps records exactly as the memory store does."""

    async def test_is_a_store(self, store):
        """It satisfies the APIKeyStore protocol."""
        assert isinstance(store, APIKeyStore)

    async def test_round_trip(self, store):
        """A record comes back field for field; unknown ids are None."""
        full = record(expires_at=T0 + dt.timedelta(days=1), rotated_from="ffffffffffff")
        await store.insert(full)
        assert await store.get(full.key_id) == full
        assert await store.get("aaaaaaaaaaaa") is None

    async def test_duplicate_id(self, store):
        """Inserting an existing id raises APIKeyStoreError with the cause kept."""
        await store.insert(record())
        with pytest.raises(APIKeyStoreError, match="exists already") as info:
            await store.insert(record())
        assert isinstance(info.value.__cause__, news_db.UniqueViolationError)

    async def test_list_order_and_subject(self, store):
        """list() is oldest first, optionally of one subject."""
        await store.insert(record("00000000000b", created_at=T0 + dt.timedelta(seconds=2)))
        await store.insert(
            record("00000000000a", created_at=T0 + dt.timedelta(seconds=1), subject="other")
        )
        await store.insert(record("00000000000c", created_at=T0 + dt.timedelta(seconds=1)))
        assert [r.key_id for r in await store.list()] == [
            "00000000000a",
            "00000000000c",
            "00000000000b",
        ]
        assert [r.key_id for r in await store.list(subject="svc")] == [
            "00000000000c",
            "00000000000b",
        ]

    async def test_revoke_keeps_the_first_time(self, store):
        """revoke() sets revoked_at once; unknown ids say False."""
        await store.insert(record())
        assert await store.revoke("0123456789ab", T0) is True
        assert await store.revoke("0123456789ab", T0 + dt.timedelta(hours=1)) is True
        assert (await store.get("0123456789ab")).revoked_at == T0
        assert await store.revoke("aaaaaaaaaaaa", T0) is False

    async def test_expire_never_extends(self, store):
        """expire() moves the end earlier, never later; unknown ids say False."""
        await store.insert(record())
        later, sooner = T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=1)
        assert await store.expire("0123456789ab", later) is True
        assert (await store.get("0123456789ab")).expires_at == later
        await store.expire("0123456789ab", sooner)
        await store.expire("0123456789ab", later)
        assert (await store.get("0123456789ab")).expires_at == sooner
        assert await store.expire("aaaaaaaaaaaa", T0) is False

    async def test_touch_never_goes_back(self, store):
        """touch() sets last_used_at, and an older stamp does not replace a newer one."""
        await store.insert(record())
        await store.touch("0123456789ab", T0 + dt.timedelta(minutes=5))
        await store.touch("0123456789ab", T0)
        assert (await store.get("0123456789ab")).last_used_at == T0 + dt.timedelta(minutes=5)

    async def test_rehash(self, store):
        """rehash() replaces digest and pepper id."""
        await store.insert(record())
        await store.rehash("0123456789ab", bytes(32), "p2")
        stored = await store.get("0123456789ab")
        assert (stored.digest, stored.pepper_id) == (bytes(32), "p2")

    async def test_schema_checks(self, store):
        """The table refuses ids that are not 12 hex digits and digests that are not 32 bytes."""
        with pytest.raises(APIKeyStoreError):
            await store.insert(record("not-an-id"))
        with pytest.raises(APIKeyStoreError):
            await store.insert(record(digest=b"short"))


class TestAPIKeysOnPostgres:
    """The whole key life cycle against PostgreSQL."""

    async def test_issue_verify_rotate_revoke(self, store, db):
        """Issue, verify (stamping last use), rotate with overlap, revoke: as in memory."""
        clock = Clock()
        settings = APIKeySettings(
            peppers={"p1": Secret("q" * 40)},
            current_pepper_id="p1",
            prefix="nr",
            last_used_interval=60,
        )
        keys = APIKeys(settings, store, now=clock)
        issued = await keys.issue(name="robot", subject="svc:robot", scopes={"articles:write"})
        principal = await keys.verify(issued.key.reveal())
        assert principal.subject == "svc:robot"
        assert (await store.get(issued.record.key_id)).last_used_at == T0
        stored = await db.fetchval(
            f"SELECT digest FROM {TABLE} WHERE key_id = $1", issued.record.key_id
        )
        assert bytes(stored) == issued.record.digest
        assert issued.key.reveal().encode() not in bytes(stored)
        new = await keys.rotate(issued.record.key_id, overlap=60)
        clock.value = T0 + dt.timedelta(seconds=61)
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.verify(issued.key.reveal())
        assert info.value.reason == "expired"
        await keys.verify(new.key.reveal())
        await keys.revoke(new.record.key_id)
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.verify(new.key.reveal())
        assert info.value.reason == "revoked"

    async def test_pepper_rotation_rehashes_in_the_table(self, store):
        """A key of an old pepper is re-hashed under the current one in PostgreSQL."""
        clock = Clock()
        old = APIKeySettings(peppers={"p1": Secret("q" * 40)}, current_pepper_id="p1")
        issued = await APIKeys(old, store, now=clock).issue(name="n", subject="s")
        new = APIKeySettings(
            peppers={"p1": Secret("q" * 40), "p2": Secret("r" * 40)}, current_pepper_id="p2"
        )
        await APIKeys(new, store, now=clock).verify(issued.key.reveal())
        assert (await store.get(issued.record.key_id)).pepper_id == "p2"


class TestFaults:
    """A database that is gone makes the store raise APIKeyStoreError, not hang."""

    async def test_stopped_server(self, postgres_private):
        """With the server stopped, get() raises APIKeyStoreError within the timeouts."""
        from news_db import Migrations

        settings = news_db.DatabaseSettings(
            dsn=Secret(postgres_private.dsn),
            min_size=1,
            max_size=2,
            connect_timeout=2.0,
            acquire_timeout=3.0,
        )
        database = news_db.Database(settings, name="auth-fault")
        await database.start()
        try:
            await Migrations(MIGRATIONS).apply(database)
            store = PostgresAPIKeyStore(database)
            await store.insert(record())
            postgres_private.stop()
            with pytest.raises(APIKeyStoreError, match="get failed"):
                await store.get("0123456789ab")
        finally:
            await database.stop()
