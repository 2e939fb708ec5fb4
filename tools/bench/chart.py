"""Draw the benchmarks' ratios against their peers as one PNG (docs/benchmarks/ratios.png).

Reads the results files the benchmarks write with ``--json`` (``docs/benchmarks/<name>.json``,
one per ``hatch run bench:<name>``) and draws one bar chart per benchmark: each bar is a ratio of
ours to the peer measured in the same run, with the target (where there is one) drawn across
its bar and the per-run spread as an error bar where the file has it.

    hatch run bench:log --records 200000 --runs 3 --json docs/benchmarks/log.json
    hatch run bench:chart    # docs/benchmarks/*.json -> docs/benchmarks/ratios.png

Turning results into bars (`panels`) needs only the standard library; drawing needs matplotlib
(in the bench env).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "benchmarks"
ORDER = ("log", "metrics", "kafka", "http", "db", "api", "auth", "redis", "client", "schema")

Kind = Literal["ours", "peer", "other"]


@dataclass(frozen=True)
class Bar:
    """One bar: a ratio, what it is, its target and the spread of its runs."""

    label: str
    value: float
    kind: Kind = "ours"
    target: tuple[str, float] | None = None  # (">=" or "<=", value)
    spread: tuple[float, float] | None = None  # (lowest, highest) over the runs

    @property
    def met(self) -> bool | None:
        """Whether the value meets the target (None without one)."""
        if self.target is None:
            return None
        op, goal = self.target
        return self.value >= goal if op == ">=" else self.value <= goal


@dataclass(frozen=True)
class Panel:
    """One benchmark's chart."""

    benchmark: str
    title: str
    ylabel: str
    better: str  # "higher", "lower", or a word per bar
    bars: list[Bar] = field(default_factory=list)
    date: str = ""
    command: str = ""


def _log(data: dict[str, Any]) -> Panel:
    figures = {k: v for k, v in data.items() if k != "meta"}
    labels = {
        "news-log": "news-log",
        "structlog": "structlog\n(the peer)",
        "stdlib+python-json-logger": "stdlib +\npython-json-logger",
    }
    bars = []
    for name, entry in figures.items():
        kind: Kind = "ours" if name == "news-log" else "peer" if name == "structlog" else "other"
        target = (">=", 3.0) if name == "news-log" else None
        bars.append(Bar(labels.get(name, name), float(entry["ratio_to_structlog"]), kind, target))
    return Panel("log", "news-log: JSON lines to a file", "records/s ÷ structlog's", "higher", bars)


_API_LABELS = {
    "ok(item)": "ok(item)",
    "ok(20 items, meta)": "ok(20 items,\nmeta)",
    "created(item, location)": "created(item,\nlocation)",
    "no_content()": "no_content()",
    "NotFound().to_response(request_id)": "NotFound()\n.to_response()",
    "from_exception(RuntimeError)": "from_exception\n(RuntimeError)",
    "decode(body, Struct)": "decode(body,\nStruct)",
    "decode -> ValidationFailed -> 422": "decode → 422\nproblem",
    "offset_page(20 items, links)": "offset_page\n(20 items, links)",
    "CursorCodec.encode": "CursorCodec\n.encode",
    "CursorCodec.decode": "CursorCodec\n.decode",
}


def _api(data: dict[str, Any]) -> Panel:
    baseline = data["baseline"]
    bars = [
        Bar(
            "msgspec encode\n(the floor)" if name == baseline else _API_LABELS.get(name, name),
            float(ratio),
            "peer" if name == baseline else "ours",
        )
        for name, ratio in data["ratio_to_baseline"].items()
    ]
    return Panel(
        "api",
        "news-api: cost per call",
        "µs per call ÷ msgspec.json.encode({'data': item})",
        "lower",
        bars,
    )


def _metrics(data: dict[str, Any]) -> Panel:
    results = data["results"]
    naive = float(results["naive"]["median_us"])
    labels = {
        "naive": "naive prometheus-client\n.labels() each call\n(the peer)",
        "hook": "HTTPMetrics",
        "hook-public": "HTTPMetrics on\npublic API (fallback)",
        "hook-mp": "HTTPMetrics\nmulti-process",
    }
    bars = [
        Bar(
            labels[name],
            float(results[name]["median_us"]) / naive,
            "peer" if name == "naive" else "ours",
        )
        for name in labels
        if name in results
    ]
    return Panel(
        "metrics",
        "news-metrics: HTTP hooks per request",
        "µs per request ÷ naive prometheus-client's",
        "lower",
        bars,
    )


