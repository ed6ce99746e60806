"""CONTRIBUTING.md's "Add a step", applied to a copy of the kit: a `sin` step, 10 points.

The recipe touches at most six files across grader/, exercises/ and solutions/ (the table,
the operation, the checks, the stub twice, the solution); the curriculum's self-check, the
scoreboard and the notebook then know the step from the table alone."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STEP = '''    Step(
        id="sin",
        title="Activation: Value.sin",
        points=10,
        file="engine.py",
        todos=("Value.sin",),
        needs=(),
        hint="d sin(x)/dx = cos(x), taken at the input, times out.grad, added to self.grad.",
        likely="Likely causes: the derivative taken at the output, or `=` where `+=` belongs.",
    ),
'''
OP = '''    Op("sin", "unary", "sin({0})", math.sin, ".sin", "sin", "sin",
       _one_input(0.8, -0.55, 0.3)),
'''
CHECKS = '''"""Step sin: Value.sin, through the operation's own _backward."""

import pytest

from grader.checking.kit import Kit

STEP = "sin"


@pytest.mark.check(step=STEP, weight=1, title="sin(a): value and gradient")
def check_one_leaf(kit: Kit) -> None:
    kit.graph([["leaf", 0.7], ["sin", 0]], seed=1.3)


@pytest.mark.check(step=STEP, weight=1, title="out._backward() alone")
def check_own_backward(kit: Kit) -> None:
    kit.local(STEP)
'''
STUB = '''    # ## Step sin
    def sin(self):
        # TODO(sin): return a new Value holding sin(self.data), linked to self, with a _backward.
        raise NotImplementedError("TODO(sin): implement Value.sin in engine.py")

'''
SOLUTION = '''    # ## Step sin
    def sin(self):
        out = Value(math.sin(self.data), (self,), "sin")

        def _backward():
            self.grad += math.cos(self.data) * out.grad

        out._backward = _backward
        return out

'''


def _insert_before(path: Path, anchor: str, text: str) -> None:
    source = path.read_text(encoding="utf-8")
    assert anchor in source, f"{path}: the recipe's anchor {anchor!r} is gone"
    path.write_text(source.replace(anchor, text + anchor, 1), encoding="utf-8")


def apply_recipe(kit: Path) -> list[str]:
    """The five numbered steps of "Add a step"; the files they touched, relative to `kit`."""
    touched = ["grader/steps.py", "grader/ops.py", "grader/checks/check_sin.py",
               "exercises/engine.py", "grader/starter/engine.py", "solutions/engine.py"]
    _insert_before(kit / "grader/steps.py", '    Step(\n        id="backward",', STEP)
    # Its 10 points are taken from training, so that the core still adds up to the total.
    steps_py = kit / "grader/steps.py"
    text = steps_py.read_text(encoding="utf-8")
    text = re.sub(r'(id="training",\n(?:.*\n)*?\s*points=)25', r"\g<1>15", text, count=1)
    steps_py.write_text(text, encoding="utf-8")
    _insert_before(kit / "grader/ops.py", '    Op("relu", "unary"', OP)
    (kit / "grader/checks/check_sin.py").write_text(CHECKS, encoding="utf-8")
    for stub in ("exercises/engine.py", "grader/starter/engine.py"):
        _insert_before(kit / stub, "    # ## Step backward\n", STUB)
    _insert_before(kit / "solutions/engine.py", "    # ## Step backward\n", SOLUTION)
    return touched


def _copy_kit(into: Path) -> Path:
    kit = into / "kit"
    shutil.copytree(ROOT, kit, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.pyc", ".pytest_cache", "site", "*.egg-info", "artifacts"))
    return kit


def _run(kit: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    # The copy's grader, not the one installed: its folder first on the path, run from it.
    env = {**os.environ, "PYTHONPATH": str(kit), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, *args], cwd=kit, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _changed(kit: Path) -> list[str]:
    changed = []
    for folder in ("grader", "exercises", "solutions"):
        for path in sorted((kit / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(kit).as_posix()
            original = ROOT / rel
            if not original.is_file() or original.read_bytes() != path.read_bytes():
                changed.append(rel)
    return changed


@pytest.fixture(scope="module")
def kit_with_sin(tmp_path_factory):
    kit = _copy_kit(tmp_path_factory.mktemp("contributing"))
    touched = apply_recipe(kit)
    return kit, touched


def test_adding_a_step_touches_at_most_six_files(kit_with_sin):
    kit, touched = kit_with_sin
    assert sorted(_changed(kit)) == sorted(touched)
    assert len(touched) <= 6


def test_the_new_step_is_graded_from_the_table_alone(kit_with_sin):
    kit, _ = kit_with_sin
    graded = json.loads(_run(kit, "-m", "grader", "solutions", "--json").stdout)
    by_id = {s["id"]: s for s in graded["steps"]}
    assert by_id["sin"]["points"] == by_id["sin"]["max_points"] == 10
    assert graded["score"] == graded["max_score"] == 100
    stubs = json.loads(_run(kit, "-m", "grader", "exercises", "--json").stdout)
    assert {s["id"]: s["state"] for s in stubs["steps"]}["sin"] == "not started"
    # The scoreboard and the steps table list it where the table puts it.
    shown = _run(kit, "-m", "grader", "steps").stdout
    assert shown.index("sin") < shown.index("backward")


def test_a_bug_in_the_new_step_costs_points_in_that_step_only(kit_with_sin, tmp_path):
    kit, _ = kit_with_sin
    buggy = tmp_path / "buggy"
    shutil.copytree(kit / "solutions", buggy)
    engine = buggy / "engine.py"
    engine.write_text(engine.read_text(encoding="utf-8").replace(
        "math.cos(self.data) * out.grad", "math.cos(out.data) * out.grad"), encoding="utf-8")
    graded = json.loads(_run(kit, "-m", "grader", str(buggy), "--json").stdout)
    lost = {s["id"] for s in graded["steps"] if s["points"] < s["max_points"]}
    assert lost == {"sin"}


def test_the_notebook_has_a_cell_for_the_new_step_and_grades_it(kit_with_sin, tmp_path):
    kit, _ = kit_with_sin
    book = tmp_path / "micrograd.ipynb"
    built = _run(kit, "-m", "grader", "notebook", "--solutions", "--out", str(book))
    assert built.returncode == 0, built.stderr
    cells = json.loads(book.read_text(encoding="utf-8"))["cells"]
    assert any("## Step 4: Activation: Value.sin" in "".join(c["source"]) for c in cells)
    graded = json.loads(_run(kit, "-m", "grader", str(book), "--json").stdout)
    assert {s["id"]: s["points"] for s in graded["steps"]}["sin"] == 10
    assert graded["score"] == 100


def test_the_curriculum_self_check_passes_with_the_new_step(kit_with_sin):
    kit, _ = kit_with_sin
    # Work begun on an earlier release has no sin: a new step changes what it scores, which is
    # why the recipe says to note it in the release notes.
    proc = _run(kit, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_curriculum.py",
                "-k", "not earlier_release", timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
