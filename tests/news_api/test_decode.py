import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import news_api


class Author(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    email: str | None = None


class ArticleIn(msgspec.Struct):
    title: Annotated[str, msgspec.Meta(min_length=1)]
    author: Author
    tags: list[Annotated[str, msgspec.Meta(max_length=10)]] = []
    section: Literal["world", "sport"] = "world"
    published: dt.datetime | None = None
    ref: uuid.UUID | None = None
    scores: dict[str, int] = {}


GOOD = b'{"title":"Hello","author":{"name":"Ada"},"tags":["a","b"]}'


def _field_error(body, type_=ArticleIn):
    with pytest.raises(news_api.ValidationFailed) as info:
        news_api.decode(body, type_)
    assert len(info.value.errors) == 1
    return info.value.errors[0]


class TestDecodeSuccess:
    def test_struct_from_bytes(self):
        """A valid body decodes into the Struct."""
        article = news_api.decode(GOOD, ArticleIn)
        assert article == ArticleIn(title="Hello", author=Author(name="Ada"), tags=["a", "b"])

    def test_from_str_bytearray_memoryview(self):
        """str, bytearray and memoryview bodies decode like bytes."""
        for body in (GOOD.decode(), bytearray(GOOD), memoryview(GOOD)):
            assert news_api.decode(body, ArticleIn).title == "Hello"

    def test_other_types(self):
        """Any msgspec type works: lists, dicts, scalars, Any."""
        assert news_api.decode(b"[1,2]", list[int]) == [1, 2]
        assert news_api.decode(b'{"a":1}', dict[str, int]) == {"a": 1}
        assert news_api.decode(b"true", Any) is True

    def test_unknown_fields_ignored_by_default(self):
        """Unknown fields are ignored on a Struct without forbid_unknown_fields."""
        article = news_api.decode(b'{"title":"t","author":{"name":"a"},"extra":1}', ArticleIn)
        assert article.title == "t"

    def test_lax_mode(self):
        """strict=False accepts numbers in strings."""
        assert news_api.decode(b'"12"', int, strict=False) == 12
        with pytest.raises(news_api.ValidationFailed):
            news_api.decode(b'"12"', int)


class TestDecodeMissingBody:
    @pytest.mark.parametrize("body", [None, b"", "", b"  \n\t ", "  "])
    def test_required_body_missing(self, body):
        """A missing, empty or blank body is MissingBody (400) "request body is required"."""
        with pytest.raises(news_api.MissingBody) as info:
            news_api.decode(body, ArticleIn)
        assert info.value.detail == "request body is required"
        assert info.value.to_response().status == 400

    @pytest.mark.parametrize("body", [None, b"", b"   "])
    def test_optional_body_missing_gives_none(self, body):
        """required=False returns None for a missing body."""
        assert news_api.decode(body, ArticleIn, required=False) is None

    def test_optional_body_present_is_decoded(self):
        """required=False still decodes (and validates) a present body."""
        assert news_api.decode(GOOD, ArticleIn, required=False) is not None
        with pytest.raises(news_api.ValidationFailed):
            news_api.decode(b"{}", ArticleIn, required=False)


class TestDecodeMalformed:
    def test_position_of_syntax_error(self):
        """A syntax error names the byte where it was found."""
        with pytest.raises(news_api.MalformedJSON) as info:
            news_api.decode(b'{"title": "x" "author": 1}', ArticleIn)
        assert info.value.detail == "malformed JSON at byte 14: expected ',' or '}'"
        assert info.value.status == 400

    def test_truncated(self):
        """A body cut short says so."""
        with pytest.raises(news_api.MalformedJSON) as info:
            news_api.decode(b'{"title": "x",', ArticleIn)
        assert info.value.detail == (
            "malformed JSON: the body ends before the JSON value is complete"
        )

    def test_trailing_garbage(self):
        """Trailing characters after the value are malformed JSON, with the position."""
        with pytest.raises(news_api.MalformedJSON, match=r"at byte \d+: trailing characters"):
            news_api.decode(b"[1] x", list[int])

    def test_invalid_utf8(self):
        """Invalid UTF-8 inside a string is malformed JSON, not a crash."""
        with pytest.raises(news_api.MalformedJSON) as info:
            news_api.decode(b'{"title": "\xff"}', ArticleIn)
        assert info.value.detail == "malformed JSON: the body is not valid UTF-8"

    def test_lone_surrogate_in_str_body(self):
        """A str body holding a lone surrogate is malformed JSON, not a crash."""
        with pytest.raises(news_api.MalformedJSON, match="UTF-8"):
            news_api.decode('"\ud800"', str)

    def test_deep_nesting(self):
        """Absurdly deep nesting is malformed JSON, not a RecursionError."""
        with pytest.raises(news_api.MalformedJSON, match="nested too deeply"):
            news_api.decode(b"[" * 100_000 + b"]" * 100_000, Any)

    def test_cause_is_kept(self):
        """The msgspec error is chained as the cause, for the log line."""
        with pytest.raises(news_api.MalformedJSON) as info:
            news_api.decode(b"{", Any)
        assert isinstance(info.value.__cause__, msgspec.DecodeError)


class TestDecodeValidation:
    def test_wrong_type_at_top_level(self):
        """A wrong type names the field."""
        error = _field_error(b'{"title": 1, "author": {"name": "a"}}')
        assert error == news_api.FieldError("title", "Expected `str`, got `int`")

    def test_nested_constraint(self):
        """A constraint failure in a nested Struct names the dotted path."""
        error = _field_error(b'{"title": "t", "author": {"name": ""}}')
        assert error == news_api.FieldError("author.name", "Expected `str` of length >= 1")

    def test_list_index(self):
        """A bad list item names its index."""
        error = _field_error(b'{"title":"t","author":{"name":"a"},"tags":["a","b",3]}')
        assert error == news_api.FieldError("tags[2]", "Expected `str`, got `int`")

    def test_missing_required_field(self):
        """A missing required field is named, at any depth."""
        assert _field_error(b'{"title": "t"}') == news_api.FieldError(
            "author", "required field is missing"
        )
        assert _field_error(b'{"title": "t", "author": {}}') == news_api.FieldError(
            "author.name", "required field is missing"
        )

    def test_unknown_field_forbidden(self):
        """On a Struct with forbid_unknown_fields, an unknown field is named."""
        error = _field_error(b'{"title":"t","author":{"name":"a","nick":"x"}}')
        assert error == news_api.FieldError("author.nick", "unknown field")

    def test_odd_field_names_are_quoted(self):
        """Unknown or missing field names that are not identifiers are quoted in the path."""
        error = _field_error(b'{"title":"t","author":{"name":"a","first.name":1}}')
        assert error == news_api.FieldError('author["first.name"]', "unknown field")
        error = _field_error(b'{"title":"t","author":{"name":"a","x\\"]":1}}')
        assert error.field == 'author["x\\"]"]'

    def test_literal_datetime_uuid(self):
        """Enum, datetime and UUID failures name the field."""
        base = '{"title":"t","author":{"name":"a"},'
        assert _field_error((base + '"section":"x"}').encode()).field == "section"
        assert _field_error((base + '"published":"nope"}').encode()) == news_api.FieldError(
            "published", "Invalid RFC3339 encoded datetime"
        )
        assert _field_error((base + '"ref":"zz"}').encode()).field == "ref"

    def test_dict_value(self):
        """A bad dict value is reported under the dict's field."""
        error = _field_error(b'{"title":"t","author":{"name":"a"},"scores":{"k":"v"}}')
        assert error.field == "scores[...]"

    def test_root_type(self):
        """A wrong type for the whole body is field "" (the root)."""
        error = _field_error(b"[1, 2]")
        assert error == news_api.FieldError("", "Expected `object`, got `array`")

    def test_list_root_path(self):
        """Paths into a list body start with the index."""
        error = _field_error(b'[{"name": "a"}, {"name": 5}]', list[Author])
        assert error.field == "[1].name"

    def test_problem_body(self):
        """The 422 problem lists the field error and a derived detail."""
        with pytest.raises(news_api.ValidationFailed) as info:
            news_api.decode(b'{"title": "t", "author": {"name": ""}}', ArticleIn)
        assert info.value.to_response(request_id="r-3").json() == {
            "type": news_api.ValidationFailed.type,
            "title": "Validation failed",
            "status": 422,
            "detail": "author.name: Expected `str` of length >= 1",
            "code": "validation_failed",
            "request_id": "r-3",
            "errors": [{"field": "author.name", "message": "Expected `str` of length >= 1"}],
        }

    def test_post_init_value_error(self):
        """A ValueError from __post_init__ is a validation failure."""

        class Window(msgspec.Struct):
            start: int
            end: int

            def __post_init__(self):
                if self.end < self.start:
                    raise ValueError("end must not be before start")

        error = _field_error(b'{"start": 5, "end": 1}', Window)
        assert error == news_api.FieldError("", "end must not be before start")

    def test_long_messages_are_clipped(self):
        """Messages echoing huge client values are clipped to a bounded length."""
        error = _field_error(
            b'{"title":"t","author":{"name":"a"},"section":"' + b"x" * 5000 + b'"}'
        )
        assert len(error.message) <= 300
        assert error.message.endswith("...")


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["title", "author", "name", "email", "tags", "section", "x"])
            | st.text(max_size=5),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)
