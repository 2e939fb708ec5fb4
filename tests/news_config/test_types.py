"""Every supported field type, with good and bad values, through `news_config.load`."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import ipaddress
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import pytest

from news_config import ConfigError, ConfigErrorItem, Secret, load

NODEFAULT: Any = msgspec.NODEFAULT


def one(tp: Any, raw: str | None = None, *, default: Any = NODEFAULT) -> Any:
    """Load a one-field Struct ``value: tp`` with VALUE=raw and return the field."""
    field = ("value", tp) if default is NODEFAULT else ("value", tp, default)
    schema = msgspec.defstruct("One", [field], frozen=True, kw_only=True)
    environ = {} if raw is None else {"VALUE": raw}
    return load(schema, environ=environ, env_file=None).value


def bad(tp: Any, raw: str) -> ConfigErrorItem:
    """Load VALUE=raw into ``value: tp``, expect exactly one error for VALUE, return it."""
    with pytest.raises(ConfigError) as info:
        one(tp, raw)
    (item,) = info.value.errors
    assert item.env_name == "VALUE"
    assert item.missing is False
    return item


class Color(enum.Enum):
    RED = "red"
    DARK_BLUE = "dark-blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class TestStr:
    def test_value_is_kept_verbatim(self) -> None:
        """A str field keeps the value exactly, inner and outer spaces included."""
        assert one(str, "  a b # c  ") == "  a b # c  "

    def test_empty_string_is_a_value(self) -> None:
        """An empty variable gives an empty string, not the default."""
        assert one(str, "", default="fallback") == ""

    def test_length_and_pattern_constraints(self) -> None:
        """min_length and pattern from msgspec.Meta are enforced and described."""
        tp = Annotated[str, msgspec.Meta(min_length=3, pattern="^[a-z]+$")]
        assert one(tp, "abc") == "abc"
        assert bad(tp, "ab").expected == (
            "a string of at least 3 characters and matching the pattern '^[a-z]+$'"
        )
        assert bad(tp, "ABC").found == "'ABC'"


class TestInt:
    @pytest.mark.parametrize(
        ("raw", "value"), [("42", 42), (" -7 ", -7), ("+3", 3), ("1_000", 1000), ("0", 0)]
    )
    def test_good(self, raw: str, value: int) -> None:
        """Decimal integers with an optional sign, underscores and outer spaces are read."""
        assert one(int, raw) == value

    @pytest.mark.parametrize("raw", ["4.2", "abc", "", "1e3", "0x10", "1 2"])
    def test_bad(self, raw: str) -> None:
        """Anything but a decimal integer is an error that says an integer was expected."""
        item = bad(int, raw)
        assert item.expected == "an integer"
        assert item.found == repr(raw)

    def test_bounds(self) -> None:
        """ge/le bounds are checked and spelled out in the expectation."""
        tp = Annotated[int, msgspec.Meta(ge=1, le=10)]
        assert one(tp, "10") == 10
        assert bad(tp, "0").expected == "an integer >= 1 and <= 10"
        assert bad(tp, "11").expected == "an integer >= 1 and <= 10"

    def test_exclusive_bounds_and_multiple(self) -> None:
        """gt/lt and multiple_of are checked and described."""
        tp = Annotated[int, msgspec.Meta(gt=0, lt=100, multiple_of=5)]
        assert one(tp, "95") == 95
        assert bad(tp, "7").expected == "an integer > 0 and < 100 and a multiple of 5"


class TestFloat:
    @pytest.mark.parametrize(
        ("raw", "value"),
        [("1.5", 1.5), ("-2", -2.0), ("1e-3", 0.001), (" 3.25 ", 3.25), ("inf", float("inf"))],
    )
    def test_good(self, raw: str, value: float) -> None:
        """Python float syntax is read, integers and infinity included."""
        assert one(float, raw) == value

    def test_nan_and_negative_zero(self) -> None:
        """NaN and -0.0 survive (compared by their repr)."""
        assert repr(one(float, "nan")) == "nan"
        assert repr(one(float, "-0.0")) == "-0.0"

    @pytest.mark.parametrize("raw", ["abc", "", "1,5", "1.2.3"])
    def test_bad(self, raw: str) -> None:
        """Non-numbers are an error that says a number was expected."""
        assert bad(float, raw).expected == "a number"

    def test_bounds(self) -> None:
        """Float bounds are checked."""
        tp = Annotated[float, msgspec.Meta(gt=0.0, le=1.0)]
        assert one(tp, "1") == 1.0
        assert bad(tp, "0").expected == "a number > 0.0 and <= 1.0"


class TestBool:
    @pytest.mark.parametrize("raw", ["true", "TRUE", "True", "1", "yes", "YES", "on", "On", " on "])
    def test_true_words(self, raw: str) -> None:
        """true/1/yes/on in any case (and with outer spaces) are True."""
        assert one(bool, raw) is True

    @pytest.mark.parametrize("raw", ["false", "FALSE", "0", "no", "No", "off", "OFF"])
    def test_false_words(self, raw: str) -> None:
        """false/0/no/off in any case are False."""
        assert one(bool, raw) is False

    @pytest.mark.parametrize("raw", ["y", "n", "t", "f", "2", "", "maybe", "enabled"])
    def test_other_words_are_errors(self, raw: str) -> None:
        """Words python-decouple's strtobool accepts (y, t, n, f) and '' (its False) are errors."""
        assert bad(bool, raw).expected == "a boolean (true/false, 1/0, yes/no, on/off)"


