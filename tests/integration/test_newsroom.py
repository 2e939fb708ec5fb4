"""The newsroom example end to end: a real service process with its embedded Kafka broker.

Each test starts ``python -m newsroom`` as a child process (no Kafka bootstrap set: it starts
Tansu itself), talks to it over HTTP and through its CLI, reads its JSON log lines, and stops
it with SIGTERM as an orchestrator would. The flow and shutdown tests run twice: with the
in-memory store (no ``NEWSROOM_DB__*``), with PostgreSQL (``NEWSROOM_DB__DSN`` of a fresh
database, which the service migrates at start) and with MongoDB (``NEWSROOM_MONGO__URI`` and
``NEWSROOM_MONGO__DATABASE`` of a fresh database on news-testing's server).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from news_testing import ConfigVolume, free_port

pytestmark = pytest.mark.slow

ARTICLES = 200
SUBMITTED = "newsroom.article-submitted"
STOP_TIMEOUT = 60.0  # bound for the whole shutdown (grace period, hooks, broker): a hang fails


class Newsroom:
    """A ``python -m newsroom`` child process, its log lines and an HTTP client for it."""

    def __init__(self, workdir: Path, *, dsn: str | None = None, mongo: Any = None) -> None:
        self.dsn = dsn
        self.mongo = mongo
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_path = workdir / "newsroom.log"
        self.dump_path = workdir / "store.json"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
        self.env.update(
            NEWSROOM_HTTP__PORT=str(self.port),
            NEWSROOM_LOG__FORMAT="json",
            NEWSROOM_NEWSROOM__STORE_DUMP=str(self.dump_path),
            NEWSROOM_NEWSROOM__SUBMIT_RATE="100000/minute",  # 200 articles from one address
        )
        if dsn is not None:
            self.env["NEWSROOM_DB__DSN"] = dsn
        if mongo is not None:
            self.env["NEWSROOM_MONGO__URI"] = mongo.uri
            self.env["NEWSROOM_MONGO__DATABASE"] = mongo.name
        self.args: tuple[str, ...] = ()  # global options of python -m newsroom (--config-dir)
        self.process: subprocess.Popen[bytes] | None = None
        self.key = ""
        self.auth: dict[str, str] = {}

    def start(self, timeout: float = 90.0) -> Newsroom:
        """Start the process; return once it logged "serving"."""
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "newsroom", *self.args],
                cwd=self.workdir,  # no .env file here unless the test writes one
                env=self.env,
                stdout=log,
                stderr=log,
            )
        self.wait_for_log(lambda line: line.get("msg") == "serving", timeout)
        shown = self.cli("key")  # the development API key, as the README's tour gets it
        assert shown.returncode == 0, shown.stderr
        self.key = shown.stdout.strip()
        self.auth = {"x-api-key": self.key}
        return self

    def lines(self) -> list[dict[str, Any]]:
        """The service's log lines so far (JSON objects; anything else is kept as text)."""
        found = []
        for raw in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                found.append(json.loads(raw))
            except ValueError:
                found.append({"text": raw})
        return found

    def wait_for_log(self, match: Any, timeout: float = 30.0, nth: int = 1) -> dict[str, Any]:
        """The ``nth`` log line ``match(line)`` accepts, waiting for it (fails on exit/timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.lines() if match(line)]
            if len(found) >= nth:
                return found[nth - 1]
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"newsroom exited with {self.process.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no such log line within {timeout} s:\n{self.tail()}")
            time.sleep(0.05)

    def tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the log, for failure messages."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``python -m newsroom ARGS`` against this service (it finds the embedded broker)."""
        return subprocess.run(
            [sys.executable, "-m", "newsroom", *self.args, *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and return the exit code (fails if it does not exit in time)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"newsroom did not stop within {STOP_TIMEOUT} s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL the process if it still runs (fixture cleanup)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def newsroom(tmp_path):
    """A started newsroom process in tmp_path, killed after the test if still running."""
    service = Newsroom(tmp_path)
    try:
        yield service.start()
    finally:
        service.kill()


@pytest.fixture(params=["memory", "postgres", "mongo"])
def any_newsroom(request, tmp_path):
    """A started newsroom with each store: in memory, PostgreSQL, MongoDB (fresh databases)."""
    dsn = request.getfixturevalue("postgres").dsn if request.param == "postgres" else None
    mongo = request.getfixturevalue("mongo") if request.param == "mongo" else None
    service = Newsroom(tmp_path, dsn=dsn, mongo=mongo)
    try:
        yield service.start()
    finally:
        service.kill()


def article_body(n: int) -> dict[str, Any]:
    """The JSON body of article ``n`` (three sections in turn, tags to normalise)."""
    return {
        "title": f"  Article   number {n} ",
        "body": f"Paragraph one of {n}.\n\nParagraph two.",
        "section": ["World", "Sport", "Culture"][n % 3],
        "author": "Ada Lovelace",
        "tags": ["Demo", "demo", f"n{n % 5}"],
    }


async def create_articles(url: str, count: int, auth: dict[str, str]) -> dict[str, str]:
    """POST ``count`` articles concurrently; return article id -> the request id that made it."""
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=auth) as client:

        async def create(n: int) -> tuple[str, str]:
            request_id = f"e2e-{n:04d}"
            response = await client.post(
                "/v1/articles", json=article_body(n), headers={"x-request-id": request_id}
            )
            assert response.status_code == 202, response.text
            article_id = response.json()["data"]["id"]
            assert response.headers["location"] == f"/v1/articles/{article_id}"
            assert response.headers["x-request-id"] == request_id
            return article_id, request_id

        return dict(await asyncio.gather(*(create(n) for n in range(count))))


async def wait_until_readable(url: str, ids: list[str], timeout: float = 120.0) -> None:
    """Poll until every id answers 200 (each one 404 problem+json until it is processed)."""
    pending = set(ids)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while pending:
            for article_id in list(pending):
                response = await client.get(f"/v1/articles/{article_id}")
                if response.status_code == 200:
                    pending.discard(article_id)
                else:
                    assert response.status_code == 404, response.text
                    assert response.headers["content-type"] == "application/problem+json"
            if pending and time.monotonic() > deadline:
                pytest.fail(f"{len(pending)} articles still not processed after {timeout} s")
            if pending:
                await asyncio.sleep(0.2)


def list_all(client: httpx.Client, **query: str) -> tuple[list[dict[str, Any]], int]:
    """Every article through the cursor-paginated list, and the total it reports."""
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "100", **query}
    while True:
        body = client.get("/v1/articles", params=params).raise_for_status().json()
        items.extend(body["data"])
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            return items, body["meta"]["total"]
        params["cursor"] = cursor


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
    total = 0.0
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{(?P<labels>[^}}]*)\}})? (?P<value>\S+)$")
    for line in text.splitlines():
        match = pattern.match(line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match["labels"] or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match["value"])
    return total


