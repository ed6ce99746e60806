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
def test_a_single_bug_loses_points_in_its_own_step(name, tmp_path):
    fixture_submission(name, tmp_path)
    spec = json.loads((FIXTURES / name / "mutation.json").read_text(encoding="utf-8"))
    result = grade(tmp_path)
    buggy = result.step(spec["step"])
    assert buggy.points < buggy.max_points, f"{name} ({spec['why']}) kept every {spec['step']} point"
    assert buggy.state in ("partly passed", "failed"), buggy.state
    # Other steps keep all their points, or say which step their failures come from.
    for step in result.steps:
        if steps.get(step.id).bonus and step.state == "not started":
            continue      # the fixture has no extensions.py: its bonus is simply not started
        if step.id != spec["step"]:
            assert step.passed or step.blocked_by == spec["step"], (name, step.id, failing(result))


@pytest.mark.parametrize("name", ["alt_kahn_tuple_prev", "alt_loop_neuron",
                                  "alt_dataclass_recursive", "alt_slots_graphlib"])
def test_correct_engines_written_differently_score_100(name, tmp_path):
    result = grade(fixture_submission(name, tmp_path))
    assert result.score == 100, failing(result)
    assert result.settings["protections"]["admission"] and result.problems == []


def test_two_runs_give_identical_results(tmp_path):
    path = fixture_submission("mul_not_swapped", tmp_path)
    first, second = grade(path).as_dict(), grade(path).as_dict()
    for data in (first, second):
        data.pop("seconds")
    assert first == second
