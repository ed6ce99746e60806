"""The Gradescope view of a result: results.json, one test per check of the 100 points."""

from __future__ import annotations

from typing import Any

from .. import __version__, steps
from ..results import CheckResult, GradingResult
from .text import scoreboard

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def _check_output(check: CheckResult) -> str:
    parts = [check.message] if check.message else []
    if check.diagnosis:
        parts.append(f"-> {check.diagnosis}")
    if check.output:
        parts.append("your code printed:\n" + check.output)
    if not parts:
        parts.append("passed" if check.passed else check.state)
    return "\n".join(parts)


def results_json(result: GradingResult, *, hidden_visibility: str = "after_published",
                 seconds: float | None = None) -> dict[str, Any]:
    """One test per check, numbered step.check; the scoreboard as the output."""
    tests = []
    # The bonus steps are in the output's scoreboard, not in the tests: Gradescope adds tests up.
    for step in result.core_steps:
        n = steps.STEP_IDS.index(step.id) + 1
        for k, check in enumerate(step.checks, start=1):
            tests.append({
                "name": f"{step.id}: {check.title}",
                "number": f"{n}.{k}",
                "score": round(check.points, 4),
                "max_score": round(check.max_points, 4),
                "status": "passed" if check.passed else "failed",
                "output": _check_output(check),
                "tags": [step.id],
                "visibility": "visible" if check.visible else hidden_visibility,
            })
    return {
        "score": round(result.score, 2),
        "execution_time": round(result.seconds if seconds is None else seconds, 2),
        "output": scoreboard(result, colour=False, commands=False),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"grader": f"micrograd-kit {result.grader_version or __version__}"},
        "tests": tests,
    }