class TestNewsroomEndToEnd:
    def test_two_hundred_articles_through_http_and_kafka(self, any_newsroom, request):
        """200 concurrent POSTs are all processed once, traced, counted, and kept across SIGTERM."""
        newsroom = any_newsroom
        lines = newsroom.lines()
        assert lines[0]["msg"].startswith("embedded Kafka broker (Tansu) started"), lines[0]
        broker_pid = lines[0]["broker_pid"]

        created = asyncio.run(create_articles(newsroom.url, ARTICLES, newsroom.auth))
        assert len(created) == ARTICLES
        asyncio.run(wait_until_readable(newsroom.url, list(created)))

        with httpx.Client(base_url=newsroom.url, timeout=30) as client:
            items, total = list_all(client)
            assert total == ARTICLES
            assert sorted(item["id"] for item in items) == sorted(created)
            sport, sport_total = list_all(client, section="sport")
            assert sport_total == len(sport) == len([n for n in range(ARTICLES) if n % 3 == 1])
            assert {item["section"] for item in sport} == {"sport"}
            one = client.get(f"/v1/articles/{items[0]['id']}").json()["data"]
            assert one["title"].startswith("Article number ")
            assert one["tags"][0] == "demo"
            live = client.get("/health/live")
            ready = client.get("/health/ready")
            assert (live.status_code, ready.status_code) == (200, 200), (live.text, ready.text)
            assert live.json()["checks"]["kafka-consumer:newsroom-processor"][0]["status"] == "pass"
            assert ready.json()["checks"]["kafka"][0]["status"] == "pass"
            if newsroom.dsn is not None:  # the PostgreSQL store's readiness check
                assert ready.json()["checks"]["store"][0]["status"] == "pass"
            metrics = client.get("/metrics").text

        # One request id across the access line, the publish line and the consumer's line.
        lines = newsroom.lines()
        for article_id, request_id in sorted(created.items())[:5]:
            mine = [line for line in lines if line.get("request_id") == request_id]
            access = [line for line in mine if line.get("logger") == "news_http.access"]
            assert [(a["method"], a["status"]) for a in access] == [("POST", 202)], mine
            submitted = [line for line in mine if line.get("msg") == "article submitted"]
            published = [line for line in mine if line.get("msg") == "article published"]
            assert [line["article_id"] for line in submitted] == [article_id], mine
            assert [line["article_id"] for line in published] == [article_id], mine

        # The counters agree with what happened.
        posts = metric(metrics, "http_requests_total", method="POST", route="/v1/articles")
        assert posts == ARTICLES
        assert metric(metrics, "business_article_published_total") == ARTICLES
        assert metric(metrics, "business_article_published_total", section="sport") == len(sport)
        assert metric(metrics, "kafka_messages_consumed_total", topic=SUBMITTED) == ARTICLES
        assert metric(metrics, "kafka_messages_published_total", topic=SUBMITTED) == ARTICLES
        assert metric(metrics, "kafka_messages_dead_lettered_total") == 0

        assert newsroom.stop(signal.SIGTERM) == 0, newsroom.tail()
        lines = newsroom.lines()
        messages = [line.get("msg") for line in lines]
        closed = next(line for line in lines if line.get("msg") == "store closed")
        assert (closed["articles"], closed["duplicates"]) == (ARTICLES, 0)
        assert messages.index("consumer stopped") < messages.index("store closed")
        assert messages.index("store closed") < messages.index("embedded Kafka broker stopped")
        assert lines[-1]["msg"] == "stopped"
        assert lines[-1]["exit_code"] == 0
        dumped = json.loads(newsroom.dump_path.read_text())
        assert sorted(article["id"] for article in dumped) == sorted(created)
        assert not Path(f"/proc/{broker_pid}").exists()
        assert not any(line.get("msg") == "record dead-lettered" for line in lines)
        if newsroom.dsn is not None:  # stored in PostgreSQL, each once, after the process ended
            database = request.getfixturevalue("postgres")
            rows = database.fetch("SELECT id FROM articles")
            assert sorted(r["id"] for r in rows) == sorted(created)
            applied = database.fetch("SELECT count(*) AS n FROM news_db_migrations")
            assert applied == [{"n": 2}]
        if newsroom.mongo is not None:  # stored in MongoDB, each once, after the process ended
            import pymongo

            client: Any = pymongo.MongoClient(newsroom.mongo.uri)
            try:
                ids = [d["_id"] for d in client[newsroom.mongo.name]["articles"].find()]
            finally:
                client.close()
            assert sorted(ids) == sorted(created)


