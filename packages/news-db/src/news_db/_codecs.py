"""msgspec on the wire: json/jsonb codecs for every pooled connection, rows into Structs.

- `init_connection` is the pool's ``init``: json and jsonb values are encoded with
  ``msgspec.json.encode`` and decoded with ``msgspec.json.decode`` in PostgreSQL's binary format
  (asyncpg alone returns ``str`` and wants ``str``). Parameters are Python values (dicts,
  lists, Structs), not JSON text.
- `row_decoder` turns asyncpg Records into instances of a msgspec Struct: positionally (fast:
  the Struct's constructor, no dict per row) when every field is a plain scalar the driver
  already decodes to the right type; through ``msgspec.convert`` otherwise (nested Structs,
  constrained types, enums...). The first row of every result is checked with
  ``msgspec.convert`` in both cases, so a mistyped column fails at once.
"""

from __future__ import annotations

import itertools
import operator
from typing import TYPE_CHECKING, Any, Final, TypeVar

import msgspec

from news_db._errors import ResultDecodeError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import asyncpg

__all__ = ["decode_rows", "init_connection", "row_decoder"]

T = TypeVar("T")

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + _encode(value)  # jsonb's binary format: version 1, then the JSON text


def _jsonb_decode(data: bytes) -> Any:
    return _decode(memoryview(data)[1:])


async def init_connection(connection: asyncpg.Connection) -> None:
    """Install the msgspec json/jsonb codecs on a new connection (the pool's ``init``)."""
    await connection.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_jsonb_encode,
        decoder=_jsonb_decode,
        format="binary",
    )
    await connection.set_type_codec(
        "json", schema="pg_catalog", encoder=_encode, decoder=_decode, format="binary"
    )


_SCALAR_TYPES: Final = (
    msgspec.inspect.AnyType,
    msgspec.inspect.NoneType,
    msgspec.inspect.BoolType,
    msgspec.inspect.StrType,
    msgspec.inspect.BytesType,
    msgspec.inspect.DateTimeType,
    msgspec.inspect.DateType,
    msgspec.inspect.TimeType,
    msgspec.inspect.TimeDeltaType,
    msgspec.inspect.UUIDType,
    msgspec.inspect.DecimalType,
)


def _plain(info: msgspec.inspect.Type) -> bool:
    """True when the driver's value of a column is already what msgspec would produce."""
    if isinstance(info, msgspec.inspect.UnionType):
        return all(_plain(t) for t in info.types)
    if isinstance(info, msgspec.inspect.IntType | msgspec.inspect.FloatType):
        return info.ge is None and info.le is None and info.gt is None and info.lt is None
    if isinstance(info, msgspec.inspect.StrType):
        return info.min_length is None and info.max_length is None and info.pattern is None
    return isinstance(info, _SCALAR_TYPES)


class _Plan:
    """How rows with given column names become one Struct type."""

    __slots__ = ("build_all", "fields", "names")

    def __init__(self, struct: type[Any], names: tuple[str, ...]) -> None:
        info = msgspec.inspect.type_info(struct)
        if not isinstance(info, msgspec.inspect.StructType):
            raise ResultDecodeError(f"into= takes a msgspec.Struct class, not {struct!r}")
        self.names = names
        self.fields = tuple(f.encode_name for f in info.fields)
        positional = all(_plain(f.type) for f in info.fields) and not info.array_like
        missing = [f.encode_name for f in info.fields if f.required and f.encode_name not in names]
        if missing:
            raise ResultDecodeError(
                f"{struct.__qualname__}: the result has no column {', '.join(missing)} "
                f"(columns: {', '.join(names) or 'none'}); select or alias them"
            )
        build_all: Callable[[Sequence[Any]], list[Any]]
        if positional and names == self.fields:
            build_all = self._starmap(struct)
        elif positional and all(f.encode_name in names for f in info.fields):
            getter = operator.itemgetter(*[f.encode_name for f in info.fields])
            if len(info.fields) == 1:
                build_all = self._single(struct, getter)
            else:
                build_all = self._picked(struct, getter)
        else:
            build_all = self._converted(struct)
        self.build_all = build_all

    @staticmethod
    def _starmap(struct: type[Any]) -> Callable[[Sequence[Any]], list[Any]]:
        starmap = itertools.starmap

        def build(rows: Sequence[Any]) -> list[Any]:
            return list(starmap(struct, rows))

        return build

    @staticmethod
    def _picked(struct: type[Any], getter: Any) -> Callable[[Sequence[Any]], list[Any]]:
        starmap = itertools.starmap

        def build(rows: Sequence[Any]) -> list[Any]:
            return list(starmap(struct, map(getter, rows)))

        return build

    @staticmethod
    def _single(struct: type[Any], getter: Any) -> Callable[[Sequence[Any]], list[Any]]:
        def build(rows: Sequence[Any]) -> list[Any]:
            return [struct(getter(row)) for row in rows]

        return build

    @staticmethod
    def _converted(struct: type[Any]) -> Callable[[Sequence[Any]], list[Any]]:
        convert = msgspec.convert

        def build(rows: Sequence[Any]) -> list[Any]:
            return convert([dict(row.items()) for row in rows], list[struct])  # type: ignore[valid-type]

        return build


_PLANS: dict[tuple[type[Any], tuple[str, ...]], _Plan] = {}


def row_decoder(struct: type[T], row: asyncpg.Record) -> Callable[[Sequence[Any]], list[T]]:
    """Return a function turning rows shaped like ``row`` into ``struct`` instances."""
    names = tuple(row.keys())
    plan = _PLANS.get((struct, names))
    if plan is None:
        plan = _PLANS[struct, names] = _Plan(struct, names)
        if len(_PLANS) > 4096:  # pragma: no cover - guards against unbounded dynamic SQL
            _PLANS.clear()
    return plan.build_all


def _check_first(struct: type[Any], row: asyncpg.Record) -> None:
    try:
        msgspec.convert(dict(row.items()), struct)
    except msgspec.ValidationError as exc:
        raise ResultDecodeError(
            f"a row does not fit {struct.__qualname__}: {exc}; cast the column in SQL "
            "(e.g. ::float8, ::text) or change the field's type"
        ) from exc


def decode_rows(struct: type[T], rows: Sequence[asyncpg.Record]) -> list[T]:
    """Decode Records (from ``fetch``, ``Connection.raw``...) into ``struct`` instances.

    What ``into=struct`` does: columns by name (extra columns are ignored), positional
    construction for plain-scalar Structs, ``msgspec.convert`` otherwise, the first row always
    validated.

    Raises:
        ResultDecodeError: A row does not fit ``struct`` (missing or mistyped column).
    """
    if not rows:
        return []
    first = rows[0]
    build = row_decoder(struct, first)
    _check_first(struct, first)
    try:
        return build(rows)
    except (msgspec.ValidationError, TypeError) as exc:
        raise ResultDecodeError(f"a row does not fit {struct.__qualname__}: {exc}") from exc
