"""news_metrics._prometheus: the one home of prometheus-client's private names.

Its fast paths give exactly what prometheus-client's public API gives, on and off; they turn
off by themselves outside the tested versions and by NEWS_METRICS_NO_FAST_PATHS, saying why once.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

import news_metrics
from news_metrics import _prometheus
from news_metrics._families import http_families

SRC = Path(news_metrics.__file__).parent

# Requests replayed everywhere: (method, route, status, seconds, bytes), every bucket touched.
REQUESTS = [
    (m, f"/r/{i % 5}", 200 + (i % 4) * 100, (i % 17) * 0.031, (i * 389) % 70_000)
    for i, m in enumerate(["GET", "POST", "PUT", "DELETE"] * 60)
]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from prometheus_client import CollectorRegistry
    import news_metrics
    from news_metrics import _prometheus

    requests = json.loads(sys.argv[1])
    registry = CollectorRegistry()
    hook = news_metrics.HTTPMetrics(registry=registry)
    for method, route, status, seconds, size in requests:
        hook.request_started(method, route)
        hook.request_finished(method, route, status, seconds, size)
    hook.request_started("GET", "/open")
    samples = sorted(
        [s.name, sorted(s.labels.items()), s.value]
        for family in registry.collect()
        for s in family.samples
    )
    child = registry._names_to_collectors["http_requests_in_flight"].labels("GET", "/open")
    print(json.dumps({"fast": _prometheus.direct_value(child) is not None, "samples": samples}))
    """
)


def _samples(registry: CollectorRegistry) -> list[list[object]]:
    return sorted(
        [s.name, sorted(s.labels.items()), s.value]
        for family in registry.collect()
        for s in family.samples
    )


def _public_reference() -> list[list[object]]:
    """The same requests recorded with prometheus-client's public methods only."""
    registry = CollectorRegistry()
    families = http_families(registry)
    for method, route, status, seconds, size in REQUESTS:
        families.in_flight.labels(method, route).inc()
        families.in_flight.labels(method, route).dec()
        families.requests.labels(method, route, str(status)).inc()
        families.duration.labels(method, route).observe(seconds)
        families.size.labels(method, route).observe(size)
    families.in_flight.labels("GET", "/open").inc()
    families.duration.labels("GET", "/open")  # HTTPMetrics makes a route's children at once
    families.size.labels("GET", "/open")
    return _samples(registry)


def _run(env_extra: dict[str, str]) -> tuple[dict[str, object], str]:
    env = {k: v for k, v in os.environ.items() if k != _prometheus.NO_FAST_PATHS_ENV}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(REQUESTS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result, proc.stderr


class TestSameValues:
    @pytest.mark.parametrize("fast", [True, False])
    def test_http_metrics_equal_the_public_api(self, fast: bool) -> None:
        """HTTPMetrics' samples equal those of the public API, with fast paths on and off."""
        old = _prometheus.use_fast_path(fast)
        try:
            registry = CollectorRegistry()
            hook = news_metrics.HTTPMetrics(registry=registry)
            for method, route, status, seconds, size in REQUESTS:
                hook.request_started(method, route)
                hook.request_finished(method, route, status, seconds, size)
            hook.request_started("GET", "/open")
        finally:
            _prometheus.use_fast_path(old)
        assert _samples(registry) == _public_reference()

    def test_the_switch_turns_them_off_with_one_line_and_the_same_values(self) -> None:
        """NEWS_METRICS_NO_FAST_PATHS=1 in a real process: public API, same samples, one line."""
        on, quiet = _run({})
        off, said = _run({_prometheus.NO_FAST_PATHS_ENV: "1"})
        assert on["fast"] is True
        assert off["fast"] is False
        assert on["samples"] == off["samples"]
        assert json.loads(json.dumps(_public_reference())) == on["samples"]
        assert "fast paths off" not in quiet
        lines = [line for line in said.splitlines() if "fast paths off" in line]
        expected = (
            "news_metrics: fast paths off (NEWS_METRICS_NO_FAST_PATHS is set); recording "
            "through prometheus-client's public API"
        )
        assert lines == [expected]


class TestVersionCheck:
    @pytest.mark.parametrize("version", ["0.20.0", "0.26.0", "0.26.9"])
    def test_tested_versions_keep_the_fast_paths(self, version: str) -> None:
        """Inside the tested range (and without the switch) nothing stops the fast paths."""
        assert _prometheus.fast_paths_off_reason(version, environ={}) is None

    @pytest.mark.parametrize("version", ["0.19.1", "0.27.0", "1.0.0", "nonsense"])
    def test_other_versions_turn_them_off(self, version: str) -> None:
        """Outside the tested range the reason names the version and the range."""
        reason = _prometheus.fast_paths_off_reason(version, environ={})
        assert reason is not None
        assert version in reason

    def test_the_installed_version_is_tested(self) -> None:
        """The installed prometheus-client is in the range, and the dependency caps it there."""
        assert _prometheus.fast_paths_off_reason(environ={}) is None
        pyproject = (SRC.parents[1] / "pyproject.toml").read_text()
        floor, cap = _prometheus.TESTED_RANGE
        assert f'"prometheus-client>={floor[0]}.{floor[1]},<{cap[0]}.{cap[1]}"' in pyproject


class TestQuarantine:
    def test_no_other_module_touches_prometheus_private_names(self) -> None:
        """Only _prometheus.py reads attributes starting with _ of prometheus-client objects."""
        own = {"self", "cls", "entry", "hook", "families", "_prometheus"}
        offenders = []
        for path in sorted(SRC.rglob("*.py")):
            if path.name == "_prometheus.py":
                continue
            tree = ast.parse(path.read_text(), str(path))
            offenders.extend(
                f"{path.name}:{node.lineno} .{node.attr}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in own)
            )
        assert offenders == []
