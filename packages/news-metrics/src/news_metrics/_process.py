"""Process metrics of a group of worker processes, added up (multi-process exposition).

In multi-process mode one worker answers a scrape, so prometheus-client's process collector would
describe that worker only. This collector reads ``/proc`` for every live process that owns metric
files and reports the service's totals: CPU seconds, memory and open fds summed, the earliest
start time, the smallest fd limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from news_metrics.multiprocess import live_pids

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from prometheus_client.metrics_core import Metric

__all__ = ["ProcessGroupCollector"]

_MIN = frozenset({"process_start_time_seconds", "process_max_fds"})


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


class ProcessGroupCollector:
    """Collects ``process_*`` over the live processes of a multi-process folder."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def collect(self) -> Iterable[Metric]:
        """Yield one family per process metric, aggregated over the live workers."""
        from prometheus_client import ProcessCollector
        from prometheus_client.metrics_core import Metric

        families: dict[str, Metric] = {}
        totals: dict[str, float] = {}
        for pid in live_pids(self._directory):
            collector = ProcessCollector(pid=_constant(pid), registry=None)
            for family in collector.collect():
                if family.name not in families:
                    families[family.name] = Metric(
                        family.name, family.documentation, family.type, family.unit
                    )
                for sample in family.samples:
                    old = totals.get(sample.name)
                    if old is None:
                        totals[sample.name] = sample.value
                    elif sample.name in _MIN:
                        totals[sample.name] = min(old, sample.value)
                    else:
                        totals[sample.name] = old + sample.value
        for name, family in families.items():
            for sample_name, value in totals.items():
                if sample_name in (name, f"{name}_total"):
                    family.add_sample(sample_name, {}, value)
            yield family
