"""What every benchmark's ``--json`` file records about the run, next to its figures.

``docs/benchmarks/<name>.json`` holds the latest figures of ``hatch run bench:<name>``; this is
its ``meta`` object: which benchmark, when, with which command, on which machine, how busy the
machine was. ``tools/bench/chart.py`` reads it for the chart's titles.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from typing import Any


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def run_info(benchmark: str, load_before: float | None = None) -> dict[str, Any]:
    """The ``meta`` object of a results file: benchmark, date, command, machine, load.

    Args:
        benchmark: The benchmark's name (``log``, ``kafka``... as in ``hatch run bench:<name>``).
        load_before: The 1-minute load average when the run started (the one at the end is
            read here).
    """
    load_after = load_now()
    return {
        "benchmark": benchmark,
        "date": dt.date.today().isoformat(),
        "command": " ".join([f"hatch run bench:{benchmark}", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": _cpu_model(),
            "memory_gib": _memory_gib(),
            "system": f"{platform.system()} {platform.release()}",
            "python": f"{platform.python_implementation()} {platform.python_version()}",
        },
        "load_average": {"start": load_before, "end": load_after},
    }


def load_now() -> float | None:
    """The 1-minute load average (2 decimals), or None where the platform has none."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
