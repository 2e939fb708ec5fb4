"""Apps served by tests/news_testing in real server processes (``news_testing_apps:NAME``)."""

from __future__ import annotations

import json
import os

from robyn import Request  # noqa: TC002 - Robyn reads handler annotations at run time

import news_api
import news_http
import news_log

log = news_log.get_logger("news_testing_apps")

app = news_http.create_app(name="news-testing-apps")


@app.post("/log")
def log_fields(request: Request) -> news_api.Response:
    """Log one line with the JSON body's fields (names such as count, timeout, within, nth)."""
    body = request.body
    fields = json.loads(body if isinstance(body, str) else body.decode())
    log.info("fields", **fields)
    return news_api.ok({"logged": sorted(fields)})


@app.get("/env/:name")
def env_var(name: str) -> news_api.Response:
    """Return the server process' value of the environment variable ``name`` (null if unset)."""
    return news_api.ok({"name": name, "value": os.environ.get(name)})
