#!/usr/bin/env python3
r"""A small mutation-testing driver: change one thing in one function, run its tests, repeat.

Usage (in the mutate env, which has the test suite's dependencies)::

    hatch run mutate:run news-log-redaction        # one target of tools/mutate.toml
    hatch run mutate:run --all                     # every target (tens of minutes)
    hatch run mutate:run news-api-problems --list  # the mutants, without running anything
    python tools/mutate.py --module packages/news-api/src/news_api/_problem.py \\
        --function problem --tests tests/news_api/test_errors.py   # an ad-hoc target

For each mutant the target's package ``src`` folder is copied to a temporary directory, the module
is written there with the one change, and ``pytest -x`` runs the target's tests with that folder
first on ``PYTHONPATH`` (so servers started by the tests, being child processes, import the
mutant too). A mutant is *killed* when the tests fail or time out, *survived* when they pass.
Equivalent mutants (no test could tell them apart: the reason is required) are listed per target
in tools/mutate.toml and left out of the score: ``killed / (mutants - equivalent)``.

Operators: comparison flips (``==``/``!=``, ``<``/``>=``, ``is``/``is not``, ``in``/``not in``),
``and``/``or`` swaps, ``not`` dropped, conditions negated, constants changed (``True``/``False``,
``None``, numbers +1 and 0/1, strings emptied or filled, f-strings emptied), arithmetic swaps,
statements removed (replaced by ``pass``), ``return x`` made ``return None``, ``break``/``continue``
swapped, keyword arguments dropped. Not mutated: docstrings, annotations, ``assert`` (type
narrowing), and the message text of ``raise`` statements (wording, not behaviour).

Not a CI gate: the scores are a benchmark-like figure, recorded in docs/mutation.md.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import copy
import dataclasses
import importlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tools" / "mutate.toml"

_COMPARE_SWAP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
#: The off-by-one neighbours of the ordering comparisons (``<`` and ``<=``...).
_COMPARE_EDGE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
}
_BINOP_SWAP: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.Mult,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
}
#: Statements whose removal (``pass`` in their place) is a mutant.
_REMOVABLE = (
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Raise,
    ast.If,
    ast.For,
    ast.While,
    ast.With,
    ast.Try,
    ast.Continue,
    ast.Break,
    ast.Delete,
    ast.Global,
)

Path_ = tuple[tuple[str, int | None], ...]
"""Where a node sits below the mutated region's root: (field, index in a list field or None)."""


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One change to one node of a function (or module-level assignment)."""

    region: str  # qualified name: "Redactor.value", "DEFAULT_REDACT_KEYS"
    path: Path_
    replacement: ast.AST
    operator: str
    line: int
    before: str
    after: str
    key: str = ""  # stable id: region, operator, before -> after, occurrence

    def describe(self) -> str:
        """One line for reports."""
        return f"{self.region}: {self.before}  ->  {self.after}"


# ---------------------------------------------------------------------------------------------
# Finding the regions and generating the mutants


def find_regions(tree: ast.Module, names: Sequence[str] | None) -> dict[str, ast.AST]:
    """Return the functions (``Class.method`` too) and module-level assignments by name.

    ``names`` None: every function and method of the module. An unknown name is an error.
    """
    found: dict[str, ast.AST] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[prefix + node.name] = node
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.Assign | ast.AnnAssign) and not prefix:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, node)

    visit(tree.body, "")
    if names is None:
        return {
            name: node
            for name, node in found.items()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
    missing = [name for name in names if name not in found]
    if missing:
        raise SystemExit(f"mutate: no function or assignment named {missing} in the module")
    return {name: found[name] for name in names}


def _children(node: ast.AST) -> Iterator[tuple[tuple[str, int | None], ast.AST]]:
    for field, value in ast.iter_fields(node):
        if isinstance(value, ast.AST):
            yield (field, None), value
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.AST):
                    yield (field, i), item


def _is_docstring(parent: ast.AST, field: str, index: int | None) -> bool:
    return (
        isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module)
        and field == "body"
        and index == 0
    )


def _constant_mutations(value: object) -> list[object]:  # noqa: PLR0911 - per type
    if value is True:
        return [False]
    if value is False:
        return [True]
    if value is None:
        return [True]
    if isinstance(value, int):
        options: list[object] = [value + 1]
        if value not in (0, 1):
            options.append(0)
        elif value == 0:
            options.append(1)
        else:
            options.append(0)
        return [o for o in dict.fromkeys(options) if o != value]
    if isinstance(value, float):
        return [value + 1.0, 0.0] if value != 0.0 else [1.0]
    if isinstance(value, str):
        return [""] if value else ["XX"]
    if isinstance(value, bytes):
        return [b""] if value else [b"XX"]
    return []


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    first = text.splitlines()[0] if text else text
    if len(first) > 90:
        first = first[:87] + "..."
    elif "\n" in text:
        first += " ..."
    return first


def _node_mutations(
    node: ast.AST,
) -> Iterator[tuple[str, ast.AST]]:
    """Yield (operator name, replacement node) for one node (not its children)."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for table, name in ((_COMPARE_SWAP, "compare-flip"), (_COMPARE_EDGE, "compare-edge")):
                other = table.get(type(op))
                if other is not None:
                    new = copy.deepcopy(node)
                    new.ops[i] = other()
                    yield name, new
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "boolop-swap", new
        for i in range(len(node.values)):  # each operand alone decides
            rest = [v for j, v in enumerate(node.values) if j != i]
            if len(rest) == 1:
                yield "boolop-drop", copy.deepcopy(rest[0])
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not-drop", copy.deepcopy(node.operand)
    elif isinstance(node, ast.BinOp):
        other_op = _BINOP_SWAP.get(type(node.op))
        if other_op is not None and not (
            isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant | ast.JoinedStr)
        ):  # "%" formatting of a string is not arithmetic
            new = copy.deepcopy(node)
            new.op = other_op()
            yield "arith-swap", new
    elif isinstance(node, ast.Constant):
        for value in _constant_mutations(node.value):
            yield "constant", ast.Constant(value)
    elif isinstance(node, ast.JoinedStr):
        yield "constant", ast.Constant("")
    elif isinstance(node, ast.Call):
        for i in range(len(node.keywords)):
            if node.keywords[i].arg is None:
                continue  # **kwargs
            new = copy.deepcopy(node)
            del new.keywords[i]
            yield "keyword-drop", new
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return-none", ast.Return(ast.Constant(None))
    elif isinstance(node, ast.Break):
        yield "break-continue", ast.Continue()
    elif isinstance(node, ast.Continue):
        yield "break-continue", ast.Break()
    if isinstance(node, ast.If | ast.While | ast.IfExp) and not isinstance(
        node.test, ast.Compare | ast.BoolOp | ast.UnaryOp
    ):
        new = copy.deepcopy(node)
        new.test = ast.UnaryOp(ast.Not(), new.test)
        yield "negate-condition", new
    if isinstance(node, _REMOVABLE):
        yield "statement-drop", ast.Pass()


