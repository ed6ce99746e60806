"""The Gradescope view of a result: results.json, one test per check (the bonus's without points)."""

from __future__ import annotations

import math
from typing import TypedDict

from .. import __version__, steps
from ..results import CheckResult, GradingResult
from .json import shorten_tests
from .text import check_details, scoreboard

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def _check_output(check: CheckResult) -> str:
    return check_details(check) or ("passed" if check.passed else check.state)


def visible_output(result: GradingResult, hidden_visibility: str) -> str:
    """What every student may read before the hidden checks are shown: the visible checks, no
    total (Gradescope's own rule: who cannot see a test cannot see the total either)."""
    when = {"hidden": "only if your instructor shows them",
            "after_due_date": "after the due date",
            "after_published": "when your instructor publishes the grades"}[hidden_visibility]
    shown = sum(1 for s in result.steps for c in s.checks if c.visible)
    lines = [f"micrograd-kit: {shown} check{'' if shown == 1 else 's'} shown now; the other "
             f"checks, their points and your total appear {when}.", ""]
    for step in result.steps:
        for check in step.checks:
            if check.visible:
                mark = "passed" if check.passed else "failed"
                lines.append(f"{step.id}: {check.title}: {mark}")
                if not check.passed:
                    lines.append(_check_output(check))
    if result.problems:
        lines += ["", *[f"! {_before_publishing(problem, when)}" for problem in result.problems]]
    return "\n".join(lines) + "\n"


# A problem that reports what student code raised while hidden checks ran: its text could
# carry what those checks used, so before publishing only its first part is shown.
RAISED = (" could not be imported:", " raised at import time:", " was stopped while it was "
          "imported:")


def _before_publishing(problem: str, when: str) -> str:
    for marker in RAISED:
        if marker in problem:
            return (f"{problem.split(marker, 1)[0]}{marker[:-1]} (what it raised is shown "
                    f"{when})")
    return problem


UNITS = 10_000          # a test's points are written to 4 decimals: counted in ten-thousandths


def apportioned(values: list[float], total: float) -> list[float]:
    """`values` written to 4 decimals so that they add up to `total` exactly: the spare
    ten-thousandths go to the values that rounding shortened most (each rounded alone, three
    checks of 10/3 points add up to 9.9999, and the tests of a class to 100.0003)."""
    exact = [v * UNITS for v in values]
    units = [math.floor(x + 1e-6) for x in exact]
    spare = round(total * UNITS) - sum(units)
    by_remainder = sorted((k for k in range(len(values)) if values[k] > 0),   # 0 stays 0
                          key=lambda k: (units[k] - exact[k], k))
    for k in by_remainder[:max(spare, 0)]:
        units[k] += 1
    for k in reversed(by_remainder[len(by_remainder) + spare:] if spare < 0 else []):
        units[k] -= 1
    return [u / UNITS for u in units]


class Test(TypedDict, total=False):
    """One test of Gradescope's results.json (its "Autograder Results" format)."""
    name: str
    number: str
    score: float
    max_score: float
    status: str
    output: str
    tags: list[str]
    visibility: str


class Results(TypedDict):
    """Gradescope's results.json."""
    score: float
    execution_time: float
    output: str
    output_format: str
    visibility: str
    stdout_visibility: str
    extra_data: dict[str, str]
    tests: list[Test]


def results_json(result: GradingResult, *, hidden_visibility: str = "after_published",
                 seconds: float | None = None) -> Results:
    """One test per check, numbered step.check. With every check visible, the scoreboard is the
    output; otherwise the output holds only what may be seen now, and the whole follows the
    instructor's choice of visibility."""
    tests: list[Test] = []
    for step in result.core_steps + result.bonus_steps:
        n = steps.STEP_IDS.index(step.id) + 1
        # The tests' points add up to the step's, and the steps' to the 100, exactly.
        shares = apportioned([c.max_points for c in step.checks], step.max_points) \
            if sum(c.max_points for c in step.checks) else [0.0] * len(step.checks)
        for k, (check, share) in enumerate(zip(step.checks, shares), start=1):
            test: Test = {
                "name": f"{step.id}: {check.title}",
                "number": f"{n}.{k}",
                "score": share if check.points >= check.max_points else
                round(check.points, 4),
                "max_score": share,
                "status": "passed" if check.earned else "failed",
                "output": _check_output(check),
                "tags": [step.id],
                "visibility": "visible" if check.visible else hidden_visibility,
            }
            if step.id not in steps.CORE_IDS:
                # No score fields: the bonus stays apart from the 100 points Gradescope
                # shows, and its feedback arrives with the rest when the checks are shown.
                del test["score"], test["max_score"]
                test["name"] = f"bonus {test['name']}"
                test["tags"].append("bonus")
                test["output"] = (f"bonus, apart from the {steps.TOTAL_POINTS} points: "
                                  f"{check.points:g} of {check.max_points:g}\n"
                                  + test["output"])
            tests.append(test)
    # A grading that could not be done hides nothing: the student sees why at once.
    everything = hidden_visibility == "visible" or result.status in ("invalid", "error")
    results: Results = {
        "score": round(result.score, 2),
        "execution_time": round(result.seconds if seconds is None else seconds, 2),
        "output": scoreboard(result, colour=False, commands=False) if everything else
        visible_output(result, hidden_visibility),
        "output_format": "text",
        "visibility": "visible" if everything else hidden_visibility,
        "stdout_visibility": "hidden",
        "extra_data": {"grader": f"micrograd-kit {result.grader_version or __version__}"},
        "tests": tests,
    }
    return shorten_tests(results, MAX_BYTES, ("output",), "too long to show")


MAX_BYTES = 1_000_000     # a results.json that stays easy for Gradescope to store and show
