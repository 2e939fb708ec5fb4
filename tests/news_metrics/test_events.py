"""Business events: declared once, recorded by handle or by name, cardinality-capped."""

from __future__ import annotations

import itertools
import logging

import pytest

import news_metrics
from news_metrics.testing import sample_value

_ids = itertools.count()


def unique(base: str) -> str:
    """Event names are process-wide: give each test its own."""
    return f"{base}_{next(_ids)}"


class TestDeclaration:
    def test_declare_returns_a_handle_with_the_exposed_name(self):
        """The counter is business_<name>_total with the declared labels."""
        name = unique("article_published")
        event = news_metrics.declare_business_event(
            name, labels=("section",), description="Articles published."
        )
        assert event.metric_name == f"business_{name}_total"
        assert event.labels == ("section",)
        assert news_metrics.declared_events()[name] is event

    def test_declaring_again_with_the_same_labels_returns_the_same_handle(self):
        """A second identical declaration (a module reload) is harmless."""
        name = unique("ingested")
        first = news_metrics.declare_business_event(name, labels=("source",), description="x")
        again = news_metrics.declare_business_event(name, labels=["source"], description="x")
        assert again is first

    def test_declaring_again_with_other_labels_fails(self):
        """The label set of an event is fixed by its first declaration."""
        name = unique("ingested")
        news_metrics.declare_business_event(name, labels=("source",), description="x")
        with pytest.raises(news_metrics.EventDeclarationError, match="already declared"):
            news_metrics.declare_business_event(name, labels=("feed",), description="x")

    @pytest.mark.parametrize(
        "name", ["Article", "9lives", "has-dash", "ends_total", "", "spaces here"]
    )
    def test_bad_names_are_refused(self, name):
        """Event names are lower-case snake case and do not end in _total."""
        with pytest.raises(news_metrics.EventDeclarationError, match="snake case"):
            news_metrics.declare_business_event(name, description="x")

    @pytest.mark.parametrize("label", ["event", "le", "job", "instance", "__x", "a-b", "1a"])
    def test_reserved_or_invalid_labels_are_refused(self, label):
        """Labels that clash with Prometheus' or ours are refused with the rule."""
        with pytest.raises(news_metrics.EventDeclarationError, match="not allowed"):
            news_metrics.declare_business_event(unique("e"), labels=(label,), description="x")

    def test_a_description_is_required(self):
        """An event without help text is refused."""
        with pytest.raises(news_metrics.EventDeclarationError, match="description"):
            news_metrics.declare_business_event(unique("e"), description="  ")


class TestRecording:
    def test_business_event_counts_by_name_and_labels(self):
        """business_event(name, **labels) adds one to the matching series, with event=<name>."""
        name = unique("article_published")
        news_metrics.declare_business_event(
            name, labels=("section",), description="Articles published."
        )
        news_metrics.business_event(name, section="world")
        news_metrics.business_event(name, section="world")
        news_metrics.business_event(name, 3, section="sport")
        metric = f"business_{name}_total"
        assert sample_value(metric, {"event": name, "section": "world"}) == 2
        assert sample_value(metric, {"event": name, "section": "sport"}) == 3

    def test_handle_inc_counts_too(self):
        """BusinessEvent.inc is the same as business_event by name."""
        name = unique("login")
        event = news_metrics.declare_business_event(name, description="Logins.")
        event.inc()
        event.inc(2)
        assert sample_value(f"business_{name}_total", {"event": name}) == 3

    def test_an_undeclared_event_is_an_error_naming_the_fix(self):
        """Recording a name never declared raises UnknownEventError (a LookupError)."""
        with pytest.raises(news_metrics.UnknownEventError, match="declare_business_event"):
            news_metrics.business_event(unique("never_declared"))
        assert issubclass(news_metrics.UnknownEventError, LookupError)

    def test_missing_and_unexpected_labels_are_named(self):
        """Labels must be exactly the declared ones; the error says which differ."""
        name = unique("commented")
        news_metrics.declare_business_event(name, labels=("section", "kind"), description="x")
        with pytest.raises(news_metrics.EventRecordError, match="missing kind"):
            news_metrics.business_event(name, section="world")
        with pytest.raises(news_metrics.EventRecordError, match="unexpected user"):
            news_metrics.business_event(name, section="world", kind="reply", user="ada")

    def test_a_negative_amount_is_refused(self):
        """Counters only go up."""
        name = unique("refunds")
        news_metrics.declare_business_event(name, description="x")
        with pytest.raises(news_metrics.EventRecordError, match=">= 0"):
            news_metrics.business_event(name, -1)

    def test_values_past_the_cap_become_other_with_one_warning(self, settings, logged):
        """Each label keeps max_label_values distinct values; later new ones count as other."""
        news_metrics.setup(news_metrics.MetricsSettings(max_label_values=3))
        name = unique("searched")
        news_metrics.declare_business_event(name, labels=("term",), description="Searches.")
        for term in ["a", "b", "c", "d", "e", "a", "f"]:
            news_metrics.business_event(name, term=term)
        metric = f"business_{name}_total"
        assert sample_value(metric, {"event": name, "term": "a"}) == 2
        assert sample_value(metric, {"event": name, "term": "c"}) == 1
        assert sample_value(metric, {"event": name, "term": "d"}) is None
        assert sample_value(metric, {"event": name, "term": "other"}) == 3
        warnings = [m for m in logged.messages() if metric in m]
        assert len(warnings) == 1
        assert "'term'" in warnings[0]


