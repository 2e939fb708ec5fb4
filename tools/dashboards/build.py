"""Generate news-metrics' Grafana dashboards and Prometheus alert rules from code.

Usage (the dashboards env has grafana-foundation-sdk and PyYAML):
    hatch run dashboards:generate          write the files
    hatch run dashboards:generate --check  exit 1 if the committed files differ from the output

Output, shipped in the news-metrics wheel (packages/news-metrics/src/news_metrics/dashboards/):
    news-service-overview.json   HTTP RED by route, error ratio, latency quantiles, in flight,
                                 process CPU/memory/fds
    news-kafka.json              publish/consume rates, publish and handler errors, DLQ rate,
                                 handler latency, consumer lag
    news-business-events.json    business_<event>_total counters, by event and by label
    news-alerts.rules.yml        Prometheus recording and alerting rules

Every dashboard has a `datasource` variable (any Prometheus data source) and a `job` variable (the
service: Prometheus' job target label); queries use `$__rate_interval`. The metric names are the
ones news_metrics exposes; tests/news_metrics/test_prometheus.py evaluates every expression here
against a real Prometheus scraping a real target.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DashboardLink,
    DatasourceVariable,
    QueryVariable,
    Row,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    GraphDrawStyle,
    LegendDisplayMode,
    LegendPlacement,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "packages" / "news-metrics" / "src" / "news_metrics" / "dashboards"

DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
TAG = "news-platform"
JOB = 'job=~"$job"'
RATE = "$__rate_interval"

# The latency objective of the shipped SLO alerts: 99 % of requests faster than 0.5 s
# (0.5 is a bucket bound of http_request_duration_seconds by default).
SLO_LATENCY_BOUND = "0.5"
SLO_LATENCY_TARGET = 0.99
ERROR_RATIO_THRESHOLD = 0.05
LAG_THRESHOLD = 100


# --- building blocks ------------------------------------------------------------------------------


def query(expr: str, legend: str = "__auto", ref: str = "A") -> Dataquery:
    """A Prometheus range query on the dashboard's data source."""
    return Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DS)


def instant_table_query(expr: str, ref: str = "A") -> Dataquery:
    """An instant query rendered as a table."""
    return query(expr, ref=ref).instant().format(PromQueryFormat.TABLE)


def series(title: str, description: str, unit: str, *queries: Dataquery) -> timeseries.Panel:
    """A time-series panel with a table legend."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .span(12)
        .height(8)
        .draw_style(GraphDrawStyle.LINE)
        .fill_opacity(10)
        .legend(_legend().display_mode(LegendDisplayMode.TABLE).placement(LegendPlacement.BOTTOM))
    )
    for q in queries:
        panel = panel.with_target(q)
    return panel


def _legend() -> VizLegendOptions:
    return VizLegendOptions().show_legend(True).calcs(["mean", "max", "lastNotNull"])


def single(title: str, description: str, unit: str, expr: str) -> stat.Panel:
    """A stat panel showing the latest value."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .span(6)
        .height(4)
        .graph_mode(BigValueGraphMode.AREA)
        .color_mode(BigValueColorMode.VALUE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(query(expr))
    )