def _kafka(data: dict[str, Any]) -> Panel:
    labels = {
        "publisher_vs_raw": "Publisher.send loop\n÷ raw send loop",
        "publish_many_vs_raw_send_loop": "publish_many\n÷ raw send loop",
        "consumer_vs_raw": "Consumer\n÷ raw consumer",
        "publisher_with_metrics_vs_raw": "Publisher.send + metrics\n÷ raw send loop",
        "consumer_with_metrics_vs_raw": "Consumer + metrics\n÷ raw consumer",
    }
    targets = data.get("targets", {})
    per_run = data.get("ratios_per_run") or {}
    ranges = data.get("ratio_ranges") or {}
    bars = []
    for key, ratio in data["ratios"].items():
        runs = per_run.get(key)
        spread = (min(runs), max(runs)) if runs else ranges.get(key)
        goal = targets.get(key)
        bars.append(
            Bar(
                labels.get(key, key),
                float(ratio),
                target=(">=", float(goal)) if goal is not None else None,
                spread=(float(spread[0]), float(spread[1])) if spread else None,
            )
        )
    return Panel(
        "kafka",
        "news-kafka vs raw aiokafka",
        "records/s ÷ raw aiokafka's (median of per-run ratios)",
        "higher",
        bars,
    )


_HTTP_TARGETS = {
    "news-http / bare Robyn req/s": (">=", 0.5),
    "news-http / bare Robyn p99": ("<=", 2.5),
    "news-http / FastAPI req/s": (">=", 2.0),
    "news-http + metrics / news-http req/s": (">=", 0.9),
    "news-http async / bare Robyn async req/s": (">=", 1.0),
    "news-http async / Litestar req/s": (">=", 1.0),
}


def _http(data: dict[str, Any]) -> Panel:
    labels = {
        "news-http / bare Robyn req/s": "req/s\n÷ bare Robyn's",
        "news-http / bare Robyn p99": "p99 latency\n÷ bare Robyn's",
        "news-http / FastAPI req/s": "req/s\n÷ FastAPI's",
        "news-http + metrics / news-http req/s": "with metrics:\nreq/s ÷ without",
        "news-http async / bare Robyn async req/s": "async:\nreq/s ÷\nbare Robyn's",
        "news-http async / Litestar req/s": "async:\nreq/s ÷\nLitestar's",
    }
    bars = [
        Bar(labels.get(key, key), float(ratio), target=_HTTP_TARGETS.get(key))
        for key, ratio in data["ratios"].items()
    ]
    return Panel(
        "http",
        "news-http: full stack, one small JSON response",
        "news-http ÷ peer",
        "higher for req/s, lower for p99",
        bars,
    )


def _auth(data: dict[str, Any]) -> Panel:
    labels = {
        "PyJWT / news-auth RS256 verify time": "RS256 verify:\nPyJWT's time ÷ ours",
        "PyJWT / news-auth ES256 verify time": "ES256 verify:\nPyJWT's time ÷ ours",
        "requires() / open route req/s": "requires():\nreq/s ÷ open route",
        "requires(), every request verified / open req/s": "requires(), no cache:\nreq/s ÷ open",
        "GET req/s with 4 logins/s / without": "GET req/s with\n4 logins/s ÷ without",
    }
    targets = {key: tuple(value) for key, value in data.get("targets", {}).items()}
    per_run: dict[str, list[float]] = {}
    for key, section in (
        ("PyJWT / news-auth RS256 verify time", data.get("verification", {}).get("RS256")),
        ("PyJWT / news-auth ES256 verify time", data.get("verification", {}).get("ES256")),
        ("requires() / open route req/s", data.get("guard", {}).get("default")),
        ("requires(), every request verified / open req/s", data.get("guard", {}).get("cache_off")),
        ("GET req/s with 4 logins/s / without", data.get("logins")),
    ):
        if section and section.get("ratio_per_run"):
            per_run[key] = section["ratio_per_run"]
    bars = [
        Bar(
            labels.get(key, key),
            float(ratio),
            kind="ours" if key in targets else "other",
            target=targets.get(key),  # type: ignore[arg-type]
            spread=(min(per_run[key]), max(per_run[key])) if key in per_run else None,
        )
        for key, ratio in data["ratios"].items()
    ]
    return Panel("auth", "news-auth / news-security", "ratio as labelled", "higher", bars)


