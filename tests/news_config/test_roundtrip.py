"""Hypothesis round trips: a value, written as a variable the documented way, loads back equal."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from news_config import Secret, load

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import DrawFn


class Color(enum.Enum):
    RED = "red"
    DARK_BLUE = "dark-blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


TRUE_WORDS = ["true", "1", "yes", "on"]
FALSE_WORDS = ["false", "0", "no", "off"]
CASES = [str.lower, str.upper, str.title]

# Text a .env file or JSON can carry: no lone surrogates.
TEXT = st.text(st.characters(exclude_categories=["Cs"]))
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)


# --- the test's own renderer: how a person writes each value as a variable (see the README) ---


def spaced(draw: DrawFn, text: str) -> str:
    """Surround *text* with optional spaces (ignored for everything but str)."""
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", "  "]))


def simple_item(text: str) -> bool:
    """Whether *text* can be an item of a comma-separated list."""
    return bool(text) and "," not in text and text == text.strip() and not text.startswith("[")


def render_items(draw: DrawFn, texts: list[str], json_items: list[Any]) -> str:
    """Comma-separated (with random spaces) when every item allows it, else a JSON array."""
    if texts and all(simple_item(t) for t in texts) and draw(st.booleans()):
        return ",".join(spaced(draw, t) for t in texts)
    return json.dumps(json_items)


def render_bool(draw: DrawFn, value: bool) -> str:
    """One of the accepted words for *value*, in a random case."""
    word = draw(st.sampled_from(TRUE_WORDS if value else FALSE_WORDS))
    return spaced(draw, draw(st.sampled_from(CASES))(word))


def render_enum(draw: DrawFn, value: enum.Enum) -> str:
    """The member's value, its name, or its value in upper case."""
    forms = [str(value.value), value.name, value.name.lower()]
    if isinstance(value.value, str):
        forms.append(value.value.upper())
    return draw(st.sampled_from(forms))


def render_timedelta(draw: DrawFn, value: dt.timedelta) -> str:
    """Exact seconds with six decimals, or an ISO 8601 PnDTnHnMn.nnnnnnS duration."""
    micros = (value.days * 86_400 + value.seconds) * 10**6 + value.microseconds
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 10**6)
    if draw(st.booleans()):
        return f"{sign}{seconds}.{fraction:06d}"
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    return f"{sign}P{days}DT{hours}H{minutes}M{seconds}.{fraction:06d}S"


def render_int_items(draw: DrawFn, value: Any) -> str:
    """A collection of ints, comma-separated or as JSON."""
    items = list(value)
    return render_items(draw, [str(i) for i in items], items)


def render_str_items(draw: DrawFn, value: Any) -> str:
    """A collection of strings, comma-separated when possible, else as JSON."""
    items = sorted(value) if isinstance(value, set | frozenset) else list(value)
    return render_items(draw, items, items)


class Case(NamedTuple):
    annotation: Any
    values: st.SearchStrategy[Any]
    render: Callable[[DrawFn, Any], str]
    same: Callable[[Any, Any], bool] = lambda a, b: a == b and type(a) is type(b)


def exact_decimal(a: decimal.Decimal, b: decimal.Decimal) -> bool:
    """Equal down to the exponent (1.10 is not 1.1)."""
    return a.as_tuple() == b.as_tuple()


def same_datetime(a: dt.datetime, b: dt.datetime) -> bool:
    """Same instant and same offset."""
    return a == b and a.utcoffset() == b.utcoffset()


