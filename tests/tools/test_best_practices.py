"""docs/best-practices.md: the pod spec's grace period covers news-http's shutdown bound.

The page's Python blocks run with the other docs examples (tests/tools/test_docs_examples.py);
this checks the one block that is not Python: the Kubernetes pod spec, whose
``terminationGracePeriodSeconds`` must cover news-http's worst-case shutdown for the settings in
its own ``env`` (the supervisor's bound, ``shutdown_delay + shutdown_grace + hook_timeout
* (hooks + 1) + 5``), and whose ``hook_timeout`` must cover the Kafka clients' stops.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import news_config
import news_http
import news_kafka

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "best-practices.md").read_text(encoding="utf-8")
POD_SPEC = re.compile(r"<!-- pod-spec -->\n```yaml\n(?P<spec>.*?)```", re.S)
MANAGED_RESOURCES = 3  # the page's service: a publisher, a consumer and a database pool
DB_STOP_S = 10.0  # news_db.Database.stop()'s own bound


def pod_spec() -> dict[str, object]:
    """The page's pod spec, parsed."""
    match = POD_SPEC.search(PAGE)
    assert match, "no <!-- pod-spec --> yaml block in docs/best-practices.md"
    spec: dict[str, object] = yaml.safe_load(match["spec"])["spec"]
    return spec


def container_env(spec: dict[str, object]) -> dict[str, str]:
    """The first container's environment variables."""
    containers = spec["containers"]
    assert isinstance(containers, list)
    return {item["name"]: item["value"] for item in containers[0]["env"]}


class TestPodSpec:
    def test_the_grace_period_covers_the_shutdown_bound(self):
        """TerminationGracePeriodSeconds >= delay + grace + hook_timeout x (hooks + 1) + 5."""
        spec = pod_spec()
        env = container_env(spec)
        http = news_config.load(
            news_http.HTTPSettings, prefix="ALERTS_HTTP__", env_file=None, environ=env
        )
        bound = (
            http.shutdown_delay
            + http.shutdown_grace
            + http.hook_timeout * (MANAGED_RESOURCES + 1)
            + 5
        )
        assert spec["terminationGracePeriodSeconds"] >= bound
        assert "three managed resources" in PAGE
        text = " ".join(PAGE.split())
        times = "\N{MULTIPLICATION SIGN}"
        assert (
            f"{http.shutdown_delay:g} (delay) + {http.shutdown_grace:g} (grace) + "
            f"{http.hook_timeout:g} {times} ({MANAGED_RESOURCES} + 1) + 5 = {bound:g} s" in text
        )

    def test_hook_timeout_covers_every_managed_stop(self):
        """hook_timeout covers the consumer's stop, the publisher's close and the pool's stop."""
        env = container_env(pod_spec())
        http = news_config.load(
            news_http.HTTPSettings, prefix="ALERTS_HTTP__", env_file=None, environ=env
        )
        kafka = news_config.load(
            news_kafka.KafkaSettings, prefix="ALERTS_KAFKA__", env_file=None, environ=env
        )
        assert http.hook_timeout * 1000 >= kafka.consumer.stop_timeout_ms
        assert http.hook_timeout * 1000 >= kafka.producer.close_timeout_ms
        assert http.hook_timeout >= DB_STOP_S

    def test_the_probes_use_the_internal_port_the_env_sets(self):
        """The probes target the `internal` port, which is the one HTTP_INTERNAL_PORT sets."""
        spec = pod_spec()
        env = container_env(spec)
        container = spec["containers"][0]  # type: ignore[index]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        assert ports["internal"] == int(env["ALERTS_HTTP__INTERNAL_PORT"])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["port"] == "internal", probe
