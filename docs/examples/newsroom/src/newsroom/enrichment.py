"""The enrichment service (tags for an article) and the processor's client for it.

The service is a small aiohttp.web app, part of the example: ``POST /v1/tags`` takes an
article's title, body and section and answers the tags its keywords suggest. The newsroom
starts it in its own process on a free loopback port when ``NEWSROOM_ENRICHMENT__BASE_URL`` is
not set (the embedded mode, like the embedded broker); ``python -m newsroom enrichment`` runs
it alone (``--delay`` makes it slow, for trying the breaker out).

The processor asks it through a news-client `HTTPClient` with a short deadline and a circuit
breaker: when the service is slow or down the breaker opens, and articles are stored without
enrichment (logged, and counted in ``business_article_unenriched_total{reason}``) instead of
waiting on it.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Final

import msgspec

import news_client
import news_log
import news_metrics

if TYPE_CHECKING:
    from aiohttp import web

__all__ = [
    "ARTICLE_UNENRICHED",
    "EmbeddedEnrichment",
    "Enricher",
    "TagsIn",
    "TagsOut",
    "suggest_tags",
]

log = news_log.get_logger("newsroom.enrichment")

ARTICLE_UNENRICHED = news_metrics.declare_business_event(
    "article_unenriched",
    labels=("reason",),
    values={"reason": ("timeout", "breaker_open", "unavailable", "error")},
    description="Articles stored without enrichment tags, by why the enrichment failed.",
)

# Keywords -> tag. A real service would run a model; the example needs something to show.
KEYWORDS: Final[dict[str, str]] = {
    "summit": "diplomacy",
    "leaders": "politics",
    "election": "politics",
    "minister": "politics",
    "market": "economy",
    "markets": "economy",
    "inflation": "economy",
    "bank": "economy",
    "match": "football",
    "goal": "football",
    "rain": "weather",
    "storm": "weather",
    "climate": "climate",
    "vaccine": "health",
    "hospital": "health",
    "ai": "technology",
    "software": "technology",
}
_WORD: Final = re.compile(r"[a-z]+")


class TagsIn(msgspec.Struct, frozen=True, kw_only=True):
    """The body of ``POST /v1/tags``."""

    title: str
    body: str = ""
    section: str = ""


class TagsOut(msgspec.Struct, frozen=True, kw_only=True):
    """The answer of ``POST /v1/tags``."""

    tags: list[str]


def suggest_tags(article: TagsIn) -> list[str]:
    """The tags an article's words suggest (sorted, unique)."""
    words = set(_WORD.findall(f"{article.title} {article.body}".lower()))
    return sorted({tag for word, tag in KEYWORDS.items() if word in words})


def make_app(*, delay: float = 0.0) -> web.Application:
    """The enrichment service's aiohttp app (``delay``: seconds before every answer)."""
    from aiohttp import web

    async def tags(request: web.Request) -> web.Response:
        try:
            article = msgspec.json.decode(await request.read(), type=TagsIn)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            problem = {"title": "Validation failed", "status": 422, "detail": str(exc)}
            return web.json_response(problem, status=422, content_type="application/problem+json")
        if delay:
            await asyncio.sleep(delay)
        body = msgspec.json.encode(TagsOut(tags=suggest_tags(article)))
        return web.Response(body=body, content_type="application/json")

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "pass"})

    app = web.Application()
    app.router.add_post("/v1/tags", tags)
    app.router.add_get("/health", health)
    return app


class EmbeddedEnrichment:
    """The enrichment service inside the newsroom's process, on a free loopback port.

    A managed resource (``app.manage``): started before the processor's client, stopped after.
    """

    health_name: Final = "enrichment-service"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0) -> None:
        self.host = host
        self.port = port
        self.delay = delay
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """The service's base URL (once started)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen on ``port`` (a free one when 0)."""
        from aiohttp import web

        runner = web.AppRunner(make_app(delay=self.delay), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        log.info("enrichment service listening (embedded)", url=self.url)

    async def stop(self) -> None:
        """Stop listening (bounded)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            try:
                async with asyncio.timeout(3.0):
                    await runner.cleanup()
            except TimeoutError:
                log.warning("enrichment service did not stop within 3s")


class Enricher:
    """The processor's view of the enrichment service: tags, or none when it cannot answer."""

    def __init__(self, client: news_client.HTTPClient) -> None:
        self.client = client

    async def tags(self, article_id: str, article: TagsIn) -> list[str] | None:
        """Tags for the article, or None (logged and counted) when the service failed."""
        try:
            answer = await self.client.post(
                "/v1/tags", json=article, idempotency_key=f"tags-{article_id}"
            )
            return answer.json(type=TagsOut).tags
        except news_client.NewsClientError as exc:
            reason = _reason(exc)
        except msgspec.DecodeError as exc:
            reason = "error"
            exc.add_note("the enrichment service answered something that is not TagsOut")
            log.warning("enrichment answer unreadable", article_id=article_id, error=str(exc))
        ARTICLE_UNENRICHED.inc(reason=reason)
        breaker = self.client.breaker
        log.warning(
            "article stored without enrichment",
            article_id=article_id,
            reason=reason,
            breaker=breaker.state if breaker is not None else "off",
        )
        return None


def _reason(exc: news_client.NewsClientError) -> str:
    if isinstance(exc, news_client.BreakerOpenError):
        return "breaker_open"
    if isinstance(exc, news_client.CallTimeoutError):
        return "timeout"
    if isinstance(
        exc,
        (news_client.TransportError, news_client.HTTPServerError, news_client.BulkheadFullError),
    ):
        return "unavailable"
    return "error"


async def serve(host: str, port: int, delay: float) -> None:
    """Run the enrichment service alone until cancelled (``python -m newsroom enrichment``)."""
    service = EmbeddedEnrichment(host=host, port=port, delay=delay)
    await service.start()
    print(f"enrichment service on {service.url} (POST /v1/tags); Ctrl+C stops it", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await service.stop()
