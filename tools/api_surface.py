#!/usr/bin/env python3
"""A package's public API as text, and the snapshot test that keeps changes to it deliberate.

The surface of a module is every name in its ``__all__`` (``__version__`` aside), one block each:
what it is, the module it reports (``__module__``: the public one, not ``news_x._private``), its
signature, and for classes their bases, Struct options and fields, and the public members the
package itself defines (methods with signatures, properties, constants, protocol dunders).

Each package pins its surface in ``tests/<import_name>/api_surface.txt`` with a test like::

    SURFACE = runpy.run_path(str(Path(__file__).parents[2] / "tools" / "api_surface.py"))


    class TestAPISurface:
        def test_public_api_matches_the_snapshot(self) -> None:
            \"\"\"news_x's public names and signatures are those of the committed snapshot.\"\"\"
            SURFACE["assert_matches"]("news_x")  # more modules: ("news_x", "news_x.testing")

After a deliberate change, regenerate the snapshot (and say what changed in the CHANGELOG)::

    hatch run python tools/api_surface.py news_x [news_x.testing ...] --update

Without ``--update`` the command prints the surface (or, with ``--check``, the difference to
the snapshot and exit 1 when there is one).
"""

from __future__ import annotations

import argparse
import difflib
import enum
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Dunders that are part of what a class offers (protocols), listed by name when it defines them.
_PROTOCOL_DUNDERS = (
    "__call__",
    "__enter__",
    "__exit__",
    "__aenter__",
    "__aexit__",
    "__iter__",
    "__aiter__",
    "__next__",
    "__anext__",
    "__len__",
    "__contains__",
    "__getitem__",
    "__eq__",
    "__hash__",
    "__bool__",
    "__copy__",
    "__deepcopy__",
    "__reduce__",
)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_FORWARD_REF = re.compile(r"ForwardRef\(('[^']*')\)")
_MAX_REPR = 120


def snapshot_path(modules: tuple[str, ...]) -> Path:
    """Where the snapshot of *modules* lives: ``tests/<root package>/api_surface.txt``."""
    return ROOT / "tests" / modules[0].split(".")[0] / "api_surface.txt"


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    text = _ADDRESS.sub("", text)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _signature(obj: Any) -> str:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    return _FORWARD_REF.sub(r"\1", _ADDRESS.sub("", text))


def _owned(cls: type, root: str) -> list[type]:
    """The classes of *cls*'s MRO that the package itself defines."""
    return [k for k in cls.__mro__ if (k.__module__ or "").split(".")[0] == root]


def _struct_lines(cls: type) -> list[str]:
    import msgspec

    config = cls.__struct_config__  # type: ignore[attr-defined]
    options = [
        name
        for name in ("frozen", "array_like", "forbid_unknown_fields", "omit_defaults", "tag")
        if getattr(config, name, False)
    ]
    # (keyword-only shows in the signature line)
    lines = [f"  struct options: {', '.join(options) or '(none)'}"]
    for field in msgspec.structs.fields(cls):
        if field.default is not msgspec.NODEFAULT:
            default = f" = {_short(field.default)}"
        elif field.default_factory is not msgspec.NODEFAULT:
            default = f" = <factory {getattr(field.default_factory, '__qualname__', '?')}>"
        else:
            default = ""
        annotation = getattr(field.type, "__name__", None) or _short(field.type)
        lines.append(f"  field {field.name}: {annotation}{default}")
    return lines


def _member_lines(cls: type, root: str) -> list[str]:
    lines: list[str] = []
    seen: set[str] = set()
    fields = {
        name
        for attr in ("__struct_fields__", "_fields")  # Struct and NamedTuple fields
        if isinstance(names := getattr(cls, attr, ()), tuple)
        for name in names
    }
    for klass in _owned(cls, root):
        for name, raw in vars(klass).items():
            if name in seen or name in fields:
                continue
            if name.startswith("_") and name not in _PROTOCOL_DUNDERS:
                continue
            seen.add(name)
            if name in _PROTOCOL_DUNDERS:
                if raw is not None:  # __hash__ = None says "unhashable": not a member
                    lines.append(f"  {name}")
                continue
            if isinstance(raw, property):
                annotation = inspect.signature(raw.fget).return_annotation if raw.fget else "?"
                kind = "property" if raw.fset is None else "property (settable)"
                lines.append(f"  {kind} {name}: {annotation}")
            elif isinstance(raw, classmethod | staticmethod):
                kind = "classmethod" if isinstance(raw, classmethod) else "staticmethod"
                lines.append(f"  {kind} {name}{_signature(raw.__func__)}")
            elif inspect.isfunction(raw):
                prefix = "async def" if inspect.iscoroutinefunction(raw) else "def"
                lines.append(f"  {prefix} {name}{_signature(raw)}")
            elif isinstance(raw, enum.Enum):
                lines.append(f"  member {name} = {_short(raw.value)}")
            elif inspect.isclass(raw):
                lines.append(f"  class {name}")
            elif type(raw).__name__ in {"member_descriptor", "getset_descriptor"}:
                lines.append(f"  attribute {name}")
            else:
                lines.append(f"  {name} = {_short(raw)}")
    return sorted(lines)


