"""Walking a Struct tree into the variables it reads: `plan` gives a tree of sections and leaves.

Env names are the prefix plus each field's name upper-cased, joined by ``__`` for nested Structs
(``NEWSROOM_`` + ``KAFKA`` + ``__`` + ``BOOTSTRAP_SERVERS``). The field's *encoded* name is used,
so ``msgspec.field(name="url")`` renames the variable; characters other than letters, digits and
``_`` (from ``rename="kebab"``, say) become ``_``.

Which fields may change while the service runs (`news_config.watch`) is marked per field with
``msgspec.Meta(extra={"live": True})`` (or ``False``). A mark on a nested Struct's field covers
everything under it, and the outermost mark wins: the service composing the tree has the last
word over the packages' own marks. Unmarked fields are not live.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from msgspec import inspect as mi

from news_config._convert import describe, is_sensitive, unwrap
from news_config._errors import SchemaError

__all__ = ["LIVE_KEY", "NODEFAULT", "Leaf", "Section", "live_mark", "plan"]

LIVE_KEY = "live"
"""The key in ``msgspec.Meta(extra=...)`` that marks a field as changeable while running."""

NODEFAULT: Any = msgspec.NODEFAULT
_NON_NAME = r"[^A-Za-z0-9_]"


class Leaf:
    """One variable: a field that is read from a single string."""

    __slots__ = (
        "annotation",
        "description",
        "env_name",
        "info",
        "live",
        "name",
        "sensitive",
        "type",
    )

    def __init__(
        self, info: msgspec.structs.FieldInfo, env_name: str, tp: mi.Type, *, live: bool = False
    ) -> None:
        self.name = info.name
        self.live = live
        self.env_name = env_name
        self.annotation: Any = info.type
        self.type = tp
        self.info = info
        self.description = _description(tp)
        self.sensitive = is_sensitive(tp)

    @property
    def expected(self) -> str:
        """What a valid value looks like, in words."""
        return describe(self.type)

    def default(self) -> Any:
        """Return the field's default (calling its factory), or `NODEFAULT` when required."""
        return _default_of(self.info)


class Section:
    """A nested Struct: its variables share the prefix ``<PARENT>_<NAME>__``."""

    __slots__ = (
        "children",
        "cls",
        "description",
        "env_prefix",
        "info",
        "live",
        "name",
        "optional",
    )

    def __init__(
        self,
        cls: type[msgspec.Struct],
        env_prefix: str,
        info: msgspec.structs.FieldInfo | None = None,
        *,
        optional: bool = False,
        description: str | None = None,
        live: bool = False,
    ) -> None:
        self.name = "" if info is None else info.name
        self.live = live
        self.env_prefix = env_prefix
        self.cls = cls
        self.info = info
        self.optional = optional
        self.description = description
        self.children: list[Leaf | Section] = []

    def default(self) -> Any:
        """Return the field's default (calling its factory), or `NODEFAULT` when required."""
        return NODEFAULT if self.info is None else _default_of(self.info)

    def leaves(self) -> list[Leaf]:
        """Every variable of this section, nested sections included, in schema order."""
        out: list[Leaf] = []
        for child in self.children:
            out.extend(child.leaves() if isinstance(child, Section) else [child])
        return out


def _default_of(info: msgspec.structs.FieldInfo) -> Any:
    if info.default is not NODEFAULT:
        return info.default
    if info.default_factory is not NODEFAULT:
        return info.default_factory()
    return NODEFAULT


def _description(tp: mi.Type) -> str | None:
    while isinstance(tp, mi.Metadata):
        text = (tp.extra_json_schema or {}).get("description")
        if isinstance(text, str):
            return text
        tp = tp.type
    if isinstance(tp, mi.UnionType):
        # ``Annotated[int, Meta(ge=1, description=...)] | None``: the one described member's.
        found = [text for member in tp.types if (text := _description(member)) is not None]
        if len(found) == 1:
            return found[0]
    return None


def live_mark(tp: mi.Type) -> bool | None:
    """The field's own live mark (``Meta(extra={"live": ...})``): True, False, or None."""
    while isinstance(tp, mi.Metadata):
        extra = tp.extra or {}
        if LIVE_KEY in extra:
            return bool(extra[LIVE_KEY])
        tp = tp.type
    if isinstance(tp, mi.UnionType):  # ``Annotated[X, Meta(extra=...)] | None``
        marks = {mark for member in tp.types if (mark := live_mark(member)) is not None}
        if len(marks) == 1:
            return marks.pop()
    return None


def _struct_of(tp: mi.Type) -> tuple[type[msgspec.Struct] | None, bool]:
    """Return ``(cls, optional)`` when *tp* is a Struct or ``Struct | None``."""
    tp = unwrap(tp)
    if isinstance(tp, mi.StructType):
        return tp.cls, False
    if isinstance(tp, mi.UnionType):
        members = [unwrap(member) for member in tp.types]
        structs = [m for m in members if isinstance(m, mi.StructType)]
        if (
            len(structs) == 1
            and len(members) == 2
            and any(isinstance(m, mi.NoneType) for m in members)
        ):
            return structs[0].cls, True
    return None, False


def _segment(info: msgspec.structs.FieldInfo) -> str:
    return re.sub(_NON_NAME, "_", info.encode_name).upper()


def plan(schema: Any, prefix: str = "") -> Section:
    """Return the tree of sections and variables that *schema* reads under *prefix*.

    Raises:
        SchemaError: *schema* is not a Struct class, or a field's type cannot be inspected.
    """
    if not (isinstance(schema, type) and issubclass(schema, msgspec.Struct)):
        raise SchemaError(f"news-config loads msgspec.Struct classes, not {schema!r}")
    root = Section(schema, prefix)
    _fill(root, (schema,), None)
    return root


def _fill(section: Section, ancestors: tuple[type, ...], outer: bool | None) -> None:
    try:
        infos = msgspec.structs.fields(section.cls)
    except Exception as exc:  # any failure to resolve annotations is a schema problem
        raise SchemaError(f"cannot read the fields of {section.cls.__qualname__}: {exc}") from exc
    for info in infos:
        env_name = section.env_prefix + _segment(info)
        where = f"{section.cls.__qualname__}.{info.name}"
        try:
            tp = mi.type_info(info.type)
        except Exception as exc:  # msgspec raises TypeError/ValueError for unsupported types
            raise SchemaError(f"{where}: news-config cannot load this type: {exc}") from exc
        mark = outer if outer is not None else live_mark(tp)  # the outermost mark wins
        cls, optional = _struct_of(tp)
        if cls is not None and cls not in ancestors:
            child = Section(
                cls,
                env_name + "__",
                info,
                optional=optional,
                description=_description(tp),
                live=bool(mark),
            )
            _fill(child, (*ancestors, cls), mark)
            section.children.append(child)
        else:  # a scalar, a container, or a self-referencing Struct (read as JSON)
            section.children.append(Leaf(info, env_name, tp, live=bool(mark)))
