"""The committed benchmark results, the chart drawn from them and docs/benchmarks.md agree."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "bench"))
import chart  # noqa: E402

RESULTS = ROOT / "docs" / "benchmarks"
PAGE = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")


def bench_scripts() -> dict[str, str]:
    """The ``hatch run bench:<name>`` scripts of hatch.toml."""
    hatch = tomllib.loads((ROOT / "hatch.toml").read_text(encoding="utf-8"))
    scripts: dict[str, str] = hatch["envs"]["bench"]["scripts"]
    return scripts


BENCHMARKS = sorted(name for name in bench_scripts() if name != "chart")


class TestResultsFiles:
    def test_every_benchmark_has_a_results_file_and_a_panel(self):
        """Each bench script has docs/benchmarks/<name>.json and a chart panel of its own."""
        assert set(BENCHMARKS) == set(chart.ORDER)
        assert sorted(p.stem for p in RESULTS.glob("*.json")) == BENCHMARKS

    @pytest.mark.parametrize("name", BENCHMARKS)
    def test_results_file_says_when_how_and_where(self, name):
        """A results file's meta names its benchmark, date, command and machine."""
        meta = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))["meta"]
        assert meta["benchmark"] == name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", meta["date"])
        assert meta["command"].startswith(f"hatch run bench:{name}")
        assert meta["machine"]["cpus"] >= 1
        assert meta["machine"]["python"]

    @pytest.mark.parametrize("name", BENCHMARKS)
    def test_results_file_gives_bars(self, name):
        """Each results file turns into ratio bars; ours are positive, targets well-formed."""
        panel = chart.panel(name, json.loads((RESULTS / f"{name}.json").read_text("utf-8")))
        assert panel.bars
        for bar in panel.bars:
            assert bar.value > 0, bar
            assert bar.target is None or bar.target[0] in (">=", "<=")

    @pytest.mark.parametrize("name", BENCHMARKS)
    def test_page_shows_the_command_of_each_results_file(self, name):
        """docs/benchmarks.md shows how to refresh each file, and the figures' date."""
        assert f"--json docs/benchmarks/{name}.json" in PAGE
        meta = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))["meta"]
        assert meta["date"] in PAGE

    def test_page_shows_the_chart(self):
        """The chart is committed as a PNG and embedded in docs/benchmarks.md."""
        png = RESULTS / "ratios.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "](benchmarks/ratios.png)" in PAGE


class TestChartTargets:
    def test_a_missed_target_is_reported(self):
        """A ratio below a >= target (or above a <= one) is marked as missed."""
        kafka = {
            "ratios": {"publisher_vs_raw": 0.7, "consumer_vs_raw": 0.95},
            "targets": {"publisher_vs_raw": 0.9, "consumer_vs_raw": 0.9},
            "ratios_per_run": {"publisher_vs_raw": [0.6, 0.7, 1.1]},
        }
        bars = chart.panel("kafka", kafka).bars
        assert [bar.met for bar in bars] == [False, True]
        assert bars[0].spread == (0.6, 1.1)
        http = {"ratios": {"news-http / bare Robyn p99": 2.6}}
        assert chart.panel("http", http).bars[0].met is False


class TestBenchScripts:
    @pytest.mark.parametrize("name", BENCHMARKS)
    def test_script_writes_json(self, name):
        """Every benchmark script takes --json PATH (its help says so)."""
        script = ROOT / "tools" / "bench" / f"bench_{name}.py"
        source = script.read_text(encoding="utf-8")
        assert '"--json"' in source
        assert f'run_info("{name}"' in source

    def test_run_info_describes_the_run(self):
        """The meta of a run names the benchmark, today's date, the command and the machine."""
        code = (
            "import sys; sys.path.insert(0, 'tools/bench'); sys.argv = ['x', '--runs', '3'];"
            "import json, _meta; print(json.dumps(_meta.run_info('log', 0.5)))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        meta = json.loads(out)
        assert meta["command"] == "hatch run bench:log --runs 3"
        assert meta["load_average"]["start"] == 0.5
        assert meta["machine"]["cpus"] >= 1