def _class_block(name: str, cls: type, root: str) -> list[str]:
    bases = ", ".join(f"{b.__module__}.{b.__qualname__}" for b in cls.__bases__)
    head = f"class {name}({bases})"
    lines = [head, f"  module: {cls.__module__}"]
    if issubclass(cls, enum.Enum):
        lines += [f"  member {m.name} = {_short(m.value)}" for m in cls]
        return lines
    lines.append(f"  signature: {_signature(cls)}")
    if hasattr(cls, "__struct_config__"):
        lines += _struct_lines(cls)
    elif issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple):
        lines.append(f"  namedtuple fields: {', '.join(cls._fields)}")
    lines += _member_lines(cls, root)
    return lines


def surface(module_name: str) -> str:
    """Return the public surface of *module_name* as text (one block per name in ``__all__``)."""
    module = importlib.import_module(module_name)
    root = module_name.split(".", maxsplit=1)[0]
    names = getattr(module, "__all__", None)
    if names is None:
        raise SystemExit(f"api_surface: {module_name} has no __all__")
    out = [f"# module {module_name}"]
    for name in sorted(set(names) - {"__version__"}):
        obj = getattr(module, name)
        if inspect.isclass(obj):
            if obj.__name__ != name:  # an alias of another public class
                out.append(f"alias {name} = {obj.__module__}.{obj.__qualname__}")
                continue
            out += _class_block(name, obj, root)
        elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
            prefix = "async def" if inspect.iscoroutinefunction(obj) else "def"
            out += [f"{prefix} {name}{_signature(obj)}", f"  module: {obj.__module__}"]
        elif inspect.ismodule(obj):
            out.append(f"module {name} = {obj.__name__}")
        elif callable(obj) and hasattr(obj, "__module__"):
            out += [f"callable {name}{_signature(obj)}: {type(obj).__name__}"]
        else:
            out.append(f"{name}: {type(obj).__name__} = {_short(obj)}")
    return "\n".join(out) + "\n"


def render(modules: tuple[str, ...]) -> str:
    """The snapshot text of *modules* (each module's surface, in the order given)."""
    return "\n".join(surface(name) for name in modules)


def _command(modules: tuple[str, ...]) -> str:
    return f"hatch run python tools/api_surface.py {' '.join(modules)} --update"


def assert_matches(*modules: str) -> None:
    """Fail (AssertionError with a diff and the regenerate command) if the surface changed."""
    path = snapshot_path(modules)
    current = render(modules)
    if not path.is_file():
        raise AssertionError(f"no API snapshot at {path}; create it with: {_command(modules)}")
    committed = path.read_text("utf-8")
    if committed != current:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile=f"{path.relative_to(ROOT)} (committed)",
                tofile="the code now",
            )
        )
        raise AssertionError(
            f"the public API of {', '.join(modules)} changed:\n{diff}\n"
            f"If the change is deliberate, say it in the CHANGELOG and regenerate the snapshot:\n"
            f"    {_command(modules)}"
        )


def main(argv: list[str] | None = None) -> int:
    """Print, check or update the API snapshot of the given modules; return the exit code."""
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="tools/api_surface.py", description=summary)
    parser.add_argument("modules", nargs="+", help="import names: news_log news_log.testing")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--update", action="store_true", help="write tests/<pkg>/api_surface.txt")
    mode.add_argument("--check", action="store_true", help="exit 1 when the snapshot differs")
    args = parser.parse_args(argv)
    modules = tuple(args.modules)
    if args.update:
        path = snapshot_path(modules)
        path.write_text(render(modules), "utf-8")
        print(f"api_surface: wrote {path.relative_to(ROOT)}")
        return 0
    if args.check:
        try:
            assert_matches(*modules)
        except AssertionError as exc:
            print(exc)
            return 1
        print("api_surface: the snapshot matches")
        return 0
    sys.stdout.write(render(modules))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
