"""API keys: issue once, HMAC at rest, constant-time checks, expiry, revocation, rotation."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

import msgspec
import pytest

import news_auth
from news_auth import (
    APIKeyRecord,
    APIKeys,
    APIKeySettings,
    APIKeyStore,
    AuthConfigError,
    InvalidAPIKeyError,
    MemoryAPIKeyStore,
)
from news_config import Secret
from news_log.testing import capture_logs

PEPPER_A = "a" * 40
PEPPER_B = "b" * 40


class Now:
    """A settable UTC clock."""

    def __init__(self) -> None:
        self.value = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        """The current fake time."""
        return self.value

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self.value += dt.timedelta(seconds=seconds)


def settings(current: str = "p1", **peppers: str) -> APIKeySettings:
    """Settings with ``peppers`` (id=value), ``current`` hashing new keys."""
    peppers = peppers or {"p1": PEPPER_A}
    return APIKeySettings(
        peppers={k: Secret(v) for k, v in peppers.items()},
        current_pepper_id=current,
        prefix="nr",
        last_used_interval=60,
    )


@pytest.fixture
def now():
    """A fake clock."""
    return Now()


class CountingStore(MemoryAPIKeyStore):
    """A memory store that records its last-used writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[dt.datetime] = []

    async def touch(self, key_id, at):
        """Record the write, then do it."""
        self.writes.append(at)
        await super().touch(key_id, at)


@pytest.fixture
def store():
    """An empty in-memory store that counts last-used writes."""
    return CountingStore()


@pytest.fixture
def keys(store, now):
    """The service over the store."""
    return APIKeys(settings(), store, now=now)


def reason(exc_info) -> str:
    """The reason of a caught InvalidAPIKeyError."""
    return exc_info.value.reason


