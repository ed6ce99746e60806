"""One total everywhere: the same submission gets the same points graded locally, in a batch, on
Gradescope, on PrairieLearn and on GitHub Classroom (partial steps included)."""

from __future__ import annotations

import csv
import io

import pytest

from grader.commands.batch import run_batch
from grader.report import classroom, gradescope, prairielearn
from conftest import SOLUTIONS, copy_tree, fixture_submission, grade

# A clean engine; a bug whose step keeps partial points; a bug whose end-to-end run is
# credited to its own step; a bug in train_step's loss only; a bug in the neuron.
CASES = ["solutions", "mul_half_swapped", "backward_orders_by_id", "training_mean_loss",
         "neuron_bias_not_a_parameter"]


def _folder(name: str, target):
    if name == "solutions":
        return copy_tree(SOLUTIONS, target)
    return fixture_submission(name, target)


def _classroom_total(result) -> float:
    total = 0.0
    for test in classroom.runner_result(result)["tests"]:
        total += test["score"]             # as the reporter adds them up
    return total


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    top = tmp_path_factory.mktemp("class")
    for name in CASES:
        _folder(name, top / name)
    return top


@pytest.fixture(scope="module")
def batch_totals(class_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "grades.csv"
    run_batch(class_folder, out, jobs=2, stream=io.StringIO())
    with open(out, newline="", encoding="utf-8-sig") as handle:
        return {row["student"]: float(row["total"]) for row in csv.DictReader(handle)}


@pytest.mark.parametrize("name", CASES)
def test_every_mode_gives_the_same_total(name, class_folder, batch_totals):
    result = grade(class_folder / name)
    score = result.score
    assert batch_totals[name] == score
    assert gradescope.results_json(result)["score"] == score
    assert round(prairielearn.results_json(result)["score"] * result.max_score, 2) == score
    assert _classroom_total(result) == score
    assert classroom.runner_result(result)["max_score"] == result.max_score == 100


def test_the_cases_cover_partial_and_credited_steps(class_folder):
    partial = grade(class_folder / "mul_half_swapped").step("mul")
    assert 0 < partial.points < partial.max_points
    credited = grade(class_folder / "backward_orders_by_id").step("training")
    assert any(c.state == "credited" for c in credited.checks)
