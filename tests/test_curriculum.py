"""The curriculum lints itself: mirrored trees, one step table, stubs that say which step they are."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from grader import steps
from grader.intake import given
from grader.intake.todos import todo_status
from conftest import EXERCISES, FIXTURES, ROOT, SOLUTIONS, fixture_submission, grade, splice


def _public_api(path):
    """name -> argument list, for top-level functions, classes and their methods."""
    api = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef):
            api[node.name] = ast.unparse(node.args)
        elif isinstance(node, ast.ClassDef):
            api[node.name] = "class"
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    api[f"{node.name}.{item.name}"] = ast.unparse(item.args)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    api[target.id] = "value"
    return api


@pytest.mark.parametrize("name", steps.ALL_FILES)
def test_exercises_and_solutions_have_the_same_public_names_and_signatures(name):
    assert _public_api(EXERCISES / name) == _public_api(SOLUTIONS / name)


def _todo_raises(path):
    """(function, step named in its NotImplementedError) for every stub raise in the file."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    item.qualname = f"{node.name}.{item.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Raise) and isinstance(inner.exc, ast.Call) and \
                        getattr(inner.exc.func, "id", "") == "NotImplementedError":
                    message = inner.exc.args[0].value
                    found.append((getattr(node, "qualname", node.name), message))
    return found


def test_every_todo_raises_not_implemented_error_naming_a_declared_step():
    declared = {(s.file, todo): s.id for s in steps.STEPS for todo in s.todos}
    seen = set()
    for name in steps.ALL_FILES:
        for function, message in _todo_raises(EXERCISES / name):
            assert message.startswith("TODO("), message
            step_id = message[len("TODO("):message.index(")")]
            assert step_id in steps.STEP_IDS, message
            assert declared.get((name, function)) == step_id, (name, function, message)
            seen.add((name, function))
    assert seen == set(declared), "every TODO declared in the step table is a stub, and back"


def test_solutions_have_no_todo_left():
    for name in steps.ALL_FILES:
        assert _todo_raises(SOLUTIONS / name) == []
        assert "TODO(" not in (SOLUTIONS / name).read_text(encoding="utf-8")


def test_step_table_is_consistent():
    assert steps.TOTAL_POINTS == 100
    assert len(set(steps.STEP_IDS)) == len(steps.STEPS)
    for position, step in enumerate(steps.STEPS):
        # Prerequisites come earlier, so they are graded first.
        assert all(steps.STEP_IDS.index(n) < position for n in step.needs)
        assert step.hint and step.title and step.points >= 0
        # A checkpoint (no points) is given code only: no step pays for the kit's code.
        assert step.points > 0 or (not step.todos and not step.bonus)


@pytest.mark.parametrize("name", steps.ALL_FILES)
def test_every_function_handed_out_is_a_todo_or_declared_given(name):
    # Given code is graded too (through the end-to-end runs and the given-operations check):
    # the table must know every function a student receives, and nothing that is not there.
    functions = {n for n, kind in _public_api(EXERCISES / name).items()
                 if kind not in ("class", "value")}
    todos = {t for s in steps.STEPS if s.file == name for t in s.todos}
    given = set(steps.GIVEN.get(name, ()))
    assert todos.isdisjoint(given)
    assert functions == todos | given, (functions - todos - given, (todos | given) - functions)


def test_every_step_has_checks_and_every_check_names_a_step():
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "grader" / "checks").glob("check_*.py"))
    for step_id in steps.STEP_IDS:
        assert f'STEP = "{step_id}"' in text


def test_todo_location_points_at_the_todo_comment():
    for step in steps.STEPS:
        status = todo_status(EXERCISES, step)
        if step.todos:
            assert status.untouched == step.todos
            file, line = status.location.split(":")
            text = (EXERCISES / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]
            assert f"TODO({step.id})" in text


def _committed(path: str) -> str | None:
    """A file of the kit as the last commit has it; None without git, or outside a checkout."""
    try:
        shown = subprocess.run(["git", "show", f"HEAD:{path}"], cwd=ROOT, capture_output=True,
                               timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shown.stdout.decode("utf-8").replace("\r\n", "\n") if shown.returncode == 0 else None


@pytest.mark.parametrize("name", steps.ALL_FILES)
def test_the_pristine_stubs_are_exercises_as_committed(name):
    # grader/starter is what `init`, `notebook` and `release` hand out; exercises/ is where a
    # student in a checkout works. Compared with exercises/ as committed, so that a student's
    # work there never fails this test; a change made to both folders, not yet committed, passes.
    pristine = (ROOT / "grader" / "starter" / name).read_text(encoding="utf-8")
    working = (EXERCISES / name).read_text(encoding="utf-8")
    committed = _committed(f"exercises/{name}")
    assert pristine in ({working} if committed is None else {committed, working}), (
        f"grader/starter/{name} differs from exercises/{name}: make a change to a stub in both")


@pytest.mark.parametrize("tree", ["exercises", "grader/starter", "solutions"])
def test_stub_and_solution_files_import_without_error(tree):
    code = "import engine, nn, train, extensions"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT / tree, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_train_script_trains_with_the_solutions_and_explains_itself_with_the_stubs():
    done = subprocess.run([sys.executable, "train.py"], cwd=SOLUTIONS, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    losses = [float(line.split()[-1]) for line in done.stdout.splitlines()
              if line.startswith("step")]
    assert len(losses) == 5 and losses[-1] < losses[0] / 10
    assert "predictions" in done.stdout
    stub = subprocess.run([sys.executable, "train.py"], cwd=EXERCISES, capture_output=True,
                          text=True, timeout=60)
    assert stub.returncode == 1
    assert "TODO(neuron)" in stub.stdout and "Traceback" not in stub.stdout + stub.stderr


RELEASES = sorted(p for p in (FIXTURES / "releases").iterdir() if p.is_dir())


@pytest.mark.parametrize("release", RELEASES, ids=lambda p: p.name)
def test_work_begun_on_an_earlier_release_grades_as_it_would_have(release, tmp_path):
    # That release's files, given code included, with every TODO written as in solutions/.
    for path in release.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        todos = [t for s in steps.STEPS if s.file == path.name for t in s.todos
                 if f"def {t.split('.')[-1]}(" in source]     # that release's TODOs only
        text = splice(source, (SOLUTIONS / path.name).read_text(encoding="utf-8"), todos)
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    result = grade(tmp_path)
    assert result.score == 100 and result.problems == [], result.problems
    has_bonus = (release / steps.EXTENSION_FILE).exists()
    assert result.bonus_score == (30 if has_bonus else 0)
    if not has_bonus:
        assert {s.state for s in result.bonus_steps} == {"not started"}


def test_the_given_code_of_every_release_is_known_and_a_change_is_seen(tmp_path):
    # grader/data/given.json: the fingerprints of the code the kit hands out complete, in every
    # release. A submission's given code is "changed" only when it matches none of them.
    trees = [EXERCISES, SOLUTIONS, *sorted(p for p in (FIXTURES / "releases").iterdir()
                                           if p.is_dir())]
    assert given.known() == given.known_from(trees), (
        "grader/data/given.json is out of date: write json.dumps(given.known_from(trees), "
        "indent=1) into it, with the trees of this test")
    assert all(given.changed(tree) == () for tree in trees)
    changed = fixture_submission("given_pow_changed", tmp_path / "pow")
    assert given.changed(changed) == ("Value.__pow__",)