class TestIssue:
    """issue() returns the key once and stores only its HMAC."""

    async def test_key_shape(self, keys):
        """<prefix>_<12 hex id>_<43 URL-safe characters>."""
        issued = await keys.issue(name="ingest", subject="svc:ingest", scopes={"articles:write"})
        key = issued.key.reveal()
        assert re.fullmatch(r"nr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
        assert key.split("_")[1] == issued.record.key_id
        assert "nr_" not in repr(issued)  # the key is a Secret

    async def test_only_the_hmac_is_stored(self, keys, store):
        """The stored digest is HMAC-SHA256(pepper, key); the key is nowhere in the record."""
        issued = await keys.issue(name="n", subject="s")
        record = await store.get(issued.record.key_id)
        key = issued.key.reveal()
        assert record.digest == hmac.new(PEPPER_A.encode(), key.encode(), hashlib.sha256).digest()
        assert record.pepper_id == "p1"
        assert key.encode() not in msgspec.msgpack.encode(record)
        assert key.split("_", 2)[2].encode() not in msgspec.msgpack.encode(record)

    async def test_record_fields(self, keys, now):
        """Name, subject, scopes, creation and expiry dates are recorded."""
        issued = await keys.issue(
            name="robot", subject="svc:robot", scopes=["a", "b", "a"], expires_in=3600
        )
        record = issued.record
        assert (record.name, record.subject, record.scopes) == (
            "robot",
            "svc:robot",
            frozenset({"a", "b"}),
        )
        assert record.created_at == now.value
        assert record.expires_at == now.value + dt.timedelta(hours=1)
        assert record.revoked_at is None
        assert record.last_used_at is None
        assert record.rotated_from is None

    async def test_keys_are_unique(self, keys):
        """Two keys never share id or secret."""
        a, b = await keys.issue(name="a", subject="s"), await keys.issue(name="b", subject="s")
        assert a.record.key_id != b.record.key_id
        assert a.key.reveal().split("_", 2)[2] != b.key.reveal().split("_", 2)[2]

    async def test_bad_expiry(self, keys):
        """expires_in must be positive."""
        with pytest.raises(ValueError, match="expires_in"):
            await keys.issue(name="a", subject="s", expires_in=0)

    async def test_issue_is_logged_without_the_key(self, keys):
        """The log names the key id and subject, never the key."""
        with capture_logs() as lines:
            issued = await keys.issue(name="a", subject="s", scopes={"x"})
        assert lines[-1]["msg"] == "API key issued"
        assert lines[-1]["key_id"] == issued.record.key_id
        assert issued.key.reveal() not in str(lines)

    async def test_list(self, keys, now):
        """list() gives records (of a subject), oldest first."""
        a = await keys.issue(name="a", subject="s1")
        now.advance(1)
        b = await keys.issue(name="b", subject="s2")
        now.advance(1)
        c = await keys.issue(name="c", subject="s1")
        assert [r.key_id for r in await keys.list()] == [
            a.record.key_id,
            b.record.key_id,
            c.record.key_id,
        ]
        assert [r.key_id for r in await keys.list(subject="s1")] == [
            a.record.key_id,
            c.record.key_id,
        ]


class TestVerify:
    """verify() accepts live keys and refuses everything else, each with its reason."""

    async def test_valid_key_gives_principal(self, keys):
        """A live key: subject, scopes, method api_key, client_id = key id."""
        issued = await keys.issue(
            name="n", subject="svc:ingest", scopes={"articles:write"}, expires_in=60
        )
        principal = await keys.verify(issued.key.reveal())
        assert principal.subject == "svc:ingest"
        assert principal.scopes == frozenset({"articles:write"})
        assert principal.method == "api_key"
        assert principal.client_id == issued.record.key_id
        assert principal.expires_at == issued.record.expires_at.timestamp()
        assert principal.claims == {}

    @pytest.mark.parametrize(
        "key",
        [
            "",
            "nr",
            "nr_",
            "nr_0123456789ab_",
            "xx_0123456789ab_" + "a" * 43,
            "nr_0123456789AB_" + "a" * 43,
            "nr_0123456789ab_" + "a" * 42,
            "nr_0123456789ab_" + "a" * 44,
            "nr_0123456789ab_" + "a" * 42 + "!",
            "nr_0123456789ab_" + "a" * 4000,
        ],
    )
    async def test_malformed(self, keys, key):
        """Anything not shaped like this service's key: malformed, without a store lookup."""
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.verify(key)
        assert reason(info) == "malformed"

    async def test_unknown_id(self, keys):
        """A well-formed key with an unknown id: unknown."""
        with pytest.raises(InvalidAPIKeyError, match="unknown API key") as info:
            await keys.verify("nr_0123456789ab_" + "a" * 43)
        assert reason(info) == "unknown"

    async def test_wrong_secret(self, keys):
        """The right id with another secret: unknown (same answer as an unknown id)."""
        issued = await keys.issue(name="n", subject="s")
        prefix, key_id, secret = issued.key.reveal().split("_", 2)
        other = secret[:-1] + ("A" if secret[-1] != "A" else "B")
        with pytest.raises(InvalidAPIKeyError, match="unknown API key") as info:
            await keys.verify(f"{prefix}_{key_id}_{other}")
        assert reason(info) == "unknown"

    async def test_revoked(self, keys):
        """After revoke(): revoked; revoking an unknown id says False."""
        issued = await keys.issue(name="n", subject="s")
        assert await keys.revoke(issued.record.key_id) is True
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.verify(issued.key.reveal())
        assert reason(info) == "revoked"
        assert await keys.revoke("0123456789ab") is False

    async def test_expired(self, keys, now):
        """At or after expires_at: expired; just before: fine."""
        issued = await keys.issue(name="n", subject="s", expires_in=60)
        now.advance(59)
        await keys.verify(issued.key.reveal())
        now.advance(1)
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.verify(issued.key.reveal())
        assert reason(info) == "expired"

    async def test_store_failure_propagates(self, now):
        """A failing store raises APIKeyStoreError, not a rejection."""

        class Broken(MemoryAPIKeyStore):
            async def get(self, key_id):
                raise news_auth.APIKeyStoreError("database down")

        service = APIKeys(settings(), Broken(), now=now)
        with pytest.raises(news_auth.APIKeyStoreError):
            await service.verify("nr_0123456789ab_" + "a" * 43)

    def test_memory_store_is_a_store(self):
        """MemoryAPIKeyStore satisfies the APIKeyStore protocol."""
        assert isinstance(MemoryAPIKeyStore(), APIKeyStore)


class TestLastUsed:
    """The last-used stamp is written at most once per interval."""

    async def test_throttled(self, keys, store, now):
        """Many uses in one interval write one stamp; the next interval writes another."""
        issued = await keys.issue(name="n", subject="s")
        key_id = issued.record.key_id
        writes = store.writes
        for _ in range(10):
            await keys.verify(issued.key.reveal())
            now.advance(1)
        assert writes == [dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)]
        now.advance(50)  # 60 s after the first stamp
        await keys.verify(issued.key.reveal())
        assert len(writes) == 2
        assert (await store.get(key_id)).last_used_at == now.value

    async def test_stamp_from_another_instance_counts(self, store, now):
        """A recent stamp in the store (another process) is not written again."""
        first = APIKeys(settings(), store, now=now)
        issued = await first.issue(name="n", subject="s")
        await first.verify(issued.key.reveal())
        now.advance(10)
        second = APIKeys(settings(), store, now=now)
        store.writes.clear()
        await second.verify(issued.key.reveal())
        assert store.writes == []

    async def test_zero_interval_stamps_every_use(self, store, now):
        """last_used_interval=0 writes every use."""
        s = msgspec.structs.replace(settings(), last_used_interval=0)
        service = APIKeys(s, store, now=now)
        issued = await service.issue(name="n", subject="s")
        await service.verify(issued.key.reveal())
        now.advance(0.001)
        await service.verify(issued.key.reveal())
        assert (await store.get(issued.record.key_id)).last_used_at == now.value