class TestNewsroomShutdown:
    def test_sigterm_right_after_accepting_loses_nothing(self, any_newsroom):
        """Articles accepted just before SIGTERM are processed before the embedded broker stops."""
        newsroom = any_newsroom
        created = asyncio.run(create_articles(newsroom.url, 50, newsroom.auth))
        assert newsroom.stop(signal.SIGTERM) == 0, newsroom.tail()
        dumped = json.loads(newsroom.dump_path.read_text())
        assert sorted(article["id"] for article in dumped) == sorted(created)
        closed = next(line for line in newsroom.lines() if line.get("msg") == "store closed")
        assert (closed["articles"], closed["duplicates"]) == (50, 0)


class TestNewsroomDeadLetters:
    def test_malformed_and_invalid_events_land_in_the_dlq(self, newsroom):
        """An undecodable record and an article blank once normalised are both dead-lettered."""
        sent = newsroom.cli("send-malformed", "--request-id", "dlq-broken-1")
        assert sent.returncode == 0, sent.stderr
        assert "request id dlq-broken-1" in sent.stdout
        with httpx.Client(base_url=newsroom.url, timeout=30) as client:
            blank = {"title": " ", "body": "b", "section": "world", "author": "Ada"}
            response = client.post(
                "/v1/articles", json=blank, headers={"x-request-id": "dlq-2", **newsroom.auth}
            )
            assert response.status_code == 202
            blank_id = response.json()["data"]["id"]
            newsroom.wait_for_log(  # both dead-lettered: offsets 0 and 1 of the DLQ
                lambda line: (
                    line.get("msg") == "record dead-lettered" and line["dead_letter_offset"] == 1
                )
            )
            assert client.get(f"/v1/articles/{blank_id}").status_code == 404

        shown = newsroom.cli("dlq", "--json", "--idle", "5")
        assert shown.returncode == 0, shown.stderr
        rows = {row["request_id"]: row for row in map(json.loads, shown.stdout.splitlines())}
        assert set(rows) == {"dlq-broken-1", "dlq-2"}, shown.stdout
        broken, blank_row = rows["dlq-broken-1"], rows["dlq-2"]
        assert broken["original_topic"] == SUBMITTED
        assert broken["error_type"] == "msgspec.DecodeError"
        assert broken["value"] == '{"id": "oops", "title": '
        assert blank_row["error_type"] == "newsroom.normalise.InvalidArticle"
        expected = f"article {blank_id}: empty after normalising: title"
        assert expected in blank_row["error"]

        human = newsroom.cli("dlq", "--idle", "5")
        assert "msgspec.DecodeError" in human.stdout
        assert "request id: dlq-2" in human.stdout
        assert newsroom.stop(signal.SIGINT) == 0, newsroom.tail()


def _shutdown_bound(service: Newsroom) -> float:
    """The documented bound: shutdown_delay + shutdown_grace + the hooks' bounds + 5 s.

    Each hook's bound is hook_timeout, or a managed resource's longer stop_timeout (the Kafka
    clients'); the drain line gives their sum.
    """
    drain = service.wait_for_log(
        lambda line: line.get("msg") == "shutting down: draining in-flight requests"
    )
    assert drain["hooks_budget_s"] >= drain["shutdown_hooks"] * drain["hook_timeout_s"]
    return drain["grace_s"] + drain["hooks_budget_s"] + 5.0


