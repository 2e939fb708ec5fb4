"""Compatibility rules of `SchemaRegistryServer`: Avro schema resolution, JSON Schema subset.

Avro (the specification's "Schema Resolution"): a reader reads a writer's data when both are
the same primitive or the writer's promotes (int -> long, float, double; long -> float,
double; float -> double; string <-> bytes); records match by name (or a reader alias) and
every reader field is in the writer or has a default; enums match by name and the writer's
symbols are the reader's (or the reader has a default); fixed match by name and size; arrays
and maps by their items and values; a writer union needs each branch readable, a reader union
one branch that reads the writer.

JSON Schema (the subset Confluent checks most often): types must agree (integer widens to
number); a property the reader requires must be in the writer's required set or have a
default; a closed reader (``additionalProperties: false``) must know every writer property;
enums must not lose values; items and properties are compared recursively.

BACKWARD: the new schema reads data of the old (reader = new). FORWARD: the old reads data of
the new. FULL: both. ``*_TRANSITIVE``: against every version, not only the latest.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["LEVELS", "check"]

LEVELS: Final = frozenset(
    {
        "NONE",
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
    }
)

_PRIMITIVES: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
_PROMOTIONS: Final = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


def check(level: str, schema_type: str, new: str, olds: list[str]) -> list[str]:
    """Why ``new`` breaks ``level`` against ``olds`` (oldest first); empty when compatible."""
    if level == "NONE" or not olds:
        return []
    against = olds if level.endswith("_TRANSITIVE") else olds[-1:]
    base = level.removesuffix("_TRANSITIVE")
    problems: list[str] = []
    for old in against:
        if base in {"BACKWARD", "FULL"}:
            problems += _read(schema_type, reader=new, writer=old, direction="BACKWARD")
        if base in {"FORWARD", "FULL"}:
            problems += _read(schema_type, reader=old, writer=new, direction="FORWARD")
    return problems


def _read(schema_type: str, *, reader: str, writer: str, direction: str) -> list[str]:
    r, w = json.loads(reader), json.loads(writer)
    if schema_type == "JSON":
        problems = _Json(r, w).check(r, w, "#")
    else:
        problems = _Avro(r, w).check(r, w, "")
    return [f"{direction}: {p}" for p in problems]


# ---------------------------------------------------------------------------------------- Avro


def _named(schema: Any, namespace: str, out: dict[str, Any]) -> None:
    """Collect the named types (records, enums, fixed) of a schema by full name."""
    if isinstance(schema, list):
        for branch in schema:
            _named(branch, namespace, out)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind in {"record", "error", "enum", "fixed"}:
        name = _fullname(schema, namespace)
        out[name] = schema
        out.setdefault(name.rsplit(".", 1)[-1], schema)
        namespace = name.rpartition(".")[0]
        for field in schema.get("fields", ()):
            _named(field.get("type"), namespace, out)
    elif kind == "array":
        _named(schema.get("items"), namespace, out)
    elif kind == "map":
        _named(schema.get("values"), namespace, out)
    elif isinstance(kind, dict | list):
        _named(kind, namespace, out)


def _fullname(schema: dict[str, Any], namespace: str) -> str:
    name = str(schema.get("name", ""))
    if "." in name:
        return name
    ns = schema.get("namespace", namespace)
    return f"{ns}.{name}" if ns else name


class _Avro:
    def __init__(self, reader: Any, writer: Any) -> None:
        self.rnames: dict[str, Any] = {}
        self.wnames: dict[str, Any] = {}
        _named(reader, "", self.rnames)
        _named(writer, "", self.wnames)
        self.seen: set[tuple[int, int]] = set()

    def _resolve(self, schema: Any, names: dict[str, Any]) -> Any:
        while True:
            if isinstance(schema, str) and schema not in _PRIMITIVES and schema in names:
                schema = names[schema]
            elif (isinstance(schema, dict) and isinstance(schema.get("type"), dict | list)) or (
                isinstance(schema, dict)
                and schema.get("type") in _PRIMITIVES
                and "logicalType" not in schema
            ):
                schema = schema["type"]
            elif isinstance(schema, dict) and schema.get("type") in _PRIMITIVES:
                return schema["type"]  # a logical type reads as its underlying type
            else:
                return schema

    @staticmethod
    def _kind(schema: Any) -> str:
        if isinstance(schema, list):
            return "union"
        if isinstance(schema, str):
            return schema
        return str(schema.get("type"))

    def check(self, reader: Any, writer: Any, path: str) -> list[str]:  # noqa: PLR0911, PLR0912
        r = self._resolve(reader, self.rnames)
        w = self._resolve(writer, self.wnames)
        rk, wk = self._kind(r), self._kind(w)
        at = path or "/"
        if wk == "union":
            out: list[str] = []
            for branch in w:
                out += self.check(r, branch, path)
            return out
        if rk == "union":
            for branch in r:
                if not self.check(branch, w, path):
                    return []
            return [f"{at}: reader union {_short(r)} has no branch that reads writer type {wk}"]
        if rk in _PRIMITIVES and wk in _PRIMITIVES:
            if rk == wk or rk in _PROMOTIONS.get(wk, ()):
                return []
            return [f"{at}: reader type {rk} cannot read writer type {wk}"]
        if rk != wk:
            return [f"{at}: reader type {rk} cannot read writer type {wk}"]
        if rk == "array":
            return self.check(r["items"], w["items"], f"{path}/items")
        if rk == "map":
            return self.check(r["values"], w["values"], f"{path}/values")
        key = (id(r), id(w))
        if key in self.seen:  # a recursive type already being compared
            return []
        self.seen.add(key)
        if not self._same_name(r, w):
            return [
                f"{at}: reader {rk} {r.get('name')!r} does not match writer's {w.get('name')!r}"
            ]
        if rk == "fixed":
            if r.get("size") != w.get("size"):
                return [f"{at}: fixed size {w.get('size')} read as size {r.get('size')}"]
            return []
        if rk == "enum":
            missing = [s for s in w.get("symbols", ()) if s not in set(r.get("symbols", ()))]
            if missing and "default" not in r:
                return [f"{at}: reader enum {r.get('name')!r} lacks writer symbols {missing}"]
            return []
        out = []
        wfields = {f["name"]: f for f in w.get("fields", ())}
        for field in r.get("fields", ()):
            names = [field["name"], *field.get("aliases", ())]
            match = next((wfields[n] for n in names if n in wfields), None)
            fpath = f"{path}/{field['name']}"
            if match is None:
                if "default" not in field:
                    out.append(
                        f"{fpath}: reader field {field['name']!r} is not in the writer's "
                        "record and has no default"
                    )
                continue
            out += self.check(field["type"], match["type"], fpath)
        return out

    @staticmethod
    def _same_name(r: dict[str, Any], w: dict[str, Any]) -> bool:
        rname = str(r.get("name", "")).rsplit(".", 1)[-1]
        wname = str(w.get("name", "")).rsplit(".", 1)[-1]
        aliases = {str(a).rsplit(".", 1)[-1] for a in r.get("aliases", ())}
        return rname == wname or wname in aliases


def _short(schema: Any) -> str:
    text = json.dumps(schema)
    return text if len(text) <= 80 else text[:77] + "..."


# ---------------------------------------------------------------------------------- JSON Schema


class _Json:
    def __init__(self, reader: Any, writer: Any) -> None:
        self.rroot, self.wroot = reader, writer

    @staticmethod
    def _deref(schema: Any, root: Any) -> Any:
        for _ in range(32):
            if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
                return schema
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                return {}
            node = root
            for part in ref[2:].split("/"):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            schema = node
        return schema

    @staticmethod
    def _types(schema: Any) -> set[str] | None:
        if not isinstance(schema, dict):
            return None
        if "anyOf" in schema or "oneOf" in schema:
            return None  # compared branch-wise elsewhere; not narrowed here
        kind = schema.get("type")
        if kind is None:
            if "properties" in schema:
                return {"object"}
            return None
        return set(kind) if isinstance(kind, list) else {kind}

    def check(self, reader: Any, writer: Any, path: str) -> list[str]:  # noqa: PLR0912
        r = self._deref(reader, self.rroot)
        w = self._deref(writer, self.wroot)
        if r is True or r == {}:
            return []
        if w is True or w == {}:
            w = {}
        out: list[str] = []
        rtypes, wtypes = self._types(r), self._types(w)
        if rtypes is not None and wtypes is not None:
            widened = set(rtypes)
            if "number" in widened:
                widened.add("integer")
            lost = wtypes - widened
            if lost:
                return [
                    f"{path}: reader type {sorted(rtypes)} cannot read writer type {sorted(wtypes)}"
                ]
        if rtypes is not None and wtypes is None and ("anyOf" in w or "oneOf" in w):
            for branch in w.get("anyOf", w.get("oneOf", [])):
                out += self.check(r, branch, path)
            return out
        if "anyOf" in r or "oneOf" in r:
            branches = r.get("anyOf", r.get("oneOf", []))
            wbranches = w.get("anyOf", w.get("oneOf", [w]))
            for wb in wbranches:
                if not any(not self.check(rb, wb, path) for rb in branches):
                    out.append(f"{path}: no reader branch reads writer branch {_short(wb)}")
            return out
        if "enum" in r:
            wenum = w.get("enum")
            if wenum is None or any(v not in r["enum"] for v in wenum):
                out.append(f"{path}: reader enum {r['enum']} does not hold every writer value")
        rprops: dict[str, Any] = r.get("properties", {}) if isinstance(r, dict) else {}
        wprops: dict[str, Any] = w.get("properties", {}) if isinstance(w, dict) else {}
        if rprops or wprops or "required" in r:
            wrequired = set(w.get("required", ()))
            for name in r.get("required", ()):
                prop = self._deref(rprops.get(name, {}), self.rroot)
                if name not in wrequired and not (isinstance(prop, dict) and "default" in prop):
                    out.append(
                        f"{path}/properties/{name}: required by the reader, but the writer "
                        "does not require it (and it has no default)"
                    )
            if r.get("additionalProperties") is False:
                extra = sorted(set(wprops) - set(rprops))
                if extra:
                    out.append(f"{path}: the reader is closed and does not know {extra}")
            for name, rprop in rprops.items():
                if name in wprops:
                    out += self.check(rprop, wprops[name], f"{path}/properties/{name}")
        if "items" in r and "items" in w:
            out += self.check(r["items"], w["items"], f"{path}/items")
        return out
