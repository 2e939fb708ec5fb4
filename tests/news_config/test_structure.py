"""Env names, prefixes and nested Struct trees."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from news_config import ConfigError, SchemaError, Source, load


class Kafka(msgspec.Struct, frozen=True, kw_only=True):
    bootstrap_servers: tuple[str, ...] = ("localhost:9092",)
    client_id: str = "news"


class Tls(msgspec.Struct, frozen=True, kw_only=True):
    cert: str
    verify: bool = True


class Inner(msgspec.Struct, frozen=True, kw_only=True):
    depth: int = 3


class Middle(msgspec.Struct, frozen=True, kw_only=True):
    inner: Inner = Inner()


class Outer(msgspec.Struct, frozen=True, kw_only=True):
    middle: Middle = Middle()


class Service(msgspec.Struct, frozen=True, kw_only=True):
    name: str = "svc"
    kafka: Kafka = Kafka(client_id="from-parent-default")
    tls: Tls | None = None


class Renamed(msgspec.Struct, rename="kebab"):
    max_size: int = 0
    url: str = msgspec.field(default="", name="database_url")


class NeedsTls(msgspec.Struct, kw_only=True):
    tls: Tls


class Range(msgspec.Struct, frozen=True, kw_only=True):
    low: int = 0
    high: int = 10

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


class HasRange(msgspec.Struct, kw_only=True):
    range: Range = Range()


class Node(msgspec.Struct):
    name: str = ""
    child: Node | None = None


class Bad(msgspec.Struct):
    where: Path | str = "."


class TestNaming:
    def test_prefix_and_upper_case(self) -> None:
        """A variable is the prefix plus the upper-cased field name."""
        assert load(Service, prefix="NEWSROOM_", environ={"NEWSROOM_NAME": "x"}).name == "x"

    def test_names_are_case_sensitive(self) -> None:
        """Lower-case variable names are not matched (env names are exact)."""
        assert load(Service, prefix="NEWSROOM_", environ={"newsroom_name": "x"}).name == "svc"

    def test_field_rename(self) -> None:
        """msgspec.field(name=...) renames the variable; rename='kebab' dashes become '_'."""
        loaded = load(Renamed, environ={"MAX_SIZE": "5", "DATABASE_URL": "pg://"}, env_file=None)
        assert (loaded.max_size, loaded.url) == (5, "pg://")

    def test_unknown_prefixed_variables_are_ignored(self) -> None:
        """Variables with the prefix that the schema lacks do not fail loading."""
        loaded = load(Service, prefix="NEWSROOM_", environ={"NEWSROOM_TYPO": "x"}, env_file=None)
        assert loaded == Service()


class TestNested:
    def test_double_underscore(self) -> None:
        """A nested field is PREFIX_SECTION__FIELD."""
        loaded = load(
            Service,
            prefix="NEWSROOM_",
            environ={"NEWSROOM_KAFKA__BOOTSTRAP_SERVERS": "a:1,b:2"},
            env_file=None,
        )
        assert loaded.kafka.bootstrap_servers == ("a:1", "b:2")

    def test_parent_default_instance_is_the_base(self) -> None:
        """Unset fields of a nested Struct keep the values of the parent's default instance."""
        loaded = load(Service, environ={"KAFKA__BOOTSTRAP_SERVERS": "a:1"}, env_file=None)
        assert loaded.kafka.client_id == "from-parent-default"

    def test_untouched_section_is_the_default(self) -> None:
        """A section with nothing set is the field's default."""
        assert load(Service, environ={}, env_file=None).kafka == Service().kafka

    def test_any_depth(self) -> None:
        """Nesting works at any depth: OUTER__MIDDLE__INNER__DEPTH."""
        loaded = load(Outer, prefix="P_", environ={"P_MIDDLE__INNER__DEPTH": "9"}, env_file=None)
        assert loaded.middle.inner.depth == 9

    def test_optional_section_stays_none(self) -> None:
        """An optional section is None while none of its variables is set."""
        assert load(Service, environ={}, env_file=None).tls is None

    def test_optional_section_turns_on(self) -> None:
        """Setting a variable of an optional section builds it, defaults included."""
        loaded = load(Service, environ={"TLS__CERT": "/c.pem"}, env_file=None)
        assert loaded.tls == Tls(cert="/c.pem", verify=True)

    def test_optional_section_reports_its_required_fields(self) -> None:
        """A half-set optional section reports its missing required fields."""
        with pytest.raises(ConfigError) as info:
            load(Service, environ={"TLS__VERIFY": "no"}, env_file=None)
        assert [(e.env_name, e.missing) for e in info.value.errors] == [("TLS__CERT", True)]

    def test_required_section(self) -> None:
        """A required section with nothing set reports each of its required fields."""
        with pytest.raises(ConfigError) as info:
            load(NeedsTls, prefix="A_", environ={}, env_file=None)
        assert [e.env_name for e in info.value.errors] == ["A_TLS__CERT"]
        assert load(NeedsTls, environ={"TLS__CERT": "c"}, env_file=None).tls.cert == "c"

    def test_post_init_error_names_the_exact_variables(self) -> None:
        """A nested Struct's own check is reported by each variable its message names."""
        with pytest.raises(ConfigError) as info:
            load(HasRange, prefix="X_", environ={"X_RANGE__LOW": "11"}, env_file=None)
        low, high = info.value.errors
        assert (low.env_name, low.found, low.source) == ("X_RANGE__LOW", "'11'", Source.ENV)
        assert (high.env_name, high.found, high.source) == ("X_RANGE__HIGH", None, None)
        assert low.detail == high.detail == "low must not exceed high"
        assert "X_RANGE__*" not in str(info.value)

    def test_self_reference_is_read_as_json(self) -> None:
        """A self-referencing Struct field is one JSON variable instead of endless nesting."""
        loaded = load(Node, environ={"CHILD": '{"name": "leaf"}'}, env_file=None)
        assert loaded.child == Node(name="leaf")


class TestSchemaProblems:
    def test_not_a_struct(self) -> None:
        """Loading something that is not a Struct class is a SchemaError (a TypeError)."""
        with pytest.raises(SchemaError, match=r"msgspec\.Struct"):
            load(dict, environ={})  # type: ignore[type-var]
        assert issubclass(SchemaError, TypeError)

    def test_unsupported_type_names_the_field(self) -> None:
        """A field type msgspec cannot handle is a SchemaError naming the field."""
        with pytest.raises(SchemaError, match=r"Bad\.where"):
            load(Bad, environ={}, env_file=None)
