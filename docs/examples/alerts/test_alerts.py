"""The alerts service's tests: a real server process on a real broker (news-testing)."""

import pytest

from news_testing import kafka_env, serve_app

AUTH = {"authorization": "Bearer test-token"}


@pytest.fixture
def server(kafka_bootstrap, kafka_topic):
    env = kafka_env(kafka_bootstrap, prefix="ALERTS_KAFKA__")
    env |= {"ALERTS_TOKEN": "test-token", "ALERTS_TOPIC": kafka_topic()}
    with serve_app("alerts:app", env=env) as server:
        yield server
    assert server.result.exit_code == 0  # SIGTERM: drained, consumer committed, publisher flushed


def test_a_posted_alert_is_published_delivered_and_listed(server):
    client = server.client()
    body = {"headline": "Summit opens", "section": "world"}
    headers = {**AUTH, "x-request-id": "req-7"}
    assert client.post("/v1/alerts", json=body, headers=headers).status_code == 202
    assert server.wait_for_log(msg="alert delivered", request_id="req-7")["section"] == "world"
    assert client.get("/v1/alerts").json() == {"data": [body]}
    assert client.get("/health/ready").status_code == 200


def test_bad_requests_are_problems_naming_what_was_wrong(server):
    client = server.client()
    body = {"headline": "x", "section": "world"}
    no_token = client.post("/v1/alerts", json=body)
    assert no_token.status_code == 401
    assert no_token.headers["content-type"] == "application/problem+json"
    bad = client.post("/v1/alerts", json={"headline": "x", "section": "World!"}, headers=AUTH)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "section"
