"""The kit as a notebook: built from the same sources, graded by cell, and run in a kernel."""

from __future__ import annotations

import copy
import json
import re
import shutil
import zipfile

import nbformat
import pytest

from grader import steps
from grader.commands.notebook import build, write
from grader.limits import Limits
from grader.report.text import scoreboard
from conftest import EXERCISES, SOLUTIONS, failing, grade


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb")
    return {"solutions": write(folder / "solutions.ipynb", solutions=True),
            "stubs": write(folder / "stubs.ipynb")}


def _load(path):
    return nbformat.read(str(path), as_version=4)


def _save(nb, path):
    nbformat.write(nb, str(path))
    return path


def _cell(nb, part):
    return next(c for c in nb.cells if (c.metadata.get("micrograd_kit") or {}).get("part") == part)


def test_built_notebooks_are_valid_and_walk_through_every_step(books):
    for path in books.values():
        nb = _load(path)
        nbformat.validate(nb)
        parts = [(c.metadata.get("micrograd_kit") or {}) for c in nb.cells]
        # The whole course: every step has its check cell, the bonus ones included.
        assert [p["check"] for p in parts if "check" in p] == list(steps.STEP_IDS)
        assert {p["example"] for p in parts if "example" in p} == {
            "example_neuron", "example_network", "example_training", "example_classifier"}
        assert parts[1] == {"setup": True}       # the first code cell: the grader in the kernel
        todo_steps = {p.get("step") for p, c in zip(parts, nb.cells) if "TODO(" in c.source}
        assert todo_steps <= {p["check"] for p in parts if "check" in p}
        # A notebook speaks of check() and hint(), never of the command line.
        assert not any("python -m grader" in c.source for c in nb.cells if c.cell_type == "code")
        for cell in nb.cells:
            meta = cell.metadata.get("micrograd_kit") or {}
            if "part" in meta:
                first = cell.source.splitlines()[0]
                assert first.startswith(f"# micrograd-kit {meta['module']}:{meta['part']}")


def test_the_notebook_is_built_from_the_source_files():
    # Nothing in it is hand-maintained: every step's code is the tree's own code.
    for tree in (EXERCISES, SOLUTIONS):
        nb = build(tree)
        text = (tree / "nn.py").read_text(encoding="utf-8")
        neuron = _cell(nb, "neuron").source.split("\n", 1)[1]
        assert neuron.replace('")', '') in text.replace(' in nn.py")', '')


def test_solutions_notebook_scores_100_and_stubs_0(books):
    solved = grade(books["solutions"])
    assert solved.score == 100 and solved.bonus_score == steps.BONUS_POINTS, failing(solved)
    stubs = grade(books["stubs"])
    assert stubs.score == 0
    assert {s.state for s in stubs.steps} == {"not started"}
    assert stubs.step("add").todo.startswith("line ")
    assert stubs.step("add").todo.endswith('of the cell starting "# micrograd-kit engine:add"')


def test_filling_in_one_step_earns_that_steps_points(books, tmp_path):
    nb = _load(books["stubs"])
    _cell(nb, "add").source = _cell(_load(books["solutions"]), "add").source
    result = grade(_save(nb, tmp_path / "mine.ipynb"))
    assert result.score == steps.get("add").points
    assert result.step("add").passed


def test_one_buggy_cell_loses_points_in_its_step_only(books, tmp_path):
    nb = _load(books["solutions"])
    cell = _cell(nb, "mul")
    cell.source = cell.source.replace(
        "self.grad += other.data * out.grad\n        other.grad += self.data * out.grad",
        "self.grad += self.data * out.grad\n        other.grad += other.data * out.grad")
    assert "self.grad += self.data" in cell.source
    result = grade(_save(nb, tmp_path / "bug.ipynb"))
    assert not result.step("mul").passed
    for step in result.core_steps:
        assert step.id == "mul" or all(c.passed or c.weight == 0 or c.blocked_by == "mul"
                                       for c in step.checks)
    assert any("own value (.data) as its local derivative" in (c.diagnosis or "")
               for c in result.step("mul").checks)