class TestDecimal:
    def test_exact_value(self) -> None:
        """A Decimal keeps its digits exactly, trailing zeros included."""
        value = one(decimal.Decimal, " 1.10 ")
        assert isinstance(value, decimal.Decimal)
        assert str(value) == "1.10"

    @pytest.mark.parametrize("raw", ["1.2.3", "", "ten"])
    def test_bad(self, raw: str) -> None:
        """Non-decimal text is an error."""
        assert bad(decimal.Decimal, raw).expected == "a decimal number"


class TestEnum:
    def test_by_value(self) -> None:
        """An Enum is read by its value."""
        assert one(Color, "dark-blue") is Color.DARK_BLUE

    def test_by_value_any_case(self) -> None:
        """A string value matches case-insensitively when that is unambiguous."""
        assert one(Color, "RED") is Color.RED

    def test_by_name(self) -> None:
        """A member name is accepted too, in any case."""
        assert one(Color, "DARK_BLUE") is Color.DARK_BLUE
        assert one(Color, "dark_blue") is Color.DARK_BLUE

    def test_int_enum(self) -> None:
        """An IntEnum is read by its number or its name."""
        assert one(Priority, "2") is Priority.HIGH
        assert one(Priority, "low") is Priority.LOW

    def test_bad(self) -> None:
        """An unknown value lists the valid values."""
        item = bad(Color, "purple")
        assert item.expected == "one of: red, dark-blue"
        assert item.found == "'purple'"
        assert bad(Priority, "3").expected == "one of: 1, 2"


class TestLiteral:
    def test_good(self) -> None:
        """A Literal takes one of its values; strings also in another case."""
        tp = Literal["debug", "info"]
        assert one(tp, "info") == "info"
        assert one(tp, "DEBUG") == "debug"
        assert one(Literal[1, 2], " 2 ") == 2

    def test_bad(self) -> None:
        """Another value is an error that lists the choices."""
        assert bad(Literal["debug", "info"], "trace").expected == "one of: debug, info"

    def test_literal_with_none(self) -> None:
        """An empty value gives None when None is one of the literals."""
        assert one(Literal["a", None], "") is None


class TestCollections:
    def test_comma_separated(self) -> None:
        """Items are split on commas and stripped."""
        assert one(list[int], "1, 2 ,3") == [1, 2, 3]
        assert one(list[str], " a , b c ") == ["a", "b c"]

    def test_json_array(self) -> None:
        """A value starting with '[' is a JSON array; items may contain commas and spaces."""
        assert one(list[str], '["a,b", " c "]') == ["a,b", " c "]
        assert one(list[int], " [1, 2] ") == [1, 2]

    def test_empty_is_empty(self) -> None:
        """An empty (or blank) value is an empty collection."""
        assert one(list[int], "") == []
        assert one(frozenset[str], "  ") == frozenset()
        assert one(tuple[int, ...], "") == ()

    def test_set_and_frozenset(self) -> None:
        """Sets drop duplicates; frozenset gives a frozenset."""
        assert one(set[str], "a,b,a") == {"a", "b"}
        value = one(frozenset[int], "3,1,3")
        assert isinstance(value, frozenset)
        assert value == frozenset({1, 3})

    def test_tuples(self) -> None:
        """Variable and fixed tuples are read; fixed ones item by item with their types."""
        assert one(tuple[int, ...], "1,2") == (1, 2)
        assert one(tuple[int, str, bool], "1, x, yes") == (1, "x", True)

    def test_fixed_tuple_wrong_count(self) -> None:
        """A fixed tuple with the wrong number of items is an error saying how many came."""
        item = bad(tuple[int, str], "1,x,y")
        assert item.expected == "2 comma-separated items or a JSON array: an integer; a string"
        assert item.detail == "got 3 items"

    def test_items_use_scalar_rules(self) -> None:
        """Items follow the scalar rules: enums by name, booleans as words, durations."""
        assert one(list[Color], "RED, dark-blue") == [Color.RED, Color.DARK_BLUE]
        assert one(list[bool], '["yes", false]') == [True, False]
        assert one(list[dt.timedelta], "30,PT1M") == [
            dt.timedelta(seconds=30),
            dt.timedelta(minutes=1),
        ]

    def test_bad_item(self) -> None:
        """A bad item fails the whole variable, described item by item."""
        item = bad(list[int], "1,x,3")
        assert item.expected == "a comma-separated list or JSON array; each item an integer"
        assert item.found == "'1,x,3'"

    def test_item_constraint_names_the_item(self) -> None:
        """An item that breaks a constraint is pointed at by its index."""
        item = bad(list[Annotated[int, msgspec.Meta(ge=0)]], "1,-2")
        assert item.detail is not None
        assert "$[1]" in item.detail

    def test_length_constraint(self) -> None:
        """min_length on a collection is checked and described."""
        tp = Annotated[list[str], msgspec.Meta(min_length=1)]
        item = bad(tp, "")
        assert item.expected.startswith("a comma-separated list or JSON array of at least 1 items")

    def test_bad_json(self) -> None:
        """A malformed JSON array is an error."""
        assert bad(list[int], "[1,").detail is not None


