"""`avro_schema`: an Avro schema from a msgspec Struct type, for records written from it."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import inspect as mi

from news_schema._errors import SchemaConfigError

__all__ = ["avro_schema"]

_NO_DEFAULT = object()


def avro_schema(type_: type[Any], *, namespace: str | None = None) -> dict[str, Any]:
    """The Avro record schema of a msgspec Struct type (fields in declaration order).

    int is ``long``, float ``double``, str ``string``, bytes ``bytes``, bool ``boolean``,
    datetime ``long``/``timestamp-micros``, date ``int``/``date``, UUID ``string``/``uuid``;
    ``X | None`` is ``["null", X]``; lists, sets and tuples of one type are arrays, dicts with
    str keys maps, nested Structs records (named once, referenced by name after), Enums Avro
    enums of their values. Field defaults are Avro defaults (``None`` puts ``"null"`` first).

    Raises:
        SchemaConfigError: The type (or a field's) has no Avro equivalent here.
    """
    info = mi.type_info(type_)
    if not isinstance(info, mi.StructType):
        raise SchemaConfigError(
            f"avro_schema needs a msgspec Struct type, not {type_!r}; pass an Avro schema instead"
        )
    schema = _Builder(namespace).type_of(info, type_.__name__)
    assert isinstance(schema, dict)
    return schema


class _Builder:
    def __init__(self, namespace: str | None) -> None:
        self.namespace = namespace
        self.named: set[str] = set()

    def type_of(self, info: mi.Type, where: str) -> Any:  # noqa: PLR0911, PLR0912
        if isinstance(info, mi.IntType):
            return "long"
        if isinstance(info, mi.FloatType):
            return "double"
        if isinstance(info, mi.StrType):
            return "string"
        if isinstance(info, mi.BoolType):
            return "boolean"
        if isinstance(info, mi.BytesType | mi.ByteArrayType | mi.MemoryViewType):
            return "bytes"
        if isinstance(info, mi.NoneType):
            return "null"
        if isinstance(info, mi.DateTimeType):
            return {"type": "long", "logicalType": "timestamp-micros"}
        if isinstance(info, mi.DateType):
            return {"type": "int", "logicalType": "date"}
        if isinstance(info, mi.UUIDType):
            return {"type": "string", "logicalType": "uuid"}
        if isinstance(info, mi.LiteralType) and all(isinstance(v, str) for v in info.values):
            return "string"
        if isinstance(info, mi.LiteralType) and all(isinstance(v, int) for v in info.values):
            return "long"
        if isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
            return {"type": "array", "items": self.type_of(info.item_type, where)}
        if isinstance(info, mi.DictType):
            if not isinstance(info.key_type, mi.StrType):
                raise SchemaConfigError(f"{where}: Avro maps need str keys, not {info.key_type}")
            return {"type": "map", "values": self.type_of(info.value_type, where)}
        if isinstance(info, mi.UnionType):
            branches = [self.type_of(t, where) for t in info.types]
            if "null" in branches:  # null first: a default of None must match the first branch
                branches.remove("null")
                branches.insert(0, "null")
            return branches
        if isinstance(info, mi.EnumType):
            name = info.cls.__name__
            if name in self.named:
                return name
            self.named.add(name)
            return {
                "type": "enum",
                "name": name,
                "symbols": [str(member.value) for member in info.cls],
            }
        if isinstance(info, mi.StructType):
            return self._record(info)
        raise SchemaConfigError(
            f"{where}: {info!r} has no Avro equivalent in avro_schema(); pass an Avro schema"
        )

    def _record(self, info: mi.StructType) -> Any:
        name = info.cls.__name__
        if name in self.named:
            return name
        self.named.add(name)
        fields = []
        for field in info.fields:
            where = f"{name}.{field.name}"
            ftype = self.type_of(field.type, where)
            entry: dict[str, Any] = {"name": field.encode_name, "type": ftype}
            default = _default(field)
            if default is not _NO_DEFAULT:
                if default is None and isinstance(ftype, list) and ftype[0] != "null":
                    raise SchemaConfigError(f"{where}: a default of None needs None in the type")
                entry["default"] = msgspec.to_builtins(default)
            fields.append(entry)
        record: dict[str, Any] = {"type": "record", "name": name}
        if self.namespace and len(self.named) == 1:
            record["namespace"] = self.namespace
        record["fields"] = fields
        return record


def _default(field: mi.Field) -> Any:
    if field.default is not msgspec.NODEFAULT:
        return field.default
    factory = field.default_factory
    if factory in {list, dict, set, frozenset, tuple}:
        return [] if factory is not dict else {}
    return _NO_DEFAULT
