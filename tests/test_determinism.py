"""Same submission, same result; no false failures of correct code; limits far above the reference."""

from __future__ import annotations

import pytest

from grader.api import grade_path
from grader.checking.runner import run_checks
from grader.intake.submission import locate
from grader.limits import Limits, Protections
from conftest import SOLUTIONS, copy_tree, fixture_submission, grade

RUNS = 20


def _comparable(result) -> dict:
    data = result.as_dict()
    data.pop("seconds")
    return data


def _verdicts(result) -> dict:
    return {c.number: (c.state, c.points) for s in result.steps for c in s.checks} | \
        {s.id: (s.state, s.points) for s in result.steps}


@pytest.mark.parametrize("name", [None, "mul_not_swapped", "backward_no_visited_set"])
def test_twenty_runs_give_the_same_score_and_messages(name, tmp_path):
    # Core files only: the bonus classifier would add seconds to each of the 20 runs.
    path = copy_tree(SOLUTIONS, tmp_path) if name is None else fixture_submission(name, tmp_path)
    first = _comparable(grade(path))
    for _ in range(RUNS - 1):
        assert _comparable(grade(path)) == first


def test_an_order_dependent_bug_is_a_stable_fail(tmp_path):
    # With _prev as a set, the order of the two contributions follows object ids, so '=' instead
    # of '+=' could give different numbers from run to run; the verdict, and here even the
    # messages, must not move.
    path = fixture_submission("add_overwrites_grad", tmp_path)
    first = grade(path)
    assert first.step("add").state != "passed"
    for _ in range(RUNS - 1):
        again = grade(path)
        assert _verdicts(again) == _verdicts(first)
        assert _comparable(again) == _comparable(first)


def test_no_false_failures_of_the_reference_over_200_graph_seeds():
    result = grade_path(SOLUTIONS, sweep=200)
    failures = [(c.number, c.message) for s in result.steps for c in s.checks if not c.passed]
    assert failures == []
    assert sum(len(s.checks) for s in result.steps) > 1500


def test_the_reference_needs_under_a_tenth_of_every_limit():
    limits = Limits()
    records = run_checks(locate(SOLUTIONS), limits).records
    # Each check against its own limit: the classifier's training has a longer one than the rest.
    ratios = {r.number: r.seconds / r.limit for r in records if r.limit}
    assert len(ratios) > 50
    worst = max(ratios, key=ratios.get)
    assert ratios[worst] < 0.1, (worst, ratios[worst])


def _clock_seen(tmp_path, protections=None) -> list[str]:
    seen = []
    for k in range(2):
        result = grade(fixture_submission("clock_reader", tmp_path / str(k)),
                       only=["add"], protections=protections)
        assert result.step("add").points == 10
        seen.append(next(line for s in result.steps for c in s.checks
                         for line in c.output.splitlines() if line.startswith("CLOCK")))
    return seen


def test_code_that_reads_the_clock_reads_the_same_on_every_run(tmp_path):
    first, second = _clock_seen(tmp_path)
    assert first == second


def test_without_the_guard_the_clock_is_real_so_the_test_above_can_fail(tmp_path):
    first, second = _clock_seen(tmp_path, Protections(admission=True, guard=False))
    assert first != second
