"""API keys: issued once in clear, stored as HMAC-SHA256(pepper, key), checked in constant time.

A key is ``<prefix>_<id>_<secret>``: the prefix makes leaked keys easy to spot (secret
scanners, logs), the 12-hex-digit id finds the stored record and is safe to log, the secret is
32 random bytes (URL-safe base64). Only the HMAC of the whole key under a server-side pepper is
stored (not argon2: keys are random, not guessable passwords, and they are checked on every
request). The pepper's id is stored next to the digest, so peppers rotate: a key hashed under
an older pepper still verifies, and is re-hashed under the current one when next used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

import msgspec

import news_log
from news_auth._errors import APIKeyStoreError, InvalidAPIKeyError
from news_auth._principal import Principal
from news_config import Secret

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from news_auth._settings import APIKeySettings

__all__ = [
    "APIKeyRecord",
    "APIKeyStore",
    "APIKeys",
    "IssuedAPIKey",
    "MemoryAPIKeyStore",
]

_log: Final = news_log.get_logger("news_auth.api_keys")
_KEY: Final = re.compile(r"([a-z][a-z0-9]{0,15})_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_MAX_KEY_LENGTH: Final = 16 + 1 + 12 + 1 + 43


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class APIKeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored API key: everything but the key itself.

    Attributes:
        key_id: The public id (12 hex digits, also inside the key).
        name: What the key is for ("ingest robot").
        subject: Who acts with it (becomes `Principal.subject`).
        scopes: What it may do.
        digest: HMAC-SHA256 of the whole key under the pepper ``pepper_id``.
        pepper_id: Which pepper made ``digest``.
        created_at: When it was issued (UTC).
        expires_at: When it stops working (None: never).
        revoked_at: When it was revoked (None: it was not).
        last_used_at: The last-used stamp (throttled: at most once per interval).
        rotated_from: The id of the key this one replaced, if any.
    """

    key_id: str
    name: str
    subject: str
    scopes: frozenset[str]
    digest: bytes
    pepper_id: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    rotated_from: str | None = None

    def is_active(self, now: dt.datetime) -> bool:
        """Tell whether the key works at ``now`` (not revoked, not expired)."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class IssuedAPIKey(msgspec.Struct, frozen=True, kw_only=True):
    """A newly issued key: show ``key.reveal()`` to its owner once; it is not stored anywhere.

    Attributes:
        key: The key in clear (a `news_config.Secret`, masked when printed).
        record: What was stored.
    """

    key: Secret
    record: APIKeyRecord


@runtime_checkable
class APIKeyStore(Protocol):
    """Where API key records live (in memory, PostgreSQL...). Every method is a coroutine.

    Implementations raise `APIKeyStoreError` (cause kept) when the storage fails.
    """

    async def insert(self, record: APIKeyRecord) -> None:
        """Store a new record (an existing ``key_id`` raises `APIKeyStoreError`)."""
        ...

    async def get(self, key_id: str) -> APIKeyRecord | None:
        """Return the record of ``key_id``, or None."""
        ...

    async def list(self, *, subject: str | None = None) -> list[APIKeyRecord]:
        """Return every record (of ``subject``), oldest first."""
        ...

    async def revoke(self, key_id: str, at: dt.datetime) -> bool:
        """Mark ``key_id`` revoked at ``at`` (kept if already revoked); False if unknown."""
        ...

    async def expire(self, key_id: str, at: dt.datetime) -> bool:
        """Make ``key_id`` expire at ``at`` unless it expires earlier; False if unknown."""
        ...

    async def touch(self, key_id: str, at: dt.datetime) -> None:
        """Set the last-used stamp of ``key_id`` to ``at``."""
        ...

    async def rehash(self, key_id: str, digest: bytes, pepper_id: str) -> None:
        """Replace the digest of ``key_id`` (after a pepper rotation)."""
        ...


class MemoryAPIKeyStore:
    """An `APIKeyStore` in this process's memory (tests, development, a single instance).

    Records are lost when the process exits.
    """

    __slots__ = ("_records",)

    def __init__(self, records: Iterable[APIKeyRecord] = ()) -> None:
        """Start with ``records`` (none by default)."""
        self._records: dict[str, APIKeyRecord] = {r.key_id: r for r in records}

    async def insert(self, record: APIKeyRecord) -> None:
        """Store a new record."""
        if record.key_id in self._records:
            raise APIKeyStoreError(f"an API key with id {record.key_id!r} exists already")
        self._records[record.key_id] = record

    async def get(self, key_id: str) -> APIKeyRecord | None:
        """Return the record of ``key_id``, or None."""
        return self._records.get(key_id)

    async def list(self, *, subject: str | None = None) -> list[APIKeyRecord]:
        """Return every record (of ``subject``), oldest first."""
        found = [r for r in self._records.values() if subject is None or r.subject == subject]
        return sorted(found, key=lambda r: (r.created_at, r.key_id))

    async def revoke(self, key_id: str, at: dt.datetime) -> bool:
        """Mark ``key_id`` revoked."""
        record = self._records.get(key_id)
        if record is None:
            return False
        if record.revoked_at is None:
            self._records[key_id] = msgspec.structs.replace(record, revoked_at=at)
        return True

    async def expire(self, key_id: str, at: dt.datetime) -> bool:
        """Make ``key_id`` expire at ``at`` unless it expires earlier."""
        record = self._records.get(key_id)
        if record is None:
            return False
        if record.expires_at is None or at < record.expires_at:
            self._records[key_id] = msgspec.structs.replace(record, expires_at=at)
        return True

    async def touch(self, key_id: str, at: dt.datetime) -> None:
        """Set the last-used stamp."""
        record = self._records.get(key_id)
        if record is not None:
            self._records[key_id] = msgspec.structs.replace(record, last_used_at=at)

    async def rehash(self, key_id: str, digest: bytes, pepper_id: str) -> None:
        """Replace the digest."""
        record = self._records.get(key_id)
        if record is not None:
            self._records[key_id] = msgspec.structs.replace(
                record, digest=digest, pepper_id=pepper_id
            )


class APIKeys:
    """Issue, verify, revoke and rotate API keys kept in an `APIKeyStore`.

    Example:
        >>> keys = APIKeys(settings, MemoryAPIKeyStore())  # doctest: +SKIP
        >>> issued = await keys.issue(
        ...     name="ingest", subject="svc:ingest", scopes={"articles:write"}
        ... )  # doctest: +SKIP
        >>> principal = await keys.verify(issued.key.reveal())  # doctest: +SKIP
    """

    __slots__ = ("_dummy_pepper", "_now", "_peppers", "_touched", "settings", "store")

    def __init__(
        self,
        settings: APIKeySettings,
        store: APIKeyStore,
        *,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        """Use ``store`` with the peppers and prefix of ``settings``."""
        self.settings = settings
        self.store = store
        self._now = now
        self._peppers = {pid: p.reveal().encode() for pid, p in settings.peppers.items()}
        self._dummy_pepper = secrets.token_bytes(32)
        self._touched: dict[str, dt.datetime] = {}

    def _digest(self, key: str, pepper: bytes) -> bytes:
        return hmac.new(pepper, key.encode("ascii"), hashlib.sha256).digest()

    # -- issuing ---------------------------------------------------------------------------

    async def issue(
        self,
        *,
        name: str,
        subject: str,
        scopes: Iterable[str] = (),
        expires_in: float | None = None,
        rotated_from: str | None = None,
    ) -> IssuedAPIKey:
        """Make a new key and store its record; the key in clear is returned only here.

        Args:
            name: What the key is for.
            subject: Who acts with it.
            scopes: What it may do.
            expires_in: Seconds until it expires (None: never).
            rotated_from: The id of the key it replaces (set by `rotate`).

        Raises:
            ValueError: ``expires_in`` is not positive.
            APIKeyStoreError: The store failed.
        """
        if expires_in is not None and expires_in <= 0:
            raise ValueError(f"expires_in must be positive, got {expires_in}")
        now = self._now()
        key_id = secrets.token_hex(6)
        key = f"{self.settings.prefix}_{key_id}_{secrets.token_urlsafe(32)}"
        pepper_id = self.settings.current_pepper_id
        record = APIKeyRecord(
            key_id=key_id,
            name=name,
            subject=subject,
            scopes=frozenset(scopes),
            digest=self._digest(key, self._peppers[pepper_id]),
            pepper_id=pepper_id,
            created_at=now,
            expires_at=None if expires_in is None else now + dt.timedelta(seconds=expires_in),
            rotated_from=rotated_from,
        )
        await self.store.insert(record)
        _log.info(
            "API key issued",
            key_id=key_id,
            subject=subject,
            name=name,
            scopes=sorted(record.scopes),
        )
        return IssuedAPIKey(key=Secret(key), record=record)

    async def revoke(self, key_id: str) -> bool:
        """Revoke ``key_id`` at once; False if there is no such key."""
        done = await self.store.revoke(key_id, self._now())
        if done:
            _log.info("API key revoked", key_id=key_id)
        return done

    async def rotate(self, key_id: str, *, overlap: float) -> IssuedAPIKey:
        """Issue a replacement of ``key_id`` and let the old key live ``overlap`` more seconds.

        The new key has the old one's name, subject, scopes and end of life; its users switch
        to it during the overlap, without downtime.

        Raises:
            InvalidAPIKeyError: ``key_id`` is unknown, revoked or expired (reason ``unknown``,
                ``revoked``, ``expired``).
            ValueError: ``overlap`` is negative.
        """
        if overlap < 0:
            raise ValueError(f"overlap must be >= 0 seconds, got {overlap}")
        old = await self.store.get(key_id)
        now = self._now()
        if old is None:
            raise InvalidAPIKeyError(f"no API key {key_id!r}", reason="unknown")
        if old.revoked_at is not None:
            raise InvalidAPIKeyError(f"API key {key_id!r} is revoked", reason="revoked")
        if not old.is_active(now):
            raise InvalidAPIKeyError(f"API key {key_id!r} has expired", reason="expired")
        remaining = None if old.expires_at is None else (old.expires_at - now).total_seconds()
        new = await self.issue(
            name=old.name,
            subject=old.subject,
            scopes=old.scopes,
            expires_in=remaining,
            rotated_from=key_id,
        )
        await self.store.expire(key_id, now + dt.timedelta(seconds=overlap))
        _log.info("API key rotated", key_id=key_id, new_key_id=new.record.key_id, overlap_s=overlap)
        return new

    async def list(self, *, subject: str | None = None) -> list[APIKeyRecord]:
        """Every key record (of ``subject``): ids, names, scopes, dates, never the keys."""
        return await self.store.list(subject=subject)

    # -- verifying -------------------------------------------------------------------------

    def looks_like_key(self, value: str) -> bool:
        """Tell whether ``value`` has this service's key shape (prefix included)."""
        return value.startswith(self.settings.prefix + "_") and bool(_KEY.fullmatch(value))

    async def verify(self, key: str) -> Principal:
        """Check ``key`` and return its `Principal` (``method="api_key"``, ``client_id`` = id).

        Unknown keys and wrong secrets take the same path (an HMAC and a constant-time compare)
        and give the same answer. A key hashed under an older pepper is re-hashed under the
        current one; the last-used stamp is written at most once per ``last_used_interval``.

        Raises:
            InvalidAPIKeyError: ``reason`` is ``malformed``, ``unknown``, ``revoked`` or
                ``expired``.
            APIKeyStoreError: The store failed.
        """
        if len(key) > _MAX_KEY_LENGTH or not self.looks_like_key(key):
            raise InvalidAPIKeyError("not an API key of this service", reason="malformed")
        key_id = key.split("_", 2)[1]
        record = await self.store.get(key_id)
        pepper = None if record is None else self._peppers.get(record.pepper_id)
        if record is None or pepper is None:
            hmac.compare_digest(self._digest(key, self._dummy_pepper), bytes(32))  # same work
            if record is not None:
                _log.error(
                    "API key hashed with a pepper that is no longer configured",
                    key_id=key_id,
                    pepper_id=record.pepper_id,
                )
            raise InvalidAPIKeyError("unknown API key", reason="unknown")
        if not hmac.compare_digest(self._digest(key, pepper), record.digest):
            raise InvalidAPIKeyError("unknown API key", reason="unknown")
        now = self._now()
        if record.revoked_at is not None:
            raise InvalidAPIKeyError(f"API key {key_id} is revoked", reason="revoked")
        if record.expires_at is not None and now >= record.expires_at:
            raise InvalidAPIKeyError(f"API key {key_id} has expired", reason="expired")
        current = self.settings.current_pepper_id
        if record.pepper_id != current:
            await self.store.rehash(key_id, self._digest(key, self._peppers[current]), current)
            _log.info(
                "API key re-hashed under the current pepper",
                key_id=key_id,
                old_pepper_id=record.pepper_id,
                pepper_id=current,
            )
        await self._stamp(record, now)
        return Principal(
            subject=record.subject,
            scopes=record.scopes,
            method="api_key",
            client_id=key_id,
            expires_at=None if record.expires_at is None else record.expires_at.timestamp(),
        )

    async def _stamp(self, record: APIKeyRecord, now: dt.datetime) -> None:
        interval = dt.timedelta(seconds=self.settings.last_used_interval)
        last = self._touched.get(record.key_id, record.last_used_at)
        if record.last_used_at is not None and (last is None or record.last_used_at > last):
            last = record.last_used_at
        if last is not None and now - last < interval:
            return
        self._touched[record.key_id] = now
        await self.store.touch(record.key_id, now)
