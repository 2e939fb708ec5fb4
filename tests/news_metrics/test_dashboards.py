"""The shipped dashboards and rules: generated from tools/dashboards/build.py, well-formed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "packages" / "news-metrics" / "src" / "news_metrics" / "dashboards"
BUILD = ROOT / "tools" / "dashboards" / "build.py"
BOARDS = ("news-service-overview.json", "news-kafka.json", "news-business-events.json")


def load(name: str) -> dict:
    """A shipped dashboard, parsed."""
    return json.loads((DASHBOARDS / name).read_text())


class TestGenerated:
    def test_committed_files_equal_the_generator_output(self):
        """tools/dashboards/build.py --check finds nothing to regenerate."""
        proc = subprocess.run(
            [sys.executable, str(BUILD), "--check"], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "up to date (4 files)" in proc.stdout

    def test_check_reports_stale_and_unknown_files(self, tmp_path):
        """--check fails naming a hand-edited file and a file the generator does not make."""

        def build(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, str(BUILD), "--out", str(tmp_path), *args],
                capture_output=True,
                text=True,
                check=False,
            )

        assert build().returncode == 0
        assert build("--check").returncode == 0
        edited = tmp_path / "news-kafka.json"
        edited.write_text(edited.read_text().replace("Consumed / s", "Eaten / s"))
        (tmp_path / "old.json").write_text("{}")
        proc = build("--check")
        assert proc.returncode == 1
        assert f"out of date: {edited}" in proc.stdout
        assert f"not generated (remove it): {tmp_path / 'old.json'}" in proc.stdout

    def test_the_files_ship_in_the_package(self):
        """The JSON and rules live inside news_metrics/ (hatch puts them in the wheel)."""
        assert sorted(p.name for p in DASHBOARDS.iterdir()) == sorted(
            [*BOARDS, "news-alerts.rules.yml"]
        )


class TestDashboards:
    @pytest.mark.parametrize("name", BOARDS)
    def test_datasource_and_service_variables(self, name):
        """Each dashboard has a Prometheus datasource variable and a job (service) selector."""
        variables = {v["name"]: v for v in load(name)["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        job = variables["job"]
        assert job["type"] == "query"
        assert job["query"].startswith("label_values(")
        assert job["query"].endswith(", job)")
        assert job["includeAll"]
        assert job["multi"]

    @pytest.mark.parametrize("name", BOARDS)
    def test_every_query_uses_the_datasource_and_the_service(self, name):
        """Every panel target reads ${datasource} and filters on job=~"$job"."""
        board = load(name)
        targets = [t for p in board["panels"] for t in p.get("targets") or []]
        assert targets
        for target in targets:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert 'job=~"$job"' in target["expr"], target["expr"]

    def test_uids_and_panel_ids_are_unique_and_stable(self):
        """Dashboard uids are fixed; panel ids run 1..n within each dashboard."""
        uids = [load(name)["uid"] for name in BOARDS]
        assert uids == ["news-service-overview", "news-kafka", "news-business-events"]
        for name in BOARDS:
            ids = [p["id"] for p in load(name)["panels"]]
            assert ids == list(range(1, len(ids) + 1))

    def test_the_overview_covers_red_by_route_and_in_flight(self):
        """The service overview has rate, errors, latency quantiles by route, and in flight."""
        exprs = " ".join(
            t["expr"]
            for p in load("news-service-overview.json")["panels"]
            for t in p.get("targets") or []
        )
        for needle in (
            "sum by (method, route) (rate(http_requests_total",
            'status=~"5.."',
            "histogram_quantile(0.99, sum by (le, route)",
            "http_requests_in_flight",
            "http_response_size_bytes",
        ):
            assert needle in exprs

    def test_the_kafka_dashboard_covers_every_kafka_family(self):
        """Publish, errors, consume, handler errors, DLQ, duration and lag all have panels."""
        exprs = " ".join(
            t["expr"] for p in load("news-kafka.json")["panels"] for t in p.get("targets") or []
        )
        for family in (
            "kafka_messages_published_total",
            "kafka_publish_errors_total",
            "kafka_messages_consumed_total",
            "kafka_handler_errors_total",
            "kafka_messages_dead_lettered_total",
            "kafka_handler_duration_seconds_bucket",
            "kafka_consumer_lag",
        ):
            assert family in exprs


class TestRules:
    def test_promtool_check_rules_passes(self, promtool):
        """The promtool check of rules accepts the shipped rules file."""
        rules = DASHBOARDS / "news-alerts.rules.yml"
        proc = subprocess.run(
            [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "SUCCESS: 12 rules found" in proc.stdout

    def test_promtool_unit_tests_pass(self, promtool):
        """The promtool unit tests in alerts_test.yml pass: alerts fire when, and only when, due."""
        proc = subprocess.run(
            [promtool, "test", "rules", "alerts_test.yml"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "SUCCESS" in proc.stdout

    def test_every_alert_is_unit_tested(self):
        """alerts_test.yml has a firing case for each alert of the rules file."""
        rules = yaml.safe_load((DASHBOARDS / "news-alerts.rules.yml").read_text())
        alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
        tests = yaml.safe_load((Path(__file__).parent / "alerts_test.yml").read_text())
        fired = {
            case["alertname"]
            for test in tests["tests"]
            for case in test["alert_rule_test"]
            if case["exp_alerts"]
        }
        assert alerts == fired

    def test_every_alert_has_severity_summary_and_description(self):
        """Alerts carry a severity label and summary/description annotations."""
        rules = yaml.safe_load((DASHBOARDS / "news-alerts.rules.yml").read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    assert rule["labels"]["severity"] in ("critical", "warning")
                    assert {"summary", "description"} <= set(rule["annotations"])