def _sigterm(service: Newsroom, timeout: float) -> tuple[int, float]:
    """SIGTERM the service; its exit code and how long it took (fails past ``timeout``)."""
    assert service.process is not None
    began = time.monotonic()
    service.process.send_signal(signal.SIGTERM)
    try:
        code = service.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        service.kill()
        pytest.fail(f"newsroom still running {timeout} s after SIGTERM:\n{service.tail()}")
    return code, time.monotonic() - began


class TestNewsroomShutdownFaults:
    def test_sigterm_after_the_broker_died_ends_in_time_and_dumps_the_store(self, tmp_path):
        """Broker SIGKILLed, then SIGTERM: exits within the bound and writes its store dump."""
        service = Newsroom(tmp_path)
        service.env.update(NEWSROOM_HTTP__SHUTDOWN_GRACE="2", NEWSROOM_HTTP__HOOK_TIMEOUT="3")
        service.env.update(NEWSROOM_NEWSROOM__DRAIN_TIMEOUT="2")
        try:
            service.start()
            broker_pid = service.lines()[0]["broker_pid"]
            created = asyncio.run(create_articles(service.url, 3, service.auth))
            asyncio.run(wait_until_readable(service.url, list(created)))
            os.kill(broker_pid, signal.SIGKILL)
            time.sleep(3)
            code, took = _sigterm(service, timeout=120)
        finally:
            service.kill()
        assert took < _shutdown_bound(service), service.tail()
        assert code in {0, 1}  # 1 when a Kafka client could not stop cleanly (logged)
        closed = next(line for line in service.lines() if line.get("msg") == "store closed")
        assert closed["articles"] == 3
        dumped = json.loads(service.dump_path.read_text())
        assert sorted(article["id"] for article in dumped) == sorted(created)
        assert service.lines()[-1]["msg"] in {
            "stopped",
            "shutdown deadline passed; exiting without finishing the shutdown",
        }


def external_broker_env(bootstrap: str) -> dict[str, str]:
    """The newsroom on a broker the test controls (what the service sets for its embedded one)."""
    return {
        "NEWSROOM_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
        "NEWSROOM_KAFKA__PRODUCER__IDEMPOTENCE": "false",  # Tansu refuses it
        "NEWSROOM_KAFKA__CONSUMER__SESSION_TIMEOUT_MS": "2000",
        "NEWSROOM_KAFKA__CONSUMER__HEARTBEAT_INTERVAL_MS": "500",
        "NEWSROOM_KAFKA__CONSUMER__FETCH_MAX_WAIT_MS": "100",
        "NEWSROOM_KAFKA__CONSUMER__COMMIT_INTERVAL_MS": "50",
    }


async def _post_timed(
    url: str, count: int, auth: dict[str, str]
) -> list[tuple[httpx.Response, float]]:
    """POST ``count`` articles at once; each answer and how long it took (seconds)."""
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=auth) as client:

        async def one(n: int) -> tuple[httpx.Response, float]:
            began = time.monotonic()
            response = await client.post("/v1/articles", json=article_body(n))
            return response, time.monotonic() - began

        return list(await asyncio.gather(*(one(n) for n in range(count))))


def _wait_for_status(client: httpx.Client, path: str, status: int, timeout: float = 60.0) -> float:
    """Poll ``path`` until it answers ``status``; the seconds it took (fails past ``timeout``)."""
    began = time.monotonic()
    while True:
        answer = client.get(path)
        if answer.status_code == status:
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            pytest.fail(f"{path} still {answer.status_code} after {timeout} s: {answer.text}")
        time.sleep(0.2)


