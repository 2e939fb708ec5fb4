"""The compiled Avro writer writes exactly fastavro's bytes (the fast path equals the slow one)."""

from __future__ import annotations

import datetime
import enum
import io
import uuid

import fastavro
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import news_schema
from news_schema._avro_writer import compile_writer


class Colour(enum.Enum):
    RED = "RED"
    BLUE = "BLUE"


class Author(msgspec.Struct):
    name: str
    email: str | None = None


class Article(msgspec.Struct, rename={"title": "headline"}):
    id: int
    title: str
    score: float
    flag: bool
    data: bytes
    published: datetime.datetime
    day: datetime.date
    ref: uuid.UUID
    colour: Colour
    tags: list[str]
    counts: dict[str, int]
    author: Author | None = None
    editors: list[Author] = msgspec.field(default_factory=list)
    either: int | str = 0


def fastavro_bytes(schema: dict, value: Article) -> bytes:
    """What fastavro writes for the value (the reference)."""
    out = io.BytesIO()
    builtins = msgspec.to_builtins(
        value, builtin_types=(datetime.datetime, datetime.date, uuid.UUID, bytes)
    )
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), builtins)
    return out.getvalue()


WRITE = compile_writer(news_schema.avro_schema(Article), Article)
SCHEMA = news_schema.avro_schema(Article)
longs = st.integers(min_value=-(2**63), max_value=2**63 - 1)
texts = st.text(max_size=20)
authors = st.builds(Author, name=texts, email=st.none() | texts)
articles = st.builds(
    Article,
    id=longs,
    title=texts,
    score=st.floats(allow_nan=False),
    flag=st.booleans(),
    data=st.binary(max_size=20),
    published=st.datetimes(
        min_value=datetime.datetime(1900, 1, 1), max_value=datetime.datetime(2200, 1, 1)
    ).map(lambda d: d.replace(tzinfo=datetime.UTC)),
    day=st.dates(),
    ref=st.uuids(),
    colour=st.sampled_from(Colour),
    tags=st.lists(texts, max_size=4),
    counts=st.dictionaries(texts, longs, max_size=3),
    author=st.none() | authors,
    editors=st.lists(authors, max_size=3),
    either=longs | texts,
)


class TestCompiledWriter:
    def test_the_schema_compiles(self):
        """Every construct avro_schema makes is covered (no fastavro fallback)."""
        assert WRITE is not None

    @settings(max_examples=300, deadline=None)
    @given(articles)
    def test_bytes_equal_fastavros(self, article):
        """For any value, the compiled writer's bytes are fastavro's."""
        assert WRITE is not None
        assert WRITE(article) == fastavro_bytes(SCHEMA, article)

    def test_out_of_range_and_wrong_types_are_refused(self):
        """A long past 2**63 and a str for a long raise, as fastavro would."""
        assert WRITE is not None
        good = Article(
            1,
            "t",
            0.5,
            True,
            b"",
            datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            datetime.date(2026, 1, 1),
            uuid.uuid4(),
            Colour.RED,
            [],
            {},
        )
        with pytest.raises(OverflowError):
            WRITE(msgspec.structs.replace(good, id=2**63))
        with pytest.raises(TypeError):
            WRITE(msgspec.structs.replace(good, id="seven"))

    def test_uncovered_logical_types_fall_back_to_fastavro(self):
        """A decimal is not compiled: the serializer writes it with fastavro."""
        schema = {
            "type": "record",
            "name": "Price",
            "fields": [
                {
                    "name": "amount",
                    "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
                }
            ],
        }
        assert compile_writer(schema, dict) is None