def variables(metric_selector: str) -> list[Any]:
    """The datasource variable and the job (service) selector."""
    return [
        DatasourceVariable("datasource").label("Data source").type("prometheus"),
        QueryVariable("job")
        .label("Service (job)")
        .description("Prometheus job label of the service's scrape targets.")
        .datasource(DS)
        .query(f"label_values({metric_selector}, job)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".+"),
    ]


def dashboard(uid: str, title: str, description: str) -> Dashboard:
    """A dashboard with the common settings and links to its siblings."""
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .editable()
        .refresh("30s")
        .time("now-1h", "now")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .link(
            DashboardLink("News dashboards")
            .type(DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


def sel(*matchers: str) -> str:
    """A selector body: ``{job=~"$job",<matchers>}``."""
    return "{" + ",".join((JOB, *matchers)) + "}"


def rate(metric: str, *matchers: str) -> str:
    """``rate(metric{job=~"$job",...}[$__rate_interval])``."""
    return f"rate({metric}{sel(*matchers)}[{RATE}])"


# --- dashboards -----------------------------------------------------------------------------------

ROUTE = 'route=~"$route"'
STATUS_5XX = 'status=~"5.."'
STATUS_4XX = 'status=~"4.."'


def _http_quantile(q: str, by: str = "") -> str:
    group = f"le, {by}" if by else "le"
    bucket = rate("http_request_duration_seconds_bucket", ROUTE)
    return f"histogram_quantile({q}, sum by ({group}) ({bucket}))"


def _size_quantile(q: str) -> str:
    bucket = rate("http_response_size_bytes_bucket", ROUTE)
    return f"histogram_quantile({q}, sum by (le) ({bucket}))"


def service_overview() -> Dashboard:
    """HTTP RED by route, latency quantiles, in-flight requests and process resources."""
    requests = rate("http_requests_total", ROUTE)
    errors = rate("http_requests_total", ROUTE, STATUS_5XX)
    board = dashboard(
        "news-service-overview",
        "News / Service overview",
        "HTTP traffic (rate, errors, duration) by route, requests in flight and process "
        "resources of news platform services (news-metrics).",
    )
    for var in variables("http_requests_total"):
        board = board.with_variable(var)
    board = board.with_variable(
        QueryVariable("route")
        .label("Route")
        .datasource(DS)
        .query('label_values(http_requests_total{job=~"$job"}, route)')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )
    slow = rate("http_request_duration_seconds_bucket", f'le="{SLO_LATENCY_BOUND}"')
    count = rate("http_request_duration_seconds_count")
    return (
        board.with_row(Row("Summary"))
        .with_panel(
            single("Requests / s", "All requests of the selection.", "reqps", f"sum({requests})")
        )
        .with_panel(
            single(
                "Error ratio (5xx)",
                "Share of requests answered with a 5xx status.",
                "percentunit",
                f"(sum({errors}) or vector(0)) / sum({requests})",
            )
        )
        .with_panel(
            single("p99 latency", "99th percentile request duration.", "s", _http_quantile("0.99"))
        )
        .with_panel(
            single(
                "In flight",
                "Requests being served right now, over all instances.",
                "short",
                f"sum(http_requests_in_flight{sel(ROUTE)})",
            )
        )
        .with_row(Row("Rate and errors"))
        .with_panel(
            series(
                "Requests / s by route",
                "Request rate per method and route template.",
                "reqps",
                query(f"sum by (method, route) ({requests})", "{{method}} {{route}}"),
            )
        )
        .with_panel(
            series(
                "Requests / s by status class",
                "Request rate per status class (2xx, 3xx, 4xx, 5xx).",
                "reqps",
                query(
                    f'sum by (status_class) (label_replace({requests}, "status_class", "${{1}}xx",'
                    ' "status", "([0-9]).."))',
                    "{{status_class}}",
                ),
            )
        )
        .with_panel(
            series(
                "Error ratio (5xx) by route",
                "Share of each route's requests answered with a 5xx status.",
                "percentunit",
                query(f"sum by (route) ({errors}) / sum by (route) ({requests})", "{{route}}"),
            )
        )
        .with_panel(
            series(
                "Client errors (4xx) / s by route",
                "Rate of 4xx answers per route and status (bad input, auth, not found).",
                "reqps",
                query(
                    f"sum by (route, status) ({rate('http_requests_total', ROUTE, STATUS_4XX)})",
                    "{{route}} {{status}}",
                ),
            )
        )
        .with_row(Row("Duration"))
        .with_panel(
            series(
                "Latency quantiles",
                "p50, p90 and p99 of request duration over the selection.",
                "s",
                query(_http_quantile("0.5"), "p50", "A"),
                query(_http_quantile("0.9"), "p90", "B"),
                query(_http_quantile("0.99"), "p99", "C"),
            )
        )
        .with_panel(
            series(
                "p99 latency by route",
                "99th percentile request duration per route.",
                "s",
                query(_http_quantile("0.99", "route"), "{{route}}"),
            )
        )
        .with_panel(
            series(
                "Mean latency by route",
                "Average request duration per route.",
                "s",
                query(
                    f"sum by (route) ({rate('http_request_duration_seconds_sum', ROUTE)})"
                    f" / sum by (route) ({rate('http_request_duration_seconds_count', ROUTE)})",
                    "{{route}}",
                ),
            )
        )
        .with_panel(
            series(
                f"Requests slower than {SLO_LATENCY_BOUND} s",
                "Share of requests slower than the latency objective's bound (the SLO alerts "
                f"page when it burns the {1 - SLO_LATENCY_TARGET:.0%} budget too fast).",
                "percentunit",
                query(f"1 - sum by (job) ({slow}) / sum by (job) ({count})", "{{job}}"),
            )
        )
        .with_row(Row("Saturation and size"))
        .with_panel(
            series(
                "In flight by route",
                "Requests being served right now per route (sum over instances).",
                "short",
                query(
                    f"sum by (method, route) (http_requests_in_flight{sel(ROUTE)})",
                    "{{method}} {{route}}",
                ),
            )
        )
        .with_panel(
            series(
                "Response bytes / s by route",
                "Response body throughput per route.",
                "Bps",
                query(
                    f"sum by (route) ({rate('http_response_size_bytes_sum', ROUTE)})", "{{route}}"
                ),
            )
        )
        .with_panel(
            series(
                "Response size p50 / p99",
                "Median and 99th percentile response body size.",
                "bytes",
                query(_size_quantile("0.5"), "p50", "A"),
                query(_size_quantile("0.99"), "p99", "B"),
            )
        )
        .with_row(Row("Process"))
        .with_panel(
            series(
                "CPU (cores)",
                "CPU seconds per second per instance (all its worker processes).",
                "short",
                query(f"sum by (instance) ({rate('process_cpu_seconds_total')})", "{{instance}}"),
            )
        )
        .with_panel(
            series(
                "Resident memory",
                "Resident set size per instance (all its worker processes).",
                "bytes",
                query(f"sum by (instance) (process_resident_memory_bytes{sel()})", "{{instance}}"),
            )
        )
        .with_panel(
            series(
                "Open file descriptors",
                "Open fds per instance, and the per-process limit.",
                "short",
                query(f"sum by (instance) (process_open_fds{sel()})", "open {{instance}}", "A"),
                query(f"min by (instance) (process_max_fds{sel()})", "limit {{instance}}", "B"),
            )
        )
        .with_panel(
            series(
                "Targets up",
                "Scrape targets of the service that answered their last scrape, of all.",
                "short",
                query(f"sum by (job) (up{sel()})", "{{job}} up", "A"),
                query(f"count by (job) (up{sel()})", "{{job}} targets", "B"),
            )
        )
    )


TOPIC = 'topic=~"$topic"'
KAFKA_METRICS = '{__name__=~"kafka_messages_published_total|kafka_messages_consumed_total"}'


def kafka() -> Dashboard:
    """Publish and consume rates, errors, dead letters, handler latency and consumer lag."""
    board = dashboard(
        "news-kafka",
        "News / Kafka",
        "Kafka publishing and consuming of news platform services (news-metrics): rates, "
        "errors, dead-lettered messages, handler duration and consumer lag.",
    )
    for var in variables(KAFKA_METRICS):
        board = board.with_variable(var)
    board = board.with_variable(
        QueryVariable("topic")
        .label("Topic")
        .datasource(DS)
        .query(
            'label_values({__name__=~"kafka_messages_published_total|'
            'kafka_messages_consumed_total",job=~"$job"}, topic)'
        )
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )
    consumed = rate("kafka_messages_consumed_total", TOPIC)
    handler_errors = rate("kafka_handler_errors_total", TOPIC)
    bucket = rate("kafka_handler_duration_seconds_bucket", TOPIC)
    lag = f"kafka_consumer_lag{sel(TOPIC)}"
    return (
        board.with_row(Row("Summary"))
        .with_panel(
            single(
                "Published / s",
                "Messages acknowledged by the brokers.",
                "short",
                f"sum({rate('kafka_messages_published_total', TOPIC)})",
            )
        )
        .with_panel(
            single("Consumed / s", "Messages handed to handlers.", "short", f"sum({consumed})")
        )
        .with_panel(
            single(
                "Dead-lettered / s",
                "Messages sent to dead-letter topics.",
                "short",
                f"sum({rate('kafka_messages_dead_lettered_total', TOPIC)}) or vector(0)",
            )
        )
        .with_panel(
            single("Total lag", "Messages not yet consumed, all groups.", "short", f"sum({lag})")
        )
        .with_row(Row("Publishing"))
        .with_panel(
            series(
                "Published / s by topic",
                "Messages acknowledged by the brokers per topic.",
                "short",
                query(
                    f"sum by (topic) ({rate('kafka_messages_published_total', TOPIC)})",
                    "{{topic}}",
                ),
            )
        )
        .with_panel(
            series(
                "Publish errors / s",
                "Failed publish attempts per topic and error type.",
                "short",
                query(
                    f"sum by (topic, error_type) ({rate('kafka_publish_errors_total', TOPIC)})",
                    "{{topic}} {{error_type}}",
                ),
            )
        )
        .with_row(Row("Consuming"))
        .with_panel(
            series(
                "Consumed / s by topic and group",
                "Messages handed to each consumer group's handler.",
                "short",
                query(f"sum by (topic, group) ({consumed})", "{{group}} {{topic}}"),
            )
        )
        .with_panel(
            series(
                "Handler errors / s",
                "Handler attempts that raised, per topic, group and error type.",
                "short",
                query(
                    f"sum by (topic, group, error_type) ({handler_errors})",
                    "{{group}} {{topic}} {{error_type}}",
                ),
            )
        )
        .with_panel(
            series(
                "Handler error ratio",
                "Failed handler attempts per consumed message (retries count each time).",
                "percentunit",
                query(
                    f"sum by (topic, group) ({handler_errors})"
                    f" / sum by (topic, group) ({consumed})",
                    "{{group}} {{topic}}",
                ),
            )
        )
        .with_panel(
            series(
                "Dead-lettered / s",
                "Messages sent to the dead-letter topic, by source topic and group.",
                "short",
                query(
                    f"sum by (topic, group) ({rate('kafka_messages_dead_lettered_total', TOPIC)})",
                    "{{group}} {{topic}}",
                ),
            )
        )
        .with_panel(
            series(
                "Handler duration p50 / p99",
                "Time a handler takes per message.",
                "s",
                query(
                    f"histogram_quantile(0.5, sum by (le, topic, group) ({bucket}))",
                    "p50 {{group}} {{topic}}",
                    "A",
                ),
                query(
                    f"histogram_quantile(0.99, sum by (le, topic, group) ({bucket}))",
                    "p99 {{group}} {{topic}}",
                    "B",
                ),
            )
        )
        .with_row(Row("Lag"))
        .with_panel(
            series(
                "Consumer lag by topic and group",
                "Messages not yet consumed, summed over partitions.",
                "short",
                query(f"sum by (topic, group) ({lag})", "{{group}} {{topic}}"),
            )
        )
        .with_panel(
            series(
                "Consumer lag by partition",
                "Messages not yet consumed per partition: one hot partition stands out here.",
                "short",
                query(
                    f"max by (topic, partition, group) ({lag})",
                    "{{group}} {{topic}}/{{partition}}",
                ),
            )
        )
        .with_panel(
            series(
                "Lag growth / s",
                "How fast the lag grows (positive: consumers fall behind).",
                "short",
                query(
                    f"sum by (topic, group) (deriv({lag}[5m]))",
                    "{{group}} {{topic}}",
                ),
            )
        )
    )


BUSINESS = '__name__=~"business_.+_total"'


def business_events() -> Dashboard:
    """Business events: rates by event, totals in the range, and each event's label breakdown."""
    board = dashboard(
        "news-business-events",
        "News / Business events",
        "Business events counted with news_metrics.business_event(): "
        "business_<event>_total{event, ...}.",
    )
    for var in variables("{" + BUSINESS + "}"):
        board = board.with_variable(var)
    board = board.with_variable(
        QueryVariable("event")
        .label("Event")
        .datasource(DS)
        .query('label_values({__name__=~"business_.+_total",job=~"$job"}, event)')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )
    events = sel(BUSINESS, 'event=~"$event"')
    return (
        board.with_row(Row("Events"))
        .with_panel(
            series(
                "Events / s",
                "Rate of each business event.",
                "short",
                query(f"sum by (event) (rate({events}[{RATE}]))", "{{event}}"),
            )
        )
        .with_panel(
            series(
                "Events / s by instance",
                "Rate of each business event per instance.",
                "short",
                query(
                    f"sum by (event, instance) (rate({events}[{RATE}]))", "{{event}} {{instance}}"
                ),
            )
        )
        .with_panel(
            table.Panel()
            .title("Events in the time range")
            .description("How many times each event happened in the selected time range.")
            .datasource(DS)
            .span(12)
            .height(8)
            .with_target(
                instant_table_query(f"sum by (event) (round(increase({events}[$__range])))")
            )
        )
        .with_panel(
            table.Panel()
            .title("Events by label values in the time range")
            .description("Each event's label values (section, source...) and their counts.")
            .datasource(DS)
            .span(12)
            .height(8)
            .with_target(
                instant_table_query(
                    f"sum without (instance, job) (round(increase({events}[$__range])))"
                )
            )
        )
    )


DASHBOARDS = {
    "news-service-overview.json": service_overview,
    "news-kafka.json": kafka,
    "news-business-events.json": business_events,
}


# --- alert rules ----------------------------------------------------------------------------------

SLO_WINDOWS = ("5m", "30m", "1h", "6h")
# Multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs"): a long window
# measures how much budget burned, a short one (1/12 of it) that it is still burning.
BURN_ALERTS = (
    (
        "HttpLatencySLOFastBurn",
        14.4,
        "1h",
        "5m",
        "critical",
        "2m",
        "2 % of the monthly budget in 1 h",
    ),
    (
        "HttpLatencySLOSlowBurn",
        6.0,
        "6h",
        "30m",
        "warning",
        "15m",
        "5 % of the monthly budget in 6 h",
    ),
)


def _slo_record(window: str) -> str:
    return f"job:http_request_latency_slo_violations:ratio_rate{window}"


def alert_rules() -> dict[str, Any]:
    """The Prometheus rule groups: SLO recording rules, HTTP, Kafka and target alerts."""
    budget = round(1 - SLO_LATENCY_TARGET, 6)
    recordings = [
        {
            "record": _slo_record(window),
            "expr": (
                f'1 - sum by (job) (rate(http_request_duration_seconds_bucket{{le="'
                f'{SLO_LATENCY_BOUND}"}}[{window}]))\n'
                f"  / sum by (job) (rate(http_request_duration_seconds_count[{window}]))"
            ),
        }
        for window in SLO_WINDOWS
    ]
    burn_alerts = [
        {
            "alert": name,
            "expr": (
                f"{_slo_record(long)} > ({factor:g} * {budget:g})\n"
                f"and\n{_slo_record(short)} > ({factor:g} * {budget:g})"
            ),
            "for": hold,
            "labels": {"severity": severity},
            "annotations": {
                "summary": (
                    f"{{{{ $labels.job }}}} burns its latency error budget {factor:g}x too fast"
                ),
                "description": (
                    f"More than {factor * budget:.1%} of {{{{ $labels.job }}}}'s requests took "
                    f"longer than {SLO_LATENCY_BOUND} s over the last {long} and {short} "
                    f"(objective: {SLO_LATENCY_TARGET:.0%} faster); at this rate it spends "
                    f"{spends}."
                ),
            },
        }
        for name, factor, long, short, severity, hold, spends in BURN_ALERTS
    ]
    return {
        "groups": [
            {"name": "news-http-slo.recordings", "rules": recordings},
            {
                "name": "news-http.alerts",
                "rules": [
                    {
                        "alert": "HttpHighErrorRatio",
                        "expr": (
                            'sum by (job) (rate(http_requests_total{status=~"5.."}[5m]))\n'
                            "  / sum by (job) (rate(http_requests_total[5m]))\n"
                            f"> {ERROR_RATIO_THRESHOLD}"
                        ),
                        "for": "5m",
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": "{{ $labels.job }} answers too many requests with 5xx",
                            "description": (
                                "{{ $value | humanizePercentage }} of {{ $labels.job }}'s "
                                "requests failed with a 5xx status over the last 5 minutes "
                                f"(threshold {ERROR_RATIO_THRESHOLD:.0%})."
                            ),
                        },
                    },
                    *burn_alerts,
                ],
            },
            {
                "name": "news-kafka.alerts",
                "rules": [
                    {
                        "alert": "KafkaConsumerLagGrowing",
                        "expr": (
                            "sum by (job, topic, group) (deriv(kafka_consumer_lag[10m])) > 0\n"
                            "and\n"
                            f"sum by (job, topic, group) (kafka_consumer_lag) > {LAG_THRESHOLD}"
                        ),
                        "for": "15m",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": ("{{ $labels.group }} falls behind on {{ $labels.topic }}"),
                            "description": (
                                "The lag of consumer group {{ $labels.group }} ({{ $labels.job }})"
                                " on {{ $labels.topic }} has grown for 15 minutes and is "
                                f"above {LAG_THRESHOLD} messages."
                            ),
                        },
                    },
                    {
                        "alert": "KafkaDeadLetters",
                        "expr": (
                            "sum by (job, topic, group) "
                            "(increase(kafka_messages_dead_lettered_total[5m])) > 0"
                        ),
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": (
                                "{{ $labels.group }} dead-letters messages of {{ $labels.topic }}"
                            ),
                            "description": (
                                "{{ $labels.job }} sent {{ $value | humanize }} messages of "
                                "{{ $labels.topic }} to the dead-letter topic in the last 5 "
                                "minutes: their handler kept failing. Inspect the DLQ."
                            ),
                        },
                    },
                    {
                        "alert": "KafkaHandlerErrorRatio",
                        "expr": (
                            "sum by (job, topic, group) (rate(kafka_handler_errors_total[5m]))\n"
                            "  / sum by (job, topic, group) "
                            "(rate(kafka_messages_consumed_total[5m]))\n"
                            f"> {ERROR_RATIO_THRESHOLD}"
                        ),
                        "for": "10m",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "{{ $labels.group }}'s handler fails on {{ $labels.topic }}",
                            "description": (
                                "{{ $value | humanizePercentage }} of {{ $labels.group }}'s "
                                "handler attempts on {{ $labels.topic }} raised over the last "
                                "5 minutes."
                            ),
                        },
                    },
                    {
                        "alert": "KafkaPublishErrors",
                        "expr": ("sum by (job, topic) (rate(kafka_publish_errors_total[5m])) > 0"),
                        "for": "5m",
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "{{ $labels.job }} fails to publish to {{ $labels.topic }}",
                            "description": (
                                "{{ $labels.job }} has failed publishes to {{ $labels.topic }} "
                                "for 5 minutes ({{ $value | humanize }}/s)."
                            ),
                        },
                    },
                ],
            },
            {
                "name": "news-targets.alerts",
                "rules": [
                    {
                        "alert": "TargetDown",
                        "expr": "up == 0",
                        "for": "2m",
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": "{{ $labels.job }} target {{ $labels.instance }} is down",
                            "description": (
                                "Prometheus could not scrape {{ $labels.instance }} of "
                                "{{ $labels.job }} for 2 minutes: the process is down, wedged "
                                "or unreachable."
                            ),
                        },
                    },
                ],
            },
        ]
    }