def generate(region: str, root: ast.AST) -> list[Mutant]:
    """Every mutant of one region, in source order, with stable keys."""
    mutants: list[Mutant] = []

    def walk(node: ast.AST, path: Path_, in_raise: bool) -> None:
        for (field, index), child in _children(node):
            if field in ("annotation", "returns", "decorator_list", "type_comment"):
                continue
            if isinstance(child, ast.Assert):
                continue
            if (
                isinstance(child, ast.Expr)
                and isinstance(child.value, ast.Constant)
                and isinstance(child.value.value, str)
                and _is_docstring(node, field, index)
            ):
                continue
            child_path = (*path, (field, index))
            skip_strings = in_raise and isinstance(child, ast.Constant | ast.JoinedStr)
            if not skip_strings and not (
                isinstance(node, ast.JoinedStr) or isinstance(child, ast.FormattedValue)
            ):
                for operator, replacement in _node_mutations(child):
                    if operator == "statement-drop" and not _droppable(node, field):
                        continue
                    after = _short(replacement)
                    if operator == "keyword-drop":  # name the argument: calls are often long
                        assert isinstance(child, ast.Call)
                        assert isinstance(replacement, ast.Call)
                        kept = {k.arg for k in replacement.keywords}
                        (dropped,) = [k.arg for k in child.keywords if k.arg not in kept]
                        after = f"(without {dropped}=)"
                    mutants.append(
                        Mutant(
                            region=region,
                            path=child_path,
                            replacement=replacement,
                            operator=operator,
                            line=getattr(child, "lineno", 0),
                            before=_short(child),
                            after=after,
                        )
                    )
            if isinstance(child, ast.JoinedStr):
                continue  # the f-string as a whole was emptied; its parts are wording
            walk(child, child_path, in_raise or isinstance(child, ast.Raise))

    if isinstance(root, ast.FunctionDef | ast.AsyncFunctionDef):
        walk(root, (), in_raise=False)
    else:  # a module-level assignment: its value only
        walk(root, (), in_raise=False)
        mutants = [m for m in mutants if m.path[0][0] == "value"]
    seen: dict[str, int] = {}
    keyed = []
    for m in mutants:
        base = f"{m.region} | {m.operator} | {m.before} -> {m.after}"
        n = seen.get(base, 0)
        seen[base] = n + 1
        keyed.append(dataclasses.replace(m, key=base if n == 0 else f"{base} #{n + 1}"))
    return keyed


