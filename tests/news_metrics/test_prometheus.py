"""Every PromQL expression of the shipped dashboards and rules, evaluated by a real Prometheus.

A real Prometheus (Debian's package: .ci/run installs it) scrapes a real news-http service on
loopback every second (with HTTP traffic sent to it, and Kafka traffic and business events
recorded inside it) and evaluates the shipped rules; then every panel query, every variable
query and every rule expression is sent to its HTTP API (/api/v1/query). Each must parse and
return data: metric names, labels, bucket bounds and the alert thresholds all have to match
what news-metrics exposes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

import news_http
from news_testing.http import serve_app

if TYPE_CHECKING:
    from collections.abc import Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DASHBOARDS = ROOT / "packages" / "news-metrics" / "src" / "news_metrics" / "dashboards"
RULES = DASHBOARDS / "news-alerts.rules.yml"
DATA_TIMEOUT = 90.0  # seconds for every expression to return data once scraping started


@dataclass(frozen=True)
class Target:
    """A scrape target: Prometheus' job name, host:port and metrics path."""

    job: str
    address: str
    metrics_path: str


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _traffic(url: str, stop: threading.Event, seconds: float) -> None:
    """About 50 requests/s: 10 % 500s, 10 % 404s, 20 % slower than 0.5 s, some always in flight."""
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        background: set[asyncio.Task[Any]] = set()

        def spawn(method: str, path: str, **params: Any) -> None:
            task = asyncio.ensure_future(request(method, path, **params))
            background.add(task)
            task.add_done_callback(background.discard)

        async def request(method: str, path: str, **params: Any) -> None:
            with contextlib.suppress(httpx.HTTPError):
                await client.request(method, path, params=params)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        for n in itertools.count():
            if stop.is_set() or loop.time() > deadline:
                break
            if n % 50 == 0:  # always a few requests in flight (slow clients, long polls)
                spawn("GET", "/v1/sections/world/articles", sleep=5.0)
            kind = n % 10
            if kind == 3:
                spawn("GET", "/v1/sections/sport/articles", fail=True)
            elif kind == 7:
                spawn("GET", f"/v1/articles/{900 + n % 50}")
            elif kind in {1, 6}:
                spawn("GET", "/v1/sections/culture/articles", sleep=0.6)
            elif kind == 5:
                spawn("POST", "/v1/articles")
            else:
                spawn("GET", f"/v1/articles/{n % 100}")
            await asyncio.sleep(0.02)
        for task in list(background):
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)


@pytest.fixture(scope="module")
def scrape_target() -> Iterator[Target]:
    """A real news-http service (tests/news_metrics/http_target.py) with traffic flowing.

    The service runs in its own process (news-testing's HTTP helpers) and serves ``/metrics``
    itself; a thread here sends it HTTP traffic for at most 240 s (2xx, 404, 5xx, slow requests,
    requests in flight) while the service records Kafka traffic and business events.
    """
    settings = news_http.HTTPSettings(host="127.0.0.1", workers=2, shutdown_grace=2.0)
    with serve_app("http_target:app", settings=settings, pythonpath=[HERE]) as server:
        stop = threading.Event()
        traffic = threading.Thread(
            target=lambda: asyncio.run(_traffic(server.url, stop, 240.0)),
            name="traffic",
            daemon=True,
        )
        traffic.start()
        try:
            yield Target("newsroom-sim", f"127.0.0.1:{server.port}", "/metrics")
        finally:
            stop.set()
            traffic.join(30)


@dataclass(frozen=True)
class Prometheus:
    """A running Prometheus and how to query it."""

    url: str
    down_job: str

    def query(self, expr: str) -> dict[str, Any]:
        """The JSON answer of an instant query (errors included, not raised)."""
        data = urllib.parse.urlencode({"query": expr}).encode()
        request = urllib.request.Request(f"{self.url}/api/v1/query", data=data)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 400/422: the expression did not parse/evaluate
            return json.loads(exc.read())


@pytest.fixture(scope="module")
def prometheus(
    scrape_target: Target, tmp_path_factory: pytest.TempPathFactory, prometheus_binary: str
) -> Iterator[Prometheus]:
    """Prometheus on a free loopback port, scraping the target every second, with our rules."""
    binary = prometheus_binary
    workdir = tmp_path_factory.mktemp("prometheus")
    port, down_port = free_port(), free_port()  # nothing listens on down_port: its target is down
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": scrape_target.job,
                "metrics_path": scrape_target.metrics_path,
                "static_configs": [{"targets": [scrape_target.address]}],
            },
            {"job_name": "news-down", "static_configs": [{"targets": [f"127.0.0.1:{down_port}"]}]},
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = workdir / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited ({proc.returncode}):\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus not ready after 30 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Prometheus(url, "news-down")
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the expressions --------------------------------------------------------------------------

