"""Business events: counters declared once with their label names, recorded by name."""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Final

from news_metrics._errors import EventDeclarationError, EventRecordError, UnknownEventError
from news_metrics._families import OTHER, LabelGuard, current_settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = ["PREFIX", "BusinessEvent", "business_event", "declare_business_event", "declared_events"]

#: Every business-event counter is named ``business_<event>_total`` and carries ``event="<event>"``,
#: so one query covers them all: ``sum by (event) (rate({__name__=~"business_.+_total"}[5m]))``.
PREFIX: Final = "business_"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels a business event may not use: the event label itself, histogram/summary label names, and
# the target labels Prometheus attaches (a clash would be renamed to exported_job...).
_RESERVED_LABELS: Final = frozenset({"event", "le", "quantile", "job", "instance"})

_lock = threading.Lock()
_events: dict[str, BusinessEvent] = {}
_log = logging.getLogger("news_metrics")


class BusinessEvent:
    """A declared business event: a counter ``business_<name>_total{event, <labels>...}``.

    Get one from `declare_business_event`; record with `inc` (or `business_event` by name).
    A label declared with its allowed values (``values=``) records any other value as ``other``;
    every other label keeps at most `MetricsSettings.max_label_values` distinct values, and later
    new values are counted as ``other`` with a warning logged once per label.

    Attributes:
        name: The event name.
        labels: The label names, in order.
        values: Label name to its allowed values, for the labels declared with ``values=``.
        description: The help text.
    """

    __slots__ = (
        "_children",
        "_counter",
        "_guards",
        "_lock",
        "_warned",
        "description",
        "labels",
        "name",
        "values",
    )

    def __init__(
        self,
        name: str,
        labels: tuple[str, ...],
        description: str,
        values: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.name = name
        self.labels = labels
        self.description = description
        self.values: dict[str, frozenset[str]] = dict(values or {})
        self._children: dict[tuple[str, ...], Callable[[float], None]] = {}
        self._guards: dict[str, LabelGuard] = {}
        self._warned: set[str] = set()
        self._counter: object | None = None
        self._lock = threading.Lock()

    @property
    def metric_name(self) -> str:
        """The exposed sample name, ``business_<name>_total``."""
        return f"{PREFIX}{self.name}_total"

    def inc(self, amount: float = 1, /, **labels: str) -> None:
        """Count *amount* (default 1) occurrences with the given label values.

        Raises:
            EventRecordError: a declared label is missing, an undeclared one is given, or
                *amount* is negative.
        """
        try:
            key = tuple([labels[name] for name in self.labels])
        except KeyError:
            raise self._label_error(labels) from None
        if len(labels) != len(self.labels):
            raise self._label_error(labels)
        if not amount >= 0:
            raise EventRecordError(
                f"business event {self.name!r}: amount must be >= 0, got {amount!r}"
            )
        inc = self._children.get(key)
        if inc is None:
            inc = self._resolve(key)
        inc(amount)

    def _label_error(self, labels: dict[str, str]) -> EventRecordError:
        missing = [name for name in self.labels if name not in labels]
        extra = sorted(set(labels) - set(self.labels))
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        declared = ", ".join(self.labels) or "no labels"
        return EventRecordError(
            f"business event {self.name!r} was declared with {declared}: {'; '.join(parts)}"
        )

    def _resolve(self, key: tuple[str, ...]) -> Callable[[float], None]:
        from prometheus_client import Counter

        from news_metrics import _prometheus
        from news_metrics._families import _freeze

        with self._lock:
            inc = self._children.get(key)
            if inc is not None:
                return inc
            counter = self._counter
            if counter is None:
                _freeze()
                counter = self._counter = Counter(
                    f"{PREFIX}{self.name}", self.description, ("event", *self.labels)
                )
            values = []
            for name, raw in zip(self.labels, key, strict=True):
                allowed = self.values.get(name)
                if allowed is not None:  # a closed set: never capped, the rest is `other`
                    values.append(self._allowed(name, str(raw), allowed))
                    continue
                guard = self._guards.get(name)
                if guard is None:
                    cap = current_settings().max_label_values
                    guard = self._guards[name] = LabelGuard(self.metric_name, name, cap)
                values.append(guard.admit(str(raw)))
            assert isinstance(counter, Counter)
            inc = _prometheus.counter_inc(counter.labels(self.name, *values))
            if tuple(values) == key:
                self._children[key] = inc  # values past the cap are not cached: bounded memory
            return inc

    def _allowed(self, label: str, value: str, allowed: frozenset[str]) -> str:
        if value in allowed:
            return value
        if label not in self._warned:
            self._warned.add(label)
            _log.info(
                "metric %s: label %r got a value outside its declared values, recorded as %r "
                "(this is said once; first one: %r)",
                self.metric_name,
                label,
                OTHER,
                value[:100],
            )
        return OTHER


def declare_business_event(
    name: str,
    *,
    labels: tuple[str, ...] | list[str] = (),
    values: Mapping[str, Iterable[str]] | None = None,
    description: str,
) -> BusinessEvent:
    """Declare the business event *name* with its label names; return its handle.

    Call it once at import time of the module that records the event. Declaring the same name
    again with the same labels (and values) returns the same handle (module reloads are harmless).

    Args:
        name: Lower-case snake case (``article_published``); exposed as
            ``business_<name>_total`` with the label ``event="<name>"``.
        labels: Label names (``("section",)``); not ``event``, ``le``, ``quantile``, ``job`` or
            ``instance``. Keep their values to small sets: each is capped.
        values: Allowed values of some labels (``{"section": ("world", "sport")}``): any other
            value is recorded as ``other``, so clients sending made-up values can neither add
            series nor push real values out (such a label is not subject to the cap). Use it
            for every label whose values come from requests.
        description: The help text shown with the metric.

    Raises:
        EventDeclarationError: a bad name, label or value set, or *name* was declared with
            other labels or values.
    """
    labels = tuple(labels)
    allowed = _allowed_values(name, labels, values)
    if not _NAME.match(name) or name.endswith("_total"):
        raise EventDeclarationError(
            f"business event name {name!r} must be lower-case snake case "
            "([a-z][a-z0-9_]*, not ending in _total), e.g. 'article_published'"
        )
    for label in labels:
        if not _LABEL.match(label) or label.startswith("__") or label in _RESERVED_LABELS:
            raise EventDeclarationError(
                f"business event {name!r}: label {label!r} is not allowed (use "
                "[a-zA-Z_][a-zA-Z0-9_]*, not starting with __, none of "
                f"{', '.join(sorted(_RESERVED_LABELS))})"
            )
    if len(set(labels)) != len(labels):
        raise EventDeclarationError(f"business event {name!r}: duplicate labels in {labels!r}")
    if not description.strip():
        raise EventDeclarationError(f"business event {name!r}: give a description (help text)")
    with _lock:
        existing = _events.get(name)
        if existing is not None:
            if existing.labels != labels or existing.values != allowed:
                raise EventDeclarationError(
                    f"business event {name!r} is already declared with labels "
                    f"{existing.labels!r} (values {existing.values!r}), not {labels!r} "
                    f"(values {allowed!r})"
                )
            return existing
        event = _events[name] = BusinessEvent(name, labels, description, allowed)
        return event


def _allowed_values(
    name: str, labels: tuple[str, ...], values: Mapping[str, Iterable[str]] | None
) -> dict[str, frozenset[str]]:
    allowed: dict[str, frozenset[str]] = {}
    for label, given in (values or {}).items():
        if label not in labels:
            raise EventDeclarationError(
                f"business event {name!r}: values= names {label!r}, which is not one of its "
                f"labels {labels!r}"
            )
        if isinstance(given, str):
            raise EventDeclarationError(
                f"business event {name!r}: values[{label!r}] must be a collection of strings, "
                f"not the string {given!r}"
            )
        members = frozenset(given)
        checked: frozenset[object] = members  # callers without type checking pass anything
        if not checked or not all(isinstance(v, str) and v for v in checked):
            raise EventDeclarationError(
                f"business event {name!r}: values[{label!r}] must hold non-empty strings"
            )
        allowed[label] = members
    return allowed


def business_event(name: str, amount: float = 1, /, **labels: str) -> None:
    """Count one (or *amount*) occurrence of the declared business event *name*.

    ``business_event("article_published", section="world")``.

    Raises:
        UnknownEventError: *name* was never declared with `declare_business_event`.
        EventRecordError: labels differ from the declared ones, or *amount* is negative.
    """
    event = _events.get(name)
    if event is None:
        raise UnknownEventError(
            f"business event {name!r} is not declared; call "
            f"news_metrics.declare_business_event({name!r}, labels=(...), description=...) first"
        )
    event.inc(amount, **labels)


def declared_events() -> dict[str, BusinessEvent]:
    """A snapshot of the declared business events, by name."""
    return dict(_events)
