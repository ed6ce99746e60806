"""The score layer on its own: check records and a submission's facts in, a result out. No
sandbox, no student code: each scoring rule is checked with plain data."""

from __future__ import annotations

from grader import scoring, steps
from grader.intake.facts import Facts
from grader.intake.notebook import Rebuilt
from grader.intake.todos import TodoStatus
from grader.report.csv import status_of
from grader.results import CheckRecord

EVERY_FILE = frozenset(steps.ALL_FILES)


def record(step: str, n: int, passed: bool, weight: float = 1.0, **extra) -> CheckRecord:
    return CheckRecord(**{"number": f"{step}.{n}", "name": f"check_{n}", "step": step,
                          "title": f"check {n}", "weight": weight, "passed": passed,
                          "state": "passed" if passed else "failed",
                          "message": "" if passed else "got 1, expected 2", **extra})


def facts(**changes) -> Facts:
    todos = {s.id: TodoStatus((), f"{s.file}:1") for s in steps.STEPS}
    return Facts(**{"label": "ex", "present": EVERY_FILE, "todos": todos, **changes})


def test_a_step_whose_checks_all_pass_gets_its_points():
    result = scoring.grade(facts(), [record("add", 1, True), record("add", 2, True)], {})
    add = result.step("add")
    assert (add.state, add.points, add.max_points) == ("passed", 10.0, 10.0)
    assert result.score == 10.0 and result.status == "graded" and result.incident is None


def test_points_are_shared_by_weight_and_advice_counts_for_nothing():
    records = [record("mul", 1, True, weight=3), record("mul", 2, False, weight=1),
               record("mul", 3, False, weight=0)]
    mul = scoring.grade(facts(), records, {}).step("mul")
    assert mul.state == "partly passed" and mul.points == 7.5
    assert [c.max_points for c in mul.checks] == [7.5, 2.5, 0.0]
    only_advice_fails = scoring.grade(facts(), records[:1] + records[2:], {}).step("mul")
    assert only_advice_fails.state == "passed" and only_advice_fails.points == 10.0


def test_a_step_with_its_todo_untouched_or_raising_its_stub_is_not_started():
    todos = {**facts().todos, "tanh": TodoStatus(("Value.tanh",), "engine.py:40")}
    tanh = scoring.grade(facts(todos=todos), [record("tanh", 1, False)], {}).step("tanh")
    assert tanh.state == "not started" and tanh.todo == "engine.py:40"
    stub = {"kind": "not_implemented", "step": "tanh"}
    raised = scoring.grade(facts(), [record("tanh", 1, False, error=stub)], {}).step("tanh")
    assert raised.state == "not started"


def test_given_code_waiting_for_another_steps_todo_is_not_started():
    waiting = {"kind": "not_implemented", "step": "neuron"}
    network = scoring.grade(facts(), [record("network", k, False, error=waiting)
                                      for k in (1, 2)], {}).step("network")
    assert network.state == "not started" and network.points == 0


def test_the_bonus_without_its_file_is_not_started_and_apart_from_the_100_points():
    result = scoring.grade(facts(present=frozenset(steps.SUBMISSION_FILES)),
                           [record("softmax", 1, False), record("add", 1, True)], {})
    assert result.step("softmax").state == "not started"
    assert (result.score, result.max_score) == (10.0, 100.0)
    assert result.bonus_max == steps.BONUS_POINTS


def test_nothing_to_grade_and_a_failed_grading_are_zero_with_their_reason():
    bad = scoring.invalid(Facts("ex", ("no engine.py in ex",), invalid=True), {})
    assert (bad.status, bad.score, bad.reason) == ("invalid", 0.0, "no engine.py in ex")
    assert {s.state for s in bad.steps} == {"failed"}
    assert scoring.grade(Facts("ex", ("x",), invalid=True), [record("add", 1, True)],
                         {}).status == "invalid"
    broken = scoring.failed("ex", "the grader's own files changed", {"memory_mb": 1})
    assert (broken.status, broken.score, broken.problems[-1]) == \
        ("error", 0.0, "the grader's own files changed")
    assert len(broken.steps) == len(steps.STEPS) and broken.settings == {"memory_mb": 1}


