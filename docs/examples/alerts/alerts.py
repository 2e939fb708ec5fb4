"""alerts: breaking-news alerts posted over HTTP, published to Kafka, delivered by a consumer."""

import hmac
from typing import Annotated

import msgspec
from robyn import Headers

import news_api
import news_config
import news_http
import news_kafka
import news_log


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """ALERTS_* variables, nested with __ (ALERTS_KAFKA__BOOTSTRAP_SERVERS, ALERTS_LOG__LEVEL)."""

    token: news_config.Secret  # ALERTS_TOKEN: the bearer token that may post
    topic: str = "alerts"
    http: news_http.HTTPSettings = news_http.HTTPSettings()
    kafka: news_kafka.KafkaSettings = news_kafka.KafkaSettings()
    log: news_log.LogSettings = news_log.LogSettings()


class Alert(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An alert: the body of POST /v1/alerts (validated: 422 naming the field) and the event."""

    headline: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    section: Annotated[str, msgspec.Meta(pattern="^[a-z]{1,20}$")]


settings = news_config.load(Settings, prefix="ALERTS_")
log = news_log.get_logger("alerts")
delivered: list[Alert] = []  # newest last; a real service sends push notifications here


async def deliver(message: news_kafka.Message[Alert]) -> None:
    delivered.append(message.value)
    log.info("alert delivered", section=message.value.section)  # carries the POST's request id


app = news_http.create_app(settings.http, name="alerts")
publisher = app.manage(news_kafka.Publisher(settings.kafka))
app.manage(
    news_kafka.Consumer(
        settings.kafka, topics=settings.topic, group_id="deliver", handler=deliver, value_type=Alert
    )
)


@app.post("/v1/alerts")
async def post_alert(alert: Alert, headers: Headers) -> news_api.Response:
    given = (headers.get("authorization") or "").encode()
    if not hmac.compare_digest(given, f"Bearer {settings.token.reveal()}".encode()):
        raise news_api.Unauthorized("send Authorization: Bearer <token>")
    try:  # a deadline for every attempt; at once when the brokers have been gone for 5 s
        await publisher.publish(settings.topic, alert, key=alert.section, timeout=5.0)
    except news_kafka.PublishError as exc:
        raise news_api.ServiceUnavailable("Kafka is unreachable; try again", retry_after=5) from exc
    log.info("alert published", section=alert.section)
    return news_api.ok({"status": "accepted"}, status=202)


@app.get("/v1/alerts")
def latest_alerts() -> news_api.Response:
    return news_api.ok(delivered[-20:][::-1])


if __name__ == "__main__":
    news_log.setup(settings.log)
    news_http.run(app)
