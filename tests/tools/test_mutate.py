"""tools/mutate.py: mutants are generated per operator, applied one at a time, and scored."""

from __future__ import annotations

import ast
import importlib.util
import io
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

SOURCE = '''\
"""A module under test."""

LIMIT = 10


def clamp(x, lo=0, hi=LIMIT):
    """Keep x within [lo, hi]."""
    if x < lo:
        return lo
    if x > hi and not False:
        return hi
    return x


def first_even(values, *, strict=True):
    for v in values:
        if v % 2 == 0:
            break
        if v is None:
            continue
    else:
        return None
    return dict(value=v, strict=strict)


def untouched():
    raise ValueError("wording " + "is not behaviour")
'''

TESTS = """\
from mini.calc import clamp


def test_clamp():
    assert clamp(-1) == 0
    assert clamp(11) == 10
    assert clamp(5) == 5
"""


@pytest.fixture(scope="module")
def mutate() -> Any:
    """tools/mutate.py loaded as a module."""
    spec = importlib.util.spec_from_file_location("mutate_under_test", ROOT / "tools" / "mutate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _mutants(mutate: Any, names: list[str] | None = None) -> list[Any]:
    tree = ast.parse(SOURCE)
    regions = mutate.find_regions(tree, names)
    return [m for name, root in regions.items() for m in mutate.generate(name, root)]


class TestGeneration:
    def test_every_operator_appears(self, mutate: Any) -> None:
        """Comparisons, booleans, not, constants, arithmetic, statements, returns, loops, kwargs."""
        operators = {m.operator for m in _mutants(mutate)}
        assert operators >= {
            "compare-flip",
            "compare-edge",
            "boolop-swap",
            "boolop-drop",
            "not-drop",
            "constant",
            "arith-swap",
            "statement-drop",
            "return-none",
            "break-continue",
            "keyword-drop",
        }

    def test_specific_mutants(self, mutate: Any) -> None:
        """The expected before -> after pairs are generated, with their line numbers."""
        found = {(m.region, m.line, m.before, m.after) for m in _mutants(mutate)}
        assert ("clamp", 8, "x < lo", "x >= lo") in found
        assert ("clamp", 8, "x < lo", "x <= lo") in found
        assert ("clamp", 10, "x > hi and (not False)", "x > hi or not False") in found
        assert ("clamp", 10, "not False", "False") in found
        assert ("clamp", 9, "return lo", "return None") in found
        assert ("clamp", 6, "0", "1") in found  # a default value
        assert ("first_even", 17, "v % 2", "v * 2") in found
        assert ("first_even", 18, "break", "continue") in found
        assert ("first_even", 20, "continue", "break") in found
        assert ("first_even", 15, "True", "False") in found
        assert ("first_even", 23, "dict(value=v, strict=strict)", "(without value=)") in found

    def test_docstrings_annotations_and_raise_messages_are_left_alone(self, mutate: Any) -> None:
        """No mutant touches a docstring or the text of a raise statement."""
        mutants = _mutants(mutate)
        assert not any("Keep x" in m.before for m in mutants)
        raising = [m for m in mutants if m.region == "untouched"]
        assert {m.operator for m in raising} == {"statement-drop", "arith-swap"}

    def test_module_level_assignments_are_regions(self, mutate: Any) -> None:
        """A module-level name is a region: its value is mutated."""
        mutants = _mutants(mutate, ["LIMIT"])
        assert [(m.before, m.after) for m in mutants] == [("10", "11"), ("10", "0")]

    def test_unknown_region_is_an_error(self, mutate: Any) -> None:
        """Asking for a function the module lacks stops the run."""
        with pytest.raises(SystemExit, match="nope"):
            _mutants(mutate, ["nope"])

    def test_keys_are_unique_and_stable(self, mutate: Any) -> None:
        """Every mutant has its own key, the same on every run."""
        keys = [m.key for m in _mutants(mutate)]
        assert len(keys) == len(set(keys))
        assert keys == [m.key for m in _mutants(mutate)]

    def test_apply_changes_one_node_only(self, mutate: Any) -> None:
        """Applying a mutant changes exactly that node; the original tree is untouched."""
        tree = ast.parse(SOURCE)
        regions = mutate.find_regions(tree, ["clamp"])
        (mutant,) = [m for m in mutate.generate("clamp", regions["clamp"]) if m.after == "x >= lo"]
        before = ast.unparse(tree)
        changed = ast.unparse(mutate.apply(tree, regions["clamp"], mutant))
        assert ast.unparse(tree) == before
        diff = [
            (a, b) for a, b in zip(before.splitlines(), changed.splitlines(), strict=True) if a != b
        ]
        assert diff == [("    if x < lo:", "    if x >= lo:")]


@pytest.mark.slow
class TestRun:
    @pytest.mark.parametrize("fork", [True, False])
    def test_run_scores_killed_survived_and_equivalent(
        self, mutate: Any, tmp_path: Path, fork: bool
    ) -> None:
        """A run kills what the tests see, reports survivors, and leaves equivalents out."""
        pkg = tmp_path / "src" / "mini"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("", "utf-8")
        (pkg / "calc.py").write_text(SOURCE, "utf-8")
        tests = tmp_path / "test_calc.py"
        tests.write_text(textwrap.dedent(TESTS), "utf-8")
        equivalent = "clamp | compare-edge | x < lo -> x <= lo"
        target = mutate.Target(
            "mini",
            pkg / "calc.py",
            ["clamp"],
            [str(tests)],
            equivalent={equivalent: "x == lo returns lo either way"},
        )
        out = io.StringIO()
        results = mutate.run_target(target, only=["x < lo", "x > hi"], out=out, fork=fork, jobs=2)
        outcomes = {r.mutant.key: r.outcome for r in results}
        assert outcomes[equivalent] == "equivalent"
        assert outcomes["clamp | compare-flip | x < lo -> x >= lo"] == "killed"
        assert outcomes["clamp | compare-edge | x > hi -> x >= hi"] == "survived"
        killed, counted, pct = mutate.score(results)
        assert counted == len(results) - 1
        assert pct == pytest.approx(100 * killed / counted)
        text = out.getvalue()
        assert "SURVIVED" in text
        assert 'key = "clamp | compare-edge | x > hi -> x >= hi"' in text
        assert (pkg / "calc.py").read_text("utf-8") == SOURCE  # the original is never written

    def test_targets_file_names_existing_modules_and_tests(self, mutate: Any) -> None:
        """Every target of tools/mutate.toml names a module, regions and tests that exist."""
        targets = mutate.load_targets()
        assert targets
        for target in targets.values():
            assert target.module.is_file(), target.name
            tree = ast.parse(target.module.read_text("utf-8"))
            regions = mutate.find_regions(tree, target.functions)
            keys = {m.key for name, root in regions.items() for m in mutate.generate(name, root)}
            for test in target.tests:
                assert (ROOT / test).exists(), test
            stale = set(target.equivalent) - keys
            assert not stale, f"{target.name}: equivalent mutants that no longer exist: {stale}"

    def test_equivalents_table_lists_every_equivalent_with_its_reason(self, mutate: Any) -> None:
        """--equivalents prints one Markdown row per equivalent mutant, reason included."""
        targets = mutate.load_targets().values()
        table = mutate.equivalents_markdown(targets).splitlines()
        reasons = [reason for t in targets for reason in t.equivalent.values()]
        assert len(table) == 2 + len(reasons)
        assert all(
            row.endswith(f"| {reason} |") for row, reason in zip(table[2:], reasons, strict=True)
        )