class TestNewsroomBrokerOutage:
    def test_outage_is_answered_503_at_once_and_recovery_needs_no_restart(
        self, tmp_path, kafka_private_broker
    ):
        """Broker SIGKILLed: 503 problem+json with Retry-After, not 504; back: 202 by itself."""
        broker = kafka_private_broker
        service = Newsroom(tmp_path)
        service.env.update(external_broker_env(broker.bootstrap))
        submitted = service.env.get("NEWSROOM_NEWSROOM__TOPICS__SUBMITTED", SUBMITTED)
        try:
            service.start()
            created = asyncio.run(create_articles(service.url, 3, service.auth))
            asyncio.run(wait_until_readable(service.url, list(created)))
            http = httpx.Client(base_url=service.url, timeout=60, headers=service.auth)
            assert http.get("/health/ready").status_code == 200

            broker.kill()
            outage_began = time.monotonic()
            lines_before = len(service.lines())
            began = time.monotonic()
            first = http.post("/v1/articles", json=article_body(1))
            first_s = time.monotonic() - began
            assert first.status_code == 503, first.text
            assert first.headers["content-type"] == "application/problem+json"
            assert first.headers["retry-after"] == "5"
            assert first.json()["status"] == 503
            # Generous: 30 s is the HTTP request timeout, which would have answered 504.
            assert first_s < 30, first_s
            ready_s = _wait_for_status(http, "/health/ready", 503)
            service.wait_for_log(lambda x: x.get("msg", "").startswith("Kafka unreachable"))

            metrics_before = http.get("/metrics").text
            burst = asyncio.run(_post_timed(service.url, 20, service.auth))
            refused_at_once = metric(
                http.get("/metrics").text,
                "kafka_publish_errors_total",
                topic=submitted,
                error_type="BrokerUnavailableError",
            ) - metric(
                metrics_before,
                "kafka_publish_errors_total",
                topic=submitted,
                error_type="BrokerUnavailableError",
            )
            assert [r.status_code for r, _ in burst] == [503] * 20
            assert {r.headers["retry-after"] for r, _ in burst} == {"5"}
            assert all(r.headers["content-type"] == "application/problem+json" for r, _ in burst)
            # Each of the 20 was refused by the fail-fast state (no attempt, no wait), none
            # waited for its budget to run out: the counter says which error ended each.
            assert refused_at_once == 20
            outage_lines = service.lines()[lines_before:]
            outage_s = time.monotonic() - outage_began

            broker.start()  # the same port, and empty (Tansu keeps nothing)
            asyncio.run(_recreate_topics(broker.bootstrap))
            back = time.monotonic()
            while True:
                answer = http.post("/v1/articles", json=article_body(99))
                if answer.status_code == 202:
                    break
                assert answer.status_code == 503, answer.text
                assert time.monotonic() - back < 60, "still 503 a minute after the broker returned"
                time.sleep(0.5)
            accepted_s = time.monotonic() - back
            ready_again_s = _wait_for_status(http, "/health/ready", 200) + accepted_s
            # ... and the consumer too: what is accepted after the outage is processed.
            asyncio.run(wait_until_readable(service.url, [answer.json()["data"]["id"]], 60))
            http.close()
            assert service.stop() == 0, service.tail()
        finally:
            service.kill()
        aiokafka = Counter(
            (x["logger"], x["msg"])
            for x in outage_lines
            if x.get("logger", "").startswith("aiokafka")
        )
        print(  # the figures for the docs and the report (pytest -s)
            f"\nfirst 503 after {first_s:.2f} s; readiness 503 after {ready_s:.2f} s more; "
            f"20 concurrent 503s in {max(s for _, s in burst):.2f} s (slowest); "
            f"202 again {accepted_s:.2f} s after the broker returned, ready after "
            f"{ready_again_s:.2f} s; {sum(aiokafka.values())} aiokafka lines in {outage_s:.1f} s "
            f"of outage ({len(aiokafka)} kinds, at most {max(aiokafka.values(), default=0)} each)"
        )
        # aiokafka logs ~140 lines a second while its broker is down: one per kind per 10 s.
        assert max(aiokafka.values(), default=0) <= outage_s // 10 + 1, aiokafka


async def _recreate_topics(bootstrap: str) -> None:
    """The newsroom's topics on a broker that came back empty."""
    import news_kafka

    settings = news_kafka.KafkaSettings(bootstrap_servers=(bootstrap,))
    await news_kafka.ensure_topics(
        settings,
        [
            news_kafka.TopicSpec(SUBMITTED, 3),
            news_kafka.TopicSpec("newsroom.article-published", 3),
            news_kafka.TopicSpec(SUBMITTED + ".dlq", 1),
        ],
    )


async def _post_until_stopped(
    url: str, clients: int, stop: asyncio.Event, accepted: set[str], auth: dict[str, str]
) -> dict[int, int]:
    """``clients`` keep-alive connections POSTing articles until told to stop or refused.

    Adds the ids of the articles answered 202 to ``accepted``; returns how many other answers
    there were per status.
    """
    others: dict[int, int] = {}

    async def one(n: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=url, timeout=60, limits=limits, headers=auth
        ) as client:
            sent = 0
            while not stop.is_set():
                sent += 1
                try:
                    response = await client.post("/v1/articles", json=article_body(n * 1000 + sent))
                except httpx.TransportError:
                    return  # the connection was closed or refused: the server is stopping
                if response.status_code == 202:
                    accepted.add(response.json()["data"]["id"])
                else:
                    others[response.status_code] = others.get(response.status_code, 0) + 1

    await asyncio.gather(*(one(n) for n in range(clients)))
    return others


class TestNewsroomShutdownUnderLoad:
    @pytest.mark.parametrize("grace", [3, 25])
    @pytest.mark.parametrize("run", range(5))
    def test_every_accepted_article_is_stored(self, tmp_path, grace, run):
        """50 keep-alive clients POSTing through SIGTERM: every 202 is in the store dump."""
        service = Newsroom(tmp_path)
        service.env.update(NEWSROOM_HTTP__SHUTDOWN_GRACE=str(grace))
        try:
            service.start()
            accepted: set[str] = set()

            async def scenario() -> tuple[dict[int, int], int]:
                stop = asyncio.Event()
                load = asyncio.create_task(
                    _post_until_stopped(service.url, 50, stop, accepted, service.auth)
                )
                deadline = time.monotonic() + 60
                while len(accepted) < 100 and time.monotonic() < deadline:  # all 50 are busy
                    await asyncio.sleep(0.05)
                assert service.process is not None
                service.process.send_signal(signal.SIGTERM)
                code = await asyncio.to_thread(service.process.wait, STOP_TIMEOUT)
                stop.set()
                return await load, code

            others, exit_code = asyncio.run(scenario())
        finally:
            service.kill()
        assert accepted, service.tail()
        assert set(others) <= {503}, others
        dumped = {article["id"] for article in json.loads(service.dump_path.read_text())}
        lost = accepted - dumped
        assert not lost, f"{len(lost)} of {len(accepted)} accepted articles lost:\n{service.tail()}"
        stopped = service.lines()[-1]
        assert stopped["msg"] == "stopped", service.tail()
        assert "requests_reset" in stopped
        assert exit_code == stopped["exit_code"]


