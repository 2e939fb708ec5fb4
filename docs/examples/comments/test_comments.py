"""The comments service's tests: a real server process on a real broker (news-testing)."""

import pytest

from news_testing import kafka_env, serve_app

AUTH = {"authorization": "Bearer test-token"}


@pytest.fixture
def server(kafka_bootstrap, kafka_topic):
    env = kafka_env(kafka_bootstrap, prefix="COMMENTS_KAFKA__")
    env |= {"COMMENTS_TOKEN": "test-token", "COMMENTS_TOPIC": kafka_topic()}
    with serve_app("comments:app", env=env) as server:
        yield server
    assert server.result.exit_code == 0  # SIGTERM: drained, consumer committed, publisher flushed


def test_comments_are_stored_counted_and_listed_by_page(server):
    client = server.client()
    for text in ("First!", "Second."):
        body = {"author": "Ada", "text": text}
        assert client.post("/v1/articles/a1/comments", json=body, headers=AUTH).status_code == 202
    server.wait_for_log(msg="comment stored", article_id="a1", count=2)
    page = client.get("/v1/articles/a1/comments", params={"page": 2, "per_page": 1}).json()
    assert page["data"] == [{"author": "Ada", "text": "Second.", "article_id": "a1"}]
    assert page["meta"] == {"page": 2, "per_page": 1, "total": 2, "pages": 2}
    assert sorted(page["links"]) == ["first", "last", "prev", "self"]
    metrics = client.get("/metrics").text
    assert 'business_comment_stored_total{event="comment_stored"} 2.0' in metrics


def test_bad_requests_are_problems_naming_what_was_wrong(server):
    client = server.client()
    no_token = client.post("/v1/articles/a1/comments", json={"author": "Ada", "text": "Hi"})
    assert no_token.status_code == 401
    assert no_token.headers["content-type"] == "application/problem+json"
    empty = client.post("/v1/articles/a1/comments", json={"author": "", "text": "x"}, headers=AUTH)
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "author"
    too_many = client.get("/v1/articles/a1/comments", params={"per_page": 500})
    assert too_many.json()["errors"][0]["field"] == "per_page"


def test_the_request_id_reaches_the_consumer_and_the_probes_answer(server):
    body, headers = {"author": "Bo", "text": "Hi"}, {**AUTH, "x-request-id": "req-42"}
    server.client().post("/v1/articles/a2/comments", json=body, headers=headers)
    assert server.wait_for_log(msg="comment stored", request_id="req-42")["article_id"] == "a2"
    assert server.client().get("/health/ready").status_code == 200
