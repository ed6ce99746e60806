"""The PrairieLearn view of a result: results.json as its external grader reads it (a score from
0 to 1, one test per check of the 100 points, the scoreboard as the output)."""

from __future__ import annotations

from typing import TypedDict

from .. import __version__
from ..results import GradingResult
from .json import shorten_tests, written_size
from .text import check_details, scoreboard


class Test(TypedDict):
    """One test of PrairieLearn's results.json (an external grader's)."""
    name: str
    description: str
    points: float
    max_points: float
    message: str
    output: str


class Results(TypedDict, total=False):
    """PrairieLearn's results.json: gradable with a score in [0, 1], or not, with why."""
    gradable: bool
    format_errors: list[str]
    score: float
    message: str
    output: str
    tests: list[Test]


def results_json(result: GradingResult) -> Results:
    """results.json for one result. Not a submission (or a grading that could not be done):
    gradable false, with the reasons as format_errors, so no attempt is counted against it."""
    output = scoreboard(result, colour=False, commands=False)
    if result.status in ("invalid", "error"):
        return {"gradable": False, "format_errors": list(result.problems) or [result.reason],
                "message": result.reason or "this submission could not be graded",
                "output": output}
    tests: list[Test] = []
    for step in result.core_steps:
        for check in step.checks:
            first = (check.diagnosis or check.message).splitlines()[0] if \
                (check.diagnosis or check.message) else ""
            tests.append({
                "name": f"{check.number} {check.title}",
                "description": step.title,
                "points": round(check.points, 4),
                "max_points": round(check.max_points, 4),
                "message": "passed" if check.passed else
                ("passed: its failure is counted in another step" if check.earned else first),
                "output": check_details(check),
            })
    return _fit({
        "gradable": True,
        "score": round(result.score / result.max_score, 4) if result.max_score else 0.0,
        "message": _message(result),
        "output": output,
        "tests": tests,
    })


def _message(result: GradingResult) -> str:
    bonus = f"; bonus {result.bonus_score:g}/{result.bonus_max:g}" if result.bonus_max else ""
    return (f"{result.score:g}/{result.max_score:g} points{bonus} "
            f"(micrograd-kit {result.grader_version or __version__})")


MAX_BYTES = 900_000   # PrairieLearn refuses results.json over 1 MB


def _fit(data: Results) -> Results:
    """Student output is capped per check, but many checks of a chatty submission add up: drop
    the printed output of tests, then shorten the scoreboard, then each test's texts, until the
    file fits."""
    if written_size(data) <= MAX_BYTES:
        return data
    for test in data.get("tests") or []:
        head, _, _printed = test["output"].partition("your code printed:\n")
        test["output"] = head + ("(your code's printed output was left out: too long)"
                                 if _printed else "")
    excess = written_size(data) - MAX_BYTES
    if excess > 0:
        data["output"] = data["output"][:max(0, len(data["output"]) - excess - 100)] + \
            "\n... (cut: too long for PrairieLearn)"
    return shorten_tests(data, MAX_BYTES, ("message", "output"), "too long for PrairieLearn")