class TestDict:
    def test_json_object(self) -> None:
        """A dict is a JSON object; values are converted to the value type."""
        assert one(dict[str, int], '{"a": 1, "b": 2}') == {"a": 1, "b": 2}
        assert one(dict[int, str], '{"1": "x"}') == {1: "x"}

    def test_empty_is_empty(self) -> None:
        """An empty value is an empty dict."""
        assert one(dict[str, str], "") == {}

    @pytest.mark.parametrize("raw", ["a=1", '{"a": "x"}', "[1]"])
    def test_bad(self, raw: str) -> None:
        """Not an object, or values of the wrong type, are errors."""
        assert bad(dict[str, int], raw).expected == ("a JSON object of a string to an integer")


class TestDatetime:
    def test_aware(self) -> None:
        """An ISO 8601 datetime with an offset keeps the offset."""
        value = one(dt.datetime, "2024-05-01T12:30:00+02:00")
        assert value == dt.datetime(2024, 5, 1, 10, 30, tzinfo=dt.UTC)
        assert value.utcoffset() == dt.timedelta(hours=2)

    def test_z_and_naive(self) -> None:
        """'Z' means UTC; no offset gives a naive datetime."""
        assert one(dt.datetime, "2024-05-01T00:00:00Z").tzinfo is not None
        assert one(dt.datetime, "2024-05-01T00:00:00.5").tzinfo is None

    def test_tz_constraint(self) -> None:
        """Meta(tz=True) rejects a naive datetime."""
        tp = Annotated[dt.datetime, msgspec.Meta(tz=True)]
        assert bad(tp, "2024-05-01T00:00:00").expected.startswith(
            "an ISO 8601 datetime with a timezone"
        )

    @pytest.mark.parametrize("raw", ["yesterday", "2024-05-01", "2024-13-01T00:00:00", ""])
    def test_bad(self, raw: str) -> None:
        """Anything but a full ISO 8601 datetime is an error."""
        assert bad(dt.datetime, raw).expected.startswith("an ISO 8601 datetime")

    def test_date(self) -> None:
        """A date is YYYY-MM-DD; a bad one is an error."""
        assert one(dt.date, "2024-02-29") == dt.date(2024, 2, 29)
        assert bad(dt.date, "2023-02-29").expected == "an ISO 8601 date (2024-05-01)"

    def test_time_and_uuid(self) -> None:
        """Time and UUID fields are read from their standard text."""
        assert one(dt.time, "12:30:00") == dt.time(12, 30)
        text = "12345678-1234-5678-1234-567812345678"
        assert one(uuid.UUID, text) == uuid.UUID(text)
        assert bad(uuid.UUID, "nope").expected == "a UUID"


