"""news-testing's registry enforces BACKWARD / FORWARD / FULL (and transitive) compatibility."""

from __future__ import annotations

import json

import pytest

import news_schema
from news_schema import Schema


def avro(*fields: dict[str, object], name: str = "Event") -> Schema:
    """An Avro record schema with these fields."""
    return Schema(schema=json.dumps({"type": "record", "name": name, "fields": list(fields)}))


def js(properties: dict[str, object], required: list[str], **extra: object) -> Schema:
    """A JSON Schema object."""
    body = {"type": "object", "properties": properties, "required": required, **extra}
    return Schema(schema=json.dumps(body), schema_type="JSON")


ID = {"name": "id", "type": "long"}
KIND = {"name": "kind", "type": "string"}
KIND_DEFAULT = {"name": "kind", "type": "string", "default": "click"}
COLOUR = {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "BLUE"]}}
COLOUR_MORE = {
    "name": "colour",
    "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "BLUE", "GREEN"]},
}

# (level, old, new, compatible)
AVRO_CASES = [
    ("BACKWARD", avro(ID), avro(ID, KIND_DEFAULT), True),  # added with a default
    ("BACKWARD", avro(ID), avro(ID, KIND), False),  # added without one
    ("BACKWARD", avro(ID, KIND), avro(ID), True),  # removed: the new reader ignores it
    ("FORWARD", avro(ID, KIND), avro(ID), False),  # removed: old readers need it
    ("FORWARD", avro(ID, KIND_DEFAULT), avro(ID), True),  # removed, old readers have a default
    ("FORWARD", avro(ID), avro(ID, KIND), True),  # added: old readers skip it
    ("FULL", avro(ID), avro(ID, KIND_DEFAULT), True),
    ("FULL", avro(ID), avro(ID, KIND), False),
    ("BACKWARD", avro({"name": "id", "type": "int"}), avro(ID), True),  # int promotes to long
    ("BACKWARD", avro(ID), avro({"name": "id", "type": "int"}), False),  # long to int: no
    ("BACKWARD", avro(ID), avro({"name": "id", "type": ["null", "long"]}), True),  # in a union
    ("BACKWARD", avro({"name": "id", "type": ["null", "long"]}), avro(ID), False),  # null lost
    ("BACKWARD", avro(ID, COLOUR), avro(ID, COLOUR_MORE), True),  # symbol added
    ("FORWARD", avro(ID, COLOUR), avro(ID, COLOUR_MORE), False),  # old readers lack it
    ("BACKWARD", avro(ID, name="Event"), avro(ID, name="Other"), False),  # renamed record
    ("NONE", avro(ID), avro({"name": "x", "type": "string"}), True),
]

JSON_CASES = [
    (
        "BACKWARD",
        js({"id": {"type": "integer"}}, ["id"]),
        js({"id": {"type": "integer"}, "k": {"type": "string"}}, ["id"]),
        True,
    ),
    (
        "BACKWARD",
        js({"id": {"type": "integer"}}, ["id"]),
        js({"id": {"type": "integer"}, "k": {"type": "string"}}, ["id", "k"]),
        False,
    ),
    (
        "BACKWARD",
        js({"id": {"type": "integer"}}, ["id"]),
        js({"id": {"type": "number"}}, ["id"]),
        True,
    ),
    (
        "BACKWARD",
        js({"id": {"type": "number"}}, ["id"]),
        js({"id": {"type": "integer"}}, ["id"]),
        False,
    ),
    (
        "BACKWARD",
        js({"id": {"type": "integer"}}, ["id"]),
        js({"id": {"type": "string"}}, ["id"]),
        False,
    ),
    (
        "FORWARD",
        js({"id": {"type": "integer"}, "k": {"type": "string"}}, ["id", "k"]),
        js({"id": {"type": "integer"}}, ["id"]),
        False,
    ),
    (
        "FULL",
        js({"id": {"type": "integer"}}, ["id"]),
        js({"id": {"type": "integer"}, "k": {"type": "string"}}, ["id"]),
        True,
    ),
    (
        "BACKWARD",
        js({"id": {"type": "integer"}, "k": {"type": "string"}}, ["id"]),
        js({"id": {"type": "integer"}}, ["id"], additionalProperties=False),
        False,
    ),
    ("BACKWARD", js({"c": {"enum": ["a", "b"]}}, []), js({"c": {"enum": ["a"]}}, []), False),
]


@pytest.mark.parametrize(("level", "old", "new", "compatible"), AVRO_CASES + JSON_CASES)
async def test_rules(registry, level, old, new, compatible):
    """A new schema is registered when the rule allows it, refused (409) when not."""
    await registry.set_compatibility(level, "s-value")
    await registry.register("s-value", old)
    verdict = await registry.check_compatibility("s-value", new)
    assert verdict.compatible is compatible, verdict.messages
    if compatible:
        assert await registry.register("s-value", new) > 0
        assert await registry.versions("s-value") == [1, 2]
    else:
        assert verdict.messages
        with pytest.raises(news_schema.IncompatibleSchemaError):
            await registry.register("s-value", new)
        assert await registry.versions("s-value") == [1]


async def test_transitive_checks_every_version(registry):
    """BACKWARD_TRANSITIVE refuses what breaks an older version that BACKWARD would accept."""
    v1 = avro(ID)
    v2 = avro(ID, KIND_DEFAULT)
    v3 = avro(ID, KIND)  # readable against v2 (kind present), not against v1
    for subject, level, accepted in [
        ("a-value", "BACKWARD", True),
        ("b-value", "BACKWARD_TRANSITIVE", False),
    ]:
        await registry.set_compatibility(level, subject)
        await registry.register(subject, v1)
        await registry.register(subject, v2)
        verdict = await registry.check_compatibility(subject, v3)
        assert verdict.compatible is accepted, (level, verdict.messages)


async def test_generated_schemas_of_an_evolved_struct_are_compatible(registry):
    """avro_schema and json_schema of a Struct with a new defaulted field stay BACKWARD."""
    import msgspec

    class V1(msgspec.Struct):
        id: int
        title: str

    class V2(msgspec.Struct):
        id: int
        title: str
        section: str = "news"

    for make, kind in [(news_schema.avro_schema, "AVRO"), (news_schema.json_schema, "JSON")]:
        old, new = make(V1), make(V2)
        old["title" if kind == "JSON" else "name"] = new["title" if kind == "JSON" else "name"] = (
            "Article"
        )
        if kind == "JSON":
            old["$ref"] = old["$ref"].replace("V1", "V2")
            old["$defs"] = {"V2": old["$defs"]["V1"]}
        subject = f"{kind}-value"
        await registry.register(subject, Schema(schema=json.dumps(old), schema_type=kind))
        verdict = await registry.check_compatibility(
            subject, Schema(schema=json.dumps(new), schema_type=kind)
        )
        assert verdict.compatible, verdict.messages