class TestRotation:
    """rotate() issues a replacement and lets the old key overlap for a while."""

    async def test_overlap_then_only_the_new_key(self, keys, now):
        """Both keys work during the overlap; afterwards only the new one."""
        old = await keys.issue(name="robot", subject="svc", scopes={"a"})
        new = await keys.rotate(old.record.key_id, overlap=300)
        assert new.record.rotated_from == old.record.key_id
        assert (new.record.name, new.record.subject, new.record.scopes) == (
            "robot",
            "svc",
            frozenset({"a"}),
        )
        now.advance(299)
        await keys.verify(old.key.reveal())
        await keys.verify(new.key.reveal())
        now.advance(1)
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.verify(old.key.reveal())
        assert reason(info) == "expired"
        await keys.verify(new.key.reveal())

    async def test_rotation_keeps_an_earlier_expiry(self, keys, store, now):
        """The old key never lives longer than it would have; the new one inherits the end."""
        old = await keys.issue(name="n", subject="s", expires_in=100)
        new = await keys.rotate(old.record.key_id, overlap=1000)
        assert (await store.get(old.record.key_id)).expires_at == old.record.expires_at
        assert new.record.expires_at == old.record.expires_at

    async def test_zero_overlap_ends_the_old_key_now(self, keys):
        """overlap=0: the old key stops at once."""
        old = await keys.issue(name="n", subject="s")
        await keys.rotate(old.record.key_id, overlap=0)
        with pytest.raises(InvalidAPIKeyError):
            await keys.verify(old.key.reveal())

    async def test_cannot_rotate_dead_keys(self, keys, now):
        """Unknown, revoked and expired keys cannot be rotated; negative overlap is refused."""
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.rotate("0123456789ab", overlap=1)
        assert reason(info) == "unknown"
        revoked = await keys.issue(name="n", subject="s")
        await keys.revoke(revoked.record.key_id)
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.rotate(revoked.record.key_id, overlap=1)
        assert reason(info) == "revoked"
        expired = await keys.issue(name="n", subject="s", expires_in=1)
        now.advance(2)
        with pytest.raises(InvalidAPIKeyError) as info:
            await keys.rotate(expired.record.key_id, overlap=1)
        assert reason(info) == "expired"
        live = await keys.issue(name="n", subject="s")
        with pytest.raises(ValueError, match="overlap"):
            await keys.rotate(live.record.key_id, overlap=-1)


