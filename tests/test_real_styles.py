"""Code written the way real learners write it (tests/fixtures/REAL_STYLES.md): every correct
engine in every style gets full marks through the tutorial's public API, and a single bug in one
of those styles costs points in its own step only, named there."""

from __future__ import annotations

import json
import shutil

import pytest

from grader import steps
from conftest import FIXTURES, failing, grade

CORRECT = sorted(p.name for p in FIXTURES.iterdir() if p.name.startswith("real_"))
BUGS = sorted(p.name for p in FIXTURES.iterdir() if p.name.startswith("realbug_"))


@pytest.fixture(scope="module")
def graded_style(tmp_path_factory):
    done = {}

    def get(name):
        if name not in done:
            done[name] = grade(style_submission(name, tmp_path_factory.mktemp(name) / name))
        return done[name]
    return get


def style_submission(name: str, folder):
    """A copy of a style's folder, as a batch would see it (no STYLE.md); a realbug_ one is
    its base with the changes of its bug.json made."""
    bug = json.loads((FIXTURES / name / "bug.json").read_text(encoding="utf-8")) \
        if name.startswith("realbug_") else None
    shutil.copytree(FIXTURES / (bug["based_on"] if bug else name), folder,
                    ignore=shutil.ignore_patterns("*.md"))
    for change in (bug or {}).get("changes", []):
        file = folder / change["file"]
        old, new = change["replace"]
        text = file.read_text(encoding="utf-8")
        assert text.count(old) == 1, (name, change["file"])
        file.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def core_diagnoses(result):
    return [c.diagnosis for s in result.core_steps for c in s.checks
            if c.diagnosis and c.weight > 0 and c.state != "credited"]


def test_the_styles_cover_what_real_learners_write():
    assert len(CORRECT) >= 12 and len(BUGS) >= 8
    for name in CORRECT:
        assert (FIXTURES / name / "engine.py").exists() and (FIXTURES / name / "STYLE.md").exists()


@pytest.mark.parametrize("name", CORRECT)
def test_a_correct_engine_in_any_style_gets_full_marks(name, graded_style):
    result = graded_style(name)
    assert result.score == 100, failing(result)
    assert all(s.passed for s in result.core_steps), failing(result)
    assert core_diagnoses(result) == [] and result.problems == []


@pytest.mark.parametrize("name", BUGS)
def test_a_single_bug_in_a_real_style_costs_points_in_its_own_step_only(name, graded_style):
    bug = json.loads((FIXTURES / name / "bug.json").read_text(encoding="utf-8"))
    result = graded_style(name)
    step = result.step(bug["step"])
    assert step.points < step.max_points, (name, bug["why"])
    for other in result.core_steps:
        if other.id != bug["step"]:
            assert other.points == other.max_points, (name, other.id, failing(result))
    # The mistake is named in its own step, and the base it was made from names none.
    assert any(c.diagnosis or c.message for c in step.checks if not c.earned)
    if "names" in bug:
        assert any(bug["names"] in (c.diagnosis or "") for c in step.checks if not c.earned), \
            (name, [c.diagnosis for c in step.checks if not c.earned])


def test_the_microgpt_style_is_graded_on_its_local_derivatives_and_says_so(graded_style):
    result = graded_style("real_microgpt_local_grads")
    assert any("_local_grads" in note for note in result.notes)
    buggy = graded_style("realbug_microgpt_mul_not_swapped")
    named = [c.diagnosis for c in buggy.step("mul").checks if c.diagnosis]
    assert named and "own value" in named[0] and "_local_grads" in named[0]
    assert "_backward" not in named[0]


def test_unused_numpy_and_matplotlib_imports_cost_nothing_and_are_noted(graded_style):
    result = graded_style("real_numpy_matplotlib_imports")
    assert result.score == 100
    assert any("numpy" in note and "costs nothing" in note for note in result.notes)


def test_a_helper_module_of_the_students_own_is_imported(graded_style):
    assert graded_style("real_topo_module").score == 100
    buggy = graded_style("realbug_topo_module_reversed_twice")
    assert buggy.step("backward").points < 20
    assert buggy.score == pytest.approx(100 - (20 - buggy.step("backward").points))


def test_model_zero_grad_works_in_train_step_on_the_students_own_network(graded_style):
    result = graded_style("real_module_zero_grad")
    assert result.step("training").passed
    assert not any("kit's own network" in note for note in result.notes)


def test_a_mean_loss_is_graded_for_what_it_gets_right(graded_style):
    training = graded_style("realbug_mean_loss").step("training")
    assert training.max_points * 0.8 < training.points < training.max_points
    failed = [c for c in training.checks if not c.earned and c.weight > 0]
    assert [c.title for c in failed] == ["the loss is the tutorial's: the sum of the squared "
                                         "errors"]
    assert "4 times smaller" in (failed[0].diagnosis or "")


def test_a_bias_missing_from_parameters_costs_only_the_parameters_check(graded_style):
    neuron = graded_style("realbug_neuron_parameters_no_bias").step("neuron")
    failed = [c for c in neuron.checks if not c.passed and c.weight > 0]
    assert len(failed) == 1 and "not the bias" in (failed[0].diagnosis or "")
    assert neuron.points > neuron.max_points * 0.7


@pytest.mark.parametrize("name", ["real_label_second_positional", "real_dataclass_value",
                                  "real_op_renamed_label_repr", "real_parents_kahn"])
def test_constructors_and_attribute_names_of_any_kind_grade_the_backward_step(name,
                                                                             graded_style):
    assert graded_style(name).step("backward").passed


def test_every_step_of_the_kit_is_exercised_by_some_style(graded_style):
    # Sanity: the styles are not all bonus-less copies of one engine.
    with_bonus = [n for n in CORRECT if (FIXTURES / n / "extensions.py").exists()]
    assert with_bonus
    assert any(graded_style(n).step("softmax").passed for n in with_bonus)
    assert {s.id for s in steps.CORE_STEPS} == {s.id for s in graded_style(CORRECT[0]).core_steps}


def test_a_class_handing_in_every_style_is_graded_in_a_batch_as_each_alone(graded_style,
                                                                           tmp_path):
    """A realistic class: every style and every single bug in one folder, graded as a batch
    (two at a time), gets the totals each gets alone: correct ones 100, each bug less."""
    import csv
    import io

    from grader.commands.batch import run_batch

    for name in CORRECT + BUGS:
        style_submission(name, tmp_path / "class" / name)
    out = tmp_path / "grades.csv"
    run_batch(tmp_path / "class", out, jobs=2, stream=io.StringIO())
    with open(out, newline="", encoding="utf-8-sig") as handle:
        totals = {row["student"]: float(row["total"]) for row in csv.DictReader(handle)}
    assert sorted(totals) == sorted(CORRECT + BUGS)
    for name in CORRECT:
        assert totals[name] == 100, name
    for name in BUGS:
        assert totals[name] == graded_style(name).score < 100, name
