"""Apps the news-auth tests serve in real processes (``news_auth_test_apps:<name>``).

Not a test module: the server processes import it from this folder. The API keys the app
accepts come from the test: ``TESTAUTH_KEY_RECORDS`` holds their stored records as JSON (the
test issued them under ``PEPPER``; the keys in clear never reach the server's environment).
"""

from __future__ import annotations

import os

import msgspec

import news_api
import news_auth
import news_http
import news_log
from news_auth import APIKeyRecord, APIKeys, APIKeySettings, MemoryAPIKeyStore
from news_auth.http import HTTPAuth
from news_config import Secret

PEPPER = "p" * 40

log = news_log.get_logger("guarded")


def key_settings() -> APIKeySettings:
    """The API key settings of the test and of the served app."""
    return APIKeySettings(peppers={"p1": Secret(PEPPER)}, current_pepper_id="p1", prefix="nr")


def guarded() -> news_http.NewsApp:
    """A write route behind ``articles:write``, an any-caller route and a public route."""
    records = msgspec.json.decode(
        os.environ.get("TESTAUTH_KEY_RECORDS", "[]"), type=list[APIKeyRecord]
    )
    auth = HTTPAuth(api_keys=APIKeys(key_settings(), MemoryAPIKeyStore(records)), realm="test")
    app = news_http.create_app(name="guarded")

    @app.post("/v1/articles")
    @auth.requires("articles:write")
    async def create() -> news_api.Response:
        log.info("article created")
        return news_api.created({"id": 1}, location="/v1/articles/1")

    @app.get("/v1/articles")
    async def public() -> dict[str, object]:
        return {"principal": news_auth.current_principal()}

    return app
