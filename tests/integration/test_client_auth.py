"""news-client with news-auth's ClientCredentials as its token source, on real loopback servers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiohttp import web

import news_auth
import news_client
import news_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class Servers:
    """A token endpoint (client credentials) and an API that accepts only its newest token."""

    def __init__(self) -> None:
        self.issued = 0
        self.api_calls: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def token(self, request: web.Request) -> web.Response:
        """Issue token N+1 for a client_credentials grant of client 'newsroom'."""
        form = await request.post()
        assert form["grant_type"] == "client_credentials"
        self.issued += 1
        return web.json_response(
            {"access_token": f"tok-{self.issued}", "token_type": "Bearer", "expires_in": 300}
        )

    async def api(self, request: web.Request) -> web.Response:
        """Answer 200 to the newest token, 401 to any other."""
        self.api_calls.append(request.headers.get("authorization", ""))
        if request.headers.get("authorization") != f"Bearer tok-{self.issued}":
            return web.Response(status=401)
        return web.json_response({"ok": True})


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    """Both servers on one loopback port."""
    state = Servers()
    app = web.Application()
    app.router.add_post("/oauth/token", state.token)
    app.router.add_get("/v1/profile", state.api)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        await runner.cleanup()


class TestClientCredentialsAsTokenSource:
    async def test_bearer_tokens_come_from_news_auth(self, servers: Servers) -> None:
        """ClientCredentials is a TokenSource: its token goes out; a 401 gets a fresh one."""
        credentials = news_auth.ClientCredentials(
            news_auth.ClientCredentialsSettings(
                client_id="newsroom",
                client_secret=news_config.Secret("s3cret"),
                token_url=servers.url + "/oauth/token",
            )
        )
        assert isinstance(credentials, news_client.TokenSource)
        settings = news_client.ClientSettings(base_url=servers.url, metrics="off")
        async with (
            credentials,
            news_client.HTTPClient(settings, name="profiles", token_source=credentials) as client,
        ):
            assert (await client.get("/v1/profile")).status == 200
            servers.issued += 1  # the provider rotated: the cached token is refused now
            assert (await client.get("/v1/profile")).status == 200
        assert servers.api_calls == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-3"]
        assert servers.issued == 3