def test_lost_metadata_and_markers_still_grade(books, tmp_path):
    nb = _load(books["solutions"])
    no_meta = copy.deepcopy(nb)
    for cell in no_meta.cells:
        cell.metadata = {}
    assert grade(_save(no_meta, tmp_path / "no_meta.ipynb")).score == 100
    # Pasted into a new notebook: no metadata, no marker lines, found by what the cells define.
    bare = copy.deepcopy(no_meta)
    for cell in bare.cells:
        if cell.cell_type == "code" and cell.source.startswith("# micrograd-kit"):
            cell.source = cell.source.split("\n", 1)[1]
    assert grade(_save(bare, tmp_path / "bare.ipynb")).score == 100


@pytest.mark.parametrize("junk", ["engine", ["engine", "add"], 3, {"module": ["engine"]}])
def test_metadata_of_the_wrong_kind_is_read_as_none(books, tmp_path, junk):
    nb = _load(books["solutions"])
    for cell in nb.cells:
        if "micrograd_kit" in cell.metadata:
            cell.metadata["micrograd_kit"] = junk
    assert grade(_save(nb, tmp_path / "junk.ipynb")).score == 100


def test_the_last_cell_of_a_step_wins(books, tmp_path):
    nb = _load(books["solutions"])
    good = _cell(nb, "add")
    bad = copy.deepcopy(good)
    bad.source = bad.source.replace("self.grad += out.grad", "self.grad = out.grad")
    bad["id"] = "duplicate-add"
    position = nb.cells.index(good)
    earlier = copy.deepcopy(nb)
    earlier.cells.insert(position, bad)
    assert grade(_save(earlier, tmp_path / "earlier.ipynb")).step("add").passed
    later = copy.deepcopy(nb)
    later.cells.insert(position + 1, bad)
    assert not grade(_save(later, tmp_path / "later.ipynb")).step("add").passed


def test_magics_shell_lines_and_outputs_are_ignored(books, tmp_path):
    nb = _load(books["solutions"])
    cell = _cell(nb, "tanh")
    cell.source += "\n%timeit 1 + 1\n!pip list\n"
    cell.outputs = [nbformat.v4.new_output("stream", text="stale output\n")]
    assert grade(_save(nb, tmp_path / "magic.ipynb")).score == 100


def test_messages_name_the_cell_and_line(books, tmp_path):
    nb = _load(books["solutions"])
    cell = _cell(nb, "neuron")
    cell.source += "\n    def oops(:\n"
    result = grade(_save(nb, tmp_path / "syntax.ipynb"))
    lines = cell.source.count("\n")
    assert result.problems == [
        f'line {lines} of the cell starting "# micrograd-kit nn:neuron": the cell is not valid '
        f'Python (SyntaxError: invalid syntax); it was graded as a new notebook has it (its '
        f'step not started), the other cells as they are'], result.problems
    # Run, a cell shows its execution count: messages use it, as Jupyter shows it.
    for count, code in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        code.execution_count = count
    ran = grade(_save(nb, tmp_path / "ran.ipynb"))
    assert f"In [{cell.execution_count}] line {lines}:" in ran.problems[0], ran.problems
    # The same count shown twice (a kernel restarted) names no cell: the first line does.
    _cell(nb, "base").execution_count = cell.execution_count
    twice = grade(_save(nb, tmp_path / "twice.ipynb"))
    assert "In [" not in twice.problems[0] and "cell starting" in twice.problems[0]


FILE_WORDS = re.compile(r"\b(engine|nn|train|extensions)\.py\b|exercises/|\bcell \d+ line")


def _mistake(books, tmp_path, name, part, edit):
    nb = _load(books["solutions"])
    if part is None:
        edit(nb)
    else:
        cell = _cell(nb, part)
        cell.source = edit(cell.source)
    return grade(_save(nb, tmp_path / f"{name}.ipynb"))


