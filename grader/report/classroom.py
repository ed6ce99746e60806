"""The GitHub Classroom view of a result: the runner result its grading reporter reads.

Classroom's reporter (classroom-resources/autograding-grading-reporter) takes, for each runner,
an environment variable <RUNNER>_RESULTS holding base64 JSON: {"version": 1, "status": "pass" |
"fail" | "error", "max_score": N, "tests": [{"name", "status", "score", "message", ...}]}, and
records the sum of the tests' scores out of the sum of the runners' max_score. The kit writes that
result itself, one test per core step with its partial points, so Classroom records the same
total as every other mode; the bonus steps are listed with no points, as the 100 points are.
"""

from __future__ import annotations

import base64
import json
import math
from typing import TypedDict

from .. import steps
from ..results import GradingResult, StepResult
from .text import check_details

RUNNER = "micrograd"          # the runner id the workflow's grading step has
MAX_MESSAGE = 2000            # characters of feedback per test (the scoreboard has it all)


def _message(step: StepResult) -> str:
    failing = [c for c in step.checks if not c.earned and c.weight > 0]
    if not failing:
        return ""
    return check_details(failing[0])[:MAX_MESSAGE]


def _added(scores: list[float]) -> float:
    total = 0.0
    for score in scores:              # in order, as the reporter adds them up
        total += score
    return total


def _exact(scores: list[float], total: float) -> list[float]:
    """The scores, the last non-zero one nudged by the float rounding of adding them up in
    order, so that their sum is the total every other mode shows (81.54, not
    81.53999999999999): a few units in the last place, never a visible change."""
    if _added(scores) == total or not any(scores):
        return scores
    last = max(i for i, s in enumerate(scores) if s)
    adjusted = list(scores)
    adjusted[last] += total - _added(scores)
    for _ in range(64):
        gap = _added(adjusted) - total
        if gap == 0:
            return adjusted
        adjusted[last] = math.nextafter(adjusted[last], -math.inf if gap > 0 else math.inf)
    return scores


class RunnerTest(TypedDict):
    """One test of a GitHub Classroom runner's result."""
    name: str
    status: str
    score: float
    message: str
    line_no: int
    execution_time: str


class RunnerResult(TypedDict):
    """What a Classroom autograding runner reports (the reporter reads it base64-encoded)."""
    version: int
    status: str
    max_score: float
    tests: list[RunnerTest]


def runner_result(result: GradingResult) -> RunnerResult:
    """The result as one Classroom runner: the 100 points, step by step, partial ones too."""
    core = result.core_steps
    scores = _exact([step.points for step in core], result.score)
    tests: list[RunnerTest] = []
    for step, score in zip(core, scores):
        tests.append({"name": f"{step.id}: {step.title}",
                      "status": "pass" if step.passed else "fail",
                      "score": score, "message": _message(step), "line_no": 0,
                      "execution_time": "0s"})
    for step in result.bonus_steps:
        tests.append({"name": f"bonus {step.id}: {step.title} ({step.points:g} of "
                              f"{step.max_points:g}, apart from the {steps.TOTAL_POINTS} points)",
                      "status": "pass" if step.passed else "fail", "score": 0,
                      "message": _message(step), "line_no": 0, "execution_time": "0s"})
    if result.status in ("invalid", "error"):
        status = "error"
    else:
        status = "pass" if all(step.passed for step in core) else "fail"
    return {"version": 1, "status": status, "max_score": result.max_score, "tests": tests}


def github_output(result: GradingResult) -> str:
    """The line a workflow step appends to $GITHUB_OUTPUT: result=<base64 JSON>."""
    text = json.dumps(runner_result(result), ensure_ascii=True)
    return "result=" + base64.b64encode(text.encode("ascii")).decode("ascii") + "\n"