CASES_BY_TYPE: dict[str, Case] = {
    "str": Case(str, st.text(), lambda d, v: v),
    "int": Case(int, st.integers(), lambda d, v: spaced(d, str(v))),
    "float": Case(
        float,
        st.floats(allow_nan=True, allow_infinity=True)
        | st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, float("-inf")]),
        lambda d, v: spaced(d, repr(v)),
        lambda a, b: repr(a) == repr(b),
    ),
    "bool": Case(bool, st.booleans(), render_bool),
    "decimal": Case(
        decimal.Decimal, st.decimals(allow_nan=False), lambda d, v: str(v), exact_decimal
    ),
    "enum": Case(Color, st.sampled_from(Color), render_enum),
    "int_enum": Case(Priority, st.sampled_from(Priority), render_enum),
    "literal": Case(
        Literal["debug", "info", "warning"],
        st.sampled_from(["debug", "info", "warning"]),
        lambda d, v: d(st.sampled_from([v, v.upper()])),
    ),
    "list_int": Case(list[int], st.lists(st.integers()), render_int_items),
    "list_str": Case(list[str], st.lists(TEXT), render_str_items),
    "tuple_var": Case(tuple[int, ...], st.lists(st.integers()).map(tuple), render_int_items),
    "tuple_fixed": Case(
        tuple[int, str, bool],
        st.tuples(st.integers(), TEXT, st.booleans()),
        lambda d, v: json.dumps(list(v)),
    ),
    "set_str": Case(set[str], st.sets(TEXT), render_str_items),
    "frozenset_int": Case(frozenset[int], st.frozensets(st.integers()), render_int_items),
    "dict": Case(dict[str, int], st.dictionaries(TEXT, st.integers()), lambda d, v: json.dumps(v)),
    "datetime": Case(
        dt.datetime,
        st.datetimes(
            min_value=dt.datetime(2, 1, 1),  # naive bounds, as hypothesis wants
            max_value=dt.datetime(9998, 12, 31),
            timezones=OFFSETS,
        ),
        lambda d, v: v.isoformat(),
        same_datetime,
    ),
    "date": Case(dt.date, st.dates(), lambda d, v: v.isoformat()),
    "timedelta": Case(dt.timedelta, st.timedeltas(), render_timedelta),
    "path": Case(
        Path,
        st.text(
            st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1
        ).map(Path),
        lambda d, v: str(v),
    ),
    "secret": Case(
        Secret,
        st.text().map(Secret),
        lambda d, v: v.reveal(),
        lambda a, b: isinstance(b, Secret) and a.reveal() == b.reveal(),
    ),
}


def one_field(annotation: Any) -> type[msgspec.Struct]:
    """A Struct with the single required field `value: annotation`."""
    return msgspec.defstruct("One", [("value", annotation)], frozen=True, kw_only=True)


class TestRoundTrip:
    @pytest.mark.parametrize("name", list(CASES_BY_TYPE))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_value_survives_the_environment(self, name: str, data: st.DataObject) -> None:
        """For every supported type, load(render(value)) == value."""
        case = CASES_BY_TYPE[name]
        value = data.draw(case.values, label="value")
        raw = case.render(data.draw, value)
        loaded = load(one_field(case.annotation), environ={"VALUE": raw}, env_file=None).value
        assert case.same(value, loaded), (raw, loaded)

    @settings(max_examples=100, deadline=None)
    @given(value=TEXT)
    def test_str_survives_a_quoted_dotenv_line(self, tmp_path_factory: Any, value: str) -> None:
        r"""Any text written double-quoted with \ \" \n \r \t escaped reads back unchanged."""
        escaped = (
            value.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
        env_file = tmp_path_factory.mktemp("dotenv") / ".env"
        env_file.write_bytes(f'export VALUE="{escaped}"  # round trip\n'.encode())
        loaded = load(one_field(str), environ={}, env_file=env_file).value
        assert loaded == value

    @settings(max_examples=60, deadline=None)
    @given(
        port=st.integers(1, 65535),
        hosts=st.lists(st.from_regex(r"[a-z][a-z0-9.-]{0,20}:[0-9]{1,5}", fullmatch=True)),
        timeout=st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=1)),
        password=st.text(st.characters(exclude_categories=["Cs"]), min_size=1).map(Secret),
    )
    def test_nested_tree_survives(
        self, port: int, hosts: list[str], timeout: dt.timedelta, password: Secret
    ) -> None:
        """A nested settings tree under a prefix loads back field for field."""
        # The password is non-empty: an empty `Secret | None` means None (see test_types).
        environ = {
            "NEWSROOM_HTTP__PORT": str(port),
            "NEWSROOM_KAFKA__BOOTSTRAP_SERVERS": ",".join(hosts),
            "NEWSROOM_KAFKA__TIMEOUT": str(timeout.total_seconds()),
            "NEWSROOM_KAFKA__PASSWORD": password.reveal(),
        }
        loaded = load(Service, prefix="NEWSROOM_", environ=environ, env_file=None)
        assert loaded == Service(
            http=Http(port=port),
            kafka=Kafka(bootstrap_servers=hosts, timeout=timeout, password=password),
        )


class Http(msgspec.Struct, frozen=True, kw_only=True):
    port: int = 8080


class Kafka(msgspec.Struct, frozen=True, kw_only=True):
    bootstrap_servers: list[str]
    timeout: dt.timedelta = dt.timedelta(seconds=5)
    password: Secret | None = None


class Service(msgspec.Struct, frozen=True, kw_only=True):
    http: Http = Http()
    kafka: Kafka
