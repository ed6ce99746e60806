"""The kit end to end: solutions, stubs, step-by-step progress, single bugs, valid alternatives."""

from __future__ import annotations

import json

import pytest

from grader import steps
from conftest import FIXTURES, failing, fixture_submission, grade, mutation_fixtures, partly_done


def test_solutions_score_100(solutions_result):
    assert solutions_result.score == 100
    assert solutions_result.bonus_score == steps.BONUS_POINTS
    assert [s.state for s in solutions_result.steps] == ["passed"] * len(steps.STEPS)
    assert failing(solutions_result) == {}


def test_stubs_score_0_and_every_step_is_not_started(stubs_result):
    assert stubs_result.score == 0
    assert {s.id: s.state for s in stubs_result.steps} == {s: "not started" for s in steps.STEP_IDS}
    assert stubs_result.next_step.id == "add"
    assert stubs_result.steps[0].todo.startswith("engine.py:")


def test_only_add_done_scores_exactly_the_add_points(tmp_path):
    result = grade(partly_done(["add"], tmp_path))
    assert result.score == steps.get("add").points
    assert result.step("add").state == "passed"
    assert [s.state for s in result.steps[1:]] == ["not started"] * (len(steps.STEPS) - 1)


def test_filling_in_the_todos_step_by_step_raises_the_score_step_by_step(tmp_path):
    done: list[str] = []
    previous = 0.0
    for step in steps.STEPS:
        if not step.todos:
            continue
        done.append(step.id)
        result = grade(partly_done(done, tmp_path / "_".join(done)))
        for step_id in done:
            assert result.step(step_id).state == "passed", (step_id, failing(result))
        assert result.score + result.bonus_score > previous
        previous = result.score + result.bonus_score
        if step.id == "training":
            assert result.score == 100 and result.bonus_score == 0
    assert previous == 100 + steps.BONUS_POINTS


@pytest.mark.parametrize("name", mutation_fixtures())
def test_a_single_bug_loses_points_in_its_own_step_only(name, graded_fixture):
    spec = json.loads((FIXTURES / name / "mutation.json").read_text(encoding="utf-8"))
    result = graded_fixture(name)
    buggy = result.step(spec["step"])
    assert buggy.points < buggy.max_points, f"{name} ({spec['why']}) kept every {spec['step']} point"
    assert buggy.state in ("partly passed", "failed"), buggy.state
    # Every other step is graded on its own. The only checks elsewhere that may fail run the
    # whole engine end to end, and they name the buggy step as the cause.
    elsewhere = 0.0
    for step in result.steps:
        if step.id == spec["step"] or (steps.get(step.id).bonus and step.state == "not started"):
            continue      # a fixture without extensions.py has simply not started the bonus
        for check in step.checks:
            if check.passed or check.weight == 0 or check.state == "credited":
                continue
            # A checkpoint (no points) built on the buggy step's code says so.
            assert (check.end_to_end or check.max_points == 0) and \
                check.blocked_by == spec["step"], (name, check.number, check.message,
                                                   failing(result))
            if not steps.get(step.id).bonus:
                elsewhere += check.max_points
    # ... and what they cost stays small beside the step's own points.
    assert elsewhere <= END_TO_END_SHARE, (name, elsewhere)


END_TO_END_SHARE = 5.0    # the training step's end-to-end runs, at most


def correct_fixtures() -> list[str]:
    """Correct engines and networks written in other ways than the solutions."""
    names = []
    for folder in sorted(FIXTURES.iterdir()):
        spec_file = folder / "mutation.json"
        if folder.name.startswith("alt_") and not spec_file.exists():
            names.append(folder.name)
        elif spec_file.exists() and json.loads(spec_file.read_text(encoding="utf-8")).get("correct"):
            names.append(folder.name)
    return names


@pytest.mark.parametrize("name", correct_fixtures())
def test_correct_code_written_differently_scores_full_marks_and_names_no_mistake(name,
                                                                             graded_fixture):
    result = graded_fixture(name)
    assert result.score == 100, failing(result)
    assert all(s.passed for s in result.steps if not (steps.get(s.id).bonus and
                                                     s.state == "not started")), failing(result)
    assert result.settings["protections"]["admission"] and result.problems == []
    # Advice (checks of weight 0, such as on a recursive backward()) may still be given.
    assert [c.diagnosis for s in result.steps for c in s.checks
            if c.diagnosis and c.weight > 0 and s.state != "not started"] == []


def test_two_runs_give_identical_results(tmp_path):
    path = fixture_submission("mul_not_swapped", tmp_path)
    first, second = grade(path).as_dict(), grade(path).as_dict()
    for data in (first, second):
        data.pop("seconds")
    assert first == second


def test_a_step_graded_alone_is_scored_and_explained_as_in_the_full_run(graded_fixture,
                                                                          tmp_path):
    # backward_orders_by_id passes a quick look at backward(): only backward's own checks show
    # that training's end-to-end run fails because of it. --step runs them too.
    full = graded_fixture("backward_orders_by_id").step("training")
    alone = grade(fixture_submission("backward_orders_by_id", tmp_path), only=["training"])
    assert [s.id for s in alone.steps] == ["training"]
    # Charged once, to backward: training's own checks all pass, so its run is credited.
    assert alone.step("training").points == full.points == full.max_points
    assert [c.state for c in full.checks if c.end_to_end] == ["credited"]

    def seen(step):
        return [(c.number, c.passed, c.blocked_by, c.diagnosis) for c in step.checks]
    assert seen(alone.step("training")) == seen(full)
    assert any(c.blocked_by == "backward" for c in full.checks)
