"""The signing keys of the issuer: fetched from a JWKS URL (or OIDC discovery), cached.

- Fresh keys are used for ``jwks_ttl`` seconds; after that they are still used while one
  background refresh runs (requests never wait for a refresh they do not need).
- A ``kid`` that is not in the cache triggers a refetch, but at most one fetch starts per
  ``min_refresh_interval``: a flood of tokens with forged kids costs the issuer one request per
  interval, not one per token.
- When a fetch fails, the last good key set stays in use; the failure is logged once per
  interval (with how many were suppressed), and retried at that pace.
- Only signature keys of the asymmetric kinds (RSA, EC, OKP) are taken from a JWKS; an ``oct``
  key there is ignored (an HMAC secret is never published).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Final

import news_log
from news_auth._errors import KeySetError
from news_auth._fetch import FetchError, request_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from news_auth._settings import JWTSettings

__all__ = ["KeyCache", "KeySnapshot"]

_log: Final = news_log.get_logger("news_auth.jwks")
_ASYMMETRIC_KTY: Final = frozenset({"RSA", "EC", "OKP"})


class KeySnapshot:
    """One fetched key set, immutable: keys by kid and in order."""

    __slots__ = ("by_kid", "fetched_at", "keys")

    def __init__(self, keys: tuple[Any, ...], fetched_at: float) -> None:
        """Index ``keys`` (joserfc keys) by their kid."""
        self.keys = keys
        self.by_kid: dict[str, Any] = {k.kid: k for k in keys if k.kid}
        self.fetched_at = fetched_at


def parse_jwks(document: dict[str, Any], source: str) -> tuple[Any, ...]:
    """Import the usable signature keys of a JWKS document (others are logged and skipped).

    Raises:
        FetchError: The document has no ``keys`` list.
    """
    from joserfc import jwk
    from joserfc.errors import JoseError

    entries = document.get("keys")
    if not isinstance(entries, list):
        raise FetchError(f"{source}: not a JWKS document (no 'keys' list)")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in _ASYMMETRIC_KTY:
            continue  # oct keys (and garbage) are never used from a published set
        if entry.get("use", "sig") != "sig":
            continue
        public = {name: value for name, value in entry.items() if name not in _PRIVATE_MEMBERS}
        try:
            keys.append(jwk.import_key(public))
        except (JoseError, ValueError, TypeError) as exc:
            _log.warning(
                "skipping a key of the JWKS", source=source, kid=entry.get("kid"), error=str(exc)
            )
    return tuple(keys)


_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


class KeyCache:
    """The issuer's keys, refreshed on expiry, on unknown kids (rate-limited) and on failure.

    Thread-safe: one fetch runs at a time; callers that need its result wait for it.
    """

    __slots__ = (
        "_clock",
        "_failing",
        "_failure_log",
        "_fetch_lock",
        "_jwks_url",
        "_last_attempt",
        "_refreshing",
        "_settings",
        "_snapshot",
        "_state_lock",
        "fetches",
    )

    def __init__(
        self, settings: JWTSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Prepare the cache; nothing is fetched until `refresh` or the first lookup."""
        self._settings = settings
        self._clock = clock
        self._jwks_url = settings.jwks_url or None
        self._snapshot: KeySnapshot | None = None
        self._fetch_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._last_attempt = float("-inf")
        self._failing = False  # a fetch failed since the last one that worked
        self._failure_log = self._new_failure_log()
        self._refreshing = False
        self.fetches = 0
        """How many JWKS (and discovery) fetches were started."""

    @property
    def snapshot(self) -> KeySnapshot | None:
        """The key set in use (None before the first successful fetch)."""
        return self._snapshot

    def is_stale(self) -> bool:
        """Tell whether the key set is older than ``jwks_ttl`` (or missing)."""
        snapshot = self._snapshot
        return snapshot is None or self._clock() - snapshot.fetched_at >= self._settings.jwks_ttl

    def may_fetch(self) -> bool:
        """Tell whether a fetch may start now (``min_refresh_interval`` since the last one)."""
        return self._clock() - self._last_attempt >= self._settings.min_refresh_interval

    def refresh(self, *, force: bool = False) -> KeySnapshot:
        """Fetch the keys now (blocking) unless one was fetched within the interval.

        ``force`` ignores the TTL but never the interval. Callers arriving while a fetch runs
        wait for it and get its result. Returns the snapshot in use afterwards.

        Raises:
            KeySetError: The fetch failed and no key set was ever fetched.
        """
        with self._fetch_lock:
            if not self.may_fetch() or (not force and not self.is_stale()):
                return self._require_snapshot()
            self._last_attempt = self._clock()
            self.fetches += 1
            try:
                keys = parse_jwks(
                    request_json(self._resolve_jwks_url(), timeout=self._settings.fetch_timeout),
                    self._jwks_url or "jwks",
                )
            except FetchError as exc:
                self._log_failure(exc)
                return self._require_snapshot(exc)
            self._snapshot = KeySnapshot(keys, self._clock())
            if self._failing:
                _log.info("JWKS fetched again", url=self._jwks_url, keys=len(keys))
                self._failing = False
                self._failure_log = self._new_failure_log()  # a new outage is logged at once
            return self._snapshot

    def refresh_in_background(self) -> None:
        """Start one background refresh if none runs and the interval allows it."""
        with self._state_lock:
            if self._refreshing or not self.may_fetch():
                return
            self._refreshing = True
        thread = threading.Thread(
            target=self._background, name="news-auth-jwks-refresh", daemon=True
        )
        thread.start()

    def _background(self) -> None:
        try:
            self.refresh()
        except KeySetError:
            pass  # logged by refresh(); requests keep failing with it until keys arrive
        finally:
            with self._state_lock:
                self._refreshing = False

    def _require_snapshot(self, cause: Exception | None = None) -> KeySnapshot:
        if self._snapshot is None:
            raise KeySetError(
                f"no signing keys: fetching them failed ({cause or 'retried later'}); tokens "
                "cannot be checked until the issuer answers"
            ) from cause
        return self._snapshot

    def _resolve_jwks_url(self) -> str:
        if self._jwks_url is None:
            issuer = self._settings.issuer.rstrip("/")
            document = request_json(
                f"{issuer}/.well-known/openid-configuration",
                timeout=self._settings.fetch_timeout,
            )
            if document.get("issuer") != self._settings.issuer:
                raise FetchError(
                    f"discovery document names issuer {document.get('issuer')!r}, not the "
                    f"configured {self._settings.issuer!r}"
                )
            jwks_uri = document.get("jwks_uri")
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                raise FetchError(f"{issuer}: discovery document has no jwks_uri")
            self._jwks_url = jwks_uri
        return self._jwks_url

    def _new_failure_log(self) -> news_log.RateLimit:
        """One failure line per refresh interval (at least 1 s), counting the rest (news-log)."""
        interval = max(self._settings.min_refresh_interval, 1.0)
        return news_log.RateLimit(interval, clock=self._clock)

    def _log_failure(self, exc: Exception) -> None:
        self._failing = True
        suppressed = self._failure_log.admit("fetch")
        if suppressed is None:
            return
        _log.error(
            "JWKS fetch failed; keeping the last good keys"
            if self._snapshot
            else "JWKS fetch failed; no keys yet",
            url=self._jwks_url or self._settings.issuer,
            error=str(exc),
            suppressed=suppressed,
            keys=len(self._snapshot.keys) if self._snapshot else 0,
        )