def _db(data: dict[str, Any]) -> Panel:
    labels = {
        "fetchrow_vs_asyncpg": "fetchrow\n÷ asyncpg",
        "fetchrow_vs_psycopg": "fetchrow\n÷ psycopg",
        "insert_vs_asyncpg": "insert\n÷ asyncpg",
        "insert_vs_psycopg": "insert\n÷ psycopg",
        "insert_nosync_vs_asyncpg": "insert,\nno fsync\n÷ asyncpg",
        "insert_nosync_vs_psycopg": "insert,\nno fsync\n÷ psycopg",
        "rows1000_structs_vs_asyncpg_records": "1,000 rows\nStructs ÷\nRecords",
        "fetchrow_with_metrics_vs_asyncpg": "fetchrow\n+ metrics\n÷ asyncpg",
    }
    targets = data.get("targets", {})
    per_run = data.get("ratios_per_run") or {}
    bars = []
    for key, ratio in data["ratios"].items():
        runs = per_run.get(key)
        goal = targets.get(key)
        bars.append(
            Bar(
                labels.get(key, key),
                float(ratio),
                target=(">=", float(goal)) if goal is not None else None,
                spread=(float(min(runs)), float(max(runs))) if runs else None,
            )
        )
    return Panel(
        "db",
        "news-db vs raw asyncpg and psycopg 3 pools",
        "calls/s ÷ the peer's (median of per-run ratios)",
        "higher",
        bars,
    )


def _redis(data: dict[str, Any]) -> Panel:
    labels = {
        "limiter_vs_raw_evalsha": "limiter checks/s\n÷ raw EVALSHA's",
        "limited_route_vs_route": "limited route req/s\n÷ unlimited",
        "limiter_vs_limits_moving_window": "limiter checks/s\n÷ limits' moving window",
    }
    targets = data.get("targets", {})
    per_run = data.get("ratios_per_run", {})
    bars = []
    for key, ratio in data["ratios"].items():
        runs = per_run.get(key)
        goal = targets.get(key)
        bars.append(
            Bar(
                labels.get(key, key),
                float(ratio),
                target=(">=", float(goal)) if goal is not None else None,
                spread=(float(min(runs)), float(max(runs))) if runs else None,
            )
        )
    return Panel(
        "redis",
        "news-redis: rate-limit checks and a limited route",
        "news-redis ÷ peer (median of per-run ratios)",
        "higher",
        bars,
    )


def _client(data: dict[str, Any]) -> Panel:
    labels = {
        "news_client_vs_aiohttp": "news-client\n÷ raw aiohttp",
        "news_client_vs_httpx": "news-client\n÷ httpx",
        "news_client_metrics_vs_aiohttp": "news-client + metrics\n÷ raw aiohttp",
    }
    targets = data.get("targets", {})
    per_run = data.get("ratios_per_run") or {}
    bars = []
    for key, ratio in data["ratios"].items():
        runs = per_run.get(key)
        goal = targets.get(key)
        bars.append(
            Bar(
                labels.get(key, key),
                float(ratio),
                target=(">=", float(goal)) if goal is not None else None,
                spread=(float(min(runs)), float(max(runs))) if runs else None,
            )
        )
    decision = data.get("breaker_us", {}).get("decision")
    if decision:
        budget = float(data.get("breaker_target_us", 2.0))
        label = f"breaker decision:\n{budget:g} µs ÷ its cost"
        bars.append(Bar(label, budget / decision, target=(">=", 1.0)))
    return Panel(
        "client", "news-client: GET of a small JSON document", "req/s ÷ peer's", "higher", bars
    )


def _schema(data: dict[str, Any]) -> Panel:
    labels = {
        "avro_send_vs_plain_send": "Publisher.send + Avro\n÷ without",
        "json_schema_send_vs_plain_send": "Publisher.send + JSON Schema\n÷ without",
        "avro_decode_vs_confluent": "Avro decode\n÷ confluent-kafka's",
    }
    targets = data.get("targets", {})
    per_run = data.get("ratios_per_run") or {}
    bars = []
    for key, ratio in data["ratios"].items():
        if key not in labels:
            continue  # JSON Schema decode ÷ Avro (~15x): in the page's table, not the chart
        runs = per_run.get(key)
        goal = targets.get(key)
        bars.append(
            Bar(
                labels[key],
                float(ratio),
                target=(">=", float(goal)) if goal is not None else None,
                spread=(float(min(runs)), float(max(runs))) if runs else None,
            )
        )
    return Panel(
        "schema",
        "news-schema: the Confluent wire format in news-kafka",
        "rec/s ÷ peer's (median of per-run ratios)",
        "higher",
        bars,
    )