class TestSectionMetric:
    def test_random_sections_do_not_push_real_ones_into_other(self, newsroom):
        """150 made-up sections count as other; real sections posted after them keep their name."""
        made_up = [f"zz{n:03d}-{os.urandom(3).hex()}" for n in range(150)]
        real = ["world", "sport", "culture"]

        async def post(sections: list[str]) -> list[str]:
            limits = httpx.Limits(max_connections=20)
            async with httpx.AsyncClient(
                base_url=newsroom.url, timeout=30, limits=limits, headers=newsroom.auth
            ) as c:

                async def one(section: str) -> str:
                    body = {"title": "t", "body": "b", "section": section, "author": "Ada"}
                    response = await c.post("/v1/articles", json=body)
                    assert response.status_code == 202, response.text
                    return str(response.json()["data"]["id"])

                return list(await asyncio.gather(*(one(s) for s in sections)))

        ids = asyncio.run(post(made_up))
        asyncio.run(wait_until_readable(newsroom.url, ids))
        ids = asyncio.run(post(real))
        asyncio.run(wait_until_readable(newsroom.url, ids))
        metrics = httpx.get(f"{newsroom.url}/metrics", timeout=30).text
        name = "business_article_published_total"
        assert metric(metrics, name, section="other") == 150
        for section in real:
            assert metric(metrics, name, section=section) == 1, section
        assert metric(metrics, name) == 153
        assert newsroom.stop() == 0, newsroom.tail()


class TestNewsroomAuth:
    def test_writes_need_the_key_reads_do_not(self, newsroom):
        """POST without a key is 401, with a wrong one 401 invalid_token; GETs stay public."""
        with httpx.Client(base_url=newsroom.url, timeout=30) as client:
            body = article_body(1)
            missing = client.post("/v1/articles", json=body)
            assert missing.status_code == 401
            assert missing.headers["www-authenticate"] == 'Bearer realm="newsroom"'
            assert missing.headers["content-type"] == "application/problem+json"
            wrong_key = newsroom.key[:-1] + ("A" if newsroom.key[-1] != "A" else "B")
            wrong = client.post("/v1/articles", json=body, headers={"x-api-key": wrong_key})
            assert wrong.status_code == 401
            assert wrong.json()["code"] == "invalid_token"
            assert client.get("/v1/articles").status_code == 200
        lines = newsroom.lines()
        warning = next(line for line in lines if line["msg"].startswith("development API key"))
        assert warning["header"] == f"x-api-key: {newsroom.key}"
        assert warning["level"] == "warning"

    def test_the_log_trail_names_the_caller_and_bodies_are_sanitised(self, newsroom):
        """Submit and access lines name the caller (not an anonymous read's); HTML made safe."""
        article = {
            "title": "Summit <b>opens</b> &amp; closes",
            "body": 'Leaders <b>meet</b> <a href="javascript:alert(1)" onclick="x()">here</a>'
            "<script>steal()</script>",
            "section": "world",
            "author": "Ada <i>Lovelace</i>",
        }
        with httpx.Client(base_url=newsroom.url, timeout=30, headers=newsroom.auth) as client:
            response = client.post("/v1/articles", json=article, headers={"x-request-id": "who-1"})
            assert response.status_code == 202, response.text
            article_id = response.json()["data"]["id"]
        asyncio.run(wait_until_readable(newsroom.url, [article_id]))
        stored = httpx.get(f"{newsroom.url}/v1/articles/{article_id}", timeout=30).json()["data"]
        assert stored["title"] == "Summit opens & closes"
        assert stored["author"] == "Ada Lovelace"
        assert stored["body"] == ('Leaders <b>meet</b> <a rel="noopener noreferrer">here</a>')
        key_id = newsroom.key.split("_")[1]
        submitted = newsroom.wait_for_log(
            lambda line: line.get("msg") == "article submitted" and line["request_id"] == "who-1"
        )
        assert submitted["principal"] == "dev:newsroom"
        assert submitted["auth_method"] == "api_key"
        assert submitted["client_id"] == key_id
        access = newsroom.wait_for_log(
            lambda line: line.get("logger") == "news_http.access" and line["request_id"] == "who-1"
        )
        assert (access["status"], access["principal"]) == (202, "dev:newsroom")
        assert (access["auth_method"], access["client_id"]) == ("api_key", key_id)
        trail = [line for line in newsroom.lines() if line.get("request_id") == "who-1"]
        assert newsroom.key not in json.dumps(trail)
        with httpx.Client(base_url=newsroom.url, timeout=30) as anonymous:
            anonymous.get("/v1/articles", headers={"x-request-id": "who-2"})
        read = newsroom.wait_for_log(
            lambda line: line.get("logger") == "news_http.access" and line["request_id"] == "who-2"
        )
        assert not {"principal", "auth_method", "client_id"} & read.keys()