class TestDeclaredValues:
    SECTIONS = ("world", "politics", "business", "sport", "culture")

    def test_random_values_cannot_push_real_ones_into_other(self, settings, logged):
        """150 random sections are recorded as other; real sections seen after them still count."""
        news_metrics.setup(news_metrics.MetricsSettings(max_label_values=100))
        name = unique("published")
        news_metrics.declare_business_event(
            name, labels=("section",), values={"section": self.SECTIONS}, description="x"
        )
        for i in range(150):
            news_metrics.business_event(name, section=f"made-up-{i}")
        for section in self.SECTIONS:
            news_metrics.business_event(name, section=section)
        metric = f"business_{name}_total"
        assert sample_value(metric, {"event": name, "section": "other"}) == 150
        for section in self.SECTIONS:
            assert sample_value(metric, {"event": name, "section": section}) == 1
        assert sample_value(metric, {"event": name, "section": "made-up-0"}) is None
        notes = [m for m in logged.messages(logging.INFO) if metric in m]
        assert len(notes) == 1
        assert "'made-up-0'" in notes[0]

    def test_other_labels_keep_their_cap(self, settings):
        """A label without declared values is still capped beside one with them."""
        news_metrics.setup(news_metrics.MetricsSettings(max_label_values=2))
        name = unique("commented")
        news_metrics.declare_business_event(
            name, labels=("section", "kind"), values={"section": ["world"]}, description="x"
        )
        for kind in ("a", "b", "c"):
            news_metrics.business_event(name, section="world", kind=kind)
        metric = f"business_{name}_total"
        assert sample_value(metric, {"event": name, "section": "world", "kind": "b"}) == 1
        assert sample_value(metric, {"event": name, "section": "world", "kind": "other"}) == 1

    @pytest.mark.parametrize(
        ("values", "match"),
        [
            ({"region": ["eu"]}, "not one of its labels"),
            ({"section": "world"}, "not the string"),
            ({"section": []}, "non-empty strings"),
            ({"section": ["world", ""]}, "non-empty strings"),
        ],
    )
    def test_bad_value_sets_are_refused(self, values, match):
        """values= must name declared labels with collections of non-empty strings."""
        with pytest.raises(news_metrics.EventDeclarationError, match=match):
            news_metrics.declare_business_event(
                unique("e"), labels=("section",), values=values, description="x"
            )

    def test_redeclaring_with_other_values_fails(self):
        """The allowed values are part of the declaration, like the labels."""
        name = unique("e")
        news_metrics.declare_business_event(
            name, labels=("section",), values={"section": ["a"]}, description="x"
        )
        same = news_metrics.declare_business_event(
            name, labels=("section",), values={"section": ("a",)}, description="x"
        )
        assert same.values == {"section": frozenset({"a"})}
        with pytest.raises(news_metrics.EventDeclarationError, match="already declared"):
            news_metrics.declare_business_event(
                name, labels=("section",), values={"section": ["b"]}, description="x"
            )