@pytest.mark.parametrize("name, part, edit, words", [
    ("import_fails", "base", lambda s: s + "\nraise RuntimeError('boom')\n",
     'the Value cells could not be run: RuntimeError: boom at line'),
    ("refused", "add", lambda s: s + "\nx = eval('1')\n",
     'the Value cells were not run: line'),
    ("no_network", None, lambda nb: nb.cells.__setitem__(slice(None), [
        c for c in nb.cells if (c.metadata.get("micrograd_kit") or {}).get("module") != "nn"]),
     "the Neuron and MLP cells are not in the notebook"),
    ("returns_a_number", "training", lambda s: s.replace("return loss", "return loss.data"),
     'the cell under "The training run" would stop there'),
    ("buggy_mul", "mul", lambda s: s.replace("self.grad += other.data * out.grad",
                                             "self.grad += self.data * out.grad"),
     'buggy_mul.ipynb, line 3 of the cell starting "# micrograd-kit engine:mul"'),
])
def test_feedback_on_a_notebook_names_cells_and_never_a_file(books, tmp_path, name, part, edit,
                                                             words):
    from grader.report.markdown import feedback
    from grader.report.text import scoreboard
    result = _mistake(books, tmp_path, name, part, edit)
    assert result.notebook == "saved"
    for text in (scoreboard(result), scoreboard(result, commands=False), feedback(result)):
        assert words in text, text
        assert not FILE_WORDS.search(text), FILE_WORDS.search(text)
        assert "Grading provides no" not in text


def test_a_finished_notebook_is_told_of_its_training_run_cell_not_a_script(books):
    from grader.report.text import TRAINING_RUN_CELL, scoreboard
    text = scoreboard(grade(books["solutions"]), commands=True)
    assert f"Run {TRAINING_RUN_CELL} to watch your network learn." in text
    assert "python exercises/train.py" not in text
    headings = [c.source for c in _load(books["solutions"]).cells if c.cell_type == "markdown"]
    assert any(h.startswith("### The training run") for h in headings)


@pytest.mark.parametrize("content, words", [
    (b"{ this is not json", "not a valid Jupyter notebook"),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}).encode(),
     "old notebook"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                 "cells": [{"cell_type": "code", "metadata": {}, "source": "x = 1",
                            "outputs": [], "execution_count": None, "id": "a1"}]}).encode(),
     "no cell defining class Value"),
])
def test_a_file_that_cannot_be_graded_scores_0_with_the_reason(tmp_path, content, words):
    path = tmp_path / "hw.ipynb"
    path.write_bytes(content)
    result = grade(path)
    assert result.score == 0 and result.status == "invalid"
    assert any(words in p for p in result.problems), result.problems


def test_a_folder_or_zip_holding_a_notebook_is_graded(books, tmp_path):
    folder = tmp_path / "upload"
    folder.mkdir()
    shutil.copy(books["solutions"], folder / "micrograd.ipynb")
    assert grade(folder).score == 100
    archive = shutil.make_archive(str(tmp_path / "nb"), "zip", folder)
    assert grade(archive).score == 100


def test_the_solutions_notebook_runs_top_to_bottom_in_a_kernel(books, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = _load(books["solutions"])
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute(cwd=str(tmp_path))
    printed = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                        for o in c.get("outputs", []))
    for step in steps.STEP_IDS:
        assert f"{step} passed" in printed
    assert "has 41 parameters" in printed and "final loss" in printed
    assert "test accuracy:" in printed and "is ready" in printed
    assert "o = 0.7071" in printed and "x1.grad = -1.5000" in printed