_PANELS = {
    "client": _client,
    "schema": _schema,
    "log": _log,
    "api": _api,
    "metrics": _metrics,
    "kafka": _kafka,
    "http": _http,
    "auth": _auth,
    "db": _db,
    "redis": _redis,
}


def panel(name: str, data: dict[str, Any]) -> Panel:
    """Turn one results file's content into its chart panel.

    Raises:
        KeyError: ``name`` is not a known benchmark, or the file lacks a figure it needs.
    """
    built = _PANELS[name](data)
    meta = data.get("meta", {})
    return Panel(
        built.benchmark,
        built.title,
        built.ylabel,
        built.better,
        built.bars,
        str(meta.get("date", "")),
        str(meta.get("command", "")),
    )


def panels(results: Path = RESULTS) -> list[Panel]:
    """The panels of every known benchmark's results file in ``results``, in ``ORDER``."""
    found = []
    for name in ORDER:
        path = results / f"{name}.json"
        if path.is_file():
            found.append(panel(name, json.loads(path.read_text(encoding="utf-8"))))
    return found


_COLOURS = {"ours": "#2b6cb0", "peer": "#a0aec0", "other": "#cbd5e0"}


def draw(charts: list[Panel], out: Path) -> None:
    """Draw ``charts`` into one PNG at ``out``, two per row, a last odd one full width.

    Needs matplotlib (in the bench env).
    """
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    rows = -(-len(charts) // 2)
    fig = plt.figure(figsize=(15, 5.4 * rows))
    grid = fig.add_gridspec(rows, 2)
    for index, chart in enumerate(charts):
        row, column = divmod(index, 2)
        last_alone = index == len(charts) - 1 and column == 0
        ax = fig.add_subplot(grid[row, :] if last_alone else grid[row, column])
        _draw_panel(ax, chart)
    fig.suptitle(
        "news platform packages: ratios against peers measured in the same run "
        "(red dashes: target; a bar that misses its target is red; whiskers: spread over runs)",
        fontsize=12,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90, metadata={"Software": None})
    plt.close(fig)


def _symbol(op: str) -> str:
    return "≥" if op == ">=" else "≤"


def _draw_panel(ax: Any, chart: Panel) -> None:
    xs = list(range(len(chart.bars)))
    values = [bar.value for bar in chart.bars]
    colours = ["#c53030" if bar.met is False else _COLOURS[bar.kind] for bar in chart.bars]
    errors = None
    if any(bar.spread for bar in chart.bars):
        errors = [
            [bar.value - bar.spread[0] if bar.spread else 0.0 for bar in chart.bars],
            [bar.spread[1] - bar.value if bar.spread else 0.0 for bar in chart.bars],
        ]
    ax.bar(xs, values, color=colours, width=0.6, yerr=errors, capsize=4, ecolor="#4a5568")
    ax.axhline(1.0, color="#718096", linewidth=0.8)
    tops = [*values]
    tops += [bar.target[1] for bar in chart.bars if bar.target]
    tops += [bar.spread[1] for bar in chart.bars if bar.spread]
    for x, bar in zip(xs, chart.bars, strict=True):
        ax.annotate(
            f"{bar.value:.2f}x",
            (x - 0.3 if bar.spread else x, bar.value),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
            fontweight="bold" if bar.kind == "ours" else "normal",
        )
        if bar.target is not None:
            ax.hlines(
                bar.target[1], x - 0.45, x + 0.45, colors="#c53030", linestyles="dashed", lw=1.6
            )
    labels = [
        f"{bar.label}\ntarget {_symbol(bar.target[0])} {bar.target[1]:g}x"
        if bar.target
        else bar.label
        for bar in chart.bars
    ]
    ax.set_ylim(0, max(tops) * 1.15)
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel(f"{chart.ylabel}\n({chart.better} is better)", fontsize=9)
    ax.set_title(f"{chart.title}  ({chart.date})", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def main() -> int:
    """Read the results files and write the chart."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of <name>.json")
    parser.add_argument("--out", type=Path, default=RESULTS / "ratios.png", help="the PNG")
    args = parser.parse_args()
    charts = panels(args.results)
    if not charts:
        print(f"no results files ({', '.join(ORDER)}).json in {args.results}", file=sys.stderr)
        return 1
    draw(charts, args.out)
    for chart in charts:
        missed = [b.label.replace("\n", " ") for b in chart.bars if b.met is False]
        note = f"; target missed: {', '.join(missed)}" if missed else ""
        print(f"{chart.benchmark}: {len(chart.bars)} bars ({chart.date}){note}")
    print(f"chart written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
