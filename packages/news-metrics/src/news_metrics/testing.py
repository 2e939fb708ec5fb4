"""Test helpers: read metric values the way a scrape sees them (multi-process mode included).

::

    from news_metrics.testing import sample_value

    before = sample_value("business_article_published_total", {"section": "world"}) or 0.0
    publish_article(section="world")
    assert sample_value("business_article_published_total", {"section": "world"}) == before + 1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from news_metrics._exposition import render

if TYPE_CHECKING:
    from collections.abc import Mapping

    from prometheus_client import CollectorRegistry

__all__ = ["sample_value", "samples"]


def samples(
    *, registry: CollectorRegistry | None = None
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a fresh `render` (text format), keyed by (name, labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    body, _ = render(None, registry=registry)
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            out[sample.name, frozenset(sample.labels.items())] = float(sample.value)
    return out


def sample_value(
    name: str,
    labels: Mapping[str, str] | None = None,
    *,
    registry: CollectorRegistry | None = None,
) -> float | None:
    """The value of the sample *name* whose labels are exactly *labels*, or None if absent.

    Args:
        name: The sample name as exposed (``http_requests_total``, ``..._bucket``, ``..._sum``).
        labels: All of the sample's labels (``le`` included for buckets); none if omitted.
        registry: The registry to render in single-process mode (default: prometheus-client's).
    """
    key = (name, frozenset((labels or {}).items()))
    return samples(registry=registry).get(key)
