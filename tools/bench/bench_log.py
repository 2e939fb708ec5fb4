"""Benchmark: news-log JSON vs structlog (orjson) vs stdlib logging + python-json-logger.

Each contender runs in its own fresh interpreter, writes N records (a message and three
fields) to a file, and is timed until every line is on disk (news-log: until ``flush()``
returns; the others write synchronously). Line counts are checked after each run, so a fast
but lossy logger fails instead of winning. Medians of ``--runs`` runs are reported with the
ratio to structlog.

    hatch run bench:log [--records 200000] [--runs 3] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _meta import load_now, run_info

CONTENDERS: dict[str, str] = {
    "news-log": """
import news_log
news_log.setup(news_log.LogSettings(format="json", output=PATH, capture_stdlib=False))
log = news_log.get_logger("bench")
def run():
    for i in range(N):
        log.info("article published", article_id=i, section="world", duration_ms=12.5)
    news_log.flush(None)
""",
    "structlog": """
import logging, orjson, structlog
FILE = open(PATH, "wb")
structlog.configure(
    cache_logger_on_first_use=True,
    wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(serializer=orjson.dumps),
    ],
    logger_factory=structlog.BytesLoggerFactory(file=FILE),
)
log = structlog.get_logger("bench")
def run():
    for i in range(N):
        log.info("article published", article_id=i, section="world", duration_ms=12.5)
    FILE.flush()
""",
    "stdlib+python-json-logger": """
import logging
try:
    from pythonjsonlogger.json import JsonFormatter
except ImportError:
    from pythonjsonlogger.jsonlogger import JsonFormatter
handler = logging.FileHandler(PATH)
handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
log = logging.getLogger("bench")
log.addHandler(handler)
log.setLevel(logging.INFO)
log.propagate = False
def run():
    for i in range(N):
        log.info("article published",
                 extra={"article_id": i, "section": "world", "duration_ms": 12.5})
    handler.flush()
""",
}

RUNNER = """
import sys, time
PATH, N = sys.argv[1], int(sys.argv[2])
{setup}
t0 = time.perf_counter()
run()
elapsed = time.perf_counter() - t0
print(elapsed)
"""


def run_once(name: str, records: int, workdir: Path) -> float:
    """Run one contender in a fresh interpreter; return records/s after checking the file."""
    path = workdir / f"{name}.log"
    path.unlink(missing_ok=True)
    code = RUNNER.format(setup=CONTENDERS[name])
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), str(records)],
        check=True,
        capture_output=True,
        text=True,
    )
    elapsed = float(out.stdout.strip().splitlines()[-1])
    lines = path.read_bytes().splitlines()
    if len(lines) != records:
        raise SystemExit(f"{name}: wrote {len(lines)} lines, expected {records}: lossy, not fast")
    for probe in (lines[0], lines[len(lines) // 2], lines[-1]):
        json.loads(probe)
    return records / elapsed


def main() -> int:
    """Run every contender ``--runs`` times, print medians and ratios to structlog."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    load = load_now()
    results: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):  # interleave runs so drift hits every contender alike
            for name in CONTENDERS:
                results[name].append(run_once(name, args.records, Path(tmp)))
    base = statistics.median(results["structlog"])
    print(f"{args.records:,} records to a file, median of {args.runs} runs")
    print(f"{'logger':<28}{'records/s':>12}{'vs structlog':>14}")
    summary: dict[str, object] = {}
    for name, rates in results.items():
        median = statistics.median(rates)
        summary[name] = {"records_per_s": round(median), "ratio_to_structlog": median / base}
        print(f"{name:<28}{median:>12,.0f}{median / base:>13.2f}x")
    if args.json:
        summary["meta"] = run_info("log", load)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