def test_a_timeout_or_crash_is_a_field_of_the_result_not_a_phrase_to_find():
    hung = scoring.grade(facts(), [record("add", 1, False, error_kind="timeout",
                                          message="timed out after 5 s")], {})
    assert (hung.incident, hung.reason) == ("timed out", "add.1: timed out after 5 s")
    crashed = scoring.grade(facts(), [], {}, run_problems=[("exit", "engine.py called exit")])
    assert (crashed.incident, crashed.reason) == ("crashed", "engine.py called exit")
    assert "engine.py called exit" in crashed.problems
    # The same words in an ordinary failure say nothing about the run.
    wrong = scoring.grade(facts(), [record("add", 1, False, message="timed out? crashed?")], {})
    assert wrong.incident is None


def test_only_the_steps_asked_for_are_reported():
    result = scoring.grade(facts(), [record("add", 1, True), record("mul", 1, True)], {},
                           only=["mul"])
    assert [s.id for s in result.steps] == ["mul"] and result.score == 10.0


def test_a_notebooks_messages_name_its_cells():
    # As Jupyter shows them: a cell run once by its execution count, another by its first line.
    cells = Rebuilt(origin={"engine": [None, (4, 1), (4, 2), (7, 1)]},
                    names={4: 'the cell starting "class Value:"', 7: "In [7]"})
    failing = record("add", 1, False, message="TypeError at engine.py:3 in __add__",
                     diagnosis="see engine.py:4")
    result = scoring.grade(facts(cells=cells), [failing], {})
    add = result.step("add")
    assert add.checks[0].message == 'TypeError at line 2 of the cell starting "class Value:" ' \
        'in __add__'
    assert add.checks[0].diagnosis == "see In [7] line 1"
    assert result.notebook == "saved"


def test_text_from_a_submission_loses_its_control_characters():
    result = scoring.grade(facts(label="ex\x1b[2J"), [record("add", 1, False,
                                                            message="bad\x1b[31m red")], {})
    assert "\x1b" not in result.submission and "\x1b" not in result.step("add").checks[0].message


def test_an_end_to_end_run_failing_because_of_another_step_costs_nothing_more():
    own = record("training", 1, True, weight=3)
    blamed = record("training", 2, False, end_to_end=True, blocked_by="mul")
    result = scoring.grade(facts(), [own, blamed, record("mul", 1, False)], {})
    training = result.step("training")
    assert training.state == "passed" and training.points == training.max_points
    assert [c.state for c in training.checks] == ["passed", "credited"]
    assert result.step_earned("training") and not result.step_earned("mul")
    # The same run costs its points when nothing else lost them for it, or when this step's
    # own checks do not all pass, or when the step it names lost no points (a checkpoint).
    for unexplained in (record("training", 2, False, end_to_end=True),
                        record("training", 2, False, end_to_end=True, blocked_by="training"),
                        record("training", 2, False, blocked_by="mul")):
        graded = scoring.grade(facts(), [own, unexplained, record("mul", 1, False)], {})
        assert graded.step("training").points < graded.step("training").max_points
    mine_too = scoring.grade(facts(), [own, record("training", 3, False), blamed,
                                       record("mul", 1, False)], {})
    assert [c.state for c in mine_too.step("training").checks] == ["passed", "failed", "failed"]
    passed_mul = scoring.grade(facts(), [own, blamed, record("mul", 1, True)], {})
    assert passed_mul.step("training").checks[1].state == "failed"
    nothing = scoring.grade(facts(), [], {})
    assert not nothing.step_earned("training")
    only_a_run = scoring.grade(facts(), [record("classifier", 1, False, end_to_end=True,
                                                blocked_by="softmax"),
                                         record("softmax", 1, False)], {})
    assert only_a_run.step("classifier").points == 0


def test_a_check_the_grader_failed_on_makes_the_batch_row_an_error_to_regrade():
    ok = scoring.grade(facts(), [record("add", 1, True)], {})
    assert status_of(ok)[0] == "graded"
    broken = scoring.grade(facts(), [record("add", 1, True),
                                     record("mul", 1, False, state="error",
                                            message="internal grader error: ValueError: x")], {})
    status, reason = status_of(broken)
    assert status == "error" and "mul.1" in reason and "ValueError" in reason