_TYPES = [ArticleIn, Author, list[Author], dict[str, ArticleIn], int, Any, list[int]]
_ALLOWED = (news_api.BadRequest, news_api.ValidationFailed)


def _client_error(body, type_, allowed=_ALLOWED):
    """Decode; return the client error raised (None on success); anything else propagates."""
    try:
        news_api.decode(body, type_)
    except allowed as exc:
        return exc
    return None


def _decode_or_client_error(body, type_):
    error = _client_error(body, type_)
    if error is not None:
        assert error.to_response().status in (400, 422)
        if isinstance(error, news_api.ValidationFailed):
            assert len(error.errors) == 1
            assert not error.errors[0].field.startswith(("$", "."))


class TestDecodeFuzz:
    @settings(max_examples=400, deadline=None)
    @given(body=st.binary(max_size=300), type_=st.sampled_from(_TYPES))
    def test_arbitrary_bytes(self, body, type_):
        """Arbitrary bytes only ever raise BadRequest or ValidationFailed."""
        _decode_or_client_error(body, type_)

    @settings(max_examples=400, deadline=None)
    @given(body=st.text(max_size=200), type_=st.sampled_from(_TYPES))
    def test_arbitrary_text(self, body, type_):
        """Arbitrary text (surrogates included) only ever raises BadRequest or ValidationFailed."""
        _decode_or_client_error(body, type_)

    @settings(max_examples=400, deadline=None)
    @given(value=_JSON, type_=st.sampled_from(_TYPES))
    def test_arbitrary_json(self, value, type_):
        """Arbitrary well-formed JSON only ever raises ValidationFailed (or decodes)."""
        error = _client_error(msgspec.json.encode(value), type_, news_api.ValidationFailed)
        if error is not None:
            assert error.to_response().status == 422
            assert not error.errors[0].field.startswith(("$", "."))

    @settings(max_examples=300, deadline=None)
    @given(value=_JSON, cut=st.integers(min_value=0, max_value=400), junk=st.binary(max_size=4))
    def test_mangled_json(self, value, cut, junk):
        """JSON cut short or with junk spliced in only raises BadRequest/ValidationFailed."""
        body = msgspec.json.encode(value)
        mangled = body[:cut] + junk + body[cut:]
        _decode_or_client_error(mangled, ArticleIn)
        _decode_or_client_error(body[:cut], ArticleIn)
