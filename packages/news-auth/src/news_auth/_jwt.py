"""`JWTVerifier`: bearer JWT verification on joserfc, with pinned algorithms and cached keys.

Order of checks (each failure an `InvalidTokenError` with a ``reason``):

1. size: longer than ``max_token_bytes`` -> ``too_large``, before anything is decoded;
2. shape: three base64url parts (a JWE or anything else -> ``malformed``);
3. header: ``alg`` among the configured algorithms (never ``none``) -> ``alg_not_allowed``;
   no ``crit`` (no extension is understood here) -> ``crit``; ``typ`` accepted -> ``wrong_type``;
4. key: by ``kid`` among the cached keys (an unknown kid refetches, rate-limited) ->
   ``unknown_kid``; without a kid only when exactly one key fits -> ``kid_required``; the key's
   type and its own ``alg`` must match the token's alg (an RSA key is never an HMAC secret; HMAC
   algorithms use only the configured secret) -> ``key_mismatch``;
5. signature, by joserfc's algorithm -> ``bad_signature``;
6. claims, by joserfc's `JWTClaimsRegistry`: ``exp`` (``expired``), ``nbf``
   (``not_yet_valid``), ``iat`` (``issued_in_future``), ``iss`` (``wrong_issuer``), ``aud``
   (``wrong_audience``), required claims (``missing_claim``), all with ``leeway``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import math
import re
import time
from typing import TYPE_CHECKING, Any, Final

import msgspec

from news_auth._errors import InvalidTokenError, KeySetError
from news_auth._jwks import KeyCache, KeySnapshot
from news_auth._principal import Principal
from news_auth._settings import HMAC_ALGORITHMS

if TYPE_CHECKING:
    from types import TracebackType

    from news_auth._settings import JWTSettings

__all__ = ["JWTVerifier"]

_B64URL: Final = re.compile(rb"[A-Za-z0-9_-]*")
_DECODE_DICT: Final = msgspec.json.Decoder(dict[str, Any])
_MAX_HEADER_BYTES: Final = 2048
_KTY_FOR: Final = {
    "RS": "RSA",
    "PS": "RSA",
    "ES": "EC",
    "Ed": "OKP",
    "HS": "oct",
}
_CURVE_FOR: Final = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_CLAIM_REASONS: Final = {
    "nbf": "not_yet_valid",
    "iat": "issued_in_future",
    "iss": "wrong_issuer",
    "aud": "wrong_audience",
    "exp": "expired",
}


def _b64decode(part: bytes) -> bytes:
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        raise InvalidTokenError("token is not base64url", reason="malformed")
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidTokenError("token is not base64url", reason="malformed") from exc


class _Parsed:
    __slots__ = ("alg", "header", "kid", "payload", "signature", "signing_input")

    def __init__(self, token: bytes) -> None:
        parts = token.split(b".")
        if len(parts) != 3:
            raise InvalidTokenError(
                "token is not a compact JWS (header.payload.signature)", reason="malformed"
            )
        header_part, payload_part, signature_part = parts
        if len(header_part) > _MAX_HEADER_BYTES:
            raise InvalidTokenError("token header is too large", reason="too_large")
        try:
            self.header = _DECODE_DICT.decode(_b64decode(header_part))
        except msgspec.DecodeError as exc:
            raise InvalidTokenError(
                "token header is not a JSON object", reason="malformed"
            ) from exc
        self.payload = payload_part
        self.signature = _b64decode(signature_part)
        self.signing_input = token[: len(header_part) + 1 + len(payload_part)]
        alg = self.header.get("alg")
        self.alg: str = alg if isinstance(alg, str) else ""
        kid = self.header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidTokenError("token kid is not a string", reason="malformed")
        self.kid: str | None = kid


class JWTVerifier:
    """Verify bearer JWTs (RFC 9068 access tokens and plain JWTs) against an issuer's keys.

    A long-lived resource: `start` fetches the keys once (a failure is logged, not raised: the
    keys are fetched again on the next token), `stop` does nothing that can hang, and
    `health_check` fails while no keys are loaded, so ``app.manage(verifier)`` makes readiness
    wait for them.

    Example:
        >>> settings = JWTSettings(issuer="https://id.example", audiences=("https://api.example",))
        >>> verifier = JWTVerifier(settings)  # doctest: +SKIP
        >>> principal = await verifier.verify(token)  # doctest: +SKIP
    """

    __slots__ = (
        "_alg_models",
        "_algorithms",
        "_cache",
        "_hmac_key",
        "_keys",
        "_leeway",
        "_registry_options",
        "_scope_claim",
        "_types",
        "settings",
    )

    health_name: Final = "jwks"

    def __init__(self, settings: JWTSettings, *, keys: KeyCache | None = None) -> None:
        """Prepare a verifier for ``settings``; nothing is fetched yet."""
        self.settings = settings
        self._keys = keys or KeyCache(settings)
        self._algorithms = frozenset(settings.algorithms)
        self._alg_models = _algorithm_models(settings.algorithms)
        self._types = frozenset(t.lower() for t in settings.accepted_types)
        self._leeway = math.ceil(settings.leeway)
        self._scope_claim = settings.scope_claim
        self._hmac_key: Any = None
        if settings.hmac_secret is not None:
            from joserfc.jwk import OctKey

            self._hmac_key = OctKey.import_key(settings.hmac_secret.reveal().encode())
        options: dict[str, Any] = {name: {"essential": True} for name in settings.required_claims}
        if settings.issuer:
            options["iss"] = {"essential": True, "value": settings.issuer}
        options["aud"] = {"essential": True, "values": list(settings.audiences)}
        self._registry_options = options
        self._cache: dict[str | bytes, tuple[Principal, float]] = {}

    @property
    def keys(self) -> KeyCache:
        """The key cache (its ``fetches`` counts requests to the issuer)."""
        return self._keys

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Fetch the keys once, so the first request does not wait; a failure is only logged."""
        if self._needs_keys():
            # a failure is logged by the cache; health_check fails until keys arrive
            with contextlib.suppress(KeySetError):
                await asyncio.to_thread(self._keys.refresh)

    async def stop(self) -> None:
        """Nothing to release (a background refresh is a daemon thread bounded by its timeout)."""

    async def __aenter__(self) -> JWTVerifier:
        """Start (fetch the keys)."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    async def health_check(self) -> str:
        """Readiness: the number of signing keys, or `KeySetError` while there are none."""
        if not self._needs_keys():
            return "HMAC secret"
        snapshot = self._keys.snapshot
        if snapshot is None:
            raise KeySetError("no signing keys fetched yet")
        return f"{len(snapshot.keys)} keys"

    # -- verification ----------------------------------------------------------------------

    async def verify(self, token: str | bytes) -> Principal:
        """Verify ``token`` and return its `Principal`.

        The keys are fetched on a worker thread when they must be (first use, unknown kid);
        with cached keys the check runs inline (tens of microseconds). A token verified before
        (``cache_size``) is answered from memory until it expires.

        Raises:
            InvalidTokenError: The token is refused; ``reason`` says why.
            KeySetError: No keys could be fetched yet.
        """
        if len(token) > self.settings.max_token_bytes:  # bounded before anything, cache too
            raise InvalidTokenError(
                f"token is longer than {self.settings.max_token_bytes} bytes", reason="too_large"
            )
        entry = self._cache.get(token)
        if entry is not None and time.time() < entry[1]:
            return entry[0]
        parsed = self._parse(token)
        key = self._select(parsed)
        if key is None:
            snapshot = await asyncio.to_thread(self._keys.refresh, force=True)
            key = self._select(parsed, snapshot=snapshot)
        return self._remember(token, self._check(parsed, key))

    def verify_sync(self, token: str | bytes) -> Principal:
        """`verify` for sync code (a sync handler's thread): a needed fetch blocks this thread.

        Raises:
            InvalidTokenError: The token is refused; ``reason`` says why.
            KeySetError: No keys could be fetched yet.
        """
        if len(token) > self.settings.max_token_bytes:  # bounded before anything, cache too
            raise InvalidTokenError(
                f"token is longer than {self.settings.max_token_bytes} bytes", reason="too_large"
            )
        entry = self._cache.get(token)
        if entry is not None and time.time() < entry[1]:
            return entry[0]
        parsed = self._parse(token)
        key = self._select(parsed)
        if key is None:
            snapshot = self._keys.refresh(force=True)
            key = self._select(parsed, snapshot=snapshot)
        return self._remember(token, self._check(parsed, key))

    def clear_cache(self) -> None:
        """Forget every remembered token (the next use of each is verified again)."""
        self._cache.clear()

    # -- steps -----------------------------------------------------------------------------

    def _remember(self, token: str | bytes, principal: Principal) -> Principal:
        size = self.settings.cache_size
        if size:
            cache = self._cache
            until = time.time() + self.settings.jwks_ttl
            if principal.expires_at is not None:
                until = min(until, principal.expires_at + self._leeway)
            if len(cache) >= size:
                try:  # drop the oldest; another thread may have dropped it first
                    del cache[next(iter(cache))]
                except (KeyError, RuntimeError, StopIteration):
                    cache.clear()
            cache[token] = (principal, until)
        return principal

    def _needs_keys(self) -> bool:
        return bool(self._algorithms - HMAC_ALGORITHMS)

    def _parse(self, token: str | bytes) -> _Parsed:
        raw = token.encode("ascii", "replace") if isinstance(token, str) else token
        if len(raw) > self.settings.max_token_bytes:
            raise InvalidTokenError(
                f"token is longer than {self.settings.max_token_bytes} bytes", reason="too_large"
            )
        parsed = _Parsed(raw)
        header = parsed.header
        if parsed.alg not in self._algorithms:
            raise InvalidTokenError(
                f"token algorithm {parsed.alg!r} is not accepted", reason="alg_not_allowed"
            )
        if "crit" in header:
            raise InvalidTokenError(
                "token has critical header extensions, which are not supported", reason="crit"
            )
        typ = header.get("typ")
        if typ is None:
            if self.settings.type_required:
                raise InvalidTokenError("token has no typ header", reason="wrong_type")
        elif not isinstance(typ, str) or typ.lower() not in self._types:
            raise InvalidTokenError(f"token type {typ!r} is not accepted", reason="wrong_type")
        return parsed

    def _select(self, parsed: _Parsed, *, snapshot: KeySnapshot | None = None) -> Any:
        """Return the key for ``parsed``.

        Without ``snapshot`` (the first try, on the cached keys) it returns None when a fetch
        may find the key; with the snapshot of that fetch (``final``) it raises instead.
        """
        alg = parsed.alg
        if alg in HMAC_ALGORITHMS:
            return self._hmac_key  # only ever the configured secret
        final = snapshot is not None
        if snapshot is None:
            snapshot = self._keys.snapshot
            if snapshot is None:
                return None
            if self._keys.is_stale():
                self._keys.refresh_in_background()
        kid = parsed.kid
        if kid is not None:
            key = snapshot.by_kid.get(kid)
            if key is None:
                if not final and self._keys.may_fetch():
                    return None
                raise InvalidTokenError(f"no signing key with kid {kid!r}", reason="unknown_kid")
            if not _fits(key, alg):
                raise InvalidTokenError(
                    f"key {kid!r} cannot verify {alg} tokens", reason="key_mismatch"
                )
            return key
        candidates = [key for key in snapshot.keys if _fits(key, alg)]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            if not final and self._keys.may_fetch():
                return None
            raise InvalidTokenError(f"no signing key for {alg} tokens", reason="unknown_kid")
        raise InvalidTokenError(
            "token has no kid and several keys could have signed it", reason="kid_required"
        )

    def _check(self, parsed: _Parsed, key: Any) -> Principal:
        from joserfc.errors import (
            ExpiredTokenError,
            InvalidClaimError,
            JoseError,
            MissingClaimError,
        )
        from joserfc.jwt import JWTClaimsRegistry

        algorithm = self._alg_models[parsed.alg]
        try:
            valid = algorithm.verify(parsed.signing_input, parsed.signature, key)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidTokenError("token signature is invalid", reason="bad_signature") from exc
        if not valid:
            raise InvalidTokenError("token signature is invalid", reason="bad_signature")
        try:
            claims = _DECODE_DICT.decode(_b64decode(parsed.payload))
        except msgspec.DecodeError as exc:
            raise InvalidTokenError(
                "token claims are not a JSON object", reason="malformed"
            ) from exc
        registry = JWTClaimsRegistry(
            now=int(time.time()), leeway=self._leeway, **self._registry_options
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise InvalidTokenError("token has expired", reason="expired") from exc
        except MissingClaimError as exc:
            raise InvalidTokenError(
                f"token lacks required claims: {exc.claim}", reason="missing_claim"
            ) from exc
        except InvalidClaimError as exc:
            reason = _CLAIM_REASONS.get(exc.claim, "invalid_claim")
            raise InvalidTokenError(
                f"token claim {exc.claim!r} is not accepted: {reason}", reason=reason
            ) from exc
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        raw_scopes = claims.get(self._scope_claim)
        if raw_scopes is None and self._scope_claim == "scope":
            raw_scopes = claims.get("scp")
        if isinstance(raw_scopes, str):
            scopes = frozenset(raw_scopes.split())
        elif isinstance(raw_scopes, list):
            scopes = frozenset(s for s in raw_scopes if isinstance(s, str))
        else:
            scopes = frozenset()
        client_id = claims.get("client_id", claims.get("azp"))
        if not isinstance(client_id, str):
            client_id = None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            subject = client_id or ""
        if not subject:
            raise InvalidTokenError(
                "token names no subject (sub or client_id)", reason="missing_claim"
            )
        exp = claims.get("exp")
        iss = claims.get("iss")
        return Principal(
            subject=subject,
            scopes=scopes,
            method="jwt",
            client_id=client_id,
            issuer=iss if isinstance(iss, str) else None,
            expires_at=float(exp) if isinstance(exp, int | float) else None,
            claims=claims,
        )


def _algorithm_models(names: tuple[str, ...]) -> dict[str, Any]:
    """Joserfc's algorithm objects for ``names``, from a registry that allows only those."""
    import warnings

    from joserfc.errors import SecurityWarning
    from joserfc.jws import JWSRegistry

    registry = JWSRegistry(algorithms=list(names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # EdDSA's RFC 9864 note, once
        return {name: registry.get_alg(name) for name in names}


def _fits(key: Any, alg: str) -> bool:
    """Tell whether ``key`` may verify ``alg`` tokens: its type, curve and own alg agree."""
    kty = _KTY_FOR.get(alg[:2])
    if key.key_type != kty:
        return False
    own_alg = key.get("alg")
    if own_alg is not None and own_alg != alg:
        return False
    curve = _CURVE_FOR.get(alg)
    return curve is None or key.get("crv") == curve