def _droppable(parent: ast.AST, field: str) -> bool:
    """A statement in a body can be replaced by ``pass`` (not a region's whole root)."""
    return field in ("body", "orelse", "finalbody", "handlers") and not isinstance(
        parent, ast.Module
    )


def apply(tree: ast.Module, region_root: ast.AST, mutant: Mutant) -> ast.Module:
    """Return a copy of ``tree`` with ``mutant`` applied (``region_root`` is a node of ``tree``)."""
    memo: dict[int, Any] = {}
    new_tree = copy.deepcopy(tree, memo)
    node: ast.AST = memo[id(region_root)]
    for field, index in mutant.path[:-1]:
        value = getattr(node, field)
        node = value if index is None else value[index]
    field, index = mutant.path[-1]
    replacement = copy.deepcopy(mutant.replacement)
    if index is None:
        setattr(node, field, replacement)
    else:
        getattr(node, field)[index] = replacement
    return ast.fix_missing_locations(new_tree)


# ---------------------------------------------------------------------------------------------
# Running


@dataclasses.dataclass
class Target:
    """A module, the regions of it to mutate, and the tests that must kill the mutants."""

    name: str
    module: Path
    functions: list[str] | None
    tests: list[str]
    equivalent: dict[str, str] = dataclasses.field(default_factory=dict)
    timeout: float = 0.0  # seconds per mutant; 0: three times the baseline plus 20 s


@dataclasses.dataclass
class Result:
    """What the tests made of one mutant."""

    mutant: Mutant
    outcome: str  # killed, survived, timeout, equivalent, error
    seconds: float


def load_targets(path: Path = CONFIG) -> dict[str, Target]:
    """Read tools/mutate.toml."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    targets = {}
    for name, spec in data.get("targets", {}).items():
        targets[name] = Target(
            name=name,
            module=ROOT / spec["module"],
            functions=spec.get("functions"),
            tests=list(spec["tests"]),
            equivalent={e["key"]: e["reason"] for e in spec.get("equivalent", [])},
            timeout=float(spec.get("timeout", 0)),
        )
    return targets


def _display(path: Path) -> Path:
    """``path`` relative to the repository when it is inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _src_root(module: Path) -> tuple[Path, Path]:
    """(the folder on sys.path that holds the module's top package, the module relative to it)."""
    for parent in module.parents:
        if parent.name == "src" or not (parent / "__init__.py").exists():
            return parent, module.relative_to(parent)
    raise SystemExit(f"mutate: {module} is not inside an importable package")


_PYTEST_FLAGS = ("-x", "-q", "--no-header", "-p", "no:cacheprovider", "-p", "no:randomly")
#: Imported once by the driver when it forks a child per mutant (``--fork``): each child skips
#: pytest's and its plugins' start-up. None of them imports the code under test.
_PRELOAD = ("pytest", "_pytest.pytester", "hypothesis", "pytest_asyncio", "pytest_timeout")