class TestPepperRotation:
    """Keys made under an old pepper verify, and are re-hashed under the current one."""

    async def test_old_pepper_key_is_rehashed_on_use(self, store, now):
        """After p2 becomes current, a p1 key verifies and is stored under p2."""
        before = APIKeys(settings(), store, now=now)
        issued = await before.issue(name="n", subject="s")
        after = APIKeys(settings("p2", p1=PEPPER_A, p2=PEPPER_B), store, now=now)
        with capture_logs() as lines:
            await after.verify(issued.key.reveal())
        record = await store.get(issued.record.key_id)
        assert record.pepper_id == "p2"
        key = issued.key.reveal().encode()
        assert record.digest == hmac.new(PEPPER_B.encode(), key, hashlib.sha256).digest()
        assert any(line["msg"] == "API key re-hashed under the current pepper" for line in lines)
        only_p2 = APIKeys(settings("p2", p2=PEPPER_B), store, now=now)
        await only_p2.verify(issued.key.reveal())  # works without p1 now

    async def test_removed_pepper_makes_its_keys_unknown(self, store, now):
        """A key whose pepper was removed is refused (and the cause logged)."""
        issued = await APIKeys(settings(), store, now=now).issue(name="n", subject="s")
        only_p2 = APIKeys(settings("p2", p2=PEPPER_B), store, now=now)
        with capture_logs() as lines, pytest.raises(InvalidAPIKeyError) as info:
            await only_p2.verify(issued.key.reveal())
        assert reason(info) == "unknown"
        assert lines[-1]["pepper_id"] == "p1"


class TestSettings:
    """APIKeySettings refuses peppers and prefixes that cannot work."""

    def test_no_pepper(self):
        """Peppers are required."""
        with pytest.raises(AuthConfigError, match="peppers is empty"):
            APIKeySettings()

    def test_short_pepper(self):
        """A pepper shorter than 32 bytes is refused, naming its id."""
        with pytest.raises(AuthConfigError, match="'p1' is shorter than 32 bytes"):
            APIKeySettings(peppers={"p1": Secret("x" * 31)}, current_pepper_id="p1")
        APIKeySettings(peppers={"p1": Secret("x" * 32)}, current_pepper_id="p1")

    def test_current_must_exist(self):
        """current_pepper_id must be one of the peppers."""
        with pytest.raises(AuthConfigError, match="current_pepper_id 'p9'"):
            APIKeySettings(peppers={"p1": Secret(PEPPER_A)}, current_pepper_id="p9")

    def test_bad_pepper_id(self):
        """Pepper ids are 1-64 of A-Z a-z 0-9 . _ -."""
        with pytest.raises(AuthConfigError, match="must be 1-64"):
            APIKeySettings(peppers={"a b": Secret(PEPPER_A)}, current_pepper_id="a b")

    @pytest.mark.parametrize("prefix", ["", "Nr", "n_r", "1nr", "a" * 17])
    def test_bad_prefix(self, prefix):
        """The prefix is 1-16 lower-case letters and digits, starting with a letter."""
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(
                {"peppers": {"p1": PEPPER_A}, "current_pepper_id": "p1", "prefix": prefix},
                APIKeySettings,
                dec_hook=lambda t, v: Secret(v),
            )

    def test_record_is_active(self):
        """is_active: not revoked and before expiry."""
        now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        base = APIKeyRecord(
            key_id="0" * 12,
            name="n",
            subject="s",
            scopes=frozenset(),
            digest=b"",
            pepper_id="p",
            created_at=now,
        )
        assert base.is_active(now)
        assert not msgspec.structs.replace(base, revoked_at=now).is_active(now)
        assert not msgspec.structs.replace(base, expires_at=now).is_active(now)
        assert msgspec.structs.replace(base, expires_at=now + dt.timedelta(1)).is_active(now)
