"""In a real Chromium: a web page on another origin cannot create items through a JSON route.

Browsers send "simple" cross-origin requests (``text/plain``, form types) and ``no-cors``
requests without a CORS preflight: CORS only stops the page from *reading* the answer, the
server still acts on them. A JSON route refuses them with 415 before its handler runs. The browser
is Debian's ``chromium`` (tools/system-deps.toml), driven by python playwright.
"""

from __future__ import annotations

import http.server
import shutil
import tempfile
import threading
from typing import TYPE_CHECKING, Any

import pytest

import news_http

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from news_testing.http import ServerProcess

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE = b"<!doctype html><title>elsewhere</title><p>a page on another origin</p>"
ATTEMPTS = """
async (app) => {
  const out = {};
  try {
    const response = await fetch(app + "/items", {
      method: "POST",
      headers: {"Content-Type": "text/plain"},
      body: JSON.stringify({title: "simple"}),
    });
    out.simple = "read " + response.status;
  } catch (error) {
    out.simple = String(error);
  }
  const blind = await fetch(app + "/items", {
    method: "POST",
    mode: "no-cors",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({title: "no-cors"}),
  });
  out.nocors = blind.type;
  return out;
}
"""
CONTROL = """
async (app) => {
  const response = await fetch(app + "/items", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({title: "allowed"}),
  });
  return response.status;
}
"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        del args


@pytest.fixture(scope="module")
def page_port() -> Iterator[int]:
    """A static page server on loopback (its origins: 127.0.0.1:port and localhost:port)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium with a new empty profile."""
    if shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: python3 tools/dev.py test installs it (apt)")
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="news-http-chromium-") as profile,
        sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def app_server(
    serve: Callable[..., Any],
    local: Callable[..., news_http.HTTPSettings],
    page_port: int,
) -> Iterator[ServerProcess]:
    """The items app; CORS allows the page's 127.0.0.1 origin only (not its localhost one)."""
    cors = news_http.CORSSettings(origins=(f"http://127.0.0.1:{page_port}",))
    with serve("items", local(cors=cors)) as server:
        yield server


def _titles(server: ServerProcess) -> list[str]:
    return [item["title"] for item in server.client().get("/items").json()["items"]]


class TestCrossOriginWrites:
    """Simple and no-cors POSTs from a page on another origin create nothing."""

    @pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
    def test_simple_and_no_cors_posts_create_nothing(
        self, chromium: Any, app_server: ServerProcess, page_port: int, host: str
    ) -> None:
        """text/plain and no-cors POSTs reach the server and get 415; nothing is created."""
        page = chromium.new_page()
        try:
            page.goto(f"http://{host}:{page_port}/")
            before = len(app_server.find_logs(logger="news_http.access", status=415))
            outcome = page.evaluate(ATTEMPTS, app_server.url)
        finally:
            page.close()
        assert outcome["nocors"] == "opaque", outcome  # sent; the page cannot read the answer
        refused = app_server.wait_for_log(
            logger="news_http.access", method="POST", route="/items", status=415, nth=before + 2
        )
        assert refused["status"] == 415  # both requests reached the server: it refused them
        assert not {"simple", "no-cors"} & set(_titles(app_server))

    def test_a_cors_json_post_from_the_allowed_origin_works(
        self, chromium: Any, app_server: ServerProcess, page_port: int
    ) -> None:
        """Control: the allowed origin's JSON POST (preflighted) creates an item."""
        page = chromium.new_page()
        try:
            page.goto(f"http://127.0.0.1:{page_port}/")
            status = page.evaluate(CONTROL, app_server.url)
        finally:
            page.close()
        assert status == 201
        assert "allowed" in _titles(app_server)