GRAFANA_VARIABLE = re.compile(r"\$\{?(job|route|topic|event|__rate_interval|__range|__interval)\}?")
LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>[a-zA-Z_]+)\)$")


def to_promql(expr: str, job: str) -> str:
    """A panel query with Grafana's variables replaced as Grafana would for one job, all else."""
    values = {
        "job": job,  # a plain name: no regex metacharacters to escape
        "route": ".*",
        "topic": ".*",
        "event": ".*",
        "__rate_interval": "1m",
        "__range": "5m",
        "__interval": "15s",
    }
    out = GRAFANA_VARIABLE.sub(lambda m: values[m.group(1)], expr)
    assert "$" not in out.replace("${1}", ""), f"unknown Grafana variable in {expr!r}"
    return out


def dashboard_expressions(job: str) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and query variable of every shipped dashboard."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets") or []:
                where = f"{path.name}: panel {panel['title']!r} {target['refId']}"
                found.append((where, to_promql(target["expr"], job)))
        for variable in board["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = LABEL_VALUES.match(variable["query"])
            assert match, f"{path.name}: variable {variable['name']} is not label_values(...)"
            expr = f"count by ({match['label']}) ({match['selector']})"
            found.append((f"{path.name}: variable {variable['name']}", to_promql(expr, job)))
    return found


def rule_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) for every recording and alerting rule."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [
        (f"rule {rule.get('alert') or rule.get('record')}", rule["expr"])
        for group in groups
        for rule in group["rules"]
    ]


def alert_names() -> list[str]:
    """The names of the shipped alerts."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def wait_for_data(prometheus: Prometheus, expressions: list[tuple[str, str]]) -> dict[str, str]:
    """Query each expression until it returns data; return {where: problem} for the others."""
    pending = dict(expressions)
    problems: dict[str, str] = {}
    deadline = time.monotonic() + DATA_TIMEOUT
    while pending:
        for where, expr in list(pending.items()):
            answer = prometheus.query(expr)
            if answer.get("status") != "success":
                problems[where] = f"{answer.get('errorType')}: {answer.get('error')}\n  {expr}"
                del pending[where]  # a parse error does not heal with time
            elif answer["data"]["result"]:
                del pending[where]
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(1)
    for where, expr in pending.items():
        problems[where] = f"no data after {DATA_TIMEOUT:.0f} s\n  {expr}"
    return problems


class TestAgainstRealPrometheus:
    def test_every_dashboard_query_returns_data(self, prometheus, scrape_target):
        """Each panel and variable query of the three dashboards parses and returns series."""
        expressions = dashboard_expressions(scrape_target.job)
        assert len(expressions) > 40
        problems = wait_for_data(prometheus, expressions)
        assert not problems, "\n".join(f"{w}: {p}" for w, p in problems.items())

    def test_every_rule_expression_returns_data(self, prometheus):
        """Each recording rule and alert condition parses and holds on the simulated traffic."""
        expressions = rule_expressions()
        assert len(expressions) == 12
        problems = wait_for_data(prometheus, expressions)
        assert not problems, "\n".join(f"{w}: {p}" for w, p in problems.items())

    def test_prometheus_evaluates_every_alert(self, prometheus):
        """Prometheus loaded the rules: every alert is pending or firing (ALERTS series)."""
        expected = alert_names()
        problems = wait_for_data(
            prometheus, [(name, f'ALERTS{{alertname="{name}"}}') for name in expected]
        )
        assert not problems, "\n".join(f"{w}: {p}" for w, p in problems.items())

    def test_the_target_is_up_and_the_down_target_is_down(self, prometheus, scrape_target):
        """The target answers Prometheus' scrapes (up == 1) and the down target is down."""
        up = prometheus.query(f'up{{job="{scrape_target.job}"}}')["data"]["result"]
        assert [r["value"][1] for r in up] == ["1"]
        down = prometheus.query(f'up{{job="{prometheus.down_job}"}}')["data"]["result"]
        assert [r["value"][1] for r in down] == ["0"]
