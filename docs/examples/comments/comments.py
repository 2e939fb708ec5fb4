"""comments: post comments on articles, list them; a consumer in the same process stores them."""

import hmac
from typing import Annotated

import msgspec
from robyn import Headers

import news_api
import news_config
import news_http
import news_kafka
import news_log
import news_metrics


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The service's settings, from COMMENTS_* variables (nested: COMMENTS_KAFKA__...)."""

    token: news_config.Secret  # COMMENTS_TOKEN: the bearer token that may post
    topic: str = "comments"
    http: news_http.HTTPSettings = news_http.HTTPSettings()
    kafka: news_kafka.KafkaSettings = news_kafka.KafkaSettings()


class CommentIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A comment as posted: the body of POST .../comments, validated (422 naming the field)."""

    author: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class CommentPosted(CommentIn, frozen=True):
    """The event published for each comment, keyed by its article."""

    article_id: str


settings = news_config.load(Settings, prefix="COMMENTS_")
log = news_log.get_logger("comments")
STORED = news_metrics.declare_business_event("comment_stored", description="Comments stored.")
comments: dict[str, list[CommentPosted]] = {}  # article id -> its comments, in order


async def store(message: news_kafka.Message[CommentPosted]) -> None:
    stored = comments.setdefault(message.value.article_id, [])
    stored.append(message.value)
    STORED.inc()  # the rate, in aggregate; the count per article is data, served below
    log.info("comment stored", article_id=message.value.article_id, count=len(stored))


app = news_http.create_app(settings.http, name="comments")
publisher = app.manage(news_kafka.Publisher(settings.kafka))
consumer = news_kafka.Consumer(
    settings.kafka, topics=settings.topic, group_id="store", handler=store, value_type=CommentPosted
)
app.manage(consumer)


@app.post("/v1/articles/:article_id/comments")
async def post_comment(article_id: str, comment: CommentIn, headers: Headers) -> news_api.Response:
    given = (headers.get("authorization") or "").encode()
    if not hmac.compare_digest(given, f"Bearer {settings.token.reveal()}".encode()):
        raise news_api.Unauthorized("send Authorization: Bearer <token>")
    event = CommentPosted(comment.author, comment.text, article_id)
    await publisher.publish(settings.topic, event, key=article_id)
    return news_api.ok({"status": "accepted"}, status=202)


@app.get("/v1/articles/:article_id/comments")
def list_comments(article_id: str, query_params: news_api.Query) -> news_api.Response:
    items, page = comments.get(article_id, []), news_api.page_params(query_params)
    return news_api.offset_page(
        items[page.offset : page.offset + page.limit],
        page=page.page,
        per_page=page.per_page,
        total=len(items),
        base_url=f"/v1/articles/{article_id}/comments",
        query=query_params,
    )


if __name__ == "__main__":
    news_log.setup()  # JSON lines on stderr (a console format in a terminal)
    news_http.run(app)