# --- output ---------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

RULES_HEADER = """\
# Prometheus rules for news platform services (news-metrics). Generated by
# tools/dashboards/build.py: edit that, then `hatch run dashboards:generate`.
# Load with `rule_files: [news-alerts.rules.yml]`; `promtool check rules` passes on it and
# tests/news_metrics/alerts_test.yml unit-tests every alert with `promtool test rules`.
# Latency objective: {target:.0%} of requests faster than {bound} s (the le="{bound}" bucket of
# http_request_duration_seconds); TargetDown covers every target of the Prometheus loading it.
"""


def render(out: Path = OUT) -> dict[Path, str]:
    """Every output file (in *out*) and its content."""
    encoder = JSONEncoder(sort_keys=True, indent=2)
    files = {}
    for name, build in DASHBOARDS.items():
        model = build().build()
        for number, panel in enumerate(model.panels or [], start=1):
            panel.id_val = number  # stable ids (rows too): links to ?viewPanel=N keep working
        files[out / name] = encoder.encode(model) + "\n"
    rules = yaml.dump(alert_rules(), Dumper=_Dumper, sort_keys=False, width=100)
    header = RULES_HEADER.format(target=SLO_LATENCY_TARGET, bound=SLO_LATENCY_BOUND)
    files[out / "news-alerts.rules.yml"] = header + rules
    return files


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    """Write the files, or with --check report those that differ."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if committed files differ")
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default: {_shown(OUT)})")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    files = render(out)
    if args.check:
        stale = [
            path
            for path, text in files.items()
            if not path.is_file() or path.read_text(encoding="utf-8") != text
        ]
        extra = sorted(set(out.glob("*")) - set(files))
        for path in stale:
            print(f"out of date: {_shown(path)}")
        for path in extra:
            print(f"not generated (remove it): {_shown(path)}")
        if stale or extra:
            print("run: hatch run dashboards:generate")
            return 1
        print(f"dashboards and rules are up to date ({len(files)} files)")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {_shown(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
