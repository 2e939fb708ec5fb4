"""`render`: the exposition body and content type for an Accept header (text or OpenMetrics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from news_metrics import multiprocess
from news_metrics._families import current_settings

if TYPE_CHECKING:
    from pathlib import Path

    from prometheus_client import CollectorRegistry

__all__ = ["Exposition", "render"]


class Exposition(NamedTuple):
    """A rendered scrape: the body and its ``Content-Type`` header value."""

    body: bytes
    content_type: str


def _multiprocess_registry(directory: Path) -> CollectorRegistry:
    from prometheus_client import CollectorRegistry, PlatformCollector
    from prometheus_client.multiprocess import MultiProcessCollector

    from news_metrics._process import ProcessGroupCollector

    multiprocess.flush()  # this worker's own values are current; the others' within an interval
    multiprocess.reap_dead(directory)
    registry = CollectorRegistry(auto_describe=True)
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    if current_settings().process_metrics:
        registry.register(ProcessGroupCollector(directory))
        PlatformCollector(registry=registry)
    return registry


def render(accept: str | None = None, *, registry: CollectorRegistry | None = None) -> Exposition:
    """Render every metric of this service for a scrape whose Accept header is *accept*.

    OpenMetrics 1.0 when *accept* asks for ``application/openmetrics-text`` (Prometheus does),
    the Prometheus text format 0.0.4 otherwise. In multi-process mode the values of all worker
    processes are merged from the multi-process folder (and *registry* is not consulted);
    otherwise *registry* (default: prometheus-client's, which also holds the process and runtime
    collectors) is rendered.

    news-http's ``/metrics`` route returns ``body`` with ``Content-Type: content_type``.
    """
    from prometheus_client import REGISTRY
    from prometheus_client.exposition import choose_encoder

    encoder, content_type = choose_encoder(accept or "")
    directory = multiprocess.active_directory()
    if directory is not None:
        source = _multiprocess_registry(directory)
    else:
        source = registry if registry is not None else REGISTRY
    return Exposition(encoder(source), content_type)