def post_article(newsroom: Newsroom, title: str, request_id: str) -> str:
    """POST one article titled ``title`` (tag "Demo"); return its id."""
    body = {"title": title, "body": "Text.", "section": "world", "author": "Ada", "tags": ["Demo"]}
    headers = {"x-request-id": request_id, **newsroom.auth}
    response = httpx.post(f"{newsroom.url}/v1/articles", json=body, headers=headers, timeout=30)
    assert response.status_code == 202, response.text
    article_id: str = response.json()["data"]["id"]
    return article_id


def stored_tags(newsroom: Newsroom, article_id: str) -> list[str]:
    """The tags of a processed article (waits until it is readable)."""
    asyncio.run(wait_until_readable(newsroom.url, [article_id]))
    answer = httpx.get(f"{newsroom.url}/v1/articles/{article_id}", timeout=30)
    tags: list[str] = answer.raise_for_status().json()["data"]["tags"]
    return tags


class TestNewsroomEnrichment:
    def test_the_embedded_enrichment_service_tags_articles(self, newsroom):
        """By default the processor asks the embedded enrichment service for tags."""
        assert newsroom.wait_for_log(lambda line: line.get("msg", "").startswith("enrichment"))
        article_id = post_article(newsroom, "Storm hits the match", "enrich-1")
        assert stored_tags(newsroom, article_id) == ["demo", "football", "weather"]
        ready = httpx.get(f"{newsroom.url}/health/ready", timeout=30).json()
        assert ready["checks"]["enrichment"][0]["output"] == "breaker closed"
        assert newsroom.stop() == 0

    def test_articles_are_stored_without_tags_when_the_service_is_down(self, tmp_path):
        """Enrichment killed: calls fail, the breaker opens, articles are stored untagged."""
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSROOM_")}
        enrichment = subprocess.Popen(
            [sys.executable, "-m", "newsroom", "enrichment", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        service = Newsroom(tmp_path)
        service.env["NEWSROOM_ENRICHMENT__BASE_URL"] = f"http://127.0.0.1:{port}"
        service.env["NEWSROOM_ENRICHMENT__BREAKER__MINIMUM_CALLS"] = "3"
        service.env["NEWSROOM_ENRICHMENT__BREAKER__OPEN_DURATION"] = "600"  # open for the test
        try:
            deadline = time.monotonic() + 60
            while True:  # the enrichment service is up once it answers
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).raise_for_status()
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "the enrichment service did not start"
                    time.sleep(0.1)
            service.start()
            tagged = post_article(service, "Leaders meet at the summit", "enrich-up")
            assert stored_tags(service, tagged) == ["demo", "diplomacy", "politics"]

            enrichment.kill()
            enrichment.wait()
            untagged = [post_article(service, "Summit opens", f"enrich-down-{n}") for n in range(5)]
            assert [stored_tags(service, article_id) for article_id in untagged] == [["demo"]] * 5

            lines = service.lines()
            skipped = [
                line for line in lines if line.get("msg") == "article stored without enrichment"
            ]
            assert sorted(line["article_id"] for line in skipped) == sorted(untagged)
            assert {line["reason"] for line in skipped} <= {"unavailable", "breaker_open"}
            assert skipped[-1]["reason"] == "breaker_open"  # 3 failures opened it
            assert skipped[-1]["request_id"].startswith("enrich-down-")
            opened = [line for line in lines if line.get("msg") == "circuit breaker opened"]
            assert [line["breaker"] for line in opened] == ["enrichment"]
            metrics = httpx.get(f"{service.url}/metrics", timeout=30).text
            assert metric(metrics, "business_article_unenriched_total") == 5
            assert metric(metrics, "circuit_breaker_state", breaker="enrichment", state="open") == 1
            ready = httpx.get(f"{service.url}/health/ready", timeout=30)
            assert ready.status_code == 200  # a dead enrichment service degrades, never unready
            assert ready.json()["checks"]["enrichment"][0]["output"] == "breaker open"
            assert service.stop() == 0
        finally:
            service.kill()
            if enrichment.poll() is None:
                enrichment.kill()
                enrichment.wait()


def _message(*words: str) -> Any:
    """A log-line predicate: every word appears in the line's message."""
    return lambda line: all(word in str(line.get("msg", "")) for word in words)


class TestNewsroomHotReload:
    def test_log_level_cors_and_rate_change_live_and_a_bad_value_is_kept_out(self, tmp_path):
        """.env edits and ConfigMap swaps change the running newsroom; invalid ones do not.

        The log level comes from the ``.env`` file (edited by rename, as editors do), CORS and
        the submission rate from a directory updated exactly as the kubelet updates a mounted
        ConfigMap (``..data`` swapped). Each change is seen through the service itself: debug
        lines, the CORS header a new origin gets, where 429 starts.
        """
        a, b, c = "https://a.example", "https://b.example", "https://c.example"
        env_file = tmp_path / ".env"
        env_file.write_text("NEWSROOM_LOG__LEVEL=info\n")
        volume = ConfigVolume(tmp_path / "config")
        volume.write(
            {"NEWSROOM_HTTP__CORS__ORIGINS": a, "NEWSROOM_NEWSROOM__SUBMIT_RATE": "3/minute"}
        )
        service = Newsroom(tmp_path)
        del service.env["NEWSROOM_NEWSROOM__SUBMIT_RATE"]  # the environment would shadow it
        service.args = ("--config-dir", str(volume.path))
        try:
            service.start()
            service.wait_for_log(_message("watching settings files", "SIGHUP reloads"))
            with httpx.Client(base_url=service.url, timeout=30) as client:

                def allowed(origin: str) -> str | None:
                    response = client.get("/v1/articles", headers={"origin": origin})
                    assert response.status_code == 200
                    return response.headers.get("access-control-allow-origin")

                def submit(n: int) -> int:
                    body = article_body(n)
                    return client.post("/v1/articles", json=body, headers=service.auth).status_code

                def lookups() -> int:
                    return len([x for x in service.lines() if x.get("msg") == "article looked up"])

                # as started: info, one origin, 3 submissions a minute
                assert client.get("/v1/articles/nope").status_code == 404
                service.wait_for_log(lambda x: x.get("path") == "/v1/articles/nope")
                assert lookups() == 0
                assert allowed(a) == a
                assert allowed(b) is None
                assert [submit(n) for n in range(4)] == [202, 202, 202, 429]

                # the log level through the .env file
                tmp = tmp_path / ".env.tmp"
                tmp.write_text("NEWSROOM_LOG__LEVEL=debug\n")
                os.replace(tmp, env_file)
                service.wait_for_log(_message("settings changed live", "NEWSROOM_LOG__LEVEL"))
                assert client.get("/v1/articles/nope").status_code == 404
                line = service.wait_for_log(lambda x: x.get("msg") == "article looked up")
                assert line["level"] == "debug"
                assert line["article_id"] == "nope"

                # CORS and the rate through a ConfigMap swap
                volume.update(
                    NEWSROOM_HTTP__CORS__ORIGINS=f"{a},{b}",
                    NEWSROOM_NEWSROOM__SUBMIT_RATE="5/minute",
                )
                service.wait_for_log(
                    _message("settings changed live", "CORS__ORIGINS", "SUBMIT_RATE")
                )
                assert allowed(b) == b
                assert [submit(n) for n in range(10, 13)] == [202, 202, 429]  # 5 in the window

                # a bad rate next to a good origin: the whole change is kept out, logged
                volume.update(
                    NEWSROOM_HTTP__CORS__ORIGINS=f"{a},{b},{c}",
                    NEWSROOM_NEWSROOM__SUBMIT_RATE="lots/minute",
                )
                rejected = service.wait_for_log(
                    _message("rejected", "NEWSROOM_NEWSROOM__SUBMIT_RATE")
                )
                assert rejected["level"] == "error"
                assert "LIMIT/PERIOD" in rejected["msg"]
                assert allowed(c) is None
                assert allowed(b) == b
                refused = client.post("/v1/articles", json=article_body(20), headers=service.auth)
                assert refused.status_code == 429
                assert "more than 5 requests" in refused.json()["detail"]

                # a bad log level in .env: kept out too, debug stays
                env_file.write_text("NEWSROOM_LOG__LEVEL=loud\n")
                service.wait_for_log(_message("rejected", "NEWSROOM_LOG__LEVEL", "'loud'"))
                before = lookups()
                assert client.get("/v1/articles/nope").status_code == 404
                service.wait_for_log(lambda x: x.get("msg") == "article looked up", nth=before + 1)

                # while .env stays invalid, every change is kept out (its error is not repeated)
                env_file.write_text("NEWSROOM_LOG__LEVEL=debug\n")
                # a setting that is not live: reported, not applied; the rest applies
                volume.update(
                    NEWSROOM_NEWSROOM__SUBMIT_RATE="5/minute", NEWSROOM_NEWSROOM__PAGE_SIZE="50"
                )
                service.wait_for_log(_message("needs a restart", "NEWSROOM_NEWSROOM__PAGE_SIZE"))
                # (values from the config directory are shown as <secret>: the name, then)
                service.wait_for_log(
                    _message("settings changed live", "NEWSROOM_HTTP__CORS__ORIGINS"), nth=2
                )
                page = client.get("/v1/articles").json()
                assert page["meta"]["limit"] == 20
                assert allowed(c) == c  # the origin of the rejected change, now valid
            assert service.stop() == 0
        finally:
            service.kill()
