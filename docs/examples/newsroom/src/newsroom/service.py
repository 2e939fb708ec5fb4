"""The newsroom service: HTTP routes, the Kafka publisher and the article processor, one process.

Design: the consumer is a background task of the HTTP server's process, on the same event loop
as the async handlers (news-http runs startup hooks on that loop). One process, one store in
memory; the handlers and the consumer share it without locks because they share the loop.
(With a real database, the processor would rather be a second deployment of the same code.)

Flow of one article::

    POST /v1/articles --publish--> ArticleSubmitted --consume--> normalise -> store
       202 + Location                (x-request-id)               -> ArticlePublished
                                                                   -> business_event

Lifecycle: the store, the publisher and the consumer are the app's managed resources
(``app.manage``), started in that order once the topics exist, stopped in reverse after the HTTP
drain (SIGTERM or Ctrl+C): the consumer stops (with the embedded broker, only once it processed
everything this process published: that broker forgets all when it stops), committing what it
handled; the publisher flushes; the store is dumped if asked; then the embedded broker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

import news_api
import news_auth
import news_auth.http
import news_client
import news_config
import news_http
import news_kafka
import news_log
import news_metrics
import news_redis
from news_redis.http import by_client_address, by_identity, first_of, rate_limit
from newsroom.enrichment import EmbeddedEnrichment, Enricher, TagsIn
from newsroom.models import ArticleIn, ArticleSubmitted
from newsroom.normalise import normalise, published_event, slugify
from newsroom.store import ArticleStore, MemoryStore

if TYPE_CHECKING:
    from newsroom.broker import EmbeddedBroker
    from newsroom.settings import Settings

__all__ = [
    "ARTICLE_PUBLISHED",
    "METRIC_SECTIONS",
    "WRITE_SCOPE",
    "Newsroom",
    "key_file",
    "state_file",
]

log = news_log.get_logger("newsroom")
# During a Kafka outage every POST is refused alike: one line per error type per 10 s
# (LogSettings.repeat_interval), with the count of those left out.
_refusals = log.limited()

#: The sections counted by name in ``business_article_published_total``; an article of any other
#: section is stored as usual and counted as ``section="other"`` (clients choose the section, so a
#: closed set keeps them from adding series or pushing real sections out of the metric).
METRIC_SECTIONS: tuple[str, ...] = (
    "world",
    "politics",
    "business",
    "technology",
    "science",
    "health",
    "sport",
    "culture",
    "opinion",
    "local",
)

ARTICLE_PUBLISHED = news_metrics.declare_business_event(
    "article_published",
    labels=("section",),
    values={"section": METRIC_SECTIONS},
    description="Articles processed and stored, by section (others as 'other').",
)


def state_file(port: int) -> Path:
    """Where a running newsroom on ``port`` records its Kafka bootstrap (for the CLI)."""
    return Path(tempfile.gettempdir()) / f"newsroom-{port}.json"


def key_file(port: int) -> Path:
    """Where a running newsroom on ``port`` keeps its development API key (mode 0600)."""
    return Path(tempfile.gettempdir()) / f"newsroom-{port}.key"


WRITE_SCOPE = "articles:write"
"""The scope ``POST /v1/articles`` needs."""


class _ProcessAccepted:
    """Embedded broker only: stopping waits until the consumer processed what was accepted."""

    def __init__(self, newsroom: Newsroom) -> None:
        self._newsroom = newsroom

    async def start(self) -> None:
        """Nothing to start."""

    @property
    def stop_timeout(self) -> float:
        """news-http bounds `stop` by this rather than by a shorter ``hook_timeout``."""
        return self._newsroom.settings.newsroom.drain_timeout + 1.0

    async def stop(self) -> None:
        """Wait (at most ``drain_timeout``) for the consumer to catch up."""
        await self._newsroom._process_accepted()


class Newsroom:
    """The service: its app (`news_http.NewsApp`), store, publisher and consumer.

    Args:
        settings: The service's settings (``settings.kafka`` already points at the broker).
        store: Where articles go (default: a `MemoryStore`).
        broker: The embedded broker, stopped last on shutdown; None with an external cluster.
        use_redis: Count the rate limits in Redis (``settings.redis``), shared by every
            instance; False counts them in this process.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: ArticleStore | None = None,
        broker: EmbeddedBroker | None = None,
        use_redis: bool = False,
    ) -> None:
        if settings.http.processes != 1:
            raise news_http.HTTPConfigError(
                "the newsroom keeps its articles in this process's memory: it needs "
                f"NEWSROOM_HTTP__PROCESSES=1 (got {settings.http.processes})"
            )
        self.settings = settings
        kafka = settings.kafka
        self.store: ArticleStore = (
            store if store is not None else MemoryStore(dump=settings.newsroom.store_dump)
        )
        self.broker = broker
        self.topics = settings.newsroom.topics
        self.dead_letter_topic = self.topics.submitted + kafka.consumer.dead_letter_suffix
        self.cursors = news_api.CursorCodec(settings.newsroom.cursor_secret, salt="articles")
        # Metrics: KafkaSettings.metrics is "auto", so both use news-metrics' Kafka hook.
        self.publisher = news_kafka.Publisher(kafka)
        self.consumer: news_kafka.Consumer[ArticleSubmitted] = news_kafka.Consumer(
            kafka,
            topics=self.topics.submitted,
            group_id=settings.newsroom.group_id,
            handler=self.process,
            value_type=ArticleSubmitted,
            dead_letter_publisher=self.publisher,
        )
        self._setup_enrichment(settings)
        # Highest offset this process published, per partition of the submitted topic.
        self._published: dict[int, int] = {}
        self.app = app = news_http.create_app(settings.http, name="newsroom")
        self._setup_auth(settings.auth)
        # Rate limits: in Redis when NEWSROOM_REDIS__* is set (shared by every instance, Redis
        # is a readiness check), else in this process. Redis down: submissions stay limited
        # per process (fail open with an in-process fallback), logged once per 10 s.
        self.redis: news_redis.Redis | None = None
        if use_redis:
            self.redis = app.manage(news_redis.Redis(settings.redis), name="redis")
            self.limiter = news_redis.RateLimiter(self.redis, prefix="newsroom:ratelimit")
        else:
            self.limiter = news_redis.RateLimiter(news_redis.MemoryBackend())
        self.submit_limit = rate_limit(
            self.limiter,
            settings.newsroom.submit_rate,
            # the authenticated caller (the auth guard runs first), else the client address
            # (which honours NEWSROOM_HTTP__TRUSTED_PROXIES)
            key=first_of(by_identity("sub"), by_client_address(app)),
            name="submit",
            fail="open",
        )
        self._routes()
        app.on_startup(self._create_topics)  # the app's hooks run before its resources start
        if self.dev_key:
            app.on_startup(self._issue_dev_key)
        app.on_shutdown(self._stop_broker)  # and after they stopped
        # Started in this order before serving; stopped in reverse after the HTTP drain.
        app.manage(self.store, name="store")
        app.manage(self.publisher, name="publisher")
        if self.embedded_enrichment is not None:
            app.manage(self.embedded_enrichment, name="enrichment-service")
        if self.enricher is not None:  # readiness "enrichment": the breaker's state
            app.manage(self.enricher.client, name="enrichment")
        app.manage(self.consumer, name="consumer")
        if self.verifier is not None:  # signing keys fetched at start; readiness waits for them
            app.manage(self.verifier, name="jwks")
        if broker is not None:  # registered last, so it stops first: before the consumer
            app.manage(_ProcessAccepted(self), name="process-accepted")
        if app.health is not None:  # None when news-health is not installed (or health=off)
            from news_kafka.health import register_health

            # Readiness "kafka": a metadata request; liveness: the consumer's fetch loop.
            broker_check = register_health(app.health, settings=kafka, consumers=[self.consumer])
            app.manage(contextlib.aclosing(broker_check), name="kafka-check")  # its connection

    # -- settings that change while serving ----------------------------------------------------

    def follow(self, watcher: news_config.Watcher[Settings]) -> None:
        """Apply the live changes ``watcher`` finds while serving; it runs as a managed resource.

        Live: the CORS policy, the submission rate and the log levels (see `apply_settings`);
        news-config logs other changes as needing a restart and keeps invalid ones out.
        """
        watcher.on_change = self.apply_settings
        self.app.manage(watcher, name="settings")

    def apply_settings(self, update: news_config.Reload[Settings]) -> None:
        """Apply a live settings change: CORS, then the submission rate, then the log levels.

        The CORS policy goes first: it is the one news-config cannot fully check (news-http
        refuses a malformed origin here), and a refusal then leaves the rest untouched; the
        watcher rolls the change back.
        """
        new = update.new
        self.app.set_cors(new.http.cors)
        self.submit_limit.set_rate(new.newsroom.submit_rate)
        news_log.set_levels(new.log.level, new.log.levels)
        replace = msgspec.structs.replace
        self.settings = replace(
            self.settings,
            log=new.log,
            http=replace(self.settings.http, cors=new.http.cors),
            newsroom=replace(self.settings.newsroom, submit_rate=new.newsroom.submit_rate),
        )

    def _setup_enrichment(self, settings: Settings) -> None:
        """The enrichment client; the embedded service too when no base URL is set."""
        client_settings = settings.enrichment
        self.embedded_enrichment: EmbeddedEnrichment | None = None
        self.enricher: Enricher | None = None
        if not client_settings.base_url:
            if settings.newsroom.embedded_enrichment == "off":
                return
            from newsroom.broker import free_port

            self.embedded_enrichment = EmbeddedEnrichment(port=free_port())
            client_settings = msgspec.structs.replace(
                client_settings, base_url=self.embedded_enrichment.url
            )
        self.enricher = Enricher(news_client.HTTPClient(client_settings, name="enrichment"))

    # -- HTTP --------------------------------------------------------------------------------

    def _setup_auth(self, auth: news_auth.AuthSettings) -> None:
        """Bearer JWTs and/or API keys from the settings; a development key when neither."""
        self.verifier = news_auth.JWTVerifier(auth.jwt) if auth.jwt is not None else None
        api_key_settings = auth.api_keys
        self.dev_key = api_key_settings is None and self.verifier is None
        if self.dev_key:  # nothing configured: a key of this process's own, printed at start
            api_key_settings = news_auth.APIKeySettings(
                peppers={"dev": news_config.Secret(secrets.token_urlsafe(32))},
                current_pepper_id="dev",
                prefix="nr",
            )
        self.api_keys = (
            news_auth.APIKeys(api_key_settings, news_auth.MemoryAPIKeyStore())
            if api_key_settings is not None
            else None
        )
        self.auth = news_auth.http.HTTPAuth(
            jwt=self.verifier, api_keys=self.api_keys, realm="newsroom"
        )

    def _routes(self) -> None:
        app = self.app

        @self.auth.requires(WRITE_SCOPE)  # outermost: the limit below knows the caller
        @news_http.with_middleware(self.submit_limit)
        async def submit(article: ArticleIn) -> news_api.Response:
            return await self.submit(article)

        app.post("/v1/articles")(submit)
        app.get("/v1/articles/:article_id")(self.get_article)
        app.get("/v1/articles")(self.list_articles)

    async def submit(self, article: ArticleIn) -> news_api.Response:
        """``POST /v1/articles``: publish ``ArticleSubmitted``; 202 with the id and Location."""
        if not self.publisher.running:
            raise news_api.ServiceUnavailable(
                "the service is starting; try again shortly", retry_after=1
            )
        article_id = uuid.uuid4().hex
        event = ArticleSubmitted(
            id=article_id,
            title=article.title,
            body=article.body,
            section=article.section,
            author=article.author,
            tags=list(article.tags),
            submitted_at=time.time(),
        )
        # The request id bound by news-http rides along in the record's x-request-id header.
        try:
            meta = await self.publisher.publish(
                self.topics.submitted,
                event,
                key=article_id,
                timeout=self.settings.newsroom.publish_timeout,  # the outage budget
            )
        except news_kafka.NewsKafkaError as exc:  # Kafka unreachable, or the budget spent
            _refusals.error(
                "article not accepted: publishing failed",
                repeat_key=type(exc).__name__,
                error=str(exc),
            )
            raise news_api.ServiceUnavailable(
                "the article could not be queued for processing; try again shortly",
                retry_after=5,
            ) from exc
        if meta.offset > self._published.get(meta.partition, -1):
            self._published[meta.partition] = meta.offset
        log.info(  # carries principal, auth_method, client_id: the guard bound them
            "article submitted",
            article_id=article_id,
            topic=meta.topic,
            partition=meta.partition,
            offset=meta.offset,
        )
        location = f"/v1/articles/{article_id}"
        return news_api.ok(
            {"id": article_id, "status": "processing", "href": location},
            status=202,
            headers={"Location": location},
        )

    async def get_article(self, article_id: str) -> news_api.Response:
        """``GET /v1/articles/:article_id``: the article once processed, else 404."""
        article = await self.store.get(article_id)
        log.debug("article looked up", article_id=article_id, found=article is not None)
        if article is None:
            raise news_api.NotFound(
                f"no article {article_id!r}: unknown, or accepted and not processed yet "
                "(it usually is within a second)"
            )
        return news_api.ok(article)

    async def list_articles(
        self, section: str = "", cursor: str = "", limit: str = ""
    ) -> news_api.Response:
        """``GET /v1/articles?section=&cursor=&limit=``: a cursor-paginated list."""
        # news-http hands over the query parameters decoded; news-api validates and verifies.
        query = {
            name: value
            for name, value in (("section", section), ("cursor", cursor), ("limit", limit))
            if value
        }
        params = news_api.cursor_params(
            query, self.cursors, type_=int, default_limit=self.settings.newsroom.page_size
        )
        wanted = slugify(section) if section else None
        page = await self.store.page(section=wanted, after=params.position, limit=params.limit)
        next_cursor = (
            self.cursors.encode(page.next_position) if page.next_position is not None else None
        )
        return news_api.cursor_page(
            page.items,
            next_cursor=next_cursor,
            base_url="/v1/articles",
            query=query,
            meta={"limit": params.limit, "total": await self.store.count(section=wanted)},
        )

    # -- Kafka -------------------------------------------------------------------------------

    async def process(self, message: news_kafka.Message[ArticleSubmitted]) -> None:
        """Consumer handler: normalise, publish ``ArticlePublished``, store, count.

        At least once: a redelivered submission finds its article stored and is skipped, so the
        store holds each article once; ``ArticlePublished`` may then repeat (consumers of it
        deduplicate by id).
        """
        submitted = message.value
        if await self.store.get(submitted.id) is not None:
            log.info("article already stored; redelivery skipped", article_id=submitted.id)
            return
        article = normalise(submitted, published_at=time.time())
        if self.enricher is not None:  # slow or down: stored without its tags (logged, counted)
            tags = await self.enricher.tags(
                article.id, TagsIn(title=article.title, body=article.body, section=article.section)
            )
            if tags:
                article = msgspec.structs.replace(article, tags=sorted({*article.tags, *tags}))
        await self.publisher.publish(
            self.topics.published, published_event(article), key=article.id
        )
        await self.store.put(article)
        news_metrics.business_event("article_published", section=article.section)
        log.info(
            "article published",
            article_id=article.id,
            section=article.section,
            partition=message.partition,
            offset=message.offset,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def _create_topics(self) -> None:
        kafka = self.settings.kafka
        partitions = self.topics.partitions
        await news_kafka.ensure_topics(
            kafka,
            [
                news_kafka.TopicSpec(self.topics.submitted, partitions),
                news_kafka.TopicSpec(self.topics.published, partitions),
                news_kafka.TopicSpec(self.dead_letter_topic, 1),
            ],
        )
        state_file(self.settings.http.port).write_text(
            json.dumps({"bootstrap": ",".join(kafka.bootstrap_servers), "pid": os.getpid()}),
            encoding="utf-8",
        )
        log.info(
            "article processor starting",
            group=self.settings.newsroom.group_id,
            topic=self.topics.submitted,
            dead_letter_topic=self.dead_letter_topic,
            bootstrap=",".join(kafka.bootstrap_servers),
        )

    async def _issue_dev_key(self) -> None:
        """Issue the development API key, keep it in `key_file` and print it."""
        assert self.api_keys is not None
        issued = await self.api_keys.issue(
            name="development key", subject="dev:newsroom", scopes={WRITE_SCOPE}
        )
        key = issued.key.reveal()
        path = key_file(self.settings.http.port)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
        log.warning(
            "development API key (no NEWSROOM_AUTH__* settings): POST /v1/articles needs it; "
            "python -m newsroom key prints it",
            header=f"x-api-key: {key}",
            key_file=str(path),
        )

    def _caught_up(self) -> bool:
        committed = self.consumer.committed_offsets()
        topic = self.topics.submitted
        return all(
            committed.get((topic, partition), 0) > offset
            for partition, offset in self._published.items()
        )

    async def _process_accepted(self) -> None:
        """The embedded broker keeps nothing once stopped: process what was accepted first."""
        if self._caught_up():
            return
        log.info("processing what was accepted before stopping the embedded broker")
        deadline = time.monotonic() + self.settings.newsroom.drain_timeout
        while not self._caught_up() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if not self._caught_up():
            log.error(
                "accepted articles left unprocessed; the embedded broker forgets them",
                drain_timeout_s=self.settings.newsroom.drain_timeout,
            )

    def _stop_broker(self) -> None:
        state_file(self.settings.http.port).unlink(missing_ok=True)
        if self.dev_key:
            key_file(self.settings.http.port).unlink(missing_ok=True)
        if self.broker is not None:
            self.broker.stop()
            log.info("embedded Kafka broker stopped")