def test_a_student_fills_in_a_step_in_the_kernel_and_its_check_passes(books, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = _load(books["stubs"])
    _cell(nb, "add").source = _cell(_load(books["solutions"]), "add").source
    add_check = next(i for i, c in enumerate(nb.cells)
                     if (c.metadata.get("micrograd_kit") or {}).get("check") == "add")
    nb.cells = nb.cells[:add_check + 1]
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute(cwd=str(tmp_path))
    printed = "".join(o.get("text", "") for o in nb.cells[add_check].get("outputs", []))
    assert "PASS  add" in printed and "add passed" in printed
    # hint() works in the kernel too.
    asked = nbformat.v4.new_code_cell('hint("mul")')
    nb.cells.append(asked)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute(cwd=str(tmp_path))
    assert "mul: Multiplication" in "".join(o.get("text", "") for o in asked.get("outputs", []))


def test_a_zipped_notebook_folder_with_jupyter_checkpoints_grades_as_the_folder(books, tmp_path):
    folder = tmp_path / "hw"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    shutil.copy(books["solutions"], folder / "micrograd.ipynb")
    shutil.copy(books["stubs"], folder / ".ipynb_checkpoints" / "micrograd-checkpoint.ipynb")
    archive = tmp_path / "hw.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.rglob("*"):
            zf.write(path, path.relative_to(tmp_path))
    for handed_in in (archive, folder):
        result = grade(handed_in)
        assert (result.score, result.bonus_score) == (100, steps.BONUS_POINTS), handed_in


def test_in_a_kernel_feedback_names_cells_as_jupyter_numbers_them(books, tmp_path):
    # The course as a student runs it, top to bottom: add written, mul with a mistake, the rest
    # still stubs, and one check run before its step's cell.
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb, solved = _load(books["stubs"]), _load(books["solutions"])
    _cell(nb, "add").source = _cell(solved, "add").source
    _cell(nb, "mul").source = _cell(solved, "mul").source.replace(
        "self.grad += other.data * out.grad", "self.grad += self.data * out.grad")
    early = nbformat.v4.new_code_cell('check("neuron")')
    nb.cells.insert(nb.cells.index(_cell(nb, "base")) + 1, early)
    asked = nbformat.v4.new_code_cell('hint("mul")')
    nb.cells.append(asked)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute(cwd=str(tmp_path))

    def printed(cell):
        return "".join(o.get("text", "") for o in cell.get("outputs", []))
    checks = {c.metadata["micrograd_kit"]["check"]: printed(c) for c in nb.cells
              if "check" in (c.metadata.get("micrograd_kit") or {})}
    mul = _cell(nb, "mul").execution_count
    assert f"Next: mul (Multiplication: Value.__mul__), in this notebook, In [{mul}] line 3" \
        in checks["mul"], checks["mul"]
    assert "Run the cell of step neuron" in printed(early)
    last = printed(nb.cells[-2])           # the classifier's example: says what is left
    assert "Not yet: 1" not in last and "TODO(classifier)" in last and "run this one again" in last
    assert "mul: Multiplication" in printed(asked)
    for cell in nb.cells[2:]:
        if cell.cell_type == "code":
            assert not FILE_WORDS.search(printed(cell)), printed(cell)


def test_a_timeout_in_a_cell_names_the_loop_by_the_cells_lines(books, tmp_path):
    nb = _load(books["solutions"])
    cell = _cell(nb, "backward")
    assert "stack.pop()" in cell.source
    cell.source = cell.source.replace("node, inputs_placed = stack.pop()",
                                      "node, inputs_placed = stack[-1]")
    loop = next(k for k, line in enumerate(cell.source.splitlines(), 1)
                if line.strip().startswith("while stack"))
    result = grade(_save(nb, tmp_path / "loop.ipynb"), limits=Limits(check_timeout=2),
                   only=["backward"])
    said = "\n".join(c.diagnosis or "" for s in result.steps for c in s.checks)
    assert f"inside the loop that starts at line {loop} of the cell starting" in said, said
    assert "engine.py" not in said


def test_a_cell_that_is_not_valid_python_costs_its_own_step_only(books, tmp_path):
    nb = _load(books["solutions"])
    cell = _cell(nb, "mul")
    cell.source = cell.source.replace("out = Value(", "out = Value((", 1)
    result = grade(_save(nb, tmp_path / "syntax.ipynb"), limits=Limits(check_timeout=2))
    by_id = {s.id: s for s in result.steps}
    assert by_id["mul"].points == 0
    assert all(by_id[s].passed for s in ("add", "tanh", "backward", "neuron", "activations"))
    [said] = [p for p in result.problems if "not valid Python" in p]
    assert "the cell starting" in said and "not started" in said and "engine.py" not in said
    # What needs mul (the training run) is blamed on it, and credited: it costs mul only.
    assert by_id["training"].passed and by_id["classifier"].passed


def test_a_cells_first_line_cannot_write_to_the_terminal(books, tmp_path):
    nb = _load(books["solutions"])
    cell = _cell(nb, "mul")
    # No marker, no metadata, never run: the cell is named by its first line.
    cell.metadata = {}
    cell.source = "# \x1b[2J\x1b[H PASS every step 100/100\n" + "\n".join(
        line for line in cell.source.splitlines() if "micrograd-kit" not in line).replace(
        "self.grad += other.data * out.grad", "self.grad += self.data * out.grad")
    result = grade(_save(nb, tmp_path / "escape.ipynb"), limits=Limits(check_timeout=2))
    assert result.step("mul").points < 10
    shown = scoreboard(result)
    assert "\x1b" not in shown and "\\x1b[2J" in shown