class TestTimedelta:
    @pytest.mark.parametrize(
        ("raw", "value"),
        [
            ("30", dt.timedelta(seconds=30)),
            ("0.5", dt.timedelta(milliseconds=500)),
            ("-1.5", dt.timedelta(seconds=-1.5)),
            ("1e3", dt.timedelta(seconds=1000)),
            ("PT5M", dt.timedelta(minutes=5)),
            ("pt5m", dt.timedelta(minutes=5)),
            ("P1DT2H", dt.timedelta(days=1, hours=2)),
            ("P2W", dt.timedelta(weeks=2)),
            ("PT0.25S", dt.timedelta(milliseconds=250)),
            ("P1DT1H30M15.5S", dt.timedelta(days=1, hours=1, minutes=30, seconds=15.5)),
            ("-PT30S", dt.timedelta(seconds=-30)),
            ("PT1,5H", dt.timedelta(minutes=90)),
        ],
    )
    def test_good(self, raw: str, value: dt.timedelta) -> None:
        """Seconds (with fractions) and ISO 8601 durations are read."""
        assert one(dt.timedelta, raw) == value

    @pytest.mark.parametrize("raw", ["P", "PT", "P1DT", "5 minutes", "", "1:30", "inf"])
    def test_bad(self, raw: str) -> None:
        """Malformed durations are errors describing both accepted forms."""
        assert bad(dt.timedelta, raw).expected == (
            "a duration: seconds (30, 0.5) or ISO 8601 (PT5M, P1DT2H)"
        )

    @pytest.mark.parametrize("raw", ["P1Y", "P2M", "P1Y2M3D"])
    def test_years_and_months_rejected(self, raw: str) -> None:
        """Years and months have no fixed length; the error says to use days."""
        assert bad(dt.timedelta, raw).detail == (
            "years and months have no fixed length; use days (P30D)"
        )

    @pytest.mark.parametrize("raw", ["1e30", "P999999999999D", "1e999999"])
    def test_out_of_range(self, raw: str) -> None:
        """Durations beyond timedelta's range are errors, not crashes."""
        assert bad(dt.timedelta, raw).detail == "out of range"


class TestPath:
    def test_path(self) -> None:
        """A Path field gets a Path (msgspec.convert would not make one from a str)."""
        value = one(Path, "/var/lib/news")
        assert isinstance(value, Path)
        assert value == Path("/var/lib/news")

    def test_empty_path_is_error(self) -> None:
        """An empty path is an error (Path('') would silently mean the current directory)."""
        assert bad(Path, "").expected == "a filesystem path"

    def test_optional_path(self) -> None:
        """An empty optional Path is None."""
        assert one(Path | None, "") is None


class TestCustomClass:
    def test_built_from_string(self) -> None:
        """Other classes are built by calling them with the string."""
        assert one(ipaddress.IPv4Address, "10.0.0.1") == ipaddress.IPv4Address("10.0.0.1")

    def test_constructor_error_is_reported(self) -> None:
        """A constructor's ValueError becomes an error with its message as detail."""
        item = bad(ipaddress.IPv4Address, "300.1.1.1")
        assert item.expected == "a value for IPv4Address"
        assert item.detail is not None
        assert "300" in item.detail


class TestSecretField:
    def test_secret(self) -> None:
        """A Secret field holds a Secret whose reveal() is the value."""
        value = one(Secret, "s3cret")
        assert isinstance(value, Secret)
        assert value.reveal() == "s3cret"

    def test_optional_secret(self) -> None:
        """`Secret | None` is None when empty or unset with a None default, a Secret when set."""
        assert one(Secret | None, "") is None
        assert one(Secret | None, None, default=None) is None
        value = one(Secret | None, "x")
        assert isinstance(value, Secret)
        assert value.reveal() == "x"


class TestOptional:
    def test_empty_means_none_for_non_str(self) -> None:
        """For optional non-str types an empty value means None."""
        assert one(int | None, "") is None
        assert one(list[int] | None, "") is None
        assert one(dt.timedelta | None, "") is None

    def test_empty_stays_empty_for_str(self) -> None:
        """For `str | None` an empty value is the empty string."""
        assert one(str | None, "") == ""

    def test_set_value(self) -> None:
        """A non-empty value is converted to the non-None type."""
        assert one(int | None, "5") == 5

    def test_bad_value(self) -> None:
        """A bad value for an optional type is an error that mentions the empty form."""
        assert bad(int | None, "x").expected == "an integer, or empty for none"

    def test_union_tries_str_last(self) -> None:
        """In `int | str` a number is an int and anything else a str."""
        assert one(int | str, "5") == 5
        assert one(int | str, "x") == "x"


class TestUnsetFields:
    def test_default_used(self) -> None:
        """An unset field takes its default."""
        assert one(int, None, default=7) == 7

    def test_default_factory_used(self) -> None:
        """An unset field with a default_factory gets a fresh value from it."""
        schema = msgspec.defstruct(
            "F", [("tags", list[str], msgspec.field(default_factory=lambda: ["a"]))]
        )
        assert load(schema, environ={}, env_file=None).tags == ["a"]