def _child_env(pythonpath: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(pythonpath), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _wait(pid: int, timeout: float | None) -> int | None:
    """Wait for a child; on timeout kill its process group and return None."""
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.01
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if deadline is not None and time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _run_tests(
    target: Target,
    pythonpath: Path,
    timeout: float | None,
    pytest_args: Sequence[str],
    *,
    fork: bool = False,
) -> tuple[str, float]:
    """Run the target's tests with ``pythonpath`` first; (outcome, seconds)."""
    env = _child_env(pythonpath)
    args = [*_PYTEST_FLAGS, *pytest_args, *target.tests]
    start = time.monotonic()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below, after the child wrote it
    try:
        if fork:
            pid = os.fork()
            if pid == 0:  # the child: never returns
                _fork_child(pythonpath, env, args, log.fileno())
        else:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pytest", *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            pid = proc.pid
        code = _wait(pid, timeout)
        elapsed = time.monotonic() - start
        if code is None:
            return "timeout", elapsed
        if code == 0:
            return "survived", elapsed
        if code in (1, 2, 3):  # tests failed, collection interrupted (a mutant breaking an import)
            return "killed", elapsed
        log.seek(0)
        tail = log.read().decode("utf-8", "replace")[-2000:]
        return f"error (pytest exit {code}): {tail}", elapsed
    finally:
        log.close()


def _fork_child(pythonpath: Path, env: dict[str, str], args: list[str], out: int) -> None:
    code = 4
    try:
        os.setsid()
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.chdir(ROOT)
        os.environ.clear()
        os.environ.update(env)
        sys.path.insert(0, str(pythonpath))
        sys.dont_write_bytecode = True
        import pytest

        code = int(pytest.main(args))
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 3
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_target(
    target: Target,
    *,
    only: Sequence[str] = (),
    list_only: bool = False,
    pytest_args: Sequence[str] = (),
    out: Any = sys.stdout,
    limit: int | None = None,
    jobs: int = 1,
    fork: bool = False,
) -> list[Result]:
    """Generate and run the target's mutants; print a line per mutant and the score."""
    source = target.module.read_text(encoding="utf-8")
    tree = ast.parse(source)
    regions = find_regions(tree, target.functions)
    mutants = [m for name, root in regions.items() for m in generate(name, root)]
    if only:
        mutants = [m for m in mutants if any(o in m.key for o in only)]
    if limit is not None:
        mutants = mutants[:limit]
    rel = _display(target.module)
    print(f"== {target.name}: {rel}, {len(mutants)} mutants in {len(regions)} regions", file=out)
    if list_only:
        for m in mutants:
            flag = "  [equivalent]" if m.key in target.equivalent else ""
            print(f"{rel}:{m.line}  {m.operator:16} {m.describe()}{flag}", file=out)
        return []
    src_root, module_rel = _src_root(target.module)
    results: dict[int, Result] = {}
    with tempfile.TemporaryDirectory(prefix="mutate-") as tmp:
        copies: queue.SimpleQueue[Path] = queue.SimpleQueue()
        for n in range(max(1, jobs)):
            copy_root = Path(tmp) / f"src{n}"
            shutil.copytree(src_root, copy_root, ignore=shutil.ignore_patterns("__pycache__"))
            copies.put(copy_root)
        # The baseline runs the unparsed (unmutated) module: the tests must pass on it.
        first = copies.get()
        (first / module_rel).write_text(ast.unparse(tree), encoding="utf-8")
        outcome, baseline = _run_tests(target, first, None, pytest_args, fork=fork)
        copies.put(first)
        if outcome != "survived":
            raise SystemExit(f"mutate: the tests fail without any mutant ({outcome}); fix first")
        timeout = target.timeout or baseline * 3 + 20
        print(f"   baseline {baseline:.1f} s, timeout per mutant {timeout:.0f} s", file=out)
        lock = threading.Lock()

        def one(i: int, m: Mutant) -> None:
            if m.key in target.equivalent:
                result, line = Result(m, "equivalent", 0.0), f"equivalent  {rel}:{m.line}"
            else:
                try:
                    code = ast.unparse(apply(tree, regions[m.region], m))
                    compile(code, str(rel), "exec")
                except (SyntaxError, ValueError, TypeError) as exc:
                    result, line = Result(m, "error", 0.0), f"invalid ({exc})"
                else:
                    copy_root = copies.get()
                    try:
                        (copy_root / module_rel).write_text(code, encoding="utf-8")
                        outcome, seconds = _run_tests(
                            target, copy_root, timeout, pytest_args, fork=fork
                        )
                    finally:
                        copies.put(copy_root)
                    result = Result(m, outcome.split(" ")[0], seconds)
                    line = f"{outcome.split(':')[0]:11} ({seconds:4.1f} s) {rel}:{m.line}"
                    if outcome.startswith("error"):
                        line += "\n" + outcome
            with lock:
                results[i] = result
                print(
                    f"[{len(results)}/{len(mutants)}] {line} {m.operator:16} {m.describe()}",
                    file=out,
                    flush=True,
                )

        with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
            for future in [pool.submit(one, i, m) for i, m in enumerate(mutants)]:
                future.result()
    ordered = [results[i] for i in sorted(results)]
    report(target, ordered, out=out)
    return ordered


def score(results: Sequence[Result]) -> tuple[int, int, float]:
    """(killed including timeouts, mutants counted, score in percent); equivalents left out."""
    counted = [r for r in results if r.outcome in ("killed", "timeout", "survived")]
    killed = sum(r.outcome in ("killed", "timeout") for r in counted)
    return killed, len(counted), 100.0 * killed / len(counted) if counted else 100.0


def report(target: Target, results: Sequence[Result], *, out: Any = sys.stdout) -> None:
    """Print the score and every survivor with its key (for tools/mutate.toml) and diff."""
    killed, counted, pct = score(results)
    equivalent = sum(r.outcome == "equivalent" for r in results)
    errors = sum(r.outcome == "error" for r in results)
    rel = _display(target.module)
    print(
        f"== {target.name}: {pct:.1f}% ({killed} killed of {counted}; "
        f"{equivalent} equivalent, {errors} not runnable)",
        file=out,
    )
    for r in results:
        if r.outcome == "survived":
            m = r.mutant
            print(f"SURVIVED {rel}:{m.line} [{m.operator}] key = {json.dumps(m.key)}", file=out)
            print(f"   - {m.before}\n   + {m.after}", file=out)


def equivalents_markdown(targets: Iterable[Target]) -> str:
    """The equivalent mutants of ``targets`` as a Markdown table (for docs/mutation.md)."""
    rows = ["| target | mutant | why no test can kill it |", "| --- | --- | --- |"]
    for target in targets:
        for key, reason in target.equivalent.items():
            region, operator, change = key.split(" | ", 2)
            change = change.replace("|", "\\|")
            rows.append(f"| {target.name} | `{region}`: {operator} `{change}` | {reason} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: see the module docstring."""
    parser = argparse.ArgumentParser(prog="tools/mutate.py", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="target names from tools/mutate.toml")
    parser.add_argument("--all", action="store_true", help="run every target")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--only", action="append", default=[], help="mutants whose key has this")
    parser.add_argument("--limit", type=int, help="the first N mutants only")
    parser.add_argument("--module", type=Path, help="ad-hoc target: a module file")
    parser.add_argument("--function", action="append", help="ad-hoc target: a region (repeat)")
    parser.add_argument("--tests", action="append", help="ad-hoc target: a test path (repeat)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--equivalents", action="store_true", help="print the equivalent mutants as Markdown"
    )
    parser.add_argument("-j", "--jobs", type=int, default=1, help="mutants run at once")
    parser.add_argument(
        "--fork",
        action=argparse.BooleanOptionalAction,
        default=hasattr(os, "fork"),
        help="fork a child per mutant from a driver that has pytest loaded (default on POSIX)",
    )
    parser.add_argument("--pytest-arg", action="append", default=[], help="passed to pytest")
    args = parser.parse_args(argv)

    configured = load_targets()
    if args.equivalents:
        print(equivalents_markdown(configured.values()))
        return 0
    if args.fork:
        for name in _PRELOAD:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
    if args.module is not None:
        if not args.tests:
            parser.error("--module needs --tests")
        chosen = [
            Target("ad-hoc", args.module.resolve(), args.function, args.tests),
        ]
    elif args.all:
        chosen = list(configured.values())
    else:
        unknown = [t for t in args.targets if t not in configured]
        if unknown or not args.targets:
            parser.error(f"choose targets from: {', '.join(configured)} (unknown: {unknown})")
        chosen = [configured[t] for t in args.targets]

    summary: dict[str, Any] = {}
    for target in chosen:
        results = run_target(
            target,
            only=args.only,
            list_only=args.list,
            pytest_args=args.pytest_arg,
            limit=args.limit,
            jobs=args.jobs,
            fork=args.fork,
        )
        if results:
            killed, counted, pct = score(results)
            summary[target.name] = {
                "score": round(pct, 1),
                "killed": killed,
                "counted": counted,
                "equivalent": sum(r.outcome == "equivalent" for r in results),
                "survivors": [r.mutant.key for r in results if r.outcome == "survived"],
            }
    if len(summary) > 1:
        print("\n== summary")
        for name, s in summary.items():
            print(f"{name:28} {s['score']:5.1f}%  ({s['killed']}/{s['counted']})")
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
