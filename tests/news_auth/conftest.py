"""Helpers for news-auth's tests: tokens forged with the real provider's keys."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from joserfc.jwk import import_key

from news_testing import DEFAULT_AUDIENCE


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forge(
    provider: Any,
    claims: dict[str, Any] | None = None,
    *,
    alg: str = "RS256",
    header: dict[str, Any] | None = None,
    drop_kid: bool = False,
    **overrides: Any,
) -> str:
    """A token signed with the provider's own current key for ``alg`` (claims default valid)."""
    now = int(time.time())
    body = {
        "iss": provider.issuer,
        "aud": DEFAULT_AUDIENCE,
        "sub": "forged-client",
        "client_id": "forged-client",
        "scope": "articles:read articles:write",
        "iat": now,
        "exp": now + 300,
        "jti": "t-1",
    }
    body.update(claims or {})
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    kty = "RSA" if alg.startswith(("RS", "PS")) else "EC"
    private = next(k for k in provider.private_jwks() if k["kty"] == kty)
    head = {"alg": alg, "typ": "at+jwt", "kid": private["kid"], **(header or {})}
    head = {k: v for k, v in head.items() if v is not None}
    if drop_kid:
        head.pop("kid")
    return sign(head, body, import_key(private).private_key, alg)


def sign(header: dict[str, Any], claims: Any, private_key: Any, alg: str) -> str:
    """Sign any header and claims with a cryptography private key (no header checks)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(payload)}".encode()
    if alg == "RS256":
        signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        signature = private_key.sign(signing_input, pss, hashes.SHA256())
    else:
        r, s_ = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s_.to_bytes(32, "big")
    return f"{signing_input.decode()}.{b64(signature)}"


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token with the given header and claims and an arbitrary signature."""
    return ".".join(
        (b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature))
    )


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        """The current fake time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock for key caches."""
    return FakeClock()


@pytest.fixture
def forge_token() -> Any:
    """``forge_token(provider, claims=None, *, alg=, header=, drop_kid=, **claims)``."""
    return forge


@pytest.fixture
def sign_token() -> Any:
    """``sign_token(header, claims, private_key, alg)``: sign anything with a private key."""
    return sign


@pytest.fixture
def raw_token() -> Any:
    """``raw_token(header, claims, signature=b"")``: a token with any header and signature."""
    return unsigned


class JSONServer:
    """A real HTTP server on loopback answering each path with a set status and body."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.routes: dict[str, tuple[int, bytes]] = {}
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                outer.requests.append((self.command, path, dict(self.headers), body))
                status, payload = outer.routes.get(path, (404, b'{"error": "not_found"}'))
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _answer  # noqa: N815 - the stdlib's names
            do_POST = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set(self, path: str, body: Any, status: int = 200) -> None:
        """Answer ``path`` with ``body`` (JSON-encoded unless bytes) and ``status``."""
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes[path] = (status, payload)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def json_server() -> Any:
    """A loopback HTTP server whose answers the test sets (``.set(path, body, status)``)."""
    server = JSONServer()
    try:
        yield server
    finally:
        server.close()
