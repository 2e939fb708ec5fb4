"""A real OpenID provider for tests: npm's ``oidc-provider`` on Node, on a loopback port.

``pip install 'news-testing[auth]'`` (news-auth, for the services under test) and Node.js 20+
with npm on the machine (Debian: ``apt-get install nodejs npm``). On first use ``oidc-provider``
is installed with npm into ``~/.cache/news-testing/oidc`` (``NEWS_TEST_OIDC_CACHE`` overrides
the folder); later runs reuse it.

The provider issues RFC 9068 JWT access tokens (``typ: at+jwt``) for the client-credentials
grant with resource indicators: each resource (an audience) has its scopes and its signing
algorithm (RS256 or ES256). Test controls: `OIDCProvider.stats` (requests per path, e.g. how
often the JWKS was fetched), `OIDCProvider.rotate_keys`, `OIDCProvider.stop`/`start` (an IdP
outage; the same port and keys come back).

Example::

    def test_token_is_accepted(oidc_provider):
        token = oidc_provider.token(scope="articles:write")
        ...  # verify it with news_auth.JWTVerifier(oidc_provider.jwt_settings())
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Any, Final

from news_testing._errors import NewsTestingError

__all__ = [
    "DEFAULT_AUDIENCE",
    "DEFAULT_CLIENT_ID",
    "ES256_AUDIENCE",
    "OIDC_PROVIDER_VERSION",
    "OIDCClient",
    "OIDCProvider",
    "OIDCProviderError",
]

OIDC_PROVIDER_VERSION: Final = "9.13.3"
"""The npm version of oidc-provider the fixture installs (tested with it)."""
DEFAULT_AUDIENCE: Final = "https://api.news.test"
"""The default resource (audience): RS256 tokens with scopes articles:read, articles:write."""
ES256_AUDIENCE: Final = "https://es.api.news.test"
"""A second resource whose tokens are signed with ES256 (scope articles:read)."""
DEFAULT_CLIENT_ID: Final = "news-test-client"
"""The client every provider registers (its secret is `OIDCProvider.client_secret`)."""
_SERVER_SCRIPT: Final = Path(__file__).with_name("_oidc") / "server.mjs"
_START_TIMEOUT: Final = 60.0


class OIDCProviderError(NewsTestingError, RuntimeError):
    """The provider could not be installed, started or asked (the message says what to do)."""


class OIDCClient:
    """A client registered at the provider (client-credentials grant)."""

    __slots__ = ("auth_method", "client_id", "client_secret", "scope")

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scope: str,
        auth_method: str = "client_secret_basic",
    ) -> None:
        """A client ``client_id`` allowed ``scope`` (space-separated).

        ``auth_method`` is how it sends its secret: ``client_secret_basic`` or
        ``client_secret_post``.
        """
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.auth_method = auth_method


def cache_dir() -> Path:
    """Where oidc-provider is installed (``NEWS_TEST_OIDC_CACHE`` or ~/.cache/news-testing/oidc)."""
    configured = os.environ.get("NEWS_TEST_OIDC_CACHE", "").strip()
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "news-testing" / "oidc"


def ensure_installed(folder: Path | None = None) -> Path:
    """Install oidc-provider with npm into ``folder`` once (a lock guards parallel runs).

    Raises:
        OIDCProviderError: node or npm is missing, or npm failed.
    """
    folder = folder or cache_dir()
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise OIDCProviderError(
            "the OpenID provider fixture needs Node.js 20+ and npm on PATH; install them "
            "(Debian: apt-get install -y nodejs npm; python3 tools/dev.py test does it)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "node_modules" / "oidc-provider" / "package.json"
    with (folder / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            installed = json.loads(marker.read_text()).get("version") if marker.exists() else None
            if installed != OIDC_PROVIDER_VERSION:
                (folder / "package.json").write_text(
                    json.dumps({"name": "news-testing-oidc", "private": True, "type": "module"})
                )
                result = subprocess.run(  # noqa: S603 - fixed arguments
                    [
                        npm,
                        "install",
                        "--no-audit",
                        "--no-fund",
                        "--omit=dev",
                        f"oidc-provider@{OIDC_PROVIDER_VERSION}",
                    ],
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                if result.returncode != 0:
                    raise OIDCProviderError(
                        f"npm install oidc-provider@{OIDC_PROVIDER_VERSION} failed in {folder}:\n"
                        f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
                    )
            shutil.copyfile(_SERVER_SCRIPT, folder / "server.mjs")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


class OIDCProvider:
    """An oidc-provider process: start, stop, ask for tokens, rotate keys, count requests.

    Args:
        clients: Extra clients (the default client `DEFAULT_CLIENT_ID` is always there, with
            every scope).
        resources: Resource indicators (audiences) -> ``{"scope": "...", "alg": "RS256",
            "ttl": 300}``; by default `DEFAULT_AUDIENCE` (RS256) and `ES256_AUDIENCE` (ES256).
        log_path: Where the provider's output goes (a temporary file by default).
    """

    def __init__(
        self,
        *,
        clients: list[OIDCClient] | None = None,
        resources: dict[str, dict[str, Any]] | None = None,
        log_path: Path | None = None,
    ) -> None:
        """Configure a provider; `start` runs it."""
        self.resources = resources or {
            DEFAULT_AUDIENCE: {"scope": "articles:read articles:write", "alg": "RS256"},
            ES256_AUDIENCE: {"scope": "articles:read", "alg": "ES256"},
        }
        all_scopes = " ".join(
            sorted({s for r in self.resources.values() for s in str(r.get("scope", "")).split()})
        )
        self.client_secret = secrets.token_urlsafe(32)
        self.clients = [
            OIDCClient(DEFAULT_CLIENT_ID, self.client_secret, all_scopes),
            *(clients or []),
        ]
        self.log_path = log_path
        self.port = 0
        self.issuer = ""
        self._keys: list[dict[str, Any]] | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log_file: IO[str] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the provider process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> OIDCProvider:
        """Install (first time), start the provider and wait until it serves.

        Restarted, it comes back on the same port with the same keys.

        Raises:
            OIDCProviderError: It could not be installed or did not start in time.
        """
        if self.running:
            return self
        folder = ensure_installed()
        config = {
            "port": self.port,
            "clients": [
                {
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "scope": c.scope,
                    "auth_method": c.auth_method,
                }
                for c in self.clients
            ],
            "resources": self.resources,
        }
        if self._keys is not None:
            config["keys"] = self._keys
        if self.log_path is None:
            import tempfile

            self.log_path = Path(tempfile.mkstemp(prefix="news-oidc-", suffix=".log")[1])
        self._log_file = self.log_path.open("a", encoding="utf-8")
        node = shutil.which("node") or "node"
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [node, "server.mjs"],
            cwd=folder,
            env={**os.environ, "NEWS_OIDC_CONFIG": json.dumps(config)},
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
            start_new_session=True,
        )
        ready = self._wait_ready()
        self.port = int(ready["port"])
        self.issuer = str(ready["issuer"])
        if self._keys is None:
            self._keys = self._control("export")["keys"]
        return self

    def _wait_ready(self) -> dict[str, Any]:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        found: dict[str, Any] = {}

        def read() -> None:
            for line in process.stdout:  # type: ignore[union-attr]
                if '"ready":true' in line.replace(" ", ""):
                    found.update(json.loads(line))
                    break
            # keep draining so the process never blocks on a full pipe
            for line in process.stdout:  # type: ignore[union-attr]
                if self._log_file is not None and not self._log_file.closed:
                    self._log_file.write(line)

        threading.Thread(target=read, name="news-oidc-stdout", daemon=True).start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not found:
            if process.poll() is not None:
                raise OIDCProviderError(
                    f"the OpenID provider exited with code {process.returncode}; see "
                    f"{self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise OIDCProviderError(
                    f"the OpenID provider did not start within {_START_TIMEOUT}s; see "
                    f"{self.log_path}"
                )
            time.sleep(0.02)
        return found

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the provider (SIGTERM, then SIGKILL after ``timeout``); the port stays ours."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> OIDCProvider:
        """Start."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    # -- endpoints -------------------------------------------------------------------------

    @property
    def jwks_uri(self) -> str:
        """The provider's JWKS URL."""
        return f"{self.issuer}/jwks"

    @property
    def token_endpoint(self) -> str:
        """The provider's token endpoint."""
        return f"{self.issuer}/token"

    def token(
        self,
        *,
        scope: str = "articles:read articles:write",
        resource: str = DEFAULT_AUDIENCE,
        client: OIDCClient | None = None,
    ) -> str:
        """Get an access token with the client-credentials grant (the default client).

        Raises:
            OIDCProviderError: The provider refused (the message has its answer).
        """
        answer = self.token_response(scope=scope, resource=resource, client=client)
        return str(answer["access_token"])

    def token_response(
        self,
        *,
        scope: str = "articles:read articles:write",
        resource: str = DEFAULT_AUDIENCE,
        client: OIDCClient | None = None,
    ) -> dict[str, Any]:
        """The token endpoint's whole JSON answer (access_token, expires_in, scope...)."""
        import base64

        client = client or self.clients[0]
        basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
        form = {"grant_type": "client_credentials", "scope": scope, "resource": resource}
        return self._http(
            self.token_endpoint,
            data=urllib.parse.urlencode(form).encode(),
            headers={
                "authorization": f"Basic {basic}",
                "content-type": "application/x-www-form-urlencoded",
            },
        )

    def jwt_settings(self, **overrides: Any) -> Any:
        """A ``news_auth.JWTSettings`` for this provider (needs ``news-testing[auth]``).

        Issuer discovery, the default audience, RS256 and ES256; ``overrides`` replace fields
        (e.g. ``min_refresh_interval=0.0`` to refetch at once on an unknown kid).
        """
        import news_auth

        fields: dict[str, Any] = {
            "issuer": self.issuer,
            "audiences": (DEFAULT_AUDIENCE, ES256_AUDIENCE),
            "algorithms": ("RS256", "ES256"),
        }
        fields.update(overrides)
        return news_auth.JWTSettings(**fields)

    # -- controls --------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        """Requests served so far, per path (``/jwks``, ``/token``, discovery...)."""
        counts: dict[str, int] = self._control("stats")["counts"]
        return counts

    def jwks_fetches(self) -> int:
        """How many times the JWKS was fetched."""
        return self.stats().get("/jwks", 0)

    def reset_stats(self) -> None:
        """Zero the request counters."""
        self._control("reset")

    def rotate_keys(self, *, keep_old: bool = False) -> list[str]:
        """Sign with new keys from now on; ``keep_old`` keeps publishing the previous ones.

        Returns the kids published afterwards.
        """
        kids: list[str] = self._control("rotate?keep=1" if keep_old else "rotate")["kids"]
        self._keys = self._control("export")["keys"]
        return kids

    def private_jwks(self) -> list[dict[str, Any]]:
        """The provider's current signing keys, private parts included (to forge test tokens)."""
        keys: list[dict[str, Any]] = self._control("export")["keys"]
        return keys

    def _control(self, name: str) -> dict[str, Any]:
        return self._http(f"{self.issuer}/__control/{name}")

    def _http(
        self, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                body: dict[str, Any] = json.loads(response.read())
                return body
        except urllib.error.HTTPError as exc:
            raise OIDCProviderError(f"{url}: HTTP {exc.code}: {exc.read()[:500]!r}") from exc
        except OSError as exc:
            raise OIDCProviderError(f"{url}: {exc}") from exc


for _public in (OIDCClient, OIDCProvider, OIDCProviderError):
    _public.__module__ = "news_testing"  # their public home (also importable from here)
del _public
